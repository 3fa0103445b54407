"""Dahua config tables (`configManager`), shared by RPC2 and the CGI, over the device model.

Each table is read from and written to the device, so RPC2, the CGI, DHIP and
the local menu see one state. `General.LockLoginTimes`/`LoginFailLockTime` set
the policy of the device's one lockout. Choices [I] (docs/protocols/dahua.md §2.4 gap):
`T2UServer` has `Enable` (confirmed) and a read-only `Online` (the P2P
registration, `Device.p2p_online`); `RTSP` has Enable/Port/RTP ports; `Encode` (read
only here) describes each channel's streams from `OnvifDevice.streams`: MainFormat[0]
the main stream (MainFormat[1..3], the motion, alarm and emergency encodes, the same),
ExtraFormat[0] the sub stream (ExtraFormat[1..2] off), SnapFormat[0..2] JPEG snapshots
at the main stream's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.onvif.settings import VideoFormat, VideoStream


class ConfigError(ValueError):
    """An unknown table or key, or a value of the wrong kind: nothing changes."""


def _general(device: Device) -> dict[str, Any]:
    d = device.dahua
    return {
        "ActiveLoginPassword": False,
        "LocalNo": 8,
        "LockLoginEnable": d.lock_login_enable,
        "LockLoginTimes": d.lock_login_times,
        "LoginFailLockTime": d.login_fail_lock_time,
        "MachineAddress": "",
        "MachineName": device.name,
        "MaxOnlineTime": d.max_online_time,
    }


def _set_general(device: Device, table: dict[str, Any]) -> None:
    d = device.dahua
    name = table.get("MachineName", device.name)
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ConfigError("MachineName")
    times = _int(table, "LockLoginTimes", d.lock_login_times, 1, 100)
    lock = _int(table, "LoginFailLockTime", d.login_fail_lock_time, 0, 86400)
    online = _int(table, "MaxOnlineTime", d.max_online_time, 0, 86400)
    enable = _bool(table, "LockLoginEnable", d.lock_login_enable)
    device.name = name
    d.lock_login_times, d.login_fail_lock_time, d.max_online_time = times, lock, online
    d.lock_login_enable = enable
    device.sync_lockout()


def _t2u(device: Device) -> dict[str, Any]:
    return {"Enable": device.dahua.t2u_enable, "Online": device.p2p_online}


def _set_t2u(device: Device, table: dict[str, Any]) -> None:
    device.dahua.t2u_enable = _bool(table, "Enable", device.dahua.t2u_enable)


def _rtsp(device: Device) -> dict[str, Any]:
    return {
        "Enable": True,
        "Port": device.network.rtsp_port,
        "RTPEndPort": 40000,
        "RTPStartPort": 20000,
    }


def _set_rtsp(device: Device, table: dict[str, Any]) -> None:
    device.network.rtsp_port = _int(table, "Port", device.network.rtsp_port, 1, 65535)


def _video(video: VideoFormat) -> dict[str, Any]:
    return {
        "BitRate": video.bitrate_kbps,
        "BitRateControl": "VBR",
        "Compression": video.codec,
        "CustomResolutionName": video.resolution,
        "FPS": video.fps,
        "GOP": video.gop,
        "Height": video.height,
        "Pack": "DHAV",
        "Profile": video.profile,
        "Quality": 4,
        "QualityRange": 6,
        "Width": video.width,
        "resolution": video.resolution,
    }


def _format(video: VideoFormat, enabled: bool, compression: str | None = None) -> dict[str, Any]:
    described = _video(video) | ({"Compression": compression} if compression else {})
    return {"AudioEnable": False, "Video": described, "VideoEnable": enabled}


def _encode(device: Device) -> list[dict[str, Any]]:
    """`Encode[n]` for channel n+1, from the streams the RTSP server carries."""
    tables = []
    for channel in range(1, max(1, device.channels) + 1):
        main = device.stream_format(VideoStream(channel, False))
        sub = device.stream_format(VideoStream(channel, True))
        tables.append(
            {
                "ExtraFormat": [_format(sub, True), _format(sub, False), _format(sub, False)],
                "MainFormat": [_format(main, True) for _ in range(4)],
                "SnapFormat": [_format(main, True, "MJPG") for _ in range(3)],
            }
        )
    return tables


def _int(table: dict[str, Any], key: str, current: int, low: int, high: int) -> int:
    value = table.get(key, current)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key)
    return value


def _bool(table: dict[str, Any], key: str, current: bool) -> bool:
    value = table.get(key, current)
    if not isinstance(value, bool):
        raise ConfigError(key)
    return value


@dataclass(frozen=True)
class Table:
    read: Callable[[Device], Any]  # a table, or a list of them (one per channel)
    write: Callable[[Device, dict[str, Any]], None] | None
    readonly: frozenset[str] = frozenset()


TABLES: dict[str, Table] = {
    "General": Table(_general, _set_general, frozenset({"ActiveLoginPassword", "LocalNo"})),
    "T2UServer": Table(_t2u, _set_t2u, frozenset({"Online"})),
    "RTSP": Table(_rtsp, _set_rtsp, frozenset({"Enable", "RTPEndPort", "RTPStartPort"})),
    "Encode": Table(_encode, None),
}


def get_config(device: Device, name: str) -> Any:
    """`General`, or one member `General.MachineName`; ConfigError when unknown."""
    table_name, _, member = name.partition(".")
    table = TABLES.get(table_name)
    if table is None:
        raise ConfigError(name)
    values = table.read(device)
    if not member:
        return values
    if not isinstance(values, dict) or member not in values:
        raise ConfigError(name)
    return values[member]


def set_config(device: Device, name: str, values: dict[str, Any]) -> None:
    """Set keys of table `name`; all or nothing."""
    table = TABLES.get(name)
    if table is None or table.write is None:
        raise ConfigError(name)
    current = table.read(device)
    unknown = [k for k in values if k not in current]
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}")
    writable = {k: v for k, v in values.items() if k not in table.readonly}
    table.write(device, writable)


def coerce(text: str, like: Any) -> Any:
    """A CGI query value as the type of the current value; ConfigError when it is not one."""
    if isinstance(like, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ConfigError(text)
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(text) from None
    return text


def flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """`table.General.MachineName=…` lines, as the CGI prints a table."""
    if isinstance(value, dict):
        lines = []
        for key, inner in value.items():
            lines += flatten(f"{prefix}.{key}", inner)
        return lines
    if isinstance(value, list):  # `table.Encode[0].MainFormat[0].Video.FPS=25`
        return [line for n, inner in enumerate(value) for line in flatten(f"{prefix}[{n}]", inner)]
    return [(prefix, value)]


def cgi_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
