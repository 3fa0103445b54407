"""Faults, set on one device or on the whole fleet: a change names only the faults it sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from nvrsim.simulator.control.common import body_of, device_of, json_reply, simulator_of
from nvrsim.simulator.control.schema import FaultsChange, Operation
from nvrsim.simulator.runtime.fixtures import FaultsSpec
from nvrsim.simulator.runtime.journal import durable

if TYPE_CHECKING:
    from nvrsim.simulator.core.faults import Faults

_DEVICE_FAULTS = "/api/devices/{serial}/faults"


def _changed_faults(current: Faults, change: FaultsChange) -> Faults:
    return current.update(
        {k: getattr(change, k) for k in change.model_fields_set if getattr(change, k) is not None}
    )


async def get_device_faults(request: web.Request) -> web.Response:
    return json_reply(device_of(request).own_faults.as_dict())


async def set_device_faults(request: web.Request) -> web.Response:
    sim, device = simulator_of(request), device_of(request)
    change: FaultsChange = await body_of(request, FaultsChange)
    device.own_faults = _changed_faults(device.own_faults, change)
    await durable(sim.journal.commit(device))
    return json_reply(device.own_faults.as_dict())


async def get_fleet_faults(request: web.Request) -> web.Response:
    return json_reply(simulator_of(request).fleet.faults.as_dict())


async def set_fleet_faults(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    change: FaultsChange = await body_of(request, FaultsChange)
    sim.fleet.set_faults(_changed_faults(sim.fleet.faults, change))
    sim.journal.publish("fleet.faults", None, faults=sim.fleet.faults.as_dict())
    if sim.journal.store is not None:
        await durable(sim.journal.save(sim.journal.store.save_fleet, sim.fleet))
    return json_reply(sim.fleet.faults.as_dict())


OPERATIONS = (
    Operation(
        "GET",
        _DEVICE_FAULTS,
        "The faults set on this device",
        get_device_faults,
        returns=FaultsSpec,
    ),
    Operation(
        "PUT",
        _DEVICE_FAULTS,
        "Set faults on this device",
        set_device_faults,
        body=FaultsChange,
        returns=FaultsSpec,
    ),
    Operation(
        "GET",
        "/api/faults",
        "The faults set on the whole fleet",
        get_fleet_faults,
        returns=FaultsSpec,
    ),
    Operation(
        "PUT",
        "/api/faults",
        "Set faults on the whole fleet",
        set_fleet_faults,
        body=FaultsChange,
        returns=FaultsSpec,
    ),
)
