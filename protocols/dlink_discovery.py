"""D-Link discovery wire formats: the UDP 5978 "dldps" datagram and SSDP (UPnP).

UDP 5978 (docs/protocols/onvif-dlink.md §3.1): the request is known from CVE-2017-8413,
a length, a type and `M=<MAC|broadcast>;D=<device type>;C=<base64 cmd>;test=1111`.
The reply is not public [GAP]; our choice, kept in this one module:

    bytes 0-1  payload length, big-endian
    byte  2    type: b"A" inquiry, b"a" answer, b"S" run a command (never answered)
    payload    ASCII `key=value` pairs joined by `;`

An answer's payload: `M=` MAC, `D=` model, `H=` hardware version, `F=` firmware,
`S=` serial, `N=` camera name, `I=` IPv4, `K=` netmask, `G=` gateway, `P=` HTTP
port, `R=` mydlink registered (1/0), in that order.

SSDP: hass_nipca finds cameras with an M-SEARCH for the UPnP Basic device and
reads `presentationURL` from the description at LOCATION (§3.1).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

DLDPS_PORT = 5978
BROADCAST_MAC = "FF:FF:FF:FF:FF:FF"
INQUIRY, ANSWER, COMMAND = b"A", b"a", b"S"
MAX_DATAGRAM = 1472  # one Ethernet frame; a real camera's buffer is no bigger

SSDP_PORT = 1900
SSDP_GROUP = "239.255.255.250"
BASIC_DEVICE = "urn:schemas-upnp-org:device:Basic:1"
DESCRIPTION_PATH = "/upnp/BasicDevice.xml"

ANSWER_KEYS = ("M", "D", "H", "F", "S", "N", "I", "K", "G", "P", "R")


class DiscoveryDecodeError(ValueError):
    pass


# --- UDP 5978 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DldpsMessage:
    kind: bytes  # INQUIRY, ANSWER or COMMAND
    fields: dict[str, str]

    @property
    def mac(self) -> str:
        return self.fields.get("M", "")

    @property
    def device_type(self) -> str:
        return self.fields.get("D", "")


def build_dldps(kind: bytes, fields: Mapping[str, object]) -> bytes:
    payload = ";".join(f"{k}={v}" for k, v in fields.items()).encode("ascii")
    return struct.pack(">H", len(payload)) + kind + payload


def build_inquiry(mac: str = BROADCAST_MAC, device_type: str = "*") -> bytes:
    return build_dldps(INQUIRY, {"M": mac, "D": device_type, "C": "", "test": "1111"})


def decode_dldps(datagram: bytes) -> DldpsMessage:
    if len(datagram) < 3 or len(datagram) > MAX_DATAGRAM:
        raise DiscoveryDecodeError("bad size")
    (length,) = struct.unpack(">H", datagram[:2])
    kind, payload = datagram[2:3], datagram[3:]
    if kind not in (INQUIRY, ANSWER, COMMAND) or length != len(payload):
        raise DiscoveryDecodeError("bad header")
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise DiscoveryDecodeError("not ASCII") from None
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, eq, value = part.partition("=")
        if not eq or not key or not key.isalnum() or key in fields:
            raise DiscoveryDecodeError(f"bad field {part[:20]!r}")
        fields[key] = value
    if "M" not in fields:
        raise DiscoveryDecodeError("no M= field")
    return DldpsMessage(kind, fields)


# --- SSDP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MSearch:
    search_target: str
    mx: int


def decode_msearch(datagram: bytes) -> MSearch:
    """An M-SEARCH request; anything else (NOTIFY, replies, junk) raises."""
    try:
        text = datagram.decode("ascii")
    except UnicodeDecodeError:
        raise DiscoveryDecodeError("not ASCII") from None
    lines = text.split("\r\n")
    if lines[0].strip().upper() != "M-SEARCH * HTTP/1.1":
        raise DiscoveryDecodeError("not an M-SEARCH")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().upper()] = value.strip()
    if headers.get("MAN", "").strip('"').lower() != "ssdp:discover" or not headers.get("ST"):
        raise DiscoveryDecodeError("not a discover request")
    mx = headers.get("MX", "1")
    return MSearch(headers["ST"], int(mx) if mx.isdigit() and len(mx) < 4 else 1)


def build_search_response(
    *, search_target: str, location: str, udn: str, server: str, max_age: int = 1800
) -> bytes:
    usn = udn if search_target == udn else f"{udn}::{search_target}"
    return (
        "HTTP/1.1 200 OK\r\n"
        f"CACHE-CONTROL: max-age={max_age}\r\n"
        "EXT:\r\n"
        f"LOCATION: {location}\r\n"
        f"SERVER: {server}\r\n"
        f"ST: {search_target}\r\n"
        f"USN: {usn}\r\n"
        "\r\n"
    ).encode("ascii")


def decode_search_response(datagram: bytes) -> dict[str, str]:
    text = datagram.decode("ascii", "replace")
    lines = text.split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise DiscoveryDecodeError("not a search response")
    return {
        name.strip().upper(): value.strip()
        for name, colon, value in (line.partition(":") for line in lines[1:])
        if colon
    }


@dataclass(frozen=True)
class BasicDevice:
    friendly_name: str
    model_name: str
    model_number: str
    model_description: str
    serial: str
    udn: str
    presentation_url: str


def device_description(device: BasicDevice) -> bytes:
    """The UPnP description document a LOCATION points at."""
    e = escape
    return (
        '<?xml version="1.0"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "<specVersion><major>1</major><minor>0</minor></specVersion>\n"
        "<device>\n"
        f"<deviceType>{BASIC_DEVICE}</deviceType>\n"
        f"<friendlyName>{e(device.friendly_name)}</friendlyName>\n"
        "<manufacturer>D-Link</manufacturer>\n"
        "<manufacturerURL>http://www.dlink.com</manufacturerURL>\n"
        f"<modelDescription>{e(device.model_description)}</modelDescription>\n"
        f"<modelName>{e(device.model_name)}</modelName>\n"
        f"<modelNumber>{e(device.model_number)}</modelNumber>\n"
        f"<serialNumber>{e(device.serial)}</serialNumber>\n"
        f"<UDN>{e(device.udn)}</UDN>\n"
        f"<presentationURL>{e(device.presentation_url)}</presentationURL>\n"
        "</device>\n"
        "</root>\n"
    ).encode()
