"""The event stream (server-sent events) and the device events a tester raises.

GET /api/events streams every change and exchange the journal records, device events
included (`device.event`, data: the event and its fate); POST
/api/devices/{serial}/events raises one (simulator.core.events), which every protocol
then delivers in its own form.
"""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp_sse import sse_response

from nvrsim.simulator.control.common import (
    ApiError,
    body_of,
    device_of,
    json_reply,
    simulator_of,
)
from nvrsim.simulator.control.schema import EventRaise, EventRaised, Operation
from nvrsim.simulator.core.events import EventError, raise_event


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every change and exchange, replayed from Last-Event-ID."""
    journal = simulator_of(request).journal
    serial = request.query.get("serial") or None
    subscription = journal.subscribe(serial)
    try:
        async with sse_response(request, ping_interval=10) as stream:
            last, sent = stream.last_event_id or "", 0
            if last.isascii() and last.isdigit():  # "²" is a digit that int() refuses: a 500
                for event in journal.since(int(last), serial):
                    await _send(stream, event)
                    sent = event.id
            async for event in subscription:
                if event.id > sent:  # else replayed already: it came while the stream opened
                    await _send(stream, event)
    except ConnectionError:
        pass
    finally:
        subscription.close()
    return stream


async def _send(stream, event) -> None:
    await stream.send(json.dumps(event.as_dict()), id=str(event.id), event=event.kind)


def _active(device) -> list[dict]:
    return [e.as_dict() for e in device.events.active.values()]


async def get_device_events(request: web.Request) -> web.Response:
    device = device_of(request)
    return json_reply({"event": None, "active": _active(device)})


async def raise_device_event(request: web.Request) -> web.Response:
    sim, device = simulator_of(request), device_of(request)
    change: EventRaise = await body_of(request, EventRaise)
    try:
        event = raise_event(
            device,
            change.type,
            sim.clock.now(),
            channel=change.channel,
            state=change.state,
            duration=change.duration,
        )
    except EventError as exc:
        raise ApiError(400, "the device cannot raise that event", [str(exc)]) from None
    reply = {"event": event.as_dict() if event else None, "active": _active(device)}
    return json_reply(reply, 201 if event else 200)


_DEVICE_EVENTS = "/api/devices/{serial}/events"
OPERATIONS = (
    Operation(
        "GET",
        _DEVICE_EVENTS,
        "The events active on this device now",
        get_device_events,
        returns=EventRaised,
    ),
    Operation(
        "POST",
        _DEVICE_EVENTS,
        "Raise an event on this device (motion, tamper, ...); 200 when it changed nothing",
        raise_device_event,
        body=EventRaise,
        ok=201,
        returns=EventRaised,
    ),
)
