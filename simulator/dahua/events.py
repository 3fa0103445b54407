"""Dahua's eventManager from the device's one event model (simulator.core.events).

`GET /cgi-bin/eventManager.cgi?action=attach&codes=[All]` (or a list such as
`[VideoMotion,VideoLoss]`, optionally `&heartbeat=N` seconds) is an endless
`multipart/x-mixed-replace; boundary=myboundary` stream with one text part per event,
`Code=VideoMotion;action=Start;index=0`, as amcrest and Home Assistant read it.
`action=getEventIndexes&code=VideoMotion` lists the channels where it is active now.

Choices where the public record is silent:
- Codes: motion VideoMotion, line crossing CrossLineDetection and intrusion
  CrossRegionDetection (action=Pulse for a crossing), tamper VideoBlind, alarm input
  AlarmLocal, video loss VideoLoss, disk error StorageFailure; index counts from 0.
- An attach with no codes, or a code we do not know, is 400 Bad Request; known codes the
  device never raises are accepted and stay silent.
- A heartbeat, when asked for, is a part holding `Heartbeat`, at most every second.
- getEventIndexes with nothing active answers `Error\\r\\nNo Event!` [I], which
  amcrest reads as no channels.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import DeviceEvent, EventState, EventType

CODES: dict[EventType, str] = {
    EventType.MOTION: "VideoMotion",
    EventType.LINE_CROSSING: "CrossLineDetection",
    EventType.INTRUSION: "CrossRegionDetection",
    EventType.TAMPER: "VideoBlind",
    EventType.DIGITAL_INPUT: "AlarmLocal",
    EventType.VIDEO_LOSS: "VideoLoss",
    EventType.STORAGE_FAILURE: "StorageFailure",
}
# Codes clients ask for that this simulator never raises: accepted, silent.
QUIET_CODES = frozenset(
    {
        "StorageNotExist",
        "StorageLowSpace",
        "AlarmOutput",
        "SmartMotionHuman",
        "SmartMotionVehicle",
        "LoginFailure",
        "NetAbort",
        "IPConflict",
        "NewFile",
    }
)
BOUNDARY = "myboundary"
STREAMS = web.AppKey("dahua_event_streams", set)  # open attaches' subscribers
_ACTIONS = {EventState.START: "Start", EventState.STOP: "Stop", EventState.PULSE: "Pulse"}


class RawStream(web.StreamResponse):
    """A body written as it comes, neither chunked nor with a length, until the connection
    closes: what Dahua's web server sends, and what amcrest needs (it reads each part with
    a second iterator over the raw socket, which chunked decoding breaks). aiohttp
    switches its own length bookkeeping off this way for WebSockets."""

    _length_check = False


class CodesError(ValueError):
    pass


def parse_codes(text: str | None) -> frozenset[EventType]:
    """`[All]` or `[VideoMotion,VideoLoss]`: the event types asked for."""
    inner = (text or "").strip().removeprefix("[").removesuffix("]")
    names = {n.strip() for n in inner.split(",") if n.strip()}
    if not names:
        raise CodesError("no codes")
    if "All" in names:
        return frozenset(CODES)
    by_code = {code: type_ for type_, code in CODES.items()}
    unknown = names - set(by_code) - QUIET_CODES
    if unknown:
        raise CodesError(f"unknown codes {sorted(unknown)}")
    return frozenset(by_code[n] for n in names if n in by_code)


def event_line(event: DeviceEvent) -> str:
    return f"Code={CODES[event.type]};action={_ACTIONS[event.state]};index={event.channel - 1}"


def part(text: str) -> bytes:
    """One part; amcrest reads Content-Length + 2 characters after its line."""
    return (
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n\r\n"
        f"{text}\r\n\r\n"
    ).encode()


def event_indexes(device: Device, code: str | None) -> tuple[int, str]:
    """getEventIndexes: (status, body) listing the channels where `code` is active."""
    by_code = {c: t for t, c in CODES.items()}
    type_ = by_code.get(code or "")
    if type_ is None:
        return 400, "Error\r\nBad Request!\r\n"
    channels = sorted(ch for (t, ch) in device.events.active if t is type_)
    if not channels:
        return 200, "Error\r\nNo Event!\r\n"
    return 200, "".join(f"channels[{i}]={ch - 1}\r\n" for i, ch in enumerate(channels))


async def attach(
    request: web.Request, device: Device, wanted: frozenset[EventType], heartbeat: float | None
) -> web.StreamResponse:
    """The attach stream, until the client leaves or the server stops."""
    response = RawStream(
        headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
    )
    response.force_close()
    await response.prepare(request)
    streams: set = request.app[STREAMS]
    with device.events.subscribe(lambda e: e.type in wanted) as events:
        streams.add(events)
        try:
            with contextlib.suppress(ConnectionError):
                quiet = 0.0  # seconds without a part
                while not events.closed and request.transport is not None:
                    # a second at a time: a client that left is noticed without a write
                    if await events.wait(1.0):
                        for event in events.take():
                            await response.write(part(event_line(event)))
                        quiet = 0.0
                    elif heartbeat is not None and (quiet := quiet + 1.0) >= heartbeat:
                        if not events.closed:
                            await response.write(part("Heartbeat"))
                        quiet = 0.0
        finally:
            streams.discard(events)
    return response


async def end_streams(app: web.Application) -> None:
    """On shutdown: every attach ends, so none holds the server up."""
    for events in list(app[STREAMS]):
        events.close()
