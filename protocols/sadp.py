"""Hikvision SADP over UDP 37020: XML datagrams to and from typed messages.

No I/O and no device state: `decode_probe` turns a client's `<Probe>` into a
`Probe`, the `build_*` functions turn typed values into reply bytes, and the
client side (`build_probe`, `decode_probe_match`) is here too so tests and the
discover client speak the same wire format (docs/protocols/hikvision.md §1).

Choices where the notes are silent ([I]/[G] in §1):
- Replies are CRLF-separated lines, one element per line, no indentation:
  RBZX strips `\\r` and `\\n` before parsing, which real CRLF replies need.
- `Types` in a reply is our canonical spelling of the request's Types
  (`inquiry_v32` is echoed as such); the one Rust client that wants
  `activate ` with a trailing space is not humoured.
- Hik-Connect tags follow the CAP1 fields, in the order RBZX's UpdateResult
  reads them: `supportEzvizUnbind` (true only on firmware that knows the
  unbind Types; omitted otherwise, as older firmware does not print it), then
  `EZVIZBindStatus` as `true`/`false` (bound to an account) next to it, then
  `SADPVersion`. We advertise `3.0` because v3.1 crypto is unknown and
  clients pick v3.1 from this tag.
- Only the two fields real firmware misspells (`HCPlatformEnable`,
  `DeviceLock`) get `flase`, and only when the caller asks for the quirk.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache, lru_cache
from operator import attrgetter
from typing import Any

from . import xmlsafe
from .xmlwrite import Element, document, el, escaped, write, xml_declaration

SADP_PORT = 37020
MULTICAST_GROUP = "239.255.255.250"
MAX_DATAGRAM = 8 * 1024  # real replies fit in 2 KB; anything far larger is hostile
_BOOT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SadpDecodeError(ValueError):
    """A datagram that is not a SADP message we understand; responders drop it."""


class ProbeType(enum.StrEnum):
    """The request Types we understand, in the firmware's own spelling."""

    INQUIRY = "inquiry"
    INQUIRY_V32 = "inquiry_v32"
    EXCHANGE_CODE = "exchangecode"
    ACTIVATE = "activate"
    UPDATE = "update"
    SET_HC_PLATFORM = "SetHCPlatform"
    SET_VERIFICATION_CODE = "SetVerificationCode"
    GET_UNBIND_STATUS = "getUnbindStatus"
    EZVIZ_UNBIND = "ezvizUnbind"

    @property
    def is_inquiry(self) -> bool:
        return self in (ProbeType.INQUIRY, ProbeType.INQUIRY_V32)


# Clients differ in case ("Update" in one Rust client) and pad with spaces.
_TYPES_BY_LOWER = {t.value.lower(): t for t in ProbeType}
_NEEDS_PASSWORD = {
    ProbeType.ACTIVATE,
    ProbeType.UPDATE,
    ProbeType.SET_HC_PLATFORM,
    ProbeType.SET_VERIFICATION_CODE,
    ProbeType.EZVIZ_UNBIND,
}


class Result(enum.StrEnum):
    """`Result` values of action replies (DLL strings, §1.5)."""

    SUCCESS = "success"
    FAILED = "failed"
    NOT_ACTIVATED = "notActivated"
    RISK_PASSWORD = "riskPassword"
    HAS_ACTIVATED = "hasActivated"
    LOCKED = "locked"
    PASSWORD_ERROR = "PasswordError"
    ILLEGAL_VERIFICATION_CODE = "IllegalVerificationCode"
    NOT_BIND = "notBind"
    UNENABLE_HC_PLATFORM = "unenableHCPlatform"
    OFFLINE_HC_PLATFORM = "offlineHCPlatform"


@dataclass(frozen=True)
class NetworkParams:
    """`update`'s network fields as sent; None = not sent. The device validates them."""

    ipv4_address: str | None = None
    command_port: str | None = None
    ipv4_subnet_mask: str | None = None
    ipv4_gateway: str | None = None
    ipv6_address: str | None = None
    ipv6_gateway: str | None = None
    ipv6_mask_len: str | None = None
    dhcp: str | None = None
    http_port: str | None = None
    sdk_over_tls_port: str | None = None


