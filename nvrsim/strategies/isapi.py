"""ISAPI documents and requests, well-formed and hostile: XML bombs, random and plausible
documents, request paths, methods and Authorization headers (docs/hikvision.md)."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import strategies as st

__all__ = [
    "XML_BOMBS",
    "authorization_headers",
    "hostile_bodies",
    "http_methods",
    "plausible_documents",
    "request_paths",
    "xml_documents",
]


class Body(bytes):
    """A request body that hypothesis prints by its size and start: the biggest bomb is
    138 kB, and printing a failing example (or a warning about one) should not be."""

    def __repr__(self) -> str:
        return f"Body(<{len(self)} bytes> {bytes(self[:32])!r}...)"


_BOMBS = [
    # billion laughs
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<EZVIZ><verificationCode>&lol3;</verificationCode></EZVIZ>",
    # quadratic blowup
    b'<!DOCTYPE q [<!ENTITY a "'
    + b"x" * 5000
    + b'">]><MotionDetection><enabled>'
    + b"&a;" * 200
    + b"</enabled></MotionDetection>",
    # external entity
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<PublicKey><key>&xxe;</key></PublicKey>",
    # external DTD and parameter entities
    b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><ActivateInfo/>',
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><EZVIZ/>',
    # a DTD alone, and unreasonably deep or wide documents
    b"<!DOCTYPE EZVIZ><EZVIZ><enabled>true</enabled></EZVIZ>",
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<EZVIZ>" + b"<enabled>true</enabled>" * 6000 + b"</EZVIZ>",
]
XML_BOMBS = [Body(bomb) for bomb in _BOMBS]

_TAGS = [
    "EZVIZ", "enabled", "verificationCode", "serverAddress", "hostName", "ipAddress",
    "addressingFormatType", "MotionDetection", "PublicKey", "key", "ActivateInfo",
    "password", "registerStatus", "bindStatus",
]  # fmt: skip
_TEXTS = st.one_of(
    st.sampled_from(
        ["true", "false", "TRUE", "", " ", "ABCDEF", "ABCDEFGHJKLM", "dev.hik-connect.com"]
    ),
    st.text(max_size=20),
)


def _xml_element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, prefix, inner: f"<{prefix}{tag}>{inner}</{prefix}{tag}>",
        st.sampled_from(_TAGS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.sampled_from(["", "hik:", "a:"]),
        children,
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


xml_documents = st.recursive(
    _TEXTS.map(_escape),
    lambda inner: _xml_element(st.lists(inner, max_size=4).map("".join)),
    max_leaves=12,
).map(lambda doc: doc.encode("utf-8", "surrogatepass"))

_FIELD_VALUES = {
    "enabled": st.sampled_from(["true", "false", "True", "yes", ""]),
    "verificationCode": st.sampled_from(
        ["ABCDEF", "HJKL2345MNPQ", "ABC", "ABCDEFGHJKLMN", "AB CD EF"]
    ),
    "registerStatus": st.sampled_from(["true", "false"]),
    "bindStatus": st.sampled_from(["bind", "unbind"]),
    "key": st.sampled_from(["", "QUJD", "not base64"]),
    "password": st.sampled_from(["", "QUJD", "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="]),
}
_HOSTS = st.sampled_from(
    ["dev.hik-connectru.com", "10.0.0.1", "::1", "bad host", "-x-", "300.1.2.3"]
)
_any_value = _TEXTS.map(_escape)
_field = st.sampled_from(sorted(_FIELD_VALUES)).flatmap(
    lambda tag: st.builds(lambda v: f"<{tag}>{_escape(v)}</{tag}>", _FIELD_VALUES[tag] | _any_value)
)
_server = st.builds(
    lambda tag, value: f"<serverAddress><{tag}>{_escape(value)}</{tag}></serverAddress>",
    st.sampled_from(["hostName", "ipAddress"]),
    _HOSTS | _any_value,
)


def plausible_documents(root: str) -> st.SearchStrategy[bytes]:
    """The right root with plausible fields: these reach validation, and some succeed."""
    return st.lists(_field | _server, max_size=4).map(
        lambda fields: f"<{root}>{''.join(fields)}</{root}>".encode("utf-8", "surrogatepass")
    )


hostile_bodies = st.one_of(
    st.sampled_from(XML_BOMBS),
    xml_documents,
    st.binary(max_size=512),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)

# Methods the HTTP parser itself accepts; anything else never reaches the app.
http_methods = st.sampled_from(
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "MKCOL", "LOCK"]
)

_KNOWN_PATHS = [
    "/ISAPI/System/deviceInfo", "/ISAPI/System/status", "/ISAPI/Security/userCheck",
    "/ISAPI/Event/triggers", "/ISAPI/System/Video/inputs/channels/1/motionDetection",
    "/ISAPI/System/Network/EZVIZ", "/ISAPI/System/Network/EZVIZ/capabilities",
    "/ISAPI/System/Network/capabilities", "/ISAPI/System/discoveryMode",
    "/SDK/activateStatus", "/ISAPI/Security/challenge", "/ISAPI/System/activate",
]  # fmt: skip
_SAFE = "/?=&%;:@!$'()*+,~"

request_paths = st.one_of(
    st.sampled_from(_KNOWN_PATHS),
    st.builds(lambda p, s: p + s, st.sampled_from(_KNOWN_PATHS), st.text(max_size=12)).map(
        lambda p: quote(p, safe=_SAFE)
    ),
    st.text(max_size=40).map(lambda t: "/" + quote(t, safe=_SAFE)),
    st.builds(
        lambda channel: f"/ISAPI/System/Video/inputs/channels/{channel}/motionDetection",
        st.text(min_size=1, max_size=6).map(lambda t: quote(t, safe="")),
    ),
)

_DIGEST_KEYS = ["username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce", "algorithm"]
_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60
)  # printable ASCII: what can travel in a header at all

authorization_headers = st.one_of(
    _HEADER_TEXT,
    st.builds(
        lambda s, t: f"{s} {t}", st.sampled_from(["Digest", "digest", "Basic"]), _HEADER_TEXT
    ),
    st.lists(
        st.tuples(
            st.sampled_from(_DIGEST_KEYS) | _HEADER_TEXT,
            _HEADER_TEXT,
            st.booleans(),
        ),
        max_size=10,
    ).map(
        lambda items: (
            "Digest " + ", ".join(f'{k}="{v}"' if quoted else f"{k}={v}" for k, v, quoted in items)
        )
    ),
)
