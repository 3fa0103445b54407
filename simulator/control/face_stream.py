"""The face's event stream: every shard's stream and the face's own events, merged into one
history with ids of the face's own, so that a client resumes with `Last-Event-ID` as it
would from one simulator.

Each shard is followed by one upstream subscription (opened when the first client asks for
the stream) that remembers the id it last saw from that shard and resumes from it when the
connection breaks or the shard comes back, so that the merged history loses nothing the
shard still holds and holds nothing twice. Clients then resume from the merged history.

Choices where the public record is silent:
- The merged ids are the face's own sequence, not a vector of the shards' ids: one plain
  number is what `Last-Event-ID` carries from a single simulator, so clients, `nvrsim ctl
  events` and the dashboard's EventSource need not know there are shards. Each event says
  which shard it came from (`shard`); its `data` is the shard's as it sent it.
- A shard restarted at a new address (`Face.replace`) is followed from the start of its
  own history: a new process numbers its events anew.
- A stream that breaks is reopened after `RECONNECT` seconds of real time, or as soon as
  the shard is replaced: a shard's stream is a real-world connection, not a simulated one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp_sse import sse_response

RECONNECT = 1.0  # seconds before a broken shard stream is reopened
HISTORY = 20_000  # merged events kept for clients that resume


class _Listener:
    """One client's events; one too slow to keep up is dropped, as a shard drops it."""

    def __init__(self, serial: str | None, size: int = 1000) -> None:
        self.serial = serial
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(size)

    def offer(self, event: dict[str, Any]) -> bool:
        if self.serial is not None and event.get("serial") != self.serial:
            return True
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while (event := await self.queue.get()) is not None:
            yield event


class MergedStream:
    """The merged history and its listeners; `follow` runs one shard's subscription."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._listeners: set[_Listener] = set()
        self._next = 1

    def add(
        self,
        kind: str,
        serial: str | None,
        data: dict[str, Any],
        time: float | None = None,
        **more: Any,
    ) -> None:
        event = {"id": self._next, "time": self._now() if time is None else time}
        event |= {"kind": kind, "serial": serial, "data": data} | more
        self._next += 1
        self._history.append(event)
        for listener in list(self._listeners):
            if not listener.offer(event):
                self._drop(listener)

    def _drop(self, listener: _Listener) -> None:
        self._listeners.discard(listener)
        listener.close()

    def end(self) -> None:
        for listener in list(self._listeners):
            self._drop(listener)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """GET /api/events, as one simulator serves it (control/events.py)."""
        listener = _Listener(request.query.get("serial") or None)
        self._listeners.add(listener)
        try:
            async with sse_response(request, ping_interval=10) as stream:
                last, sent = stream.last_event_id or "", 0
                if last.isdigit():
                    for event in list(self._history):
                        if event["id"] > int(last) and listener.serial in (None, event["serial"]):
                            await _send(stream, event)
                            sent = event["id"]
                async for event in listener:
                    if event["id"] > sent:
                        await _send(stream, event)
        except ConnectionError:
            pass
        finally:
            self._drop(listener)
        return stream

    async def follow(
        self,
        name: str,
        where: Callable[[], tuple[str, dict[str, str]] | None],
        changed: asyncio.Event,
        session: aiohttp.ClientSession,
        history: bool,
    ) -> None:
        """Follow one shard's stream for as long as the face runs: `where` says its URL and
        headers now (None: down), `changed` is set when it is replaced."""
        last: int | None = 0 if history else None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=None)
        while True:
            changed.clear()
            target = where()
            if target is not None:
                url, headers = target
                if last is not None:
                    headers = headers | {"Last-Event-ID": str(last)}
                with contextlib.suppress(aiohttp.ClientError, OSError, ValueError):
                    async with session.get(
                        url + "/api/events", headers=headers, timeout=timeout
                    ) as r:
                        if r.status == 200:
                            last = last or 0
                            async for event in _events(r.content):
                                last = max(last, event.pop("id", 0))
                                self.add(
                                    event["kind"],
                                    event.get("serial"),
                                    event["data"],
                                    time=event.get("time"),
                                    shard=name,
                                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), RECONNECT)
            if changed.is_set():
                last = 0  # a new process: its history from the start


async def _events(content: aiohttp.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """The events of a server-sent stream: their data lines (the kind and id are in it)."""
    data: list[str] = []
    async for raw in content:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            with contextlib.suppress(ValueError):
                event = json.loads("\n".join(data))
                if isinstance(event, dict) and isinstance(event.get("id"), int):
                    yield event
            data = []


async def _send(stream, event: dict[str, Any]) -> None:
    await stream.send(json.dumps(event), id=str(event["id"]), event=event["kind"])
