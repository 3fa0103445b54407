"""The Digest check's shortcuts: the header read by one regular expression reads what
urllib's parser reads, and a nonce verified once stays ours but still goes stale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests import Request
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.runtime import http_auth
from nvrsim.simulator.runtime.http_auth import NonceState, SignedNonces, digest_params
from tests.strategies_isapi import digest_authorization

NOW = 1_700_000_000.0
URI = "/ISAPI/System/deviceInfo"


def urllib_params(text: str) -> dict[str, str] | None:
    try:
        pairs = http_auth.parse_keqv_list(http_auth.parse_http_list(text))
    except (ValueError, IndexError):
        return None
    return {key.strip().lower(): value for key, value in pairs.items()}


# Texts made of what matters to both readers: names, =, quotes, escapes, commas, blanks.
_PIECES = st.sampled_from(
    ['username', 'Realm', 'nc', '=', '"', '\\', ',', ', ', ' ', '\t', 'a"b', '00000001',
     '"x, y"', '"/ISAPI"', 'é', '\n', '\x1c', 'qop=auth']
)  # fmt: skip
texts = st.one_of(st.text(), st.lists(_PIECES, max_size=30).map("".join))


@given(texts)
def test_the_regular_expression_reads_what_urllib_reads(text):
    assert digest_params(text) == urllib_params(text)


def _client_headers() -> list[str]:
    challenge = http_auth.hikvision_digest_challenge(
        "919d98321afa7dbf32a2ea6c", "ab" * 16 + ":1", False
    )
    requests_auth = HTTPDigestAuth("admin", "Pass12345")
    requests_auth.init_per_thread_state()
    requests_auth._thread_local.chal = urllib_params(challenge.removeprefix("Digest "))
    prepared = Request("GET", "http://127.0.0.1" + URI).prepare()
    return [
        requests_auth.build_digest_header("GET", prepared.url),  # requests, pyhik
        digest_authorization(challenge, method="GET", uri=URI, password="Pass12345"),
    ]


@pytest.mark.parametrize("header", _client_headers())
def test_headers_as_clients_write_them_never_reach_urllib(header, monkeypatch):
    def slow(text):
        raise AssertionError("read by urllib")

    monkeypatch.setattr(http_auth, "parse_http_list", slow)
    params = digest_params(header.removeprefix("Digest "))
    assert params is not None and params["username"] == "admin" and params["uri"] == URI


def test_a_nonce_verified_once_still_goes_stale_and_a_forged_one_never_passes():
    nonces = SignedNonces(lifetime=300)
    nonce = nonces.issue(NOW)
    assert nonces.check(nonce, NOW) is NonceState.FRESH  # verified: remembered
    assert nonces.check(nonce, NOW + 301) is NonceState.STALE
    assert nonces.check(nonce, NOW - 1) is NonceState.STALE
    head, _, millis = nonce.partition(":")
    assert nonces.check(f"{head}:{int(millis) + 1}", NOW) is NonceState.FORGED
    assert nonces.check(("0" * 32) + f":{millis}", NOW) is NonceState.FORGED


def test_the_memory_of_verified_nonces_is_bounded():
    nonces = SignedNonces()
    issued = [nonces.issue(NOW) for _ in range(SignedNonces.GENUINE_MEMORY + 10)]
    assert all(nonces.check(n, NOW) is NonceState.FRESH for n in issued)
    assert len(nonces._genuine or {}) == SignedNonces.GENUINE_MEMORY
    assert nonces.check(issued[0], NOW) is NonceState.FRESH  # forgotten, verified again
