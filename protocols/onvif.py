"""ONVIF device and media services: SOAP 1.2 requests in, response and fault documents out.

No I/O and no device state (docs/protocols/onvif-dlink.md §2). `decode_request`
reads an envelope into the operation's name, its parameters and the
WS-Security UsernameToken, if any; `password_digest` is the token's one
formula; the `*_response` builders write each operation's body and
`envelope`/`fault` wrap them.

Choices where the notes are silent or say [I]:
- SOAP 1.1 envelopes are read like 1.2 ones (clients differ; the body is the
  same); replies are always SOAP 1.2, which is what the WSDL binds.
- A Created time is read as ISO 8601 with `Z`, an offset, or neither (then
  UTC), with or without fractions; anything else makes the token malformed.
- Faults: XML that does not parse is `Sender/ter:WellFormed`; an envelope
  without a body operation is `Sender/ter:Tag`; an operation we do not
  implement is `Receiver/ter:ActionNotSupported`; a bad argument is
  `Sender/ter:InvalidArgVal` with a more precise subcode where ONVIF has one
  (`ter:NoProfile`). Every prefix a fault uses is declared on its Envelope,
  so clients can resolve the subcode QName.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from . import xmlsafe
from .xmlwrite import Element, Markup, Scalar, document, el, empty, write, xmlns

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)

MAX_BODY = 64 * 1024  # SOAP requests of the operations we serve are a few KB


class OnvifDecodeError(ValueError):
    """A request that is not a SOAP envelope we can read; `fault` is the reply to send."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


@dataclass(frozen=True)
class Fault:
    code: str  # Sender or Receiver
    subcodes: tuple[str, ...]  # local names in the ter namespace, outermost first
    reason: str


NOT_AUTHORIZED = Fault("Sender", ("NotAuthorized",), "Sender not Authorized")
WELL_FORMED = Fault("Sender", ("WellFormed",), "The request is not well-formed XML")
NO_OPERATION = Fault("Sender", ("Tag",), "No operation in the SOAP body")
ACTION_NOT_SUPPORTED = Fault(
    "Receiver", ("ActionNotSupported",), "The requested action is not supported"
)
NO_PROFILE = Fault("Sender", ("InvalidArgVal", "NoProfile"), "The profile does not exist")
INVALID_ARG = Fault("Sender", ("InvalidArgVal",), "An argument value is invalid")
DEVICE_ERROR = Fault("Receiver", ("Action",), "The device failed to perform the action")


@dataclass(frozen=True)
class UsernameToken:
    username: str
    password: str
    digest: bool  # #PasswordDigest; otherwise #PasswordText
    nonce: bytes | None
    created: str | None  # as sent: the digest covers these exact characters


@dataclass(frozen=True)
class SoapRequest:
    operation: str  # local name of the body's element, e.g. GetDeviceInformation
    namespace: str | None
    params: xmlsafe.XmlNode
    token: UsernameToken | None
    token_malformed: bool = False  # a Security header was sent but could not be read


def decode_request(body: bytes) -> SoapRequest:
    try:
        root = xmlsafe.parse(body)
    except xmlsafe.XmlError:
        raise OnvifDecodeError(WELL_FORMED) from None
    envelope_body = root.child("Body") if root.is_named("Envelope") else None
    if envelope_body is None or not envelope_body.children:
        raise OnvifDecodeError(NO_OPERATION)
    operation = envelope_body.children[0]
    header = root.child("Header")
    security = header.child("Security") if header is not None else None
    token = _username_token(security) if security is not None else None
    return SoapRequest(
        operation=operation.name,
        namespace=operation.namespace,
        params=operation,
        token=token,
        token_malformed=security is not None and token is None,
    )


