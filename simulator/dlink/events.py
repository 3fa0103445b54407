"""NIPCA's event stream from the device's one event model (simulator.core.events).

`GET /config/notify_stream.cgi` is a long-lived response of `key=value` lines, as
D-Link cameras send them (docs/protocols/onvif-dlink.md §3): first the state of every
key, then a line each time one changes, and a `keep_alive` line while nothing does.

Choices where the public record is silent:
- Keys: motion `md<n>` and alarm input `input<n>` (`on`/`off`), the ones the notes
  list; the other event types have no NIPCA key and are not sent.
- The opening state lists `md1`..`md<channels>` and `input1`; `keep_alive=1` goes out
  every `KEEP_ALIVE` real seconds without a change.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from nvrsim.protocols import nipca
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import DeviceEvent, EventType, channels_of

KEYS = {EventType.MOTION: "md", EventType.DIGITAL_INPUT: "input"}
KEEP_ALIVE = 10.0
# Where a stream keeps its subscriber while open: its device's, so that the device
# going down ends it.
STREAMS = web.RequestKey("nipca_event_streams", set)


def _line(key: str, on: bool) -> bytes:
    return f"{key}={'on' if on else 'off'}\r\n".encode()


def event_line(event: DeviceEvent) -> bytes:
    return _line(f"{KEYS[event.type]}{event.channel}", event.active)


def opening(device: Device) -> bytes:
    """Every key's state now, as the stream opens."""
    active = device.events.active
    return b"".join(
        _line(f"{key}{channel}", (type_, channel) in active)
        for type_, key in KEYS.items()
        for channel in range(1, channels_of(device, type_) + 1)
    )


async def notify_stream(request: web.Request, device: Device) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": nipca.TEXT_CONTENT_TYPE})
    await response.prepare(request)
    streams: set = request[STREAMS]
    with device.events.subscribe(lambda e: e.type in KEYS) as events:
        streams.add(events)
        try:
            with contextlib.suppress(ConnectionError):
                await response.write(opening(device))
                await events.relay(
                    lambda: request.transport is not None,
                    lambda taken: response.write(b"".join(event_line(e) for e in taken)),
                    lambda: response.write(b"keep_alive=1\r\n"),
                    KEEP_ALIVE,
                )
        finally:
            streams.discard(events)
    return response
