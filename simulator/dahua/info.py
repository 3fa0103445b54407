"""How a Dahua device names itself: class, version and system info, for DHIP, RPC2 and CGI."""

from __future__ import annotations

from typing import Any

from nvrsim.simulator.core.device import Device

_CLASSES = {"nvr": "NVR", "dvr": "HCVR", "ipc": "IPC"}
BUILD_DATE = "2020-06-05"  # [I] when the fixture's firmware string carries no build date


def device_class(device: Device) -> str:
    return _CLASSES.get(device.kind, "IPC")


def software_version(device: Device) -> str:
    """The version as Dahua prints it: 2.800.0000016.0.R (the fixture may add a V)."""
    return device.firmware.number.lstrip("Vv")


def build_date(device: Device) -> str:
    build = device.firmware.build
    if len(build) == 6 and build.isdigit():  # 200916 → 2020-09-16
        return f"20{build[:2]}-{build[2:4]}-{build[4:]}"
    return build or BUILD_DATE


def init_flags(device: Device) -> int:
    """DHIP `Init`: the high bits as configured, then 2 initialised or 1 factory [I]."""
    return device.dahua.init_bits | (2 if device.activated else 1)


def system_info(device: Device) -> dict[str, Any]:
    return {
        "appAutoStart": True,
        "deviceType": device.model,
        "hardwareVersion": "1.00",
        "processor": "S3LM",
        "serialNumber": device.serial,
        "updateSerial": device.model,
        "updateSerialCloudUpgrade": f"{device.model}:01:02:03:04:05:06:07:08:09",
    }
