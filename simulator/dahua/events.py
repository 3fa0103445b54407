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
- RPC2 `eventManager.attach {"codes": [...]}` answers `{"SID": n}` (n from 513, as a
  capture shows); over HTTP its `client.notifyEventStream` documents go out on
  `GET /SubscribeNotify.cgi?sessionId=<session>` (the endpoint the notes name), each a
  `application/json` part of the same multipart stream [I]. The session is the
  credential; the stream ends when the session detaches, logs out or expires.
  A new attach replaces the session's previous one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import DeviceEvent, EventState, EventType, Subscriber
from nvrsim.simulator.dahua.errors import INVALID_PARAM, METHOD_NOT_FOUND, RpcError

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
# Where a stream keeps its subscriber while open: its device's, so that the device
# going down ends it.
STREAMS = web.RequestKey("dahua_event_streams", set)
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
    streams: set = request[STREAMS]
    with device.events.subscribe(lambda e: e.type in wanted) as events:
        streams.add(events)
        try:
            with contextlib.suppress(ConnectionError):
                await events.relay(
                    lambda: request.transport is not None,
                    lambda taken: response.write(b"".join(part(event_line(e)) for e in taken)),
                    lambda: response.write(part("Heartbeat")),
                    heartbeat,
                )
        finally:
            streams.discard(events)
    return response


# --- RPC2: eventManager.attach / detach, notified over /SubscribeNotify.cgi ----------------

NOTIFY_PATH = "/SubscribeNotify.cgi"


class RpcEvents:
    """Each RPC2 session's attachment: the codes it asked for, and its events waiting to
    go out as `client.notifyEventStream` on the session's SubscribeNotify stream."""

    MAX = 64  # a device's RPC2 sessions (simulator.dahua.rpc.Sessions)

    def __init__(self, device: Device) -> None:
        self.device = device
        self.attached: dict[str, Subscriber] = {}  # by session id
        self._sids = itertools.count(513)  # the SID a real device gave (docs/protocols §2.2)
        self.sid: dict[str, int] = {}

    def call(self, method: str, ident: Any, session: str, params: dict) -> dict[str, Any]:
        codes = params.get("codes")
        names = (
            codes if isinstance(codes, list) and all(isinstance(c, str) for c in codes) else None
        )
        if method == "eventManager.attach":
            if not names:
                return _rpc_fail(INVALID_PARAM, ident, session)
            try:
                wanted = parse_codes("[" + ",".join(names) + "]")
            except CodesError:
                return _rpc_fail(INVALID_PARAM, ident, session)
            self.detach(session)
            while len(self.attached) >= self.MAX:  # as many as sessions; the oldest goes
                self.detach(next(iter(self.attached)))
            self.attached[session] = self.device.events.subscribe(lambda e: e.type in wanted)
            self.sid[session] = next(self._sids)
            return _rpc_ok(ident, session, {"SID": self.sid[session]})
        if method == "eventManager.detach":
            self.detach(session)
            return _rpc_ok(ident, session)
        return _rpc_fail(METHOD_NOT_FOUND, ident, session)

    def detach(self, session: str) -> None:
        subscriber = self.attached.pop(session, None)
        self.sid.pop(session, None)
        if subscriber is not None:
            subscriber.close()

    def detach_all(self) -> None:
        for session in list(self.attached):
            self.detach(session)

    def notification(self, session: str, events: list[DeviceEvent], ident: int) -> bytes:
        document = {
            "id": ident,
            "method": "client.notifyEventStream",
            "params": {
                "SID": self.sid.get(session, 0),
                "eventList": [
                    {
                        "Action": _ACTIONS[e.state],
                        "Code": CODES[e.type],
                        "Data": {"LocaleTime": _local(e.time)},
                        "Index": e.channel - 1,
                    }
                    for e in events
                ],
            },
            "session": session,
        }
        text = json.dumps(document, separators=(",", ":"))
        return (
            f"--{BOUNDARY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(text)}\r\n\r\n{text}\r\n"
        ).encode()


def _local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _rpc_ok(ident: Any, session: str, params: Any = None) -> dict[str, Any]:
    return {"id": ident, "params": params, "result": True, "session": session}


def _rpc_fail(error: RpcError, ident: Any, session: str) -> dict[str, Any]:
    return {
        "error": {"code": error.code, "message": error.message},
        "id": ident,
        "params": None,
        "result": False,
        "session": session,
    }


async def subscribe_notify(
    request: web.Request, rpc_events: RpcEvents, session_alive: Callable[[str], bool]
) -> web.StreamResponse:
    """The notifications of the session named by `sessionId`, until it detaches, logs out,
    expires or the client leaves; a session without an attachment is 400."""
    session = request.query.get("sessionId", "")
    events = rpc_events.attached.get(session)
    if events is None or not session_alive(session):
        return web.Response(text="Error\r\nBad Request!\r\n", status=400, content_type="text/plain")
    response = RawStream(
        headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
    )
    response.force_close()
    await response.prepare(request)
    streams: set = request[STREAMS]
    streams.add(events)
    ids = itertools.count(1)
    try:
        with contextlib.suppress(ConnectionError):
            while not events.closed and request.transport is not None:
                if not session_alive(session):
                    rpc_events.detach(session)
                    break
                if await events.wait(1.0):
                    taken = events.take()
                    await response.write(rpc_events.notification(session, taken, next(ids)))
    finally:
        streams.discard(events)
    return response
