"""D-Link NIPCA (Network IP Camera Application Programming Interface): bodies and login.

Replies are plain text, one `key=value` a line; clients lowercase the keys and
split on the first `=` (docs/protocols/onvif-dlink.md §3.2). Requests carry the same
pairs in the query string or the body, either newline- or `&`-separated, so the
parser here accepts both and nothing else.

The challenge login of newer cameras (DCS-8200LH, §3.2):
    key      = HMAC-MD5(PublicKey + password, Challenge)
    login    = HMAC-MD5(key, Challenge)                 (act=login&loginpassword=…)
    each request then carries cookie `uid`, query `sid=HMAC-MD5(key, ts + path)&ts=<ms>`
[I] digests are upper-case hex, as D-Link's HNAP login writes them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

TEXT_CONTENT_TYPE = "text/plain"
# [I] a NIPCA request names a handful of settings; more is an attack or a mistake.
MAX_FIELDS = 64
MAX_FIELD_LENGTH = 1024


class NipcaDecodeError(ValueError):
    """A request body or query that is not a list of key=value pairs."""


def encode_fields(pairs: Mapping[str, object] | Iterable[tuple[str, object]]) -> bytes:
    """`key=value` lines in the given order; booleans as 1/0, as info.cgi writes them."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    lines = []
    for key, value in items:
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        lines.append(f"{key}={text}\n")
    return "".join(lines).encode("utf-8")


def decode_fields(body: bytes | str) -> dict[str, str]:
    """Reply lines → {lowercased key: value}, as clients read them (lenient)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip():
            fields[key.strip().lower()] = value.strip()
    return fields


def parse_request(body: bytes | str) -> dict[str, str]:
    """A request's settings: `a=1&b=2`, or one pair a line; form-decoded, keys lowercased.

    Raises NipcaDecodeError for anything else, so a handler never acts on half a request.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NipcaDecodeError("not UTF-8") from None
    parts = [p for chunk in body.splitlines() for p in chunk.split("&") if p.strip()]
    if len(parts) > MAX_FIELDS:
        raise NipcaDecodeError("too many fields")
    fields: dict[str, str] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        key, value = unquote_plus(key).strip().lower(), unquote_plus(value)
        if not eq or not key or not key.isascii() or not key.replace("_", "").isalnum():
            raise NipcaDecodeError(f"not a key=value pair: {part[:40]!r}")
        if len(value) > MAX_FIELD_LENGTH or any(ord(c) < 32 for c in value):
            raise NipcaDecodeError(f"unusable value for {key}")
        if key in fields:
            raise NipcaDecodeError(f"{key} given twice")
        fields[key] = value
    return fields


# --- challenge login ------------------------------------------------------------------


def hmac_md5(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.md5).hexdigest().upper()


def private_key(public_key: str, password: str, challenge: str) -> str:
    return hmac_md5(public_key + password, challenge)


def login_password(public_key: str, password: str, challenge: str) -> str:
    """What the client sends as `loginpassword`."""
    return hmac_md5(private_key(public_key, password, challenge), challenge)


def request_signature(key: str, timestamp_ms: str, path: str) -> str:
    """The `sid` a logged-in client puts on each request."""
    return hmac_md5(key, timestamp_ms + path)


@dataclass(frozen=True)
class Challenge:
    """The reply to `authentication.cgi?act=request`."""

    cookie: str
    public_key: str
    challenge: str

    def encode(self) -> bytes:
        return encode_fields(
            (
                ("LoginResult", "OK"),
                ("Cookie", self.cookie),
                ("PublicKey", self.public_key),
                ("Challenge", self.challenge),
            )
        )


# --- error documents --------------------------------------------------------------------


@dataclass(frozen=True)
class NipcaError:
    """[I] The public record has no NIPCA error format; ours is one `error=` line
    with the HTTP status real lighttpd-based cameras use for the same case."""

    http_status: int
    reason: str

    def encode(self) -> bytes:
        return encode_fields({"error": self.reason})


NOT_FOUND = NipcaError(404, "not found")
METHOD_NOT_ALLOWED = NipcaError(405, "method not allowed")
BAD_PARAMETER = NipcaError(400, "bad parameter")
UNAUTHORIZED = NipcaError(401, "unauthorized")
NOT_SET_UP = NipcaError(403, "admin password not set")
NO_ADMIN_PASSWORD = NipcaError(403, "set an admin password before registering with mydlink")
ALREADY_REGISTERED = NipcaError(409, "already registered to another mydlink account")
BODY_TOO_LARGE = NipcaError(413, "request too large")
DEVICE_ERROR = NipcaError(500, "internal error")
