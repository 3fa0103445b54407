"""Hikvision ISAPI documents: what devices write, and the request bodies they accept.

No I/O and no device state: builders take plain values and return the bytes a
real device sends (one element per line, no indentation, namespaced root with
`version`), parsers take request bytes and return typed values or raise an
`IsapiRequestError` that carries the vendor's status for the reply.

Request bodies go through protocols.xmlsafe: XML bombs and DTDs are answered
as badly formed XML, an empty body or one too deep or too large as bad content.
Parsing is lenient the way devices are: namespaces and prefixes are ignored
(even undeclared ones) and element names match without regard to case.

Sources: docs/protocols/hikvision.md §2 (tags [V]/[I]/[G] there).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, replace
from ipaddress import ip_address

from . import xmlsafe
from .xmlsafe import XmlNode
from .xmlwrite import Element, document, drop_non_xml_chars, el, xmlns

HIKVISION_NAMESPACE = "http://www.hikvision.com/ver20/XMLSchema"
ISAPI_NAMESPACE = "http://www.isapi.org/ver20/XMLSchema"
PSIA_NAMESPACE = "urn:psialliance-org"  # old NVRs, with version="1.0"

XML_CONTENT_TYPE = 'application/xml; charset="UTF-8"'
JSON_CONTENT_TYPE = 'application/json; charset="UTF-8"'
ALERT_BOUNDARY = "boundary"  # alertStream: `multipart/mixed; boundary=boundary`


# ---------------------------------------------------------------- status codes


@dataclass(frozen=True)
class IsapiStatus:
    """One ResponseStatus outcome: HTTP code, `statusCode` and `subStatusCode`."""

    http_status: int
    code: int
    sub_status: str


OK = IsapiStatus(200, 1, "ok")
NOT_SUPPORT = IsapiStatus(404, 4, "notSupport")  # [V] unknown path on newer devices
INVALID_ID = IsapiStatus(404, 4, "invalidID")  # [V] 404; code 4 as an access terminal answers
METHOD_NOT_ALLOWED = IsapiStatus(400, 4, "methodNotAllowed")  # [V]
NOT_ACTIVATED = IsapiStatus(403, 4, "notActivated")  # [I] 403 as legacy 4/notSupport
HAS_ACTIVATED = IsapiStatus(403, 4, "hasActivated")  # [I] §2.6
# [I] A weak password is refused, not stored: statusCode 1, where the guide lists
# riskPassword for accepted-but-weak changes, would read as success to a client.
RISK_PASSWORD = IsapiStatus(400, 6, "riskPassword")
BAD_XML_FORMAT = IsapiStatus(400, 5, "badXmlFormat")  # [V] code; [I] HTTP 400
BAD_XML_CONTENT = IsapiStatus(400, 6, "badXmlContent")  # [V] empty PUT
BODY_TOO_LARGE = IsapiStatus(413, 6, "badXmlContent")  # [I] the simulator's body cap
DEVICE_ERROR = IsapiStatus(500, 3, "deviceError")  # only if the simulator itself fails
REBOOT_REQUIRED = IsapiStatus(200, 7, "rebootRequired")  # [V] code 7; after a firmware upload
# [I] no capture of a refused image: code 6 (invalid content) with our own sub-status
BAD_FIRMWARE = IsapiStatus(400, 6, "badFirmware")

_STATUS_STRING = {
    1: "OK",
    2: "Device Busy",
    3: "Device Error",
    4: "Invalid Operation",
    5: "Invalid XML Format",
    6: "Invalid XML Content",
    7: "Reboot Required",
}
# The JSON flavour words 5 and 6 without "XML" ([V] for 6, [I] for 5).
_JSON_STATUS_STRING = _STATUS_STRING | {5: "Invalid Format", 6: "Invalid Content"}


class IsapiRequestError(Exception):
    """A request the device refuses; `status` is the ResponseStatus to answer with."""

    status: IsapiStatus = BAD_XML_CONTENT

    def __init__(self, reason: str, status: IsapiStatus | None = None) -> None:
        super().__init__(reason)
        if status is not None:
            self.status = status


class BadXmlFormat(IsapiRequestError):
    status = BAD_XML_FORMAT


class BadXmlContent(IsapiRequestError):
    status = BAD_XML_CONTENT


# ---------------------------------------------------------------- building


def render(root: Element, namespace: str | None = None) -> bytes:
    """Serialise as devices do; a namespace adds `version` and `xmlns` to the root."""
    if namespace:
        version = "1.0" if namespace == PSIA_NAMESPACE else "2.0"
        root = replace(root, attrs=(("version", version), *xmlns({"": namespace}), *root.attrs))
    # Dropped, not escaped: XML 1.0 has no way to carry them, and a device's reply
    # must parse whatever name or URL a client managed to store.
    return document(root, line_end="\n", drop_non_xml=True)


# ---------------------------------------------------------------- status documents


def response_status(status: IsapiStatus, request_url: str, namespace: str) -> bytes:
    return render(
        el(
            "ResponseStatus",
            el("requestURL", request_url),
            el("statusCode", status.code),
            el("statusString", _STATUS_STRING[status.code]),
            el("subStatusCode", status.sub_status),
        ),
        namespace,
    )


def response_status_json(status: IsapiStatus, request_url: str) -> bytes:
    """The `?format=json` flavour of ResponseStatus."""
    document = {
        "requestURL": drop_non_xml_chars(request_url),
        "statusCode": status.code,
        "statusString": _JSON_STATUS_STRING[status.code],
        "subStatusCode": status.sub_status,
    }
    return json.dumps(document, indent=1).encode("utf-8")


def user_check_ok() -> bytes:
    return render(el("userCheck", el("statusValue", 200), el("statusString", "OK")))


def user_check_unauthorized(*, locked: bool, unlock_in: int, retries_left: int) -> bytes:
    """The body every ISAPI URL returns on failed authentication (§2.1, no namespace)."""
    return render(
        el(
            "userCheck",
            el("statusValue", 401),
            el("statusString", "Unauthorized"),
            el("lockStatus", "lock" if locked else "unlock"),
            el("unlockTime", unlock_in),
            el("retryLoginTime", retries_left),
        )
    )


# ---------------------------------------------------------------- system documents


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    device_id: str
    description: str
    model: str
    serial: str
    mac: str  # lower case, colons
    firmware_version: str  # V4.30.085
    firmware_released: str  # build 200916
    encoder_version: str
    encoder_released: str
    device_type: str  # IPCamera, NVR, DVR
    recorder: bool  # beeps and reports video loss
    manufacturer: str | None = None  # newer builds only


# A pure function of its inputs, and the hottest document; room for a 10,000-device fleet
# asked in turn (a smaller cache would evict each entry before its device is asked again).
@functools.lru_cache(maxsize=1 << 14)
def device_info(info: DeviceInfo, namespace: str) -> bytes:
    """Children in the order real devices send them (§2.4)."""
    children = [
        el("deviceName", info.name),
        el("deviceID", info.device_id),
        el("deviceDescription", info.description),
        el("deviceLocation", "hangzhou"),
        el("systemContact", "Hikvision.China"),
        el("model", info.model),
        el("serialNumber", info.serial),
        el("macAddress", info.mac),
        el("firmwareVersion", info.firmware_version),
        el("firmwareReleasedDate", info.firmware_released),
        el("encoderVersion", info.encoder_version),
        el("encoderReleasedDate", info.encoder_released),
        el("bootVersion", "V1.3.4"),
        el("bootReleasedDate", "100316"),
        el("hardwareVersion", "0x0"),
        el("deviceType", info.device_type),
        el("telecontrolID", 88),
        el("supportBeep", info.recorder),
        el("supportVideoLoss", info.recorder),
        el("firmwareVersionInfo", "B-R-H3-0"),
    ]
    if info.manufacturer:
        children.append(el("manufacturer", info.manufacturer))
    return render(el("DeviceInfo", *children), namespace)


def device_status(*, current_time: str, uptime: int, namespace: str) -> bytes:
    return render(
        el(
            "DeviceStatus",
            el("currentDeviceTime", current_time),
            el("deviceUpTime", uptime),
            el("CPUList", el("CPU", el("cpuDescription", "ARM"), el("cpuUtilization", 7))),
            el(
                "MemoryList",
                el(
                    "Memory",
                    el("memoryDescription", "DDR Memory"),
                    el("memoryUsage", "180.5"),
                    el("memoryAvailable", "331.5"),
                ),
            ),
        ),
        namespace,
    )


def discovery_mode(*, sadp_discoverable: bool, namespace: str) -> bytes:
    sadp = "discoverable" if sadp_discoverable else "nonDiscoverable"
    return render(
        el("DiscoveryMode", el("PcapMode", "nonDiscoverable"), el("SADP", sadp)), namespace
    )


def network_capabilities(*, ezviz: bool, ezviz_unbind: bool, namespace: str) -> bytes:
    return render(
        el(
            "NetworkCap",
            el("isSupportWireless", False),
            el("isSupportPPPoE", True),
            el("isSupportUPnP", True),
            el("isSupportEZVIZ", ezviz),
            el("isSupportEZVIZQRcode", ezviz),
            el("isSupportEZVIZUnbind", ezviz_unbind),
        ),
        namespace,
    )


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class EventTrigger:
    event_type: str  # VMD, videoloss, ...
    channel: int
    dynamic: bool = False  # an NVR's IP channel: dynVideoInputChannelID
    channel_tag: str | None = None  # another channel element, e.g. inputIOPortID for IO


_TRIGGER_DESCRIPTION = {"VMD": "VMD Event trigger Information"}


def event_triggers(triggers: list[EventTrigger], namespace: str, *, wrapped: bool = False) -> bytes:
    """GET /ISAPI/Event/triggers; `wrapped` puts the list in an EventNotification root."""
    items = []
    for trigger in triggers:
        channel_tag = trigger.channel_tag or (
            "dynVideoInputChannelID" if trigger.dynamic else "videoInputChannelID"
        )
        description = _TRIGGER_DESCRIPTION.get(trigger.event_type, f"{trigger.event_type} Event")
        items.append(
            el(
                "EventTrigger",
                el("id", f"{trigger.event_type}-{trigger.channel}"),
                el("eventType", trigger.event_type),
                el("eventDescription", description),
                el(channel_tag, trigger.channel),
                el(
                    "EventTriggerNotificationList",
                    el(
                        "EventTriggerNotification",
                        el("id", "center"),
                        el("notificationMethod", "center"),
                        el("notificationRecurrence", "beginning"),
                    ),
                ),
            )
        )
    root = el("EventTriggerList", *items)
    return render(el("EventNotification", root) if wrapped else root, namespace)


def motion_detection(*, enabled: bool, namespace: str) -> bytes:
    return render(
        el(
            "MotionDetection",
            el("enabled", enabled),
            el("enableHighlight", False),
            el("samplingInterval", 2),
            el("startTriggerTime", 500),
            el("endTriggerTime", 500),
            el("regionType", "grid"),
            el("Grid", el("rowGranularity", 18), el("columnGranularity", 22)),
        ),
        namespace,
    )


@dataclass(frozen=True)
class Alert:
    ip: str
    port: int
    mac: str
    channel: int
    date_time: str  # ISO-8601 with offset
    event_type: str = "videoloss"
    event_state: str = "inactive"
    description: str = "videoloss alarm"
    active_post_count: int = 0
    channel_tag: str = "channelID"  # inputIOPortID for an alarm input


def event_alert(alert: Alert, namespace: str) -> bytes:
    """One EventNotificationAlert; its lines matter, pyhik looks for the root tags per line."""
    return render(
        el(
            "EventNotificationAlert",
            el("ipAddress", alert.ip),
            el("portNo", alert.port),
            el("protocol", "HTTP"),
            el("macAddress", alert.mac),
            el(alert.channel_tag, alert.channel),
            el("dateTime", alert.date_time),
            el("activePostCount", alert.active_post_count),
            el("eventType", alert.event_type),
            el("eventState", alert.event_state),
            el("eventDescription", alert.description),
        ),
        namespace,
    )


def multipart_part(body: bytes, boundary: str = ALERT_BOUNDARY) -> bytes:
    head = (
        f"--{boundary}\r\nContent-Type: {XML_CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body + b"\r\n"


# ---------------------------------------------------------------- Hik-Connect (EZVIZ)


@dataclass(frozen=True)
class EzvizSettings:
    enabled: bool
    registered: bool
    server: str
    verification_code: str
    bound: bool


def ezviz(settings: EzvizSettings, namespace: str) -> bytes:
    """GET /ISAPI/System/Network/EZVIZ in the order of the real capture (§2.7)."""
    return render(
        el(
            "EZVIZ",
            el("enabled", settings.enabled),
            el("registerStatus", settings.registered),
            el(
                "serverAddress",
                el("addressingFormatType", _address_format(settings.server)),
                el(_address_tag(settings.server), settings.server),
            ),
            el("verificationCode", settings.verification_code),
            el("bindStatus", "bind" if settings.bound else "unbind"),
        ),
        namespace,
    )


def ezviz_qr_code(content: str, namespace: str) -> bytes:
    """GET /ISAPI/System/Network/EZVIZ/QRCode [I]: what the device's Hik-Connect QR code says
    (serial, verification code, model: protocols/hikconnect.py), for the app to add it."""
    return render(el("EZVIZQRCode", el("content", content)), namespace)


VERIFICATION_CODE_LENGTH = (6, 12)
HOST_NAME_LENGTH = (1, 64)


def ezviz_capabilities(namespace: str) -> bytes:
    code_min, code_max = VERIFICATION_CODE_LENGTH
    return render(
        el(
            "EZVIZ",
            el("enabled", opt="true,false"),
            el("registerStatus", opt="true,false"),
            el(
                "serverAddress",
                el("addressingFormatType", opt="ipaddress,hostname"),
                el("hostName", min=HOST_NAME_LENGTH[0], max=HOST_NAME_LENGTH[1]),
            ),
            el("verificationCode", min=code_min, max=code_max),
            el("bindStatus", opt="bind,unbind"),
        ),
        namespace,
    )


def _is_ip(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _address_format(server: str) -> str:
    return "ipaddress" if _is_ip(server) else "hostname"


def _address_tag(server: str) -> str:
    return "ipAddress" if _is_ip(server) else "hostName"


# ---------------------------------------------------------------- maintenance


def upgrade_status(*, upgrading: bool, percent: int, namespace: str) -> bytes:
    return render(
        el("upgradeStatus", el("upgrading", upgrading), el("percent", percent)), namespace
    )


# ---------------------------------------------------------------- activation


def activate_status(*, activated: bool, namespace: str) -> bytes:
    """[G] No capture of this body exists; the simulator's choice, one boolean."""
    return render(el("ActivateStatus", el("Activated", activated)), namespace)