# Wire tag of each NetworkParams field, in the DLL's `update` template order.
_NETWORK_TAGS = {
    "ipv4_address": "IPv4Address",
    "command_port": "CommandPort",
    "ipv4_subnet_mask": "IPv4SubnetMask",
    "ipv4_gateway": "IPv4Gateway",
    "ipv6_address": "IPv6Address",
    "ipv6_gateway": "IPv6Gateway",
    "ipv6_mask_len": "IPv6MaskLen",
    "dhcp": "DHCP",
    "http_port": "HttpPort",
    "sdk_over_tls_port": "SDKOverTLSPort",
}


@dataclass(frozen=True)
class Probe:
    """One client request. `mac` is lower case with colons, like Device.mac."""

    uuid: str
    types: ProbeType
    mac: str | None = None
    code: str | None = None  # exchangecode: base64 DER RSAPublicKey
    password: str | None = None
    password_salted: bool = False  # <Password bSalt="true">
    pw_error_parse: bool = False  # update: the client wants RetryTimes feedback
    hc_platform_enable: bool | None = None
    verification_code: str | None = None
    network: NetworkParams | None = None


# --- shared helpers ---------------------------------------------------------


def parse_bool(text: str) -> bool:
    """Lenient SADP boolean: true/false in any case, the firmware's `flase`, 1/0."""
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "flase", "0"):
        return False
    raise SadpDecodeError(f"not a boolean: {text!r}")


def format_bool(value: bool, *, flase: bool = False) -> str:
    if value:
        return "true"
    return "flase" if flase else "false"


