"""Dahua DHIP over UDP 37810: the 32-byte header (construct) and the JSON body.

No I/O and no device state (docs/protocols/dahua.md §1). A datagram is the header
described by `HEADER`, then `length` bytes of JSON, which real devices end with
`\\n` and sometimes NUL. Parsing is lenient where clients differ: AIO writes the
length at offsets 16, 20, 24 and 28 and RRD writes 16 and 24 as u64, so the two
words after each length are not checked; the magic and the header length are.
Anything else (bare JSON, `PIHD`, a short or oversized datagram, a body that is
not a JSON object with a string `method`) raises `DhipDecodeError`, and
responders drop it: discovery never answers garbage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from construct import Bytes, Const, ConstructError, Int32ul, Struct

DHIP_PORT = 37810
MULTICAST_GROUP = "239.255.255.251"
HEADER_SIZE = 32
MAX_DATAGRAM = 16 * 1024  # real replies are under 1 KB; anything far larger is hostile

SEARCH = "DHDiscover.search"
SET_CONFIG = "DHDiscover.setConfig"
NOTIFY_DEV_INFO = "client.notifyDevInfo"

HEADER_SPEC = Struct(
    "header_length" / Const(HEADER_SIZE, Int32ul),
    "magic" / Const(b"DHIP"),
    "session" / Int32ul,
    "request_id" / Int32ul,
    "length" / Int32ul,  # this packet's payload
    "reserved1" / Int32ul,
    "total_length" / Int32ul,  # the whole message, when fragmented
    "reserved2" / Int32ul,
)
# Compiled: a 1,000-device search builds 1,000 headers (6 µs each instead of 27).
HEADER = HEADER_SPEC.compile()
# A whole datagram: header then its payload, for construct's own round trips.
FRAME = Struct("header" / HEADER_SPEC, "payload" / Bytes(lambda ctx: ctx.header.length))


class DhipDecodeError(ValueError):
    """Not a DHIP message we understand; responders drop it."""


@dataclass(frozen=True)
class Header:
    session: int = 0
    request_id: int = 0
    length: int = 0
    total_length: int = 0
    reserved1: int = 0
    reserved2: int = 0


@dataclass(frozen=True)
class DhipMessage:
    """One JSON message: `mac` is the top-level one (targeted search, setConfig)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    mac: str = ""
    id: int | None = None
    session: int = 0
    header: Header = field(default_factory=Header)


def build_header(length: int, *, session: int = 0, request_id: int = 0) -> bytes:
    return HEADER.build(
        {
            "session": session,
            "request_id": request_id,
            "length": length,
            "reserved1": 0,
            "total_length": length,
            "reserved2": 0,
        }
    )


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER_SIZE:
        raise DhipDecodeError("shorter than the 32-byte header")
    try:
        h = HEADER.parse(data[:HEADER_SIZE])
    except ConstructError as exc:
        raise DhipDecodeError(f"not a DHIP header: {str(exc) or type(exc).__name__}") from None
    return Header(h.session, h.request_id, h.length, h.total_length, h.reserved1, h.reserved2)


def frame(body: bytes, *, session: int = 0, request_id: int = 0) -> bytes:
    return build_header(len(body), session=session, request_id=request_id) + body


def encode_json(document: dict[str, Any], *, pretty: bool = False) -> bytes:
    """JSON as devices send it: compact, UTF-8, ending in `\\n`."""
    if pretty:  # ConfigTool's spacing, 73 bytes for a search
        text = json.dumps(document, separators=(", ", " : "), ensure_ascii=False)
        text = text.replace("{", "{ ").replace("}", " }")
    else:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return (text + "\n").encode()


def decode(data: bytes) -> DhipMessage:
    """A datagram to a message; DhipDecodeError when it is not one."""
    if len(data) > MAX_DATAGRAM:
        raise DhipDecodeError("datagram too large")
    header = parse_header(data)
    if header.length > len(data) - HEADER_SIZE or header.length == 0:
        raise DhipDecodeError("payload length does not match the datagram")
    body = data[HEADER_SIZE : HEADER_SIZE + header.length].rstrip(b"\x00\r\n\t ")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DhipDecodeError("payload is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("method"), str):
        raise DhipDecodeError("payload is not a JSON-RPC message")
    params = document.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise DhipDecodeError("params is not an object")
    mac = document.get("mac", "")
    ident = document.get("id")
    session = document.get("session", 0)
    return DhipMessage(
        method=document["method"],
        params=params,
        mac=mac if isinstance(mac, str) else "",
        id=ident if isinstance(ident, int) and not isinstance(ident, bool) else None,
        session=session if isinstance(session, int) and not isinstance(session, bool) else 0,
        header=header,
    )


def build_search(mac: str = "", *, pretty: bool = True, request_id: int = 0) -> bytes:
    """The search ConfigTool sends (§1.3); `mac` targets one device (top level, as AIO)."""
    document: dict[str, Any] = {"method": SEARCH, "params": {"mac": "", "uni": 1}}
    if mac:
        document = {"mac": mac, **document}
    return frame(encode_json(document, pretty=pretty), request_id=request_id)


def build_dev_info(mac: str, device_info: dict[str, Any]) -> bytes:
    """`client.notifyDevInfo` (§1.4): no id, mac first."""
    document = {"mac": mac, "method": NOTIFY_DEV_INFO, "params": {"deviceInfo": device_info}}
    return frame(encode_json(document))


def build_reply(document: dict[str, Any], *, session: int = 0, request_id: int = 0) -> bytes:
    return frame(encode_json(document), session=session, request_id=request_id)


def search_mac(message: DhipMessage) -> str:
    """The MAC a search targets: top level (AIO) or in params (R7); "" for everyone."""
    inner = message.params.get("mac", "")
    return message.mac or (inner if isinstance(inner, str) else "")
