"""Shared by the ISAPI tests: servers on 127.0.0.1 port 0, a Digest client written
from RFC 7616, device snapshots, and hypothesis strategies for hostile input."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote
from urllib.request import parse_http_list, parse_keqv_list

from aiohttp import web
from hypothesis import strategies as st

from nvrsim.simulator.core.device import Device

CLIENT = "127.0.0.1"


# ---------------------------------------------------------------- serving


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` in the running loop; yields the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, CLIENT, 0).start()
        yield f"http://{CLIENT}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class ServerThread:
    """Serve `app` from a loop in a background thread, for synchronous clients."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="isapi-test-server")
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self.app)
        try:
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, CLIENT, 0)
            self.loop.run_until_complete(site.start())
            self.url = f"http://{CLIENT}:{runner.addresses[0][1]}"
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.loop.close()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


# ---------------------------------------------------------------- clients


def parse_challenge(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme == "Digest", header
    return parse_keqv_list(parse_http_list(rest))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_authorization(
    challenge: str,
    *,
    method: str,
    uri: str,
    password: str,
    user: str = "admin",
    nc: int = 1,
    cnonce: str = "0a4f113b",
    realm: str | None = None,
    nonce: str | None = None,
) -> str:
    """An Authorization header answering `challenge`; realm/nonce can be overridden to lie."""
    params = parse_challenge(challenge)
    realm = params["realm"] if realm is None else realm
    nonce = params["nonce"] if nonce is None else nonce
    count = f"{nc:08x}"
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    response = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm="MD5", qop=auth, nc={count}, cnonce="{cnonce}"'
    )


def basic_authorization(password: str, user: str = "admin") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---------------------------------------------------------------- state snapshots


def device_state(device: Device, now: float, client: str = CLIENT) -> tuple:
    """Everything a request could change on the device, as seen from `client`."""
    return (
        device.admin_password,
        dataclasses.asdict(device.hik_connect),
        device.web_auth,
        device.lockout.retries_left(client, now),
        device.lockout.unlock_in(client, now),
        sorted(device.motion_detection),
    )


# ---------------------------------------------------------------- strategies

XML_BOMBS = [
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