def parse_mac(text: str) -> str:
    """Any of 58-50-ED-1F-E3-85, 58:50:ed:1f:e3:85, 5850ed1fe385 → 58:50:ed:1f:e3:85."""
    digits = "".join(c for c in text.strip().lower() if c not in ":-.")
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise SadpDecodeError(f"not a MAC address: {text!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def format_mac(mac: str) -> str:
    """The wire form: lower case with dashes (CAP1)."""
    if _CANONICAL_MAC.fullmatch(mac):  # as devices hold it: no need to parse it again
        return mac.replace(":", "-")
    return parse_mac(mac).replace(":", "-")


_CANONICAL_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def _root(datagram: bytes, expected: str) -> xmlsafe.XmlNode:
    if len(datagram) > MAX_DATAGRAM:
        raise SadpDecodeError(f"datagram of {len(datagram)} bytes exceeds {MAX_DATAGRAM}")
    try:
        # SADP is UTF-8 whatever a prolog says. C clients may send the terminating
        # NUL; a BOM and surrounding whitespace are harmless.
        text = datagram.rstrip(b"\x00").decode("utf-8").lstrip("\ufeff").strip()
    except UnicodeDecodeError as exc:
        raise SadpDecodeError("not UTF-8") from exc
    try:
        root = xmlsafe.parse(text)
    except xmlsafe.XmlError as exc:
        raise SadpDecodeError(exc.reason) from exc
    if not root.is_named(expected):
        raise SadpDecodeError(f"root is <{root.name}>, expected <{expected}>")
    return root


def _document(root: str, items: list[Element], *, declaration: str, line_end: str) -> bytes:
    """The root holding one element per item; `declaration` is the prolog's encoding label."""
    return document(el(root, *items), declaration=xml_declaration(declaration), line_end=line_end)


# Devices label replies `UTF-8` (the SDK's probes say `utf-8`) and end every line with CRLF.
_REPLY_LAYOUT = {"declaration": "UTF-8", "line_end": "\r\n"}


# --- requests (client → device) ---------------------------------------------


def decode_probe(datagram: bytes) -> Probe:
    """Parse a client's `<Probe>`; raise SadpDecodeError for anything else."""
    root = _root(datagram, "Probe")
    uuid = root.child_text("Uuid")
    if not uuid:
        raise SadpDecodeError("no Uuid")
    types = _TYPES_BY_LOWER.get((root.child_text("Types") or "").lower())
    if types is None:
        raise SadpDecodeError(f"unknown Types {root.child_text('Types')!r}")
    mac_text = root.child_text("MAC")
    if types.is_inquiry:
        # Inquiries go to everyone; OPENSADP's ff-ff-ff-ff-ff-ff (or junk) is ignored.
        return Probe(uuid, types)
    if not mac_text:
        raise SadpDecodeError(f"{types} without a MAC")
    mac = parse_mac(mac_text)
    password_element = root.child("Password")
    password = root.child_text("Password")
    if types in _NEEDS_PASSWORD and password is None:
        raise SadpDecodeError(f"{types} without a Password")
    code = root.child_text("Code")
    if types is ProbeType.EXCHANGE_CODE and not code:
        raise SadpDecodeError("exchangecode without a Code")
    hc_enable = None
    if types is ProbeType.SET_HC_PLATFORM:
        hc_enable = parse_bool(root.child_text("HCPlatformEnable") or "")
    verification_code = root.child_text("VerificationCode")
    if types is ProbeType.SET_VERIFICATION_CODE and verification_code is None:
        raise SadpDecodeError("SetVerificationCode without a VerificationCode")
    network = None
    if types is ProbeType.UPDATE:
        network = NetworkParams(
            **{name: root.child_text(tag) for name, tag in _NETWORK_TAGS.items()}
        )
    salted = password_element is not None and _is_true(password_element.attr("bSalt"))
    return Probe(
        uuid=uuid,
        types=types,
        mac=mac,
        code=code if types is ProbeType.EXCHANGE_CODE else None,
        password=password if types in _NEEDS_PASSWORD else None,
        password_salted=salted,
        pw_error_parse=_is_true(root.child_text("PWErrorParse")),
        hc_platform_enable=hc_enable,
        verification_code=verification_code if types is ProbeType.SET_VERIFICATION_CODE else None,
        network=network,
    )


def _is_true(text: str | None) -> bool:
    try:
        return text is not None and parse_bool(text)
    except SadpDecodeError:
        return False


def build_probe(probe: Probe) -> bytes:
    """A request as the SDK's templates lay it out (client side), all on one line."""
    items = [el("Uuid", probe.uuid)]
    if probe.types is ProbeType.UPDATE:
        items += [el("Types", probe.types), el("PWErrorParse", format_bool(probe.pw_error_parse))]
        items += [el("MAC", format_mac(probe.mac or ""))]
    else:
        if probe.mac is not None:
            items.append(el("MAC", format_mac(probe.mac)))
        items.append(el("Types", probe.types))
    if probe.code is not None:
        items.append(el("Code", probe.code))
    if probe.hc_platform_enable is not None:
        items.append(el("HCPlatformEnable", format_bool(probe.hc_platform_enable)))
    if probe.verification_code is not None:
        items.append(el("VerificationCode", probe.verification_code))
    if probe.password is not None:
        salt = {"bSalt": "true"} if probe.password_salted else {}
        items.append(el("Password", probe.password, attrs=salt.items()))
    if probe.network is not None:
        for name, tag in _NETWORK_TAGS.items():
            value = getattr(probe.network, name)
            if value is not None:
                items.append(el(tag, value))
    return _document("Probe", items, declaration="utf-8", line_end="")


def build_inquiry(uuid: str) -> bytes:
    """`<Probe><Uuid>…</Uuid><Types>inquiry</Types></Probe>`; the SDK upper-cases the GUID."""
    return build_probe(Probe(uuid.upper(), ProbeType.INQUIRY))


# --- replies (device → client) ------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """The device fields of an inquiry reply, in CAP1 order. `mac` uses colons."""

    device_type: int
    description: str
    serial: str
    command_port: int
    http_port: int
    mac: str
    ipv4_address: str
    ipv4_subnet_mask: str
    ipv4_gateway: str
    ipv6_address: str
    ipv6_gateway: str
    ipv6_mask_len: int
    dhcp: bool
    analog_channels: int
    digital_channels: int
    software_version: str
    dsp_version: str
    boot_time: datetime  # the device's local time, whole seconds
    encrypt: bool
    reset_ability: bool
    disks: int
    activated: bool
    password_reset_ability: bool
    password_reset_mode_second: bool
    detail_oem_code: int
    support_security_question: bool
    support_hc_platform: bool
    hc_platform_enable: bool
    is_modify_verification_code: bool
    salt: str
    device_lock: bool
    sdk_over_tls_port: int
    sdk_server_status: bool
    sdk_over_tls_server_status: bool
    support_mailbox: bool
    support_ezviz_unbind: bool | None = None  # None: the tag is left out
    ezviz_bind_status: bool | None = None
    sadp_version: str | None = None


# (wire tag, DeviceInfo attribute, kind) in CAP1 order, then the Hik-Connect tags.
_INFO_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("DeviceType", "device_type", "int"),
    ("DeviceDescription", "description", "str"),
    ("DeviceSN", "serial", "str"),
    ("CommandPort", "command_port", "int"),
    ("HttpPort", "http_port", "int"),
    ("MAC", "mac", "mac"),
    ("IPv4Address", "ipv4_address", "str"),
    ("IPv4SubnetMask", "ipv4_subnet_mask", "str"),
    ("IPv4Gateway", "ipv4_gateway", "str"),
    ("IPv6Address", "ipv6_address", "str"),
    ("IPv6Gateway", "ipv6_gateway", "str"),
    ("IPv6MaskLen", "ipv6_mask_len", "int"),
    ("DHCP", "dhcp", "bool"),
    ("AnalogChannelNum", "analog_channels", "int"),
    ("DigitalChannelNum", "digital_channels", "int"),
    ("SoftwareVersion", "software_version", "str"),
    ("DSPVersion", "dsp_version", "str"),
    ("BootTime", "boot_time", "time"),
    ("Encrypt", "encrypt", "bool"),
    ("ResetAbility", "reset_ability", "bool"),
    ("DiskNumber", "disks", "int"),
    ("Activated", "activated", "bool"),
    ("PasswordResetAbility", "password_reset_ability", "bool"),
    ("PasswordResetModeSecond", "password_reset_mode_second", "bool"),
    ("DetailOEMCode", "detail_oem_code", "int"),
    ("SupportSecurityQuestion", "support_security_question", "bool"),
    ("SupportHCPlatform", "support_hc_platform", "bool"),
    ("HCPlatformEnable", "hc_platform_enable", "bool"),
    ("IsModifyVerificationCode", "is_modify_verification_code", "bool"),
    ("Salt", "salt", "str"),
    ("DeviceLock", "device_lock", "bool"),
    ("SDKOverTLSPort", "sdk_over_tls_port", "int"),
    ("SDKServerStatus", "sdk_server_status", "bool"),
    ("SDKOverTLSServerStatus", "sdk_over_tls_server_status", "bool"),
    ("SupportMailBox", "support_mailbox", "bool"),
    ("supportEzvizUnbind", "support_ezviz_unbind", "bool"),
    ("EZVIZBindStatus", "ezviz_bind_status", "bool"),
    ("SADPVersion", "sadp_version", "str"),
)
assert [attr for _, attr, _ in _INFO_FIELDS] == [f.name for f in fields(DeviceInfo)]
_OPTIONAL_TAGS = frozenset({"supportEzvizUnbind", "EZVIZBindStatus", "SADPVersion"})
# The two fields real firmware prints as `flase` (CAP1, CAP2).
FLASE_FIELDS = frozenset({"HCPlatformEnable", "DeviceLock"})
DEVICE_INFO_TAGS = tuple(tag for tag, _, _ in _INFO_FIELDS)
CAP1_TAGS = ("Uuid", "Types", *(t for t in DEVICE_INFO_TAGS if t not in _OPTIONAL_TAGS))