def _username_token(security: xmlsafe.XmlNode) -> UsernameToken | None:
    token = security.child("UsernameToken")
    if token is None:
        return None
    username, password = token.child("Username"), token.child("Password")
    if username is None or password is None:
        return None
    nonce_text = token.child_text("Nonce")
    try:
        nonce = base64.b64decode(nonce_text, validate=True) if nonce_text is not None else None
    except (binascii.Error, ValueError):
        return None
    kind = password.attr("Type") or PASSWORD_DIGEST
    return UsernameToken(
        username=username.text.strip(),
        password=password.text.strip(),
        digest=kind.endswith("#PasswordDigest"),
        nonce=nonce,
        created=token.child_text("Created"),
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken Profile: Base64(SHA-1(nonce + created + password))."""
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(digest).decode()


def parse_created(text: str) -> float | None:
    """A wsu:Created time as epoch seconds, or None when it is not a time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


# --- documents ------------------------------------------------------------------------------

# Every prefix a reply or fault uses, declared once on its Envelope in this order.
_NAMESPACES = xmlns({"env": SOAP12, "tds": TDS, "trt": TRT, "tt": TT, "ter": TER})


def _envelope(body: Element | Markup) -> bytes:
    return document(el("env:Envelope", el("env:Body", body), attrs=_NAMESPACES))


def envelope(body: str) -> bytes:
    """A SOAP 1.2 reply around `body`, one of the `*_response` fragments below."""
    return _envelope(Markup(body))


def fault(f: Fault) -> bytes:
    code: list[Element] = [el("env:Value", f"env:{f.code}")]
    if f.subcodes:
        code.append(_subcode(f.subcodes))
    return _envelope(
        el(
            "env:Fault",
            el("env:Code", *code),
            el("env:Reason", el("env:Text", f.reason, attrs=[("xml:lang", "en")])),
        )
    )


def _fragment(tag: str, *content: Element | Markup | Scalar, **attrs: Scalar) -> str:
    """An operation's reply or a service's capabilities, written for `envelope` or for
    another reply to carry as markup."""
    return write(el(tag, *content, attrs=attrs.items()))


def _subcode(names: tuple[str, ...]) -> Element:
    """Subcodes nest, the outermost first."""
    inner = [_subcode(names[1:])] if names[1:] else []
    return el("env:Subcode", el("env:Value", f"ter:{names[0]}"), *inner)


# --- device service --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInformation:
    manufacturer: str
    model: str
    firmware_version: str
    serial_number: str
    hardware_id: str


def device_information_response(info: DeviceInformation) -> str:
    return _fragment(
        "tds:GetDeviceInformationResponse",
        el("tds:Manufacturer", info.manufacturer),
        el("tds:Model", info.model),
        el("tds:FirmwareVersion", info.firmware_version),
        el("tds:SerialNumber", info.serial_number),
        el("tds:HardwareId", info.hardware_id),
    )


def _date_time(when: datetime) -> tuple[Element, Element]:
    return (
        el(
            "tt:Time",
            el("tt:Hour", when.hour),
            el("tt:Minute", when.minute),
            el("tt:Second", when.second),
        ),
        el("tt:Date", el("tt:Year", when.year), el("tt:Month", when.month), el("tt:Day", when.day)),
    )


def system_date_and_time_response(
    utc: datetime, time_zone: str = "UTC0", date_time_type: str = "Manual"
) -> str:
    """The device clock, set by hand or by NTP, in UTC (local time is UTC too)."""
    return _fragment(
        "tds:GetSystemDateAndTimeResponse",
        el(
            "tds:SystemDateAndTime",
            el("tt:DateTimeType", date_time_type),
            el("tt:DaylightSavings", False),
            el("tt:TimeZone", el("tt:TZ", time_zone)),
            el("tt:UTCDateTime", *_date_time(utc)),
            el("tt:LocalDateTime", *_date_time(utc)),
        ),
    )


@dataclass(frozen=True)
class Service:
    namespace: str
    xaddr: str
    major: int
    minor: int
    capabilities: str = ""  # the service's own <…:Capabilities> element


def services_response(services: list[Service], include_capability: bool = False) -> str:
    """GetServices; with IncludeCapability each service carries its capabilities, between
    XAddr and Version as the schema orders them."""
    return _fragment(
        "tds:GetServicesResponse",
        *(
            el(
                "tds:Service",
                el("tds:Namespace", s.namespace),
                el("tds:XAddr", s.xaddr),
                *([el("tds:Capabilities", Markup(s.capabilities))] if include_capability else []),
                el("tds:Version", el("tt:Major", s.major), el("tt:Minor", s.minor)),
            )
            for s in services
        ),
    )


def device_service_capabilities() -> str:
    """tds:Capabilities (DeviceServiceCapabilities) of what the simulator answers: up to 4
    NTP servers (SetNTP), 32 accounts (simulator.core.users)."""
    return _fragment(
        "tds:Capabilities",
        el("tds:Network", NTP=4, HostnameFromDHCP=False, DynDNS=False, IPVersion6=False),
        el(
            "tds:Security",
            UsernameToken=True,
            HttpDigest=True,
            MaxUsers=32,
            MaxUserNameLength=32,
            MaxPasswordLength=64,
        ),
        el(
            "tds:System",
            DiscoveryResolve=True,
            DiscoveryBye=True,
            RemoteDiscovery=False,
            FirmwareUpgrade=False,
        ),
    )


def media_service_capabilities(profiles: int) -> str:
    """trt:Capabilities: one profile per channel, snapshots, RTSP over TCP."""
    return _fragment(
        "trt:Capabilities",
        el("trt:ProfileCapabilities", MaximumNumberOfProfiles=profiles),
        el("trt:StreamingCapabilities", RTPMulticast=False, RTP_TCP=True, RTP_RTSP_TCP=True),
        SnapshotUri=True,
        Rotation=False,
    )


def service_capabilities_response(prefix: str, capabilities: str) -> str:
    """`capabilities` is what `*_service_capabilities` wrote for the service `prefix`."""
    return _fragment(f"{prefix}:GetServiceCapabilitiesResponse", Markup(capabilities))


def capabilities_response(
    device_xaddr: str,
    media_xaddr: str,
    *,
    events_xaddr: str | None = None,
    imaging_xaddr: str | None = None,
    ptz_xaddr: str | None = None,
) -> str:
    """GetCapabilities: the categories in the schema's order (…, Imaging, Media, PTZ)."""
    events = (
        [
            el(
                "tt:Events",
                el("tt:XAddr", events_xaddr),
                el("tt:WSSubscriptionPolicySupport", False),
                el("tt:WSPullPointSupport", True),
                el("tt:WSPausableSubscriptionManagerInterfaceSupport", False),
            )
        ]
        if events_xaddr
        else []
    )
    streaming = el(
        "tt:StreamingCapabilities",
        el("tt:RTPMulticast", False),
        el("tt:RTP_TCP", True),
        el("tt:RTP_RTSP_TCP", True),
    )
    return _fragment(
        "tds:GetCapabilitiesResponse",
        el(
            "tds:Capabilities",
            el("tt:Device", el("tt:XAddr", device_xaddr)),
            *events,
            *([el("tt:Imaging", el("tt:XAddr", imaging_xaddr))] if imaging_xaddr else []),
            el("tt:Media", el("tt:XAddr", media_xaddr), streaming),
            *([el("tt:PTZ", el("tt:XAddr", ptz_xaddr))] if ptz_xaddr else []),
        ),
    )


@dataclass(frozen=True)
class NetworkInterface:
    token: str
    name: str
    mac: str
    address: str
    prefix_length: int
    dhcp: bool
    mtu: int = 1500


def network_interfaces_response(nic: NetworkInterface) -> str:
    config = el(
        "tt:Config",
        el(
            "tt:Manual",
            el("tt:Address", nic.address),
            el("tt:PrefixLength", nic.prefix_length),
        ),
        el("tt:DHCP", nic.dhcp),
    )
    return _fragment(
        "tds:GetNetworkInterfacesResponse",
        el(
            "tds:NetworkInterfaces",
            el("tt:Enabled", True),
            el(
                "tt:Info",
                el("tt:Name", nic.name),
                el("tt:HwAddress", nic.mac),
                el("tt:MTU", nic.mtu),
            ),
            el("tt:IPv4", el("tt:Enabled", True), config),
            token=nic.token,
        ),
    )


def scopes_response(scopes: list[tuple[str, str]]) -> str:
    """`scopes`: (ScopeDef: Fixed or Configurable, ScopeItem) pairs."""
    return _fragment(
        "tds:GetScopesResponse",
        *(
            el("tds:Scopes", el("tt:ScopeDef", kind), el("tt:ScopeItem", item))
            for kind, item in scopes
        ),
    )


def hostname_response(name: str, from_dhcp: bool = False) -> str:
    return _fragment(
        "tds:GetHostnameResponse",
        el("tds:HostnameInformation", el("tt:FromDHCP", from_dhcp), el("tt:Name", name)),
    )


# --- media service ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    source_token: str
    encoder_token: str
    width: int = 1920
    height: int = 1080
    frame_rate: int = 25
    bitrate: int = 4096  # kbit/s
    gov_length: int = 50
    h264_profile: str = "Main"
    ptz_configuration: Element | None = None  # tt:PTZConfiguration, where the device has PTZ


def video_source_configuration(
    p: MediaProfile, tag: str = "tt:VideoSourceConfiguration"
) -> Element:
    return el(
        tag,
        el("tt:Name", p.source_token),
        el("tt:UseCount", 1),
        el("tt:SourceToken", p.source_token),
        empty("tt:Bounds", x=0, y=0, width=p.width, height=p.height),
        token=p.source_token,
    )


def video_encoder_configuration(
    p: MediaProfile, tag: str = "tt:VideoEncoderConfiguration"
) -> Element:
    return el(
        tag,
        el("tt:Name", p.encoder_token),
        el("tt:UseCount", 1),
        el("tt:Encoding", "H264"),
        el("tt:Resolution", el("tt:Width", p.width), el("tt:Height", p.height)),
        el("tt:Quality", 3),
        el(
            "tt:RateControl",
            el("tt:FrameRateLimit", p.frame_rate),
            el("tt:EncodingInterval", 1),
            el("tt:BitrateLimit", p.bitrate),
        ),
        el("tt:H264", el("tt:GovLength", p.gov_length), el("tt:H264Profile", p.h264_profile)),
        el(
            "tt:Multicast",
            el("tt:Address", el("tt:Type", "IPv4"), el("tt:IPv4Address", "0.0.0.0")),
            el("tt:Port", 8860),
            el("tt:TTL", 128),
            el("tt:AutoStart", False),
        ),
        el("tt:SessionTimeout", "PT5S"),
        token=p.encoder_token,
    )


def _profile(p: MediaProfile, tag: str = "trt:Profiles") -> Element:
    return el(
        tag,
        el("tt:Name", p.name),
        video_source_configuration(p),
        video_encoder_configuration(p),
        *([p.ptz_configuration] if p.ptz_configuration is not None else []),
        token=p.token,
        fixed=True,
    )


def profiles_response(profiles: list[MediaProfile]) -> str:
    return _fragment("trt:GetProfilesResponse", *(_profile(p) for p in profiles))


def profile_response(profile: MediaProfile) -> str:
    return _fragment("trt:GetProfileResponse", _profile(profile, "trt:Profile"))


def _media_uri(uri: str) -> Element:
    return el(
        "trt:MediaUri",
        el("tt:Uri", uri),
        el("tt:InvalidAfterConnect", False),
        el("tt:InvalidAfterReboot", False),
        el("tt:Timeout", "PT0S"),
    )


def stream_uri_response(uri: str) -> str:
    return _fragment("trt:GetStreamUriResponse", _media_uri(uri))


def snapshot_uri_response(uri: str) -> str:
    return _fragment("trt:GetSnapshotUriResponse", _media_uri(uri))
