"""The fleet and its devices: list, add, change, remove, reboot, upgrade, factory-reset, and
each device's protocol log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from nvrsim.simulator.control.clock import clock_doc
from nvrsim.simulator.control.common import ApiError, body_of, device_of, json_reply, simulator_of
from nvrsim.simulator.control.schema import (
    DeviceModels,
    Event,
    FleetInfo,
    Operation,
    Reboot,
    Upgrade,
    device_models,
)
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.firmware import FirmwareVersion
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.onvif.settings import stream_docs
from nvrsim.simulator.runtime.fixtures import sections
from nvrsim.simulator.runtime.journal import durable
from nvrsim.simulator.runtime.state import device_entry
from nvrsim.simulator.vendors import vendor_of, vendors

MAX_ADD = 1000  # devices one request may add: each gets its own web server
_SERIAL = "/api/devices/{serial}"


def device_state(device: Device, now: float) -> dict[str, Any]:
    cloud = device.cloud
    return device_entry(device) | {
        "cloud": asdict(cloud) if cloud is not None else None,
        "streams": stream_docs(device),
        "status": {
            "powered": device.powered,
            "cloud_online": cloud is not None and cloud.online,
            "bound": cloud is not None and cloud.bound_account is not None,
            "rebooting": not device.powered,
            "locked_clients": device.lockout.locked(now),
            "effective_faults": device.faults.as_dict(),
        }
        | vendor_of(device).status(device),
    }


def _models() -> DeviceModels:
    return device_models(vendors())


async def get_fleet(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    return json_reply(
        {
            "name": sim.fleet.name,
            "devices": len(sim.fleet),
            "faults": sim.fleet.faults.as_dict(),
            "clock": clock_doc(sim),
            "services": sim.describe()["services"],
        }
    )


async def list_devices(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    now = sim.clock.now()
    return json_reply([device_state(d, now) for d in sim.fleet])


async def get_device(request: web.Request) -> web.Response:
    return json_reply(device_state(device_of(request), simulator_of(request).clock.now()))


async def add_devices(request: web.Request) -> web.Response:
    """Body: one fixture `[[device]]` entry (with `count` for several)."""
    sim = simulator_of(request)
    try:
        raw = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    count = raw.get("count", 1) if isinstance(raw, dict) else 1
    if isinstance(count, int) and count > MAX_ADD:
        raise ApiError(400, "too many at once", [f"count: at most {MAX_ADD} devices a request"])
    try:
        devices = await sim.add_devices([raw], source="request")
    except FixtureError as exc:
        status = 409 if "already" in str(exc) or "has a device" in str(exc) else 400
        raise ApiError(status, "the device cannot be added", str(exc).splitlines()) from None
    except ServiceError as exc:
        raise ApiError(409, "the device cannot listen", [str(exc)]) from None
    now = sim.clock.now()
    return json_reply([device_state(d, now) for d in devices], 201)


async def change_device(request: web.Request) -> web.Response:
    sim, device = simulator_of(request), device_of(request)
    change = await body_of(request, _models().change)
    given = change.model_fields_set
    if "admin_password" in given and change.admin_password is not None:
        device.admin_password = change.admin_password
    if change.firmware is not None:
        device.firmware = FirmwareVersion.parse(change.firmware)
    if change.device_name is not None:
        device.name = change.device_name
    own = {s.name for s in vendor_of(device).sections}
    for name, section in sections(vendors()).items():
        part = getattr(change, name, None)
        if part is None:
            continue
        if name not in own:
            owners = " and ".join(v.title for v in vendors() if section in v.sections)
            problem = f"{name}: only {owners} devices have it"
            raise ApiError(400, "the body does not validate", [problem])
        target = getattr(device, name)
        for field in part.model_fields_set:
            value = getattr(part, field)
            if value is not None or field in section.clearable:
                setattr(target, field, value)
    device.sync_lockout()
    await durable(sim.journal.commit(device))
    return json_reply(device_state(device, sim.clock.now()))


async def remove_device(request: web.Request) -> web.Response:
    await simulator_of(request).remove_device(device_of(request))
    return web.Response(status=204)


async def reboot_device(request: web.Request) -> web.Response:
    sim, device = simulator_of(request), device_of(request)
    reboot: Reboot = await body_of(request, Reboot)
    if not sim.reboot(device, reboot.downtime):
        raise ApiError(409, f"{device.serial} is already rebooting")
    return json_reply(device_state(device, sim.clock.now()), 202)


async def upgrade_device(request: web.Request) -> web.Response:
    """The upgrade flow without the upload: the version is staged, then the device reboots."""
    sim, device = simulator_of(request), device_of(request)
    upgrade: Upgrade = await body_of(request, Upgrade)
    if not device.powered:
        raise ApiError(409, f"{device.serial} is rebooting")
    device.pending_firmware = FirmwareVersion.parse(upgrade.version)
    await durable(sim.journal.commit(device))
    sim.reboot(device)
    return json_reply(device_state(device, sim.clock.now()), 202)


async def factory_reset(request: web.Request) -> web.Response:
    sim, device = simulator_of(request), device_of(request)
    device.factory_reset(sim.clock.now())
    await durable(sim.journal.commit(device))
    return json_reply(device_state(device, sim.clock.now()))


async def device_log(request: web.Request) -> web.Response:
    device = device_of(request)
    return json_reply([e.as_dict() for e in simulator_of(request).journal.log(device.serial)])


def operations() -> tuple[Operation, ...]:
    """A function, not a table: the device documents are those of the vendors registered now."""
    models = _models()
    return (
        Operation(
            "GET",
            "/api/fleet",
            "The fleet: size, faults, clock, services",
            get_fleet,
            returns=FleetInfo,
        ),
        Operation(
            "GET",
            "/api/devices",
            "Every device with its full state",
            list_devices,
            returns=[models.state],
        ),
        Operation(
            "POST",
            "/api/devices",
            "Add devices: one fixture [[device]] entry",
            add_devices,
            body=models.spec,
            ok=201,
            returns=[models.state],
            errors=(409,),
        ),
        Operation(
            "GET",
            _SERIAL,
            "One device (by serial or fixture name)",
            get_device,
            returns=models.state,
        ),
        Operation(
            "PATCH",
            _SERIAL,
            "Change a device's state",
            change_device,
            body=models.change,
            returns=models.state,
        ),
        Operation("DELETE", _SERIAL, "Remove a device", remove_device, ok=204),
        Operation(
            "POST",
            _SERIAL + "/reboot",
            "Reboot: gone (Bye), then back (Hello)",
            reboot_device,
            body=Reboot,
            ok=202,
            returns=models.state,
            errors=(409,),
        ),
        Operation(
            "POST",
            _SERIAL + "/upgrade",
            "Upgrade the firmware: staged, then a reboot",
            upgrade_device,
            body=Upgrade,
            ok=202,
            returns=models.state,
            errors=(409,),
        ),
        Operation(
            "POST",
            _SERIAL + "/factory-reset",
            "Back to factory: not activated",
            factory_reset,
            returns=models.state,
        ),
        Operation(
            "GET",
            _SERIAL + "/log",
            "The device's recent protocol exchanges",
            device_log,
            returns=[Event],
        ),
    )