_FORMAT: dict[str, Callable[[Any], str]] = {
    "int": str,
    "str": str,
    "bool": format_bool,
    "mac": format_mac,
    "time": lambda t: t.strftime(_BOOT_TIME_FORMAT),
}
_PARSE: dict[str, Callable[[str], Any]] = {
    "int": int,
    "str": str,
    "bool": parse_bool,
    "mac": parse_mac,
    "time": lambda s: datetime.strptime(s, _BOOT_TIME_FORMAT),
}


def build_device_match(
    uuid: str, types: str, info: DeviceInfo, *, flase: bool = False, result: str | None = None
) -> bytes:
    """An inquiry reply, or with `result` the `update` reply that repeats the device info."""
    before, after = _written_info(info, flase)
    return before + _written_head(uuid, str(types), result) + after


@lru_cache(maxsize=64)
def _written_head(uuid: str, types: str, result: str | None) -> bytes:
    """The lines only an inquiry's own reply has: the same for every device answering it."""
    head = [el("Uuid", uuid), el("Types", types)]
    if result is not None:
        head.append(el("Result", str(result)))
    line_end = _REPLY_LAYOUT["line_end"]
    return "".join(write(e) + line_end for e in head).encode("utf-8")


def _field_writers(flase: bool) -> tuple[Callable[[Any], str], ...]:
    """How each device field is written inside a reply's template, in order. Only free
    text can hold what XML must escape; numbers, booleans, MACs and times never do."""
    writers: list[Callable[[Any], str]] = []
    for tag, _, kind in _INFO_FIELDS:
        if kind == "bool":
            words = (format_bool(False, flase=flase and tag in FLASE_FIELDS), "true")
            writers.append(words.__getitem__)  # False and True index as 0 and 1
        else:
            writers.append(escaped if kind == "str" else _FORMAT[kind])
    return tuple(writers)


