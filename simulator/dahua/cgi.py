"""Dahua CGI (`/cgi-bin/*.cgi`): what amcrest, aiodahua and Home Assistant call (§2.4).

Pure: `handle_cgi(device, name, query, now) -> CgiReply`; authentication is the
transport's (HTTP Digest through `Device.login`). Bodies are CRLF `key=value`
lines; config reads are prefixed `table.`; a setConfig answers `OK`.

Errors, with the real bodies where known: a CGI we do not serve → 501
`Error\\r\\nNot Implemented!` (newer firmware); a known CGI with an unknown or
missing action, or a setConfig that does not validate → 400
`Error\\r\\nBad Request!`; an unknown config name → 200
`Error: Error -1 getting param in name=…` (LTN6416).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.dahua import config, ptz
from nvrsim.simulator.dahua.config import ConfigError
from nvrsim.simulator.dahua.info import build_date, device_class, software_version, system_info
from nvrsim.simulator.dahua.manage import (
    MethodFailed,
    add_user,
    delete_user,
    local_time,
    modify_password,
    parse_time,
    user_info,
)
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime import testcard

TEXT = "text/plain"


@dataclass(frozen=True)
class CgiReply:
    status: int
    body: str
    changed: bool = False  # a setConfig that changed the device (GET, yet a write)
    image: bytes | None = None  # snapshot.cgi: a JPEG instead of text


BAD_REQUEST = CgiReply(400, "Error\r\nBad Request!\r\n")
NOT_IMPLEMENTED = CgiReply(501, "Error\r\nNot Implemented!\r\n")
INVALID_AUTHORITY = "Invalid Authority!\r\n"


def lines(pairs: list[tuple[str, Any]]) -> CgiReply:
    return CgiReply(200, "".join(f"{k}={config.cgi_value(v)}\r\n" for k, v in pairs))


def _magic_box(device: Device, query: dict[str, str], now: float) -> CgiReply:
    action = query.get("action", "")
    simple: dict[str, Callable[[Device], tuple[str, Any]]] = {
        "getDeviceType": lambda d: ("type", d.model),
        "getSerialNo": lambda d: ("sn", d.serial),
        "getMachineName": lambda d: ("name", d.name),
        "getVendor": lambda d: ("vendor", d.dahua.vendor_name),
        "getDeviceClass": lambda d: ("class", device_class(d)),
        "getHardwareVersion": lambda d: ("version", "1.00"),
        "getSoftwareVersion": lambda d: (
            "version",
            f"{software_version(d)},build:{build_date(d)}",
        ),
    }
    if action in simple:
        return lines([simple[action](device)])
    if action == "getSystemInfo":
        return lines(list(system_info(device).items()))
    if action == "getLanguageCaps":
        return lines([("Languages", "English")])
    if action == "getProductDefinition":
        name = query.get("name", "MaxExtraStream")
        definitions = {"MaxExtraStream": 2 if device.kind == "ipc" else 1}
        if name not in definitions:
            return CgiReply(200, f"Error: Error -1 getting param in name={name}\r\n")
        return lines([(f"table.{name}", definitions[name])])
    return BAD_REQUEST


def _global(device: Device, query: dict[str, str], now: float) -> CgiReply:
    action = query.get("action")
    if action == "getCurrentTime":
        return lines([("result", local_time(device.local_now(now)))])
    if action == "setCurrentTime":
        return _done(
            lambda: device.set_local_time(parse_time(query.get("time")), device.local_now(now))
        )
    return BAD_REQUEST


def _set_time(device: Device, text: str | None, now: float) -> None:
    device.set_local_time(parse_time(text), device.local_now(now))


def _done(change: Callable[[], None]) -> CgiReply:
    """`OK` once `change` is made; 400 when its rule refuses (and nothing changed)."""
    try:
        change()
    except MethodFailed:
        return BAD_REQUEST
    return CgiReply(200, "OK\r\n", changed=True)


def _user_manager(device: Device, query: dict[str, str], now: float) -> CgiReply:
    action = query.get("action")
    if action == "getUserInfoAll":
        return lines(
            [
                (f"users[{n}].{key}", value)
                for n, user in enumerate(device.users())
                for key, value in user_info(user).items()
                if key != "AuthorityList"
            ]
            + [
                (f"users[{n}].AuthorityList[{i}]", authority)
                for n, user in enumerate(device.users())
                for i, authority in enumerate(user_info(user)["AuthorityList"])
            ]
        )
    if action == "addUser":
        name, password = query.get("user.Name"), query.get("user.Password")
        group = query.get("user.Group")
        return _done(lambda: add_user(device, name, password, group))
    if action == "deleteUser":
        return _done(lambda: delete_user(device, query.get("name")))
    if action == "modifyPassword":
        name, new, old = query.get("name"), query.get("pwd"), query.get("pwdOld")
        return _done(lambda: modify_password(device, name, new, old))
    return BAD_REQUEST


def _config_manager(device: Device, query: dict[str, str], now: float) -> CgiReply:
    action = query.get("action")
    if action == "getConfig":
        name = query.get("name", "")
        try:
            value = config.get_config(device, name)
        except ConfigError:
            return CgiReply(200, f"Error: Error -1 getting param in name={name}\r\n")
        return lines(config.flatten(f"table.{name}", value))
    if action == "setConfig":
        return _set_config(device, query)
    return BAD_REQUEST


def _set_config(device: Device, query: dict[str, str]) -> CgiReply:
    """`General.MachineName=x&T2UServer.Enable=false`: all or nothing, table by table."""
    tables: dict[str, dict[str, Any]] = {}
    try:
        for key, text in query.items():
            if key == "action":
                continue
            table, _, member = key.partition(".")
            if not member or "." in member:
                raise ConfigError(key)
            current = config.get_config(device, table)
            if member not in current:
                raise ConfigError(key)
            tables.setdefault(table, {})[member] = config.coerce(text, current[member])
        if not tables:
            raise ConfigError("nothing to set")
        # Validate every table on a scratch copy before touching the device.
        for table, values in tables.items():
            config.set_config(_scratch(device), table, values)
    except ConfigError:
        return BAD_REQUEST
    for table, values in tables.items():
        config.set_config(device, table, values)
    return CgiReply(200, "OK\r\n", changed=True)


def _scratch(device: Device) -> Device:
    from copy import deepcopy

    return deepcopy(device)


def _snapshot(device: Device, query: dict[str, str], now: float) -> CgiReply:
    """`snapshot.cgi?channel=N`: the video's test card at the main stream's size, at `now`
    (channels count from 1; 0 is taken as 1, as many clients send it)."""
    text = query.get("channel", "1")
    if not (text.isascii() and text.isdigit()) or int(text) > max(1, device.channels):
        return BAD_REQUEST
    channel = max(1, int(text))
    video = device.stream_format(VideoStream(channel, False))
    head = device.ptz if channel == 1 else None
    return CgiReply(200, "", image=testcard.snapshot(video.width, video.height, now, head))


def _ptz(device: Device, query: dict[str, str], now: float) -> CgiReply:
    """`ptz.cgi` (simulator/dahua/ptz.py): a command answers OK, a query its lines."""
    try:
        answer = ptz.ptz_cgi(device, query, now)
    except ptz.PtzRequestError:
        return BAD_REQUEST
    if answer is None:
        return NOT_IMPLEMENTED
    if isinstance(answer, str):
        return CgiReply(200, f"{answer}\r\n", changed=True)
    return lines(answer)


CGIS: dict[str, Callable[[Device, dict[str, str], float], CgiReply]] = {
    "snapshot.cgi": _snapshot,
    "magicBox.cgi": _magic_box,
    "global.cgi": _global,
    "configManager.cgi": _config_manager,
    "userManager.cgi": _user_manager,
    "ptz.cgi": _ptz,
}


def handle_cgi(device: Device, name: str, query: dict[str, str], now: float) -> CgiReply:
    handler = CGIS.get(name)
    if handler is None:
        return NOT_IMPLEMENTED
    return handler(device, query, now)
