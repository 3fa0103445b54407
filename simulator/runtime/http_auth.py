"""Server side of HTTP Digest (RFC 7616/2617: MD5, qop=auth) and Basic authentication.

This module judges only the *form* of a credential. A credential good enough to
be checked becomes an `Attempt` carrying a `Proof` (given the true password, does
the client's response match?), which the caller hands to the device's one login
rule, `Device.login`; that rule owns the password and the lockout.

What costs the client a try: only an `Attempt`, i.e. a credential whose password
the rule actually looks at. Everything refused here is answered with a 401
without looking at the password, so it never counts as a failed login:
- no Authorization header;
- a malformed header, an unknown scheme, a Digest without qop=auth, nc, cnonce…;
- a realm or uri that does not match this server and request;
- a nonce we did not issue (forged) or that expired or was replayed (answered
  with stale=TRUE so the client retries with a fresh nonce);
- Basic credentials sent to a server that accepts only Digest. pyhik sends Basic
  first and switches to Digest after the 401; against a digest-only device that
  first try must not burn a retry, or each wrong-password connect would count twice.

The challenge format and the nonce scheme are parameters, so a Dahua CGI front
end can reuse this with its own realm and header.

Choices where the public record is silent:
- the replay memory: the last count of 1,024 nonces per server; an older nonce's count
  is forgotten, and a replay of it is then refused only once it goes stale (300 s);
- a nonce's HMAC is verified once and remembered (256 per server), as a client sends
  the same nonce with each request;
- a header in the usual form (name=value pairs, quoted values without escapes) is read
  by one regular expression, any other by urllib's parser: both read the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import parse_http_list, parse_keqv_list

from nvrsim.simulator.core.auth import Proof, plain
from nvrsim.simulator.core.device import Device


class NonceState(Enum):
    FRESH = "fresh"
    STALE = "stale"  # ours, but too old (or from the future after a clock reset)
    FORGED = "forged"  # not issued by this server


class Nonces(Protocol):
    def issue(self, now: float) -> str: ...

    def check(self, nonce: str, now: float) -> NonceState: ...


class SignedNonces:
    """Hikvision-shaped nonces `<32 hex>:<epoch-ms>` that verify without a store.

    The 32 hex digits are 8 of per-nonce salt and 24 of an HMAC over salt and
    time: two clients in the same millisecond (a frozen VirtualClock) still get
    different nonces, and a nonce cannot be forged or have its time moved.
    """

    # Nonces already verified: a client sends its nonce with every request, and the
    # HMAC of one that was genuine once stays genuine (the secret never changes).
    GENUINE_MEMORY = 256

    def __init__(self, secret: bytes | None = None, lifetime: float = 300.0) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.lifetime = lifetime
        self._genuine: dict[str, int] | None = None  # nonce: its time in ms; on first use

    def _mac(self, salt: str, millis: str) -> str:
        return hmac.new(self._secret, f"{salt}:{millis}".encode(), hashlib.sha256).hexdigest()[:24]

    def issue(self, now: float) -> str:
        salt, millis = secrets.token_hex(4), str(int(now * 1000))
        return f"{salt}{self._mac(salt, millis)}:{millis}"

    def check(self, nonce: str, now: float) -> NonceState:
        genuine = self._genuine if self._genuine is not None else {}
        issued = genuine.get(nonce)
        if issued is None:
            head, _, millis = nonce.partition(":")
            if len(head) != 32 or not millis.isascii() or not millis.isdigit() or len(millis) > 15:
                return NonceState.FORGED
            if not hmac.compare_digest(head[8:], self._mac(head[:8], millis)):
                return NonceState.FORGED
            issued = int(millis)
            if len(genuine) >= self.GENUINE_MEMORY:
                del genuine[next(iter(genuine))]  # the one verified longest ago
            self._genuine = genuine
            genuine[nonce] = issued
        age = now - issued / 1000
        return NonceState.FRESH if 0 <= age <= self.lifetime else NonceState.STALE


def hikvision_digest_challenge(realm: str, nonce: str, stale: bool) -> str:
    """The Digest challenge exactly as Hikvision devices word it (§2.1)."""
    return (
        f'Digest realm="{realm}", domain="::", qop="auth", nonce="{nonce}", '
        f'opaque="", algorithm="MD5", stale="{"TRUE" if stale else "FALSE"}"'
    )


@dataclass(frozen=True)
class Attempt:
    """A credential the login rule must judge."""

    scheme: str  # "Digest" or "Basic"
    user: str
    proof: Proof


@dataclass(frozen=True)
class Refused:
    """Refused without looking at the password: never counts as a failed login."""

    reason: str
    stale: bool = False


def _md5(text: str) -> str:
    # aiohttp decodes header bytes as UTF-8 with surrogateescape; undo that exactly.
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest()


@lru_cache(maxsize=4096)
def _ha1(user: str, realm: str, password: str) -> str:
    """RFC 7616's H(A1): the same for every request of a user until the password changes,
    so it is keyed on exactly what it is made of."""
    return _md5(f"{user}:{realm}:{password}")


_NC = re.compile(r"[0-9a-fA-F]{8}")
_RESPONSE = re.compile(r"[0-9a-f]{32}")  # lowered first

# The Authorization header as clients write it: name=value pairs, each value a token or
# a quoted string without escapes. Read with one regular expression (urllib's parser goes
# a character at a time, a fifth of a request's time); any other form goes to urllib's.
# Each pair starts the text or follows a comma and ends before the next comma or the end,
# so when there is a pair for every comma the pairs cover the whole text and no comma sat
# inside a quoted value: then urllib would have read the very same pairs.
_PAIRS = re.compile(
    r'(?:^|,)[ \t]*([A-Za-z0-9_-]+)=(?:"([^"\\]*)"|([\w.~/:+-]+))[ \t]*(?=,|\Z)', re.ASCII
)


def digest_params(text: str) -> dict[str, str] | None:
    """The parameters of a Digest credential (names in lower case); None when malformed."""
    found = _PAIRS.findall(text)
    if len(found) == text.count(",") + 1:
        return {name.lower(): quoted or token for name, quoted, token in found}
    try:
        pairs = parse_keqv_list(parse_http_list(text))
    except (ValueError, IndexError):
        return None
    return {key.strip().lower(): value for key, value in pairs.items()}


_DIGEST_FIELDS = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")


class HttpAuthenticator:
    """Challenges and credential checks for one server (one device, one realm)."""

    # A replay window per nonce would grow with clients; remember this many nonces.
    REPLAY_MEMORY = 1024

    def __init__(
        self,
        realm: str,
        *,
        nonces: Nonces | None = None,
        digest_challenge: Callable[[str, str, bool], str] = hikvision_digest_challenge,
        basic_realm: str | None = None,
    ) -> None:
        self.realm = realm
        self.basic_realm = basic_realm or realm
        self.nonces: Nonces = nonces or SignedNonces()
        self._digest_challenge = digest_challenge
        self._last_nc: OrderedDict[str, int] = OrderedDict()

    def challenges(self, now: float, *, basic: bool, stale: bool = False) -> list[str]:
        """WWW-Authenticate values, Digest first; Basic only where the server accepts it."""
        values = [self._digest_challenge(self.realm, self.nonces.issue(now), stale)]
        if basic:
            values.append(f'Basic realm="{self.basic_realm}"')
        return values

    def examine(
        self, authorization: str | None, *, method: str, uri: str, now: float, basic: bool
    ) -> Attempt | Refused:
        """Judge an Authorization header for a request `method uri` (uri: the raw target)."""
        if not authorization or not authorization.strip():
            return Refused("no credentials")
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "digest":
            return self._digest(rest, method, uri, now)
        if scheme.lower() == "basic":
            return self._basic(rest.strip()) if basic else Refused("Basic is not accepted")
        return Refused("unsupported scheme")

    def _basic(self, token: str) -> Attempt | Refused:
        try:
            decoded = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return Refused("malformed Basic credentials")
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = decoded.decode("latin-1")
        user, colon, password = text.partition(":")
        if not colon:
            return Refused("malformed Basic credentials")
        return Attempt("Basic", user, plain(password))

    def _digest(self, text: str, method: str, uri: str, now: float) -> Attempt | Refused:
        params = digest_params(text)
        if params is None:
            return Refused("malformed Digest credentials")
        if not all(map(params.get, _DIGEST_FIELDS)):
            return Refused("incomplete Digest credentials")
        if params["qop"].lower() != "auth" or params.get("algorithm", "MD5").upper() != "MD5":
            return Refused("unsupported qop or algorithm")
        nc, response = params["nc"], params["response"].lower()
        if not _NC.fullmatch(nc) or not _RESPONSE.fullmatch(response):
            return Refused("malformed nc or response")
        if params["realm"] != self.realm:
            return Refused("wrong realm")
        if not _same_target(params["uri"], uri):
            return Refused("uri does not match the request")
        nonce = params["nonce"]
        state = self.nonces.check(nonce, now)
        if state is NonceState.FORGED:
            return Refused("unknown nonce")
        if state is NonceState.STALE or not self._count_use(nonce, int(nc, 16)):
            return Refused("stale nonce", stale=True)
        user, cnonce, qop, digest_uri = (
            params["username"],
            params["cnonce"],
            params["qop"],
            params["uri"],
        )

        def proof(password: str) -> bool:
            ha1 = _ha1(user, self.realm, password)
            ha2 = _md5(f"{method}:{digest_uri}")
            expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
            return hmac.compare_digest(expected, response)

        return Attempt("Digest", user, proof)

    def _count_use(self, nonce: str, nc: int) -> bool:
        """Each use of a nonce must raise its count; a repeated count is a replay."""
        last = self._last_nc.get(nonce, 0)
        if nc <= last:
            return False
        self._last_nc[nonce] = nc
        self._last_nc.move_to_end(nonce)
        while len(self._last_nc) > self.REPLAY_MEMORY:
            self._last_nc.popitem(last=False)
        return True


def _same_target(digest_uri: str, target: str) -> bool:
    """The Digest uri names this request: the raw target, its path, or an absolute URL of it
    (RTSP's targets are absolute URLs, which clients repeat as they are)."""
    if digest_uri == target:
        return True
    if digest_uri.startswith(("http://", "https://")):
        try:
            parts = urlsplit(digest_uri)
        except ValueError:
            return False
        digest_uri = parts.path + (f"?{parts.query}" if parts.query else "")
    return digest_uri in (target, target.partition("?")[0])


def device_realm(device: Device) -> str:
    """24 hex digits, stable per device, as the Digest realm of real devices
    (docs/protocols/hikvision.md §2.1); the ONVIF snapshot uses it too."""
    return hashlib.sha256(f"isapi-realm:{device.serial}".encode()).hexdigest()[:24]