_WRITERS = {flase: _field_writers(flase) for flase in (False, True)}
_INFO_VALUES = attrgetter(*(attr for _, attr, _ in _INFO_FIELDS))
_FIRST_OPTIONAL = next(i for i, (tag, _, _) in enumerate(_INFO_FIELDS) if tag in _OPTIONAL_TAGS)


@lru_cache(maxsize=1 << 14)
def _written_info(info: DeviceInfo, flase: bool) -> tuple[bytes, bytes]:
    """A reply's bytes before and after its head (Uuid, Types, Result), which alone
    changes from one inquiry to the next: written once per device state, so a fleet
    answers an inquiry without writing every device's forty tags again."""
    declaration, line_end = _REPLY_LAYOUT["declaration"], _REPLY_LAYOUT["line_end"]
    before = f"{xml_declaration(declaration)}{line_end}<ProbeMatch>{line_end}"
    values = _INFO_VALUES(info)
    texts = [
        writer(value)
        for writer, value in zip(_WRITERS[flase], values, strict=True)
        if value is not None
    ]
    template = _fields_template(tuple(v is not None for v in values[_FIRST_OPTIONAL:]))
    return before.encode("utf-8"), template.format(*texts).encode("utf-8")


@cache
def _fields_template(optional: tuple[bool, ...]) -> str:
    """The device fields' lines with a `{}` for each text, then the end of the root, for
    one combination of optional tags present (a leaf element each took 45 µs a device,
    too long for 100,000 devices answering one inquiry)."""
    line_end = _REPLY_LAYOUT["line_end"]
    present = (True,) * _FIRST_OPTIONAL + optional
    lines = "".join(
        f"<{tag}>{{}}</{tag}>{line_end}"
        for (tag, _, _), here in zip(_INFO_FIELDS, present, strict=True)
        if here
    )
    return f"{lines}</ProbeMatch>{line_end}"


def build_result(
    uuid: str,
    types: str,
    result: str,
    *,
    code: str | None = None,
    retry_times: int | None = None,
    surplus_lock_time: int | None = None,
) -> bytes:
    """An action reply: Uuid, Types, Result, then whichever feedback applies."""
    items = [el("Uuid", uuid), el("Types", str(types)), el("Result", str(result))]
    for tag, value in (
        ("Code", code),
        ("RetryTimes", retry_times),
        ("SurplusLockTime", surplus_lock_time),
    ):
        if value is not None:
            items.append(el(tag, str(value)))
    return _document("ProbeMatch", items, **_REPLY_LAYOUT)


@dataclass(frozen=True)
class ProbeMatch:
    """A device's reply as a client reads it: every tag in order, as text."""

    fields: dict[str, str]

    @property
    def uuid(self) -> str:
        return self.fields.get("Uuid", "")

    @property
    def types(self) -> str:
        return self.fields.get("Types", "")

    @property
    def result(self) -> str | None:
        return self.fields.get("Result")

    def device_info(self) -> DeviceInfo:
        """The typed device fields; SadpDecodeError when a CAP1 field is missing or bad."""
        values: dict[str, Any] = {}
        for tag, attr, kind in _INFO_FIELDS:
            text = self.fields.get(tag)
            if text is None:
                if tag in _OPTIONAL_TAGS:
                    continue
                raise SadpDecodeError(f"ProbeMatch without {tag}")
            try:
                values[attr] = _PARSE[kind](text)
            except ValueError as exc:  # SadpDecodeError is one too
                raise SadpDecodeError(f"{tag}: {exc}") from exc
        return DeviceInfo(**values)


def decode_probe_match(datagram: bytes) -> ProbeMatch:
    root = _root(datagram, "ProbeMatch")
    found: dict[str, str] = {}
    for child in root.children:
        found.setdefault(child.name, child.text.strip())
    if "Uuid" not in found or "Types" not in found:
        raise SadpDecodeError("ProbeMatch without Uuid or Types")
    return ProbeMatch(found)
