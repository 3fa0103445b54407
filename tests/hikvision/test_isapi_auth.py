"""HTTP Digest/Basic on the server side, without sockets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.runtime.http_auth import (
    Attempt,
    HttpAuthenticator,
    NonceState,
    Refused,
    SignedNonces,
    hikvision_digest_challenge,
)
from nvrsim.strategies.isapi import authorization_headers
from tests.conftest import PASSWORD
from tests.strategies_isapi import (
    basic_authorization,
    digest_authorization,
    parse_challenge,
)

NOW = 1_700_000_000.0
REALM = "919d98321afa7dbf32a2ea6c"
URI = "/ISAPI/System/deviceInfo"
CHALLENGE = re.compile(
    r'Digest realm="[0-9a-f]{24}", domain="::", qop="auth", nonce="[0-9a-f]{32}:\d{13}", '
    r'opaque="", algorithm="MD5", stale="(TRUE|FALSE)"'
)


def _auth() -> HttpAuthenticator:
    return HttpAuthenticator(REALM)


def _examine(auth, header, *, uri=URI, now=NOW, basic=False, method="GET"):
    return auth.examine(header, method=method, uri=uri, now=now, basic=basic)


def test_challenge_is_worded_like_hikvision():
    auth = _auth()
    digest_only = auth.challenges(NOW, basic=False)
    assert len(digest_only) == 1 and CHALLENGE.fullmatch(digest_only[0])
    assert digest_only[0].endswith('stale="FALSE"')
    both = auth.challenges(NOW, basic=True, stale=True)
    assert both[0].endswith('stale="TRUE"') and both[1] == f'Basic realm="{REALM}"'
    assert parse_challenge(both[0])["nonce"].endswith(":1700000000000")


def test_nonces_are_unique_verifiable_and_expire():
    nonces = SignedNonces(lifetime=300)
    first, second = nonces.issue(NOW), nonces.issue(NOW)
    assert first != second  # even on a frozen clock
    assert nonces.check(first, NOW + 300) is NonceState.FRESH
    assert nonces.check(first, NOW + 301) is NonceState.STALE
    assert nonces.check(first, NOW - 1) is NonceState.STALE
    head, _, millis = first.partition(":")
    assert nonces.check(f"{head}:{int(millis) + 1}", NOW) is NonceState.FORGED
    assert nonces.check("0" * 32 + ":1700000000000", NOW) is NonceState.FORGED
    assert SignedNonces().check(first, NOW) is NonceState.FORGED  # another server's secret


def _proof_holds(result, password=PASSWORD) -> bool:
    assert isinstance(result, Attempt), result
    return result.proof(password)


def test_a_correct_digest_proves_the_password_and_only_that_one():
    auth = _auth()
    challenge = auth.challenges(NOW, basic=False)[0]
    header = digest_authorization(challenge, method="GET", uri=URI, password=PASSWORD)
    result = _examine(auth, header)
    assert result.scheme == "Digest" and result.user == "admin"
    assert _proof_holds(result)
    assert not result.proof("wrong")


def test_requests_digest_client_is_understood():
    """A second, independent client implementation: requests' HTTPDigestAuth."""
    auth = _auth()
    challenge = auth.challenges(NOW, basic=False)[0]
    client = HTTPDigestAuth("admin", PASSWORD)
    client.init_per_thread_state()
    client._thread_local.chal = parse_challenge(challenge)
    header = client.build_digest_header("GET", f"http://127.0.0.1{URI}?format=json")
    result = _examine(auth, header, uri=f"{URI}?format=json")
    assert _proof_holds(result)


def test_nonce_counts_must_grow():
    auth = _auth()
    challenge = auth.challenges(NOW, basic=False)[0]
    first = digest_authorization(challenge, method="GET", uri=URI, password=PASSWORD, nc=1)
    second = digest_authorization(challenge, method="GET", uri=URI, password=PASSWORD, nc=2)
    assert isinstance(_examine(auth, first), Attempt)
    assert isinstance(_examine(auth, second), Attempt)
    assert _examine(auth, first) == Refused("stale nonce", stale=True)  # a replay


def test_stale_forged_realm_and_uri_are_refused_unseen():
    auth = _auth()
    challenge = auth.challenges(NOW, basic=False)[0]

    def header(**kw):
        kw.setdefault("uri", URI)
        return digest_authorization(challenge, method="GET", password=PASSWORD, **kw)

    assert _examine(auth, header(), now=NOW + 301) == Refused("stale nonce", stale=True)
    assert _examine(auth, header(nonce="f" * 32 + ":1700000000000")).reason == "unknown nonce"
    assert _examine(auth, header(realm="other")).reason == "wrong realm"
    assert _examine(auth, header(uri="/ISAPI/Security/userCheck")).reason.startswith("uri")
    # an absolute URL of the same resource is fine
    assert isinstance(_examine(auth, header(uri=f"http://127.0.0.1{URI}")), Attempt)


def test_basic_is_checked_only_where_allowed():
    auth = _auth()
    header = basic_authorization(PASSWORD)
    assert _examine(auth, header) == Refused("Basic is not accepted")
    result = _examine(auth, header, basic=True)
    assert result.scheme == "Basic" and _proof_holds(result)
    assert not _proof_holds(_examine(auth, basic_authorization("wrong"), basic=True))
    assert _examine(auth, "Basic !!!", basic=True).reason.startswith("malformed")
    assert _examine(auth, "Basic YWRtaW4=", basic=True).reason.startswith("malformed")  # "admin"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Bearer abc",
        "Digest",
        "Digest ,,,",
        'Digest username="admin"',
        "Digest username=, realm=",
        'Digest username="admin", realm="x", nonce="n", uri="/", response="r", qop=auth, nc=1',
    ],
)
def test_malformed_headers_are_refused(header):
    assert isinstance(_examine(_auth(), header), Refused)


@given(authorization_headers)
def test_random_headers_never_reach_the_password_check(header):
    auth = _auth()
    auth.challenges(NOW, basic=True)
    result = _examine(auth, header, basic=False)
    assert isinstance(result, Refused)


def test_dahua_style_challenge_is_a_parameter():
    auth = HttpAuthenticator(
        "Login to 4M0XXXXPAZ",
        digest_challenge=lambda realm, nonce, stale: f'Digest realm="{realm}", nonce="{nonce}"',
    )
    (challenge,) = auth.challenges(NOW, basic=False)
    assert challenge.startswith('Digest realm="Login to 4M0XXXXPAZ", nonce=')
    assert hikvision_digest_challenge("r", "n", False).startswith('Digest realm="r", domain="::"')
