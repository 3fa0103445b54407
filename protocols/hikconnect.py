"""Hik-Connect: regions, the device ↔ cloud MQTT topics and payloads, QR contents, error codes.

No I/O and no device state: the device link (simulator/hikconnect/link.py) and
the cloud (simulator/hikconnect/cloud.py) both build and parse through here.

Facts and choices (docs/protocols/hikvision.md §3; [V] seen, [I] our choice):

- [V] API domains: default/Asia `api.hik-connect.com`, EU `apiieu.hik-connect.com`,
  USA `apiusa.hik-connect.com`, Russia `apiirus.hik-connectru.com`. Device
  servers: `litedev.hik-connect.com` (default) and `dev.hik-connectru.com`
  (Russia). [I] EU and USA device servers `litedeveu…`/`litedevusa…`, and each
  region also accepts `dev.` for `litedev.`.
- [I] The real device ↔ cloud protocol is private. We use MQTT 3.1.1: one
  retained status document per device under its region, and per connection
  ("link") a retained `online` that the broker replaces by the link's last will
  `offline` when the connection dies. A device is online in a region when its
  status says online there and its link is online.
- [V] error codes of adding a device (EZVIZ SDK, shared by Hik-Connect):
  120020 online & added by you, 120021 online & not added, 120022 online &
  added by another, 120023 offline & not added, 120024 offline & added by
  another, 120029 offline & added by you, 120010 wrong verification code,
  120002 no such device, 120014 invalid serial.
- [V] login: 1013/1014 bad account or password, 1100 wrong region (with
  `loginArea`). [I] the rest of the table below.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# ---------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    id: str  # the topic and API name: default, eu, usa, ru
    name: str  # loginArea.areaName
    area_id: int  # loginArea.areaId [I]
    api_domain: str
    web_domain: str
    device_servers: tuple[str, ...]  # what a device's "server address" may say


REGIONS: tuple[Region, ...] = (
    Region(
        "default",
        "Asia",
        1,
        "api.hik-connect.com",
        "www.hik-connect.com",
        ("litedev.hik-connect.com", "dev.hik-connect.com"),
    ),
    Region(
        "eu",
        "Europe",
        314,
        "apiieu.hik-connect.com",
        "ieu.hik-connect.com",
        ("litedeveu.hik-connect.com", "deveu.hik-connect.com"),
    ),
    Region(
        "usa",
        "North America",
        120,
        "apiusa.hik-connect.com",
        "iusa.hik-connect.com",
        ("litedevusa.hik-connect.com", "devusa.hik-connect.com"),
    ),
    Region(
        "ru",
        "Russia",
        7,
        "apiirus.hik-connectru.com",
        "www.hik-connectru.com",
        ("dev.hik-connectru.com", "litedev.hik-connectru.com"),
    ),
)
DEFAULT_REGION = REGIONS[0]
_BY_ID = {r.id: r for r in REGIONS}


def region(region_id: str) -> Region | None:
    return _BY_ID.get(region_id)


def region_of_server(server: str) -> Region | None:
    """The region whose device server `server` names (case and a trailing dot ignored)."""
    host = server.strip().lower().rstrip(".")
    host = host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return next((r for r in REGIONS if host in r.device_servers), None)


def region_of_api_host(host: str | None) -> Region:
    """The region an API request is for, by its Host header; the default region otherwise."""
    name = (host or "").lower().split(":", 1)[0].rstrip(".")
    return next((r for r in REGIONS if r.api_domain == name), DEFAULT_REGION)


def login_area(r: Region) -> dict[str, Any]:
    return {
        "apiDomain": r.api_domain,
        "webDomain": r.web_domain,
        "areaName": r.name,
        "areaId": r.area_id,
    }


# ---------------------------------------------------------------- MQTT topics

TOPIC_ROOT = "hikconnect"


def status_topic(region_id: str, serial: str) -> str:
    """Retained: one device's registration and status in its region."""
    return f"{TOPIC_ROOT}/{region_id}/device/{serial}/status"


STATUS_FILTER = f"{TOPIC_ROOT}/+/device/+/status"


def link_topic(link_id: str) -> str:
    """Retained: `online` while the connection lives, then its will `offline`."""
    return f"{TOPIC_ROOT}/link/{link_id}/status"