def challenge(key: str, namespace: str) -> bytes:
    return render(el("Challenge", el("key", key)), namespace)


def encrypt_challenge(modulus: int, random_hex: str) -> str:
    """The `Challenge/key`: base64 of the hex of RSA-PKCS1v1.5(random) under the client's key."""
    # cryptography (40 ms at import) waits for the first activation: most runs have none.
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        public_key = rsa.RSAPublicNumbers(65537, modulus).public_key()
        secret = public_key.encrypt(random_hex.encode("ascii"), padding.PKCS1v15())
    except ValueError:
        raise BadXmlContent("key is not a usable RSA public key") from None
    return base64.b64encode(secret.hex().encode("ascii")).decode("ascii")


def decrypt_activation_password(ciphertext: bytes, random_hex: str) -> str:
    """Undo the client's AES-128-ECB: block 1 repeats the challenge, the rest is the password."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex(random_hex)
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    if plain[:16] != random_hex[:16].encode("ascii"):
        raise BadXmlContent("the password was not encrypted with this challenge")
    try:
        return plain[16:].rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError:
        raise BadXmlContent("the password is not UTF-8") from None


# ---------------------------------------------------------------- parsing


def parse_xml(body: bytes) -> XmlNode:
    """A request body as a tree; xmlsafe's refusals become the vendor's statuses."""
    try:
        return xmlsafe.parse(body)
    except (xmlsafe.XmlEmpty, xmlsafe.XmlTooLarge) as exc:
        raise BadXmlContent(exc.reason) from None
    except xmlsafe.XmlError as exc:
        raise BadXmlFormat(exc.reason) from None


def _document(body: bytes, root: str) -> XmlNode:
    node = parse_xml(body)
    if not node.is_named(root):
        raise BadXmlContent(f"expected <{root}>, got <{node.name}>")
    return node


def _boolean(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise BadXmlContent(f"{what} must be true or false")
    return value == "true"


def parse_motion_detection(body: bytes) -> bool:
    """PUT …/motionDetection: the new `enabled`."""
    enabled = _document(body, "MotionDetection").child_text("enabled")
    if enabled is None:
        raise BadXmlContent("<enabled> is missing")
    return _boolean(enabled, "enabled")


@dataclass(frozen=True)
class EzvizUpdate:
    """What a PUT /ISAPI/System/Network/EZVIZ asks to change; None leaves a field alone."""

    enabled: bool | None = None
    verification_code: str | None = None
    server: str | None = None


_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?")


def parse_ezviz_update(body: bytes) -> EzvizUpdate:
    """Read-only fields (registerStatus, bindStatus) are ignored, as a GET echoed back has them.

    An empty verificationCode also leaves the code alone: a client that read a
    device hiding its code writes the empty element back.
    """
    root = _document(body, "EZVIZ")
    enabled = root.child_text("enabled")
    code = root.child_text("verificationCode") or None
    server = None
    address = root.child("serverAddress")
    if address is not None:
        host, ip = address.child_text("hostName"), address.child_text("ipAddress")
        if host is not None:
            if not _HOST_NAME.fullmatch(host):
                raise BadXmlContent("hostName must be a host name of 1 to 64 characters")
            server = host
        elif ip is not None:
            if not _is_ip(ip):
                raise BadXmlContent("ipAddress is not an IP address")
            server = ip
        else:
            raise BadXmlContent("serverAddress needs a hostName or an ipAddress")
    update = EzvizUpdate(
        enabled=None if enabled is None else _boolean(enabled, "enabled"),
        verification_code=code,
        server=server,
    )
    if update == EzvizUpdate():
        raise BadXmlContent("nothing to set")
    return update


def _hex_in_base64(text: str | None, what: str) -> bytes:
    """Challenge and activation fields are base64 of ASCII hex."""
    try:
        hex_text = base64.b64decode((text or "").strip(), validate=True).decode("ascii")
        return bytes.fromhex(hex_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadXmlContent(f"{what} is not base64 of hex") from None


def parse_public_key(body: bytes) -> int:
    """POST /ISAPI/Security/challenge: the client's RSA modulus (exponent 65537)."""
    raw = _hex_in_base64(_document(body, "PublicKey").child_text("key"), "key")
    modulus = int.from_bytes(raw, "big")
    # RSA-1024 is what clients send; allow up to 4096 bits, never less than 1024.
    if not 1024 <= modulus.bit_length() <= 4096 or modulus % 2 == 0:
        raise BadXmlContent("key is not an RSA modulus of 1024 to 4096 bits")
    return modulus


def parse_activate_info(body: bytes) -> bytes:
    """PUT /ISAPI/System/activate: the encrypted password (challenge block + password blocks)."""
    raw = _hex_in_base64(_document(body, "ActivateInfo").child_text("password"), "password")
    if len(raw) % 16 or not 32 <= len(raw) <= 16 * 5:
        raise BadXmlContent("password has the wrong length")
    return raw
