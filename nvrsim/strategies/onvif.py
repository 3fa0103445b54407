"""ONVIF SOAP requests, well-formed and hostile (docs/onvif.md): envelopes for the
device and media services' operations, with or without a WS-Security UsernameToken,
and documents no client should send.

Choices where the public record is silent: a signed request's nonce starts with a count
of this process's draws, so that no two repeat (a device refuses a replayed nonce, and
hypothesis would otherwise draw the same bytes again); the operations drawn are the ones nvrsim's
devices serve (GetDeviceInformation and its neighbours, GetProfiles, GetStreamUri…);
an unknown one is drawn too, since a client probing a device sends them.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime

from hypothesis import strategies as st

from nvrsim.protocols.onvif import password_digest
from nvrsim.strategies.isapi import XML_BOMBS

__all__ = [
    "OPERATIONS",
    "SERVICES",
    "envelope",
    "hostile_requests",
    "requests",
    "username_token",
]

ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"

# Where each service's SOAP requests go, by the prefix of its namespace.
SERVICES = {"tds": "/onvif/device_service", "trt": "/onvif/media_service"}

# (service prefix, operation, body): what a client such as onvif-zeep sends.
OPERATIONS = (
    ("tds", "GetSystemDateAndTime", ""),
    ("tds", "GetDeviceInformation", ""),
    ("tds", "GetCapabilities", "<tds:Category>All</tds:Category>"),
    ("tds", "GetServices", "<tds:IncludeCapability>false</tds:IncludeCapability>"),
    ("tds", "GetNetworkInterfaces", ""),
    ("tds", "GetScopes", ""),
    ("tds", "GetHostname", ""),
    ("trt", "GetProfiles", ""),
    (
        "trt",
        "GetStreamUri",
        "<trt:StreamSetup><tt:Stream xmlns:tt='http://www.onvif.org/ver10/schema'>"
        "RTP-Unicast</tt:Stream></trt:StreamSetup><trt:ProfileToken>Profile_1</trt:ProfileToken>",
    ),
    ("tds", "GetWsdlUrl", ""),  # not served: the fault a client must handle
)


_nonces = itertools.count(1)


def username_token(user: str, password: str, created: float, nonce: bytes) -> str:
    """A WS-Security header with a PasswordDigest, as onvif-zeep writes it."""
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{_PROFILE}#PasswordDigest">'
        f"{password_digest(nonce, stamp, password)}</wsse:Password>"
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def envelope(prefix: str, operation: str, body: str = "", security: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{ENV}" xmlns:tds="{TDS}" xmlns:trt="{TRT}">'
        f"<s:Header>{security}</s:Header>"
        f"<s:Body><{prefix}:{operation}>{body}</{prefix}:{operation}></s:Body></s:Envelope>"
    ).encode()


def requests(
    user: str = "admin", password: str | None = None, created: float | None = None
) -> st.SearchStrategy[tuple[str, bytes]]:
    """Well-formed requests as (service path, SOAP body); signed with `password` at
    `created` (the device's clock) when both are given, else anonymous."""
    security = st.just("")
    if password is not None and created is not None:
        # A device refuses a nonce it has seen (replay): each draw gets one of its own.
        security = st.binary(min_size=8, max_size=8).map(
            lambda drawn: username_token(
                user, password, created, next(_nonces).to_bytes(8, "big") + drawn
            )
        )
    return st.builds(
        lambda op, sec: (SERVICES[op[0]], envelope(op[0], op[1], op[2], security=sec)),
        st.sampled_from(OPERATIONS),
        security,
    )


_text = st.text(max_size=30).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;"))

_hostile_bodies: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(XML_BOMBS),
    st.binary(max_size=300),
    # the right envelope, an operation of any name in any namespace
    st.builds(
        lambda prefix, op, body: envelope(prefix, op, body),
        st.sampled_from(["tds", "trt"]),
        st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True),
        _text,
    ),
    # SOAP 1.1's namespace, no Body, two Bodies, a Security header that lies
    st.just(
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        b'<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        b"</s:Body></s:Envelope>"
    ),
    st.just(f'<s:Envelope xmlns:s="{ENV}"><s:Header/></s:Envelope>'.encode()),
    st.builds(
        lambda user, pw, nonce: envelope(
            "tds",
            "GetDeviceInformation",
            security=f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username><wsse:Password>{pw}</wsse:Password>"
            f"<wsse:Nonce>{nonce}</wsse:Nonce><wsu:Created>{pw}</wsu:Created>"
            "</wsse:UsernameToken></wsse:Security>",
        ),
        _text,
        _text,
        _text,
    ),
)
hostile_requests: st.SearchStrategy[tuple[str, bytes]] = st.tuples(
    st.sampled_from(sorted(SERVICES.values())), _hostile_bodies
)
"""(service path, body) pairs no client should send."""
