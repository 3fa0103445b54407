"""ISAPI resources past first contact: users, time, network interfaces, storage, IP channels
and the full MotionDetection document.

Handlers translate, as in isapi_handlers: the accounts are the device's one store
(simulator.core.users), the clock is `Device.local_now`, so ONVIF and Dahua see
the same. Each request document is read in full before anything changes.

Choices where the public record is silent:
- Only an Administrator changes users and the time (others: 403 lowPrivilege);
  every account reads them.
- User ids are the store's (admin 1); levels are Administrator, Operator and
  Viewer (ONVIF's User). GET never shows passwords. Refusals: a taken name
  400 userNameExist, a weak password 400 riskPassword, 32 accounts 400
  userNumLimited, deleting or demoting admin 400 invalidOperation, an unknown id
  404 invalidID, a bad document 400 badXmlContent.
- /System/time: `timeMode` NTP or manual; `localTime` is ISO 8601 and taken as
  UTC without an offset; the time zone is read back as sent last (CST+0:00:00 at
  first) but the device keeps UTC.
- Storage: each of the model's disks is a 4 TB SATA disk (3815447 MB), full as a
  recorder that overwrites is; the `disk_failure` fault makes disk 1 `error`.
- InputProxy: a recorder's IP channels (ids after its analog ones) are Hikvision
  cameras on its PoE network 192.168.254.<n+1>; a camera has none (notSupport).
- MotionDetection: the grid is 22 x 18 cells, all on; sensitivityLevel 0 to 100
  per channel, 60 at first.
- Triggers: VMD, linedetection, fielddetection, tamperdetection and videoloss
  per channel, IO per alarm input (1 on a camera, 4 on a recorder), diskerror
  once where the device has disks; every one notifies the center, as pyhik needs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp.web import Request, Response

from nvrsim.protocols import isapi
from nvrsim.protocols.isapi import BadXmlContent, IsapiStatus, render
from nvrsim.protocols.xmlsafe import XmlNode
from nvrsim.protocols.xmlwrite import Element, el
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.users import User, UserError, UserLevel, UserProblem
from nvrsim.simulator.hikvision.isapi_http import (
    IsapiContext,
    Route,
    read_body,
    status_response,
    xml_response,
)

Match = re.Match[str]

LOW_PRIVILEGE = IsapiStatus(403, 4, "lowPrivilege")
USER_NAME_EXIST = IsapiStatus(400, 6, "userNameExist")
USER_NUM_LIMITED = IsapiStatus(400, 6, "userNumLimited")
INVALID_OPERATION = IsapiStatus(400, 4, "invalidOperation")

_LEVELS = {UserLevel.ADMINISTRATOR: "Administrator", UserLevel.OPERATOR: "Operator"}
_LEVELS[UserLevel.USER] = "Viewer"
_LEVEL_OF = {text.lower(): level for level, text in _LEVELS.items()}

_USER_STATUS = {
    UserProblem.DUPLICATE: USER_NAME_EXIST,
    UserProblem.UNKNOWN: isapi.INVALID_ID,
    UserProblem.FIXED: INVALID_OPERATION,
    UserProblem.WEAK_PASSWORD: isapi.RISK_PASSWORD,
    UserProblem.PASSWORD_TOO_LONG: isapi.RISK_PASSWORD,
    UserProblem.TOO_MANY: USER_NUM_LIMITED,
    UserProblem.BAD_NAME: isapi.BAD_XML_CONTENT,
}


def _document(body: bytes, root: str) -> XmlNode:
    node = isapi.parse_xml(body)
    if not node.is_named(root):
        raise BadXmlContent(f"expected <{root}>")
    return node


def _ok(ctx: IsapiContext, request: Request) -> Response:
    return status_response(ctx, request, isapi.OK)


# ---------------------------------------------------------------- users


def _user(user: User) -> Element:
    return el(
        "User",
        el("id", user.id),
        el("userName", user.name),
        el("userLevel", _LEVELS[user.level]),
        el("attribute", el("inherent", user.id == 1)),
    )


def _level(node: XmlNode, default: UserLevel | None) -> UserLevel | None:
    text = node.child_text("userLevel")
    if text is None:
        return default
    level = _LEVEL_OF.get(text.lower())
    if level is None:
        raise BadXmlContent("userLevel is Administrator, Operator or Viewer")
    return level


def _user_id(ctx: IsapiContext, match: Match) -> User:
    text = match["id"]
    found = [
        u for u in ctx.device.users() if text.isascii() and text.isdigit() and u.id == int(text)
    ]
    if not found:
        raise isapi.IsapiRequestError("no such user", isapi.INVALID_ID)
    return found[0]


def _refused(error: UserError) -> isapi.IsapiRequestError:
    return isapi.IsapiRequestError(str(error), _USER_STATUS[error.problem])


async def list_users(ctx: IsapiContext, request: Request, match: Match) -> Response:
    users = el("UserList", *(_user(u) for u in ctx.device.users()))
    return xml_response(render(users, ctx.namespace))


async def get_user(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(render(_user(_user_id(ctx, match)), ctx.namespace))


async def add_user(ctx: IsapiContext, request: Request, match: Match) -> Response:
    node = _document(await read_body(request), "User")
    name, password = node.child_text("userName"), node.child_text("password")
    level = _level(node, UserLevel.USER)
    if not name or password is None or level is None:
        raise BadXmlContent("userName and password are needed")
    try:
        ctx.device.add_users([(name, password, level)])
    except UserError as exc:
        raise _refused(exc) from None
    return _ok(ctx, request)


async def change_user(ctx: IsapiContext, request: Request, match: Match) -> Response:
    user = _user_id(ctx, match)
    node = _document(await read_body(request), "User")
    name = node.child_text("userName")
    if name is not None and name != user.name:
        raise isapi.IsapiRequestError("a user is not renamed", INVALID_OPERATION)
    try:
        ctx.device.change_user(
            user.name, password=node.child_text("password"), level=_level(node, None)
        )
    except UserError as exc:
        raise _refused(exc) from None
    return _ok(ctx, request)


async def delete_user(ctx: IsapiContext, request: Request, match: Match) -> Response:
    user = _user_id(ctx, match)
    try:
        ctx.device.delete_users([user.name])
    except UserError as exc:
        raise _refused(exc) from None
    return _ok(ctx, request)


# ---------------------------------------------------------------- time

_TIME_ZONE = re.compile(r"[A-Z]{3}[+-]\d{1,2}(:\d{2}){0,2}")


def _local_time(when: float) -> str:
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def get_time(ctx: IsapiContext, request: Request, match: Match) -> Response:
    device = ctx.device
    mode = "NTP" if device.time_mode == "NTP" else "manual"
    document = el(
        "Time",
        el("timeMode", mode),
        el("localTime", _local_time(device.local_now(ctx.now()))),
        el("timeZone", "CST+0:00:00"),
    )
    return xml_response(render(document, ctx.namespace))


def _parse_time(text: str | None) -> float:
    try:
        when = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadXmlContent("localTime is not ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 1970 <= when.astimezone(UTC).year <= 2037:
        raise BadXmlContent("localTime is out of range")
    return when.timestamp()


async def put_time(ctx: IsapiContext, request: Request, match: Match) -> Response:
    node = _document(await read_body(request), "Time")
    mode = (node.child_text("timeMode") or "").lower()
    zone = node.child_text("timeZone")
    if zone is not None and not _TIME_ZONE.fullmatch(zone):
        raise BadXmlContent("timeZone is like CST-8:00:00")
    if mode == "ntp":
        ctx.device.sync_time()
    elif mode == "manual":
        when = _parse_time(node.child_text("localTime"))
        device = ctx.device
        device.set_local_time(when, device.local_now(ctx.now()))
    else:
        raise BadXmlContent("timeMode is NTP or manual")
    return _ok(ctx, request)


# ---------------------------------------------------------------- network


def _interface(device: Device) -> Element:
    net = device.network
    return el(
        "NetworkInterface",
        el("id", 1),
        el(
            "IPAddress",
            el("ipVersion", "v4"),
            el("addressingType", "dynamic" if net.dhcp else "static"),
            el("ipAddress", net.ip),
            el("subnetMask", net.netmask),
            el("DefaultGateway", el("ipAddress", str(net.gateway))),
            el("PrimaryDNS", el("ipAddress", str(net.gateway))),
        ),
        el(
            "Link",
            el("MACAddress", device.mac),
            el("autoNegotiation", True),
            el("speed", 0),
            el("duplex", "full"),
            el("MTU", 1500),
        ),
    )


async def network_interfaces(ctx: IsapiContext, request: Request, match: Match) -> Response:
    document = el("NetworkInterfaceList", _interface(ctx.device))
    return xml_response(render(document, ctx.namespace))


async def network_interface(ctx: IsapiContext, request: Request, match: Match) -> Response:
    if match["id"] != "1":
        raise isapi.IsapiRequestError("one interface", isapi.INVALID_ID)
    return xml_response(render(_interface(ctx.device), ctx.namespace))


# ---------------------------------------------------------------- storage

DISK_MB = 3815447


def _hdd(device: Device, number: int) -> Element:
    failed = number == 1 and device.faults.disk_failure
    return el(
        "hdd",
        el("id", number),
        el("hddName", f"hdd{number}"),
        el("hddPath", ""),
        el("hddType", "SATA"),
        el("status", "error" if failed else "ok"),
        el("capacity", DISK_MB),
        el("freeSpace", 0),
        el("property", "RW"),
    )


def _hdd_list(device: Device) -> Element:
    return el("hddList", *(_hdd(device, n) for n in range(1, device.disks + 1)))


async def storage(ctx: IsapiContext, request: Request, match: Match) -> Response:
    document = el("storage", _hdd_list(ctx.device), el("nasList", ""), el("workMode", "group"))
    return xml_response(render(document, ctx.namespace))


async def hdd_list(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(render(_hdd_list(ctx.device), ctx.namespace))


# ---------------------------------------------------------------- IP channels


def ip_channel_ids(device: Device) -> range:
    return range(device.analog_channels + 1, device.channels + 1)


async def input_proxy_channels(ctx: IsapiContext, request: Request, match: Match) -> Response:
    device = ctx.device
    if device.kind == "ipc":
        return status_response(ctx, request, isapi.NOT_SUPPORT)
    channels = [
        el(
            "InputProxyChannel",
            el("id", channel),
            el("name", f"IPCamera {n:02d}"),
            el(
                "sourceInputPortDescriptor",
                el("proxyProtocol", "HIKVISION"),
                el("addressingFormatType", "ipaddress"),
                el("ipAddress", f"192.168.254.{n + 1}"),
                el("managePortNo", 8000),
                el("srcInputPort", 1),
                el("userName", "admin"),
                el("streamType", "auto"),
            ),
            el("enableAnr", False),
        )
        for n, channel in enumerate(ip_channel_ids(device), 1)
    ]
    return xml_response(render(el("InputProxyChannelList", *channels), ctx.namespace))


# ---------------------------------------------------------------- motion detection

GRID_ROWS, GRID_COLUMNS = 18, 22
DEFAULT_SENSITIVITY = 60
_ALL_CELLS = "fffffc" * GRID_ROWS  # 22 cells a row, padded to 24 bits


def _channel(ctx: IsapiContext, match: Match) -> int:
    text = match["channel"]
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= ctx.device.channels):
        raise isapi.IsapiRequestError("no such channel", isapi.INVALID_ID)
    return int(text)


def motion_document(device: Device, channel: int, namespace: str) -> bytes:
    sensitivity = device.motion_sensitivity.get(channel, DEFAULT_SENSITIVITY)
    return render(
        el(
            "MotionDetection",
            el("enabled", channel in device.motion_detection),
            el("enableHighlight", False),
            el("samplingInterval", 2),
            el("startTriggerTime", 500),
            el("endTriggerTime", 500),
            el("regionType", "grid"),
            el("Grid", el("rowGranularity", GRID_ROWS), el("columnGranularity", GRID_COLUMNS)),
            el(
                "MotionDetectionLayout",
                el("sensitivityLevel", sensitivity),
                el("layout", el("gridMap", _ALL_CELLS)),
            ),
        ),
        namespace,
    )


async def get_motion(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(motion_document(ctx.device, _channel(ctx, match), ctx.namespace))


def _sensitivity(node: XmlNode) -> int | None:
    layout = node.child("MotionDetectionLayout")
    text = layout.child_text("sensitivityLevel") if layout is not None else None
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and 0 <= int(text) <= 100):
        raise BadXmlContent("sensitivityLevel is 0 to 100")
    return int(text)


async def put_motion(ctx: IsapiContext, request: Request, match: Match) -> Response:
    channel = _channel(ctx, match)
    node = _document(await read_body(request), "MotionDetection")
    text = node.child_text("enabled")
    if text is not None and text.lower() not in ("true", "false"):
        raise BadXmlContent("enabled must be true or false")
    sensitivity = _sensitivity(node)
    if text is None and sensitivity is None:
        raise BadXmlContent("<enabled> is missing")
    device = ctx.device
    if text is not None:
        on = text.lower() == "true"
        (device.motion_detection.add if on else device.motion_detection.discard)(channel)
    if sensitivity is not None:
        device.motion_sensitivity[channel] = sensitivity
    return _ok(ctx, request)


_CHANNEL = "/ISAPI/System/Video/inputs/channels/(?P<channel>[^/]+)/motionDetection"

ROUTES: tuple[Route, ...] = (
    Route("/ISAPI/Security/users", {"GET": list_users, "POST": add_user}, administrator=True),
    Route(
        "/ISAPI/Security/users/(?P<id>[^/]+)",
        {"GET": get_user, "PUT": change_user, "DELETE": delete_user},
        administrator=True,
    ),
    Route("/ISAPI/System/time", {"GET": get_time, "PUT": put_time}, administrator=True),
    Route("/ISAPI/System/Network/interfaces", {"GET": network_interfaces}),
    Route("/ISAPI/System/Network/interfaces/(?P<id>[^/]+)", {"GET": network_interface}),
    Route("/ISAPI/ContentMgmt/Storage", {"GET": storage}),
    Route("/ISAPI/ContentMgmt/Storage/hdd", {"GET": hdd_list}),
    Route("/ISAPI/ContentMgmt/InputProxy/channels", {"GET": input_proxy_channels}),
    Route(_CHANNEL, {"GET": get_motion, "PUT": put_motion}),
)
