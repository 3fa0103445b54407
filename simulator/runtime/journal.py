"""Every state change and protocol exchange: for the event stream, the dashboard and `--state`.

Front ends report each exchange (`Journal.exchange`); the journal then looks
at the device as a fixture entry (`state.device_entry`) and, when it differs
from what it last saw, publishes a `device.changed` event naming each changed
field and writes the device to the state directory. So an unbind is recorded
the same way whether SADP, ISAPI, the menu or the control API did it.

Writes go through one writer thread, in order: the event loop never waits on a
disk, and `await commit(...)` returns only once the change is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime.state import StateDir, device_entry


@dataclass(frozen=True)
class Event:
    id: int
    time: float  # on the simulator's clock
    kind: str  # exchange, device.changed, device.added, device.removed, fleet.faults, clock, ...
    serial: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "serial": self.serial,
            "data": self.data,
        }


EXCHANGE = "exchange"
_EXCHANGE = ("protocol", "client", "request", "reply")  # an exchange's data, in order
DEVICE_STATE = frozenset({"device.changed", "device.added", "device.removed"})


class Subscription:
    """One listener's events. A listener too slow to keep up is dropped, not waited for:
    it reconnects with the last id it saw and replays from the history."""

    def __init__(self, journal: Journal, size: int, serial: str | None) -> None:
        self._journal, self.serial = journal, serial
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(size)

    def offer(self, event: Event) -> None:
        if self.serial is not None and event.serial != self.serial:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close()

    def close(self) -> None:
        self._journal._subscribers.discard(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self._queue.get()) is not None:
            yield event


class Journal:
    HISTORY = 5000  # events kept for replay after a reconnect
    PER_DEVICE = 200  # exchanges kept per device, for its protocol log

    def __init__(self, clock: Clock, store: StateDir | None = None) -> None:
        self.clock = clock
        self.store = store
        self._ids = itertools.count(1)
        # What happened, for replay: events, and each exchange as a plain tuple (a record:
        # id, time, serial, then _EXCHANGE's fields), made an Event only when read or when
        # someone listens. A fleet under load answers thousands a second, and their objects
        # were 6 % of an ISAPI request's time (docs/benchmarks.md).
        self._history: deque[Event | tuple[Any, ...]] = deque(maxlen=self.HISTORY)
        self._logs: dict[str, deque[tuple[Any, ...]]] = {}  # each device's last records
        # serial -> device_entry last seen, as JSON: 1.5 KB a device where its objects took
        # 3.6 KB; read back only when the device has changed.
        self._seen: dict[str, bytes] = {}
        self._subscribers: set[Subscription] = set()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="nvrsim-state") if store else None
        self._forwards: list[tuple[Callable[[Event], None], frozenset[str] | None]] = []
        self._exchanges_forwarded = False  # to any of them

    # --- what happened ----------------------------------------------------------

    def publish(self, kind: str, serial: str | None = None, **data: Any) -> Event:
        event = Event(next(self._ids), self.clock.now(), kind, serial, data)
        self._history.append(event)
        self._offer(event)
        return event

    def forward(self, offer: Callable[[Event], None], kinds: frozenset[str] | None = None) -> None:
        """Offer every event from now on (of `kinds`; None: all) to `offer` as it is
        published, never dropped as a slow subscriber's are: what another process must
        know (a worker tells its supervisor its devices' changes, a supervisor its face its
        clouds' events)."""
        self._forwards.append((offer, kinds))
        self._exchanges_forwarded |= kinds is None or EXCHANGE in kinds

    def _offer(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(event)
        for offer, kinds in self._forwards:
            if kinds is None or event.kind in kinds:
                offer(event)

    def exchange(
        self,
        device: Device | None,
        protocol: str,
        client: str,
        request: str,
        reply: str,
        *,
        may_change: bool = True,
    ) -> None:
        """One request answered; `device` None for a fleet-wide one (a discovery inquiry).
        `may_change` False for reads, after which there is no state to compare."""
        serial = device.serial if device is not None else None
        record = (next(self._ids), self.clock.now(), serial, protocol, client, request, reply)
        self._history.append(record)
        if self._subscribers or self._exchanges_forwarded:  # nobody listens: no Event
            self._offer(_event(record))
        if device is not None:
            log = self._logs.get(device.serial)
            if log is None:
                log = self._logs[device.serial] = deque(maxlen=self.PER_DEVICE)
            log.append(record)
            if may_change:
                self.commit(device)

    def watch(self, device: Device) -> None:
        """Start from `device` as it is now, without an event (start-up, restart)."""
        self._seen[device.serial] = kept_json(device_entry(device))

    def _last_seen(self, device: Device) -> dict[str, Any] | None:
        seen = self._seen.get(device.serial)
        return orjson.loads(seen) if seen is not None else None

    def commit(self, device: Device) -> Future[None] | None:
        """Publish and store whatever changed on `device` since last seen.

        The future, if any, is done once the change is on disk.
        """
        entry = device_entry(device)
        written = orjson.dumps(entry)
        seen = self._seen.get(device.serial)
        if written == seen:
            return None
        written = _fitted(written)
        # Compared as JSON reads them, so a tuple and the list it was are the same value.
        changes = _diff(orjson.loads(seen) if seen is not None else {}, orjson.loads(written))
        if not changes:
            return None
        self._seen[device.serial] = written
        self.publish("device.changed", device.serial, changes=changes)
        return self._write(self.store.save_device, device, entry) if self.store else None

    def commit_field(self, device: Device, name: str, value: Any) -> Future[None] | None:
        """`commit` of one change the caller made and names (a dotted field of the
        device's entry), without building and comparing the whole entry: for the cloud
        link, which flips its field as 10,000 devices come online. Anything else changed
        on the device is left to the next `commit`."""
        entry = self._last_seen(device)
        if entry is None:
            return self.commit(device)
        *path, last = name.split(".")
        node = entry
        for key in path:
            node = node[key]
        before = node.get(last)
        if before == value:
            return None
        node[last] = value
        self._seen[device.serial] = kept_json(entry)
        self.publish("device.changed", device.serial, changes={name: [before, value]})
        return (
            self._write(self.store.save_device, device, device_entry(device))
            if self.store
            else None
        )

    def added(self, device: Device, fleet: Fleet) -> Future[None] | None:
        entry = device_entry(device)
        self._seen[device.serial] = kept_json(entry)
        self.publish("device.added", device.serial, device=entry)
        if self.store is None:
            return None
        self._write(self.store.save_device, device, entry)
        return self._write(self.store.save_fleet, fleet)

    def removed(self, device: Device, fleet: Fleet) -> Future[None] | None:
        self._seen.pop(device.serial, None)
        self._logs.pop(device.serial, None)
        self.publish("device.removed", device.serial)
        if self.store is None:
            return None
        self._write(self.store.save_fleet, fleet)
        return self._write(self.store.remove_device, device.serial)

    def save(self, save, *args: Any) -> Future[None] | None:
        """Run `save` (a StateDir method) on the writer, in order with every other write."""
        return self._write(save, *args) if self.store else None

    def _write(self, save, *args: Any) -> Future[None]:
        assert self._writer is not None
        return self._writer.submit(save, *args)

    def close(self) -> None:
        """Finish every pending write and end every stream."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        self.end_streams()

    def end_streams(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()

    # --- reading it back ---------------------------------------------------------

    def subscribe(self, serial: str | None = None, size: int = 1000) -> Subscription:
        subscription = Subscription(self, size, serial)
        self._subscribers.add(subscription)
        return subscription

    def since(self, last_id: int, serial: str | None = None) -> list[Event]:
        events = map(_event, self._history)
        return [e for e in events if e.id > last_id and (serial is None or e.serial == serial)]

    def log(self, serial: str) -> list[Event]:
        return [_event(record) for record in self._logs.get(serial, ())]


async def durable(write: Future[None] | None) -> None:
    """Wait until a journal write is on disk (None: nothing is stored)."""
    if write is not None:
        await asyncio.wrap_future(write)


def _event(kept: Event | tuple[Any, ...]) -> Event:
    """What the history holds, as an event: an exchange's record made one."""
    if isinstance(kept, Event):
        return kept
    number, time, serial, *data = kept
    return Event(number, time, EXCHANGE, serial, dict(zip(_EXCHANGE, data, strict=True)))


def kept_json(value: Any) -> bytes:
    """`value` as JSON, to be kept: orjson's bytes hold its whole working buffer (16 KB,
    8 KB of it resident) however short the document (orjson 3.12 on: it never shrinks
    them; home-assistant/core#181245), which was most of a worker's memory when it kept
    one a device. A copy has its own size."""
    return _fitted(orjson.dumps(value))


def _fitted(data: bytes) -> bytes:
    return memoryview(data).tobytes()


def _diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """Changed fields by dotted name, each as [before, after]."""
    changes: dict[str, list[Any]] = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if a == b:  # most of an entry: compared at C speed, not walked
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changes |= _diff(a, b, f"{prefix}{key}.")
        else:
            changes[f"{prefix}{key}"] = [a, b]
    return changes
