"""A device's state as a fixture entry, and `--state DIR`, where it outlives the process.

A device is written in the very schema fixtures use (`device_entry`), so one
validator reads both, and a state file is a fixture a user can read and edit.

The directory holds `fleet.json` (the fixture's [fleet] table and fleet-wide
faults), `clock.json` and `devices/<serial>.json`, one file per device. Each is
replaced atomically (written beside, fsynced, renamed, directory fsynced), so
a `kill -9` at any moment leaves every file either as it was or as it became:
a change is acknowledged only after its file is on disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.vendors import vendor_of


def device_entry(device: Device) -> dict[str, Any]:
    """Everything that makes `device` what it is now, as a fixture `[[device]]` table."""
    net = device.network
    return {
        "name": device.label,
        "vendor": device.vendor,
        "kind": device.kind,
        "model": device.model,
        "firmware": device.firmware.text,
        "pending_firmware": device.pending_firmware.text if device.pending_firmware else None,
        "admin_password": device.admin_password,
        "serial": device.serial,
        "mac": device.mac,
        "uuid": str(device.uuid),
        "address": str(net.address),
        "gateway": str(net.gateway),
        "dhcp": net.dhcp,
        "ipv6": {
            "address": net.ipv6_address,
            "gateway": net.ipv6_gateway,
            "prefix": net.ipv6_prefix,
        },
        "ports": {
            "http": net.http_port,
            "https": net.https_port,
            "command": net.command_port,
            "sdk_tls": net.sdk_tls_port,
            "rtsp": net.rtsp_port,
        },
        "device_name": device.name,
        "device_type_code": device.device_type_code,
        "dsp_version": device.dsp_version,
        "analog_channels": device.analog_channels,
        "ip_channels": device.ip_channels,
        "disks": device.disks,
        "web_auth": device.web_auth,
        "lockout": _policy(device.lockout.policy),
        "local_lockout": _policy(device.local_lockout.policy),
        "capabilities": dict(device.capability_overrides),
        "motion_detection": sorted(device.motion_detection),
        "motion_sensitivity": {str(c): v for c, v in sorted(device.motion_sensitivity.items())},
        "faults": device.own_faults.as_dict(),
        "events": {
            str(s.type): {"every": s.every, "for": s.duration, "channel": s.channel}
            for s in device.events.schedules
        },
        "users": [
            {"name": u.name, "password": u.password, "level": u.level.value}
            | {"enabled": u.enabled, "id": u.id}
            for u in device.accounts
        ],
        "clock": {
            "offset": device.clock_offset,
            "mode": device.time_mode,
            "ntp_servers": list(device.ntp_servers),
        },
    } | {s.name: s.entry(getattr(device, s.name)) for s in vendor_of(device).sections}


def _policy(policy) -> dict[str, float]:
    return {"max_failures": policy.max_failures, "lock_seconds": policy.lock_seconds}


def fleet_settings(fleet: Fleet) -> dict[str, Any]:
    return fleet.settings | {"name": fleet.name, "faults": fleet.faults.as_dict()}


class StateDir:
    """`--state DIR`: the fleet, each device and the clock, each in its own file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.devices = self.path / "devices"

    @property
    def exists(self) -> bool:
        return (self.path / "fleet.json").exists()

    def load(self, now: float = 0.0) -> Fleet:
        """The fleet as it was saved; FixtureError names the file that is wrong."""
        settings = self._read(self.path / "fleet.json")
        order = {serial: i for i, serial in enumerate(settings.pop("order", []))}
        fleet = build_fleet({"fleet": settings}, source=str(self.path / "fleet.json"), now=now)
        files = {file.name: file for file in self.devices.glob("*.json")}
        for file in sorted(
            files.values(), key=lambda f: (order.get(_serial(f), len(order)), f.name)
        ):
            entry = self._read(file)
            (device,) = build_fleet(
                {"fleet": settings, "device": [entry]}, source=str(file), now=now
            ).devices
            fleet.add(device)
        return fleet

    def load_clock(self) -> dict[str, float]:
        file = self.path / "clock.json"
        return self._read(file) if file.exists() else {}

    def save_fleet(self, fleet: Fleet) -> None:
        """The [fleet] table, and the devices' order (as `nvrsim run` lists them)."""
        self.devices.mkdir(parents=True, exist_ok=True)
        order = [d.serial for d in fleet]
        self._write(self.path / "fleet.json", fleet_settings(fleet) | {"order": order})

    def save_faults(self, faults: Faults) -> None:
        """The fleet's faults in fleet.json, its devices' order as it was (a supervisor of
        workers: a worker restarted reads its share by that order)."""
        settings = self._read(self.path / "fleet.json")
        self._write(self.path / "fleet.json", settings | {"faults": faults.as_dict()})

    def save_all(self, fleet: Fleet) -> None:
        self.save_fleet(fleet)
        for device in fleet:
            self.save_device(device)

    def save_device(self, device: Device, entry: dict[str, Any] | None = None) -> None:
        self._write(self._file(device.serial), entry or device_entry(device))

    def remove_device(self, serial: str) -> None:
        self._file(serial).unlink(missing_ok=True)
        _fsync_dir(self.devices)

    def save_clock(self, state: dict[str, float]) -> None:
        self._write(self.path / "clock.json", state)

    def save_dmss(self, state: dict[str, Any]) -> None:
        """The DMSS cloud's accounts, appeals, notifications and outbox."""
        self._write(self.path / "dmss.json", state)

    def load_dmss(self) -> dict[str, Any]:
        file = self.path / "dmss.json"
        return self._read(file) if file.exists() else {}

    def _file(self, serial: str) -> Path:
        return self.devices / f"{quote(serial, safe='')}.json"

    @staticmethod
    def _read(file: Path) -> dict[str, Any]:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FixtureError(f"{file}: cannot read: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise FixtureError(f"{file}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FixtureError(f"{file}: expected a JSON object")
        return data

    @staticmethod
    def _write(file: Path, data: dict[str, Any]) -> None:
        tmp = file.with_name(f".{file.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, file)
        _fsync_dir(file.parent)


def _serial(file: Path) -> str:
    return unquote(file.name.removesuffix(".json"))


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
