"""The simulator's clock: read it, set its time or speed, move it forward."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from nvrsim.simulator.control.common import ApiError, body_of, json_reply, simulator_of
from nvrsim.simulator.control.schema import Clock as ClockDoc
from nvrsim.simulator.control.schema import ClockAdvance, ClockChange, Operation
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.core.events import run_due
from nvrsim.simulator.core.plugin import SimulatorApi
from nvrsim.simulator.runtime.journal import durable


def clock_doc(sim: SimulatorApi) -> dict[str, Any]:
    now = sim.clock.now()
    speed = sim.clock.speed if isinstance(sim.clock, ScaledClock) else None
    iso = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
    return {"now": now, "speed": speed, "iso": iso}


async def get_clock(request: web.Request) -> web.Response:
    return json_reply(clock_doc(simulator_of(request)))


async def set_clock(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    change: ClockChange = await body_of(request, ClockChange)
    if change.speed is not None:
        if not isinstance(sim.clock, ScaledClock):
            raise ApiError(409, "this simulator's clock has no speed: it moves only when told")
        sim.clock.speed = change.speed
    if change.now is not None:
        sim.clock.set(change.now)
    return await _clock_changed(sim)


async def advance_clock(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    advance: ClockAdvance = await body_of(request, ClockAdvance)
    sim.clock.advance(advance.seconds)
    return await _clock_changed(sim)


async def _clock_changed(sim: SimulatorApi) -> web.Response:
    run_due(sim.fleet, sim.clock.now())  # events due by the new time happen before the answer
    doc = clock_doc(sim)
    sim.journal.publish("clock", None, **doc)
    if sim.journal.store is not None and isinstance(sim.clock, ScaledClock):
        state = {"offset": sim.clock.offset, "speed": sim.clock.speed}
        await durable(sim.journal.save(sim.journal.store.save_clock, state))
    return json_reply(doc)


OPERATIONS = (
    Operation("GET", "/api/clock", "The simulator's clock", get_clock, returns=ClockDoc),
    Operation(
        "PUT",
        "/api/clock",
        "Set the clock's time or speed",
        set_clock,
        body=ClockChange,
        returns=ClockDoc,
        errors=(409,),
    ),
    Operation(
        "POST",
        "/api/clock/advance",
        "Move the clock forward",
        advance_clock,
        body=ClockAdvance,
        returns=ClockDoc,
    ),
)