LINK_FILTER = f"{TOPIC_ROOT}/link/+/status"


def request_topic(link_id: str) -> str:
    """The cloud's requests to the devices of one link."""
    return f"{TOPIC_ROOT}/link/{link_id}/request"


def reply_topic(cloud_id: str) -> str:
    return f"{TOPIC_ROOT}/cloud/{cloud_id}/reply"


_REPLY_RE = re.compile(rf"^{TOPIC_ROOT}/cloud/[^/+#]+/reply$")


_STATUS_RE = re.compile(rf"^{TOPIC_ROOT}/([^/]+)/device/([^/]+)/status$")
_LINK_RE = re.compile(rf"^{TOPIC_ROOT}/link/([^/]+)/status$")


def parse_status_topic(topic: str) -> tuple[str, str] | None:
    """(region id, serial) of a status topic, or None."""
    m = _STATUS_RE.match(topic)
    return (m[1], m[2]) if m else None


def parse_link_topic(topic: str) -> str | None:
    m = _LINK_RE.match(topic)
    return m[1] if m else None


LINK_ONLINE = b"online"
LINK_OFFLINE = b"offline"


# ---------------------------------------------------------------- payloads


class PayloadError(ValueError):
    """A message that does not parse: dropped, never acted on."""


@dataclass(frozen=True)
class DeviceStatus:
    """What a device tells its region's cloud about itself (retained)."""

    serial: str  # the full serial
    device_serial: str  # the 9 characters Hik-Connect shows and asks for
    model: str
    name: str
    firmware: str
    verification_code: str
    bound_account: str | None
    online: bool
    link: str  # the connection it rides on
    address: str = ""  # its LAN address (the app's connectionInfos.localIp)

    def encode(self) -> bytes:
        # Its fields are flat, so vars() is asdict() without the deep copy (a device
        # coming online pays for this once; 10,000 of them, a tenth of the link's time).
        return json.dumps(vars(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> DeviceStatus:
        doc = _json_object(data)
        try:
            status = cls(**doc)
        except TypeError as exc:
            raise PayloadError(f"not a device status: {exc}") from None
        for name in ("serial", "device_serial", "model", "name", "firmware", "link", "address"):
            if not isinstance(getattr(status, name), str):
                raise PayloadError(f"{name}: not a string")
        if not isinstance(status.online, bool):
            raise PayloadError("online: not a boolean")
        if not isinstance(status.verification_code, str):
            raise PayloadError("verification_code: not a string")
        if status.bound_account is not None and not isinstance(status.bound_account, str):
            raise PayloadError("bound_account: not a string")
        return status


# Operations the cloud asks a device to carry out (its link answers each).
OP_BIND = "bind"  # add to an account: {"account"}
OP_RELEASE = "release"  # the owner deletes it: {"account"}
OP_UNBIND = "unbind"  # the app's unbind: {"user", "password", "client"}
OPERATIONS = (OP_BIND, OP_RELEASE, OP_UNBIND)


@dataclass(frozen=True)
class Request:
    id: str
    serial: str
    op: str
    reply_to: str
    args: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Request:
        doc = _json_object(data)
        try:
            request = cls(**doc)
        except TypeError as exc:
            raise PayloadError(f"not a request: {exc}") from None
        if not all(isinstance(v, str) for v in (request.id, request.serial, request.reply_to)):
            raise PayloadError("id, serial and reply_to are strings")
        if request.op not in OPERATIONS or not isinstance(request.args, dict):
            raise PayloadError(f"unknown operation {request.op!r}")
        if not _REPLY_RE.match(request.reply_to):  # a device answers only on a reply topic
            raise PayloadError(f"reply_to: not a cloud's reply topic: {request.reply_to!r}")
        return request


@dataclass(frozen=True)
class Reply:
    id: str
    result: str  # "ok", or the device's refusal (an UnbindVerdict value, "bound_to_other", …)
    retries_left: int = 0
    unlock_in: int = 0  # seconds

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Reply:
        doc = _json_object(data)
        try:
            reply = cls(**doc)
        except TypeError as exc:
            raise PayloadError(f"not a reply: {exc}") from None
        if not isinstance(reply.id, str) or not isinstance(reply.result, str):
            raise PayloadError("id and result are strings")
        if not isinstance(reply.retries_left, int) or not isinstance(reply.unlock_in, int):
            raise PayloadError("retries_left and unlock_in are integers")
        return reply


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("not JSON") from None
    if not isinstance(doc, dict):
        raise PayloadError("not a JSON object")
    return doc


# ---------------------------------------------------------------- the device's QR code

# [I] What a real recorder encodes is not public: four lines joined by CR LF,
# `HIK-CONNECT`, the 9-character device serial, the verification code, the model.
QR_TAG = "HIK-CONNECT"


def short_serial(serial: str) -> str:
    """The serial Hik-Connect shows and asks for: the full serial's last nine characters."""
    return serial[-9:]


@dataclass(frozen=True)
class QrContent:
    device_serial: str
    verification_code: str
    model: str

    def encode(self) -> str:
        return "\r\n".join((QR_TAG, self.device_serial, self.verification_code, self.model))


def parse_qr(text: str) -> QrContent | None:
    """The device QR code's content, read leniently (any line ending); None if it is not one."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) != 4 or lines[0] != QR_TAG or not all(lines[1:3]):
        return None
    return QrContent(lines[1], lines[2], lines[3])


# ---------------------------------------------------------------- the cloud API's codes

OK = 200
PARAM_ERROR = 1001  # [I] a required field missing or malformed
SESSION_INVALID = 1002  # [I] no session, or an expired one ("sessionId" header)
ACCOUNT_EXISTS = 1011  # [I] register: the account name is taken
NO_ACCOUNT = 1013
WRONG_PASSWORD = 1014
CAPTCHA_WRONG = 1015  # login's "captcha required"; also a wrong or expired unbind captcha
WRONG_REGION = 1100
NOT_FOUND = 1404  # [I] unknown API path
METHOD_NOT_ALLOWED = 1405  # [I]
DEVICE_NOT_EXIST = 120002
DEVICE_CODE_WRONG = 120010
DEVICE_SERIAL_INVALID = 120014
ADDED_BY_YOU = 120020
ONLINE_NOT_ADDED = 120021
ADDED_BY_OTHER = 120022
OFFLINE_NOT_ADDED = 120023
OFFLINE_ADDED_BY_OTHER = 120024
OFFLINE_ADDED_BY_YOU = 120029
# [I] App unbind refusals: no public record of the real numbers.
UNBIND_NOT_SAME_LAN = 120030
UNBIND_PASSWORD_WRONG = 120031
UNBIND_LOCKED = 120032
UNBIND_NOT_BOUND = 120033
DEVICE_NO_ANSWER = 120034  # the device did not answer over its link in time

MESSAGES = {
    OK: "Operation succeeded",
    PARAM_ERROR: "Parameter error",
    SESSION_INVALID: "Session invalid, please log in again",
    ACCOUNT_EXISTS: "The account already exists",
    NO_ACCOUNT: "The account does not exist",
    WRONG_PASSWORD: "Incorrect password",
    CAPTCHA_WRONG: "Incorrect verification code",
    WRONG_REGION: "The account belongs to another region",
    NOT_FOUND: "No such interface",
    METHOD_NOT_ALLOWED: "Method not allowed",
    DEVICE_NOT_EXIST: "The device does not exist",
    DEVICE_CODE_WRONG: "Incorrect device verification code",
    DEVICE_SERIAL_INVALID: "Invalid device serial number",
    ADDED_BY_YOU: "The device is online and added by yourself",
    ONLINE_NOT_ADDED: "The device is online and not added",
    ADDED_BY_OTHER: "The device is online and added by another user",
    OFFLINE_NOT_ADDED: "The device is offline and not added",
    OFFLINE_ADDED_BY_OTHER: "The device is offline and added by another user",
    OFFLINE_ADDED_BY_YOU: "The device is offline and added by yourself",
    UNBIND_NOT_SAME_LAN: "The phone must be on the same network as the device",
    UNBIND_PASSWORD_WRONG: "Incorrect device password",
    UNBIND_LOCKED: "The device is locked, try again later",
    UNBIND_NOT_BOUND: "The device is not added to any account",
    DEVICE_NO_ANSWER: "The device did not respond",
}


def meta(code: int, message: str | None = None) -> dict[str, Any]:
    """Every response's `meta` block."""
    return {"code": code, "message": message or MESSAGES.get(code, "")}
