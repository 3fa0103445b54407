"""Everything a device raises (motion, a line crossed, a disk failing) lives here, once.

It does not know which protocol delivers it: ONVIF, ISAPI's alertStream, Dahua's
eventManager, NIPCA and the control API's event stream all subscribe to a device's
`EventBus` and write the same `DeviceEvent` in their own form.

Theory of operation: `raise_event(device, ...)` records the new state (what is active
on which channel), stamps the event with the simulation clock, and hands it to every
subscriber, unless the device's `event_drop` fault loses it or `event_delay` holds it
back. Whatever must happen later (a motion raised "for 10 s" ending, a delayed event
going out, a fixture's schedule) is a timer on the simulation clock that `advance`
runs; the runtime calls `advance` for every device a few times a second, and a test on
a VirtualClock calls it after moving the clock.

Choices where the public record is silent:
- A start on a channel where the same event is already active is not a new event (a
  camera reports motion once while it lasts); it only moves the end of a timed one.
  A stop where nothing is active is nothing.
- A schedule fires first one period after it starts (the device's first `advance`),
  then every period; after a clock jump it fires once, at the latest period due, as a
  camera does not replay what it missed.
- A delayed event keeps the time it happened: a client sees it late, stamped early.
- A subscriber's queue is bounded; when full, the oldest event is dropped (a PullPoint
  keeps the newest) and counted in `lost`.
- Digital inputs: one on a camera, four on a recorder; storage failure on recorders
  only, its channel being the disk number.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nvrsim.simulator.core.clock import Clock
    from nvrsim.simulator.core.device import Device
    from nvrsim.simulator.core.faults import Faults


class EventType(StrEnum):
    MOTION = "motion"
    LINE_CROSSING = "line_crossing"
    INTRUSION = "intrusion"  # field detection: an object inside a region
    TAMPER = "tamper"  # the view covered or moved
    DIGITAL_INPUT = "digital_input"  # an alarm input
    VIDEO_LOSS = "video_loss"
    STORAGE_FAILURE = "storage_failure"  # recorders: a disk error


class EventState(StrEnum):
    START = "start"
    STOP = "stop"
    PULSE = "pulse"  # a moment, with no duration: a line crossed


# Events that are a moment rather than a state.
PULSES = frozenset({EventType.LINE_CROSSING})


@dataclass(frozen=True)
class DeviceEvent:
    id: int  # per device, in the order raised
    type: EventType
    channel: int  # video channel; alarm input number; disk number for storage
    state: EventState
    time: float  # when it happened, on the simulation clock

    @property
    def active(self) -> bool:
        """True for a start or a pulse: what ONVIF's State/IsMotion carry."""
        return self.state is not EventState.STOP

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": str(self.type),
            "channel": self.channel,
            "state": str(self.state),
            "time": self.time,
        }


class EventError(ValueError):
    """A raise the device cannot do: a type it does not have, a channel it lacks."""


def event_types(device: Device) -> tuple[EventType, ...]:
    """What the device raises: storage failure only where there are disks to fail."""
    recorder = device.kind != "ipc"
    return tuple(t for t in EventType if t is not EventType.STORAGE_FAILURE or recorder)


def digital_inputs(device: Device) -> int:
    return 1 if device.kind == "ipc" else 4


def channels_of(device: Device, type_: EventType) -> int:
    """How many channels of `type_` the device has, numbered from 1."""
    if type_ is EventType.DIGITAL_INPUT:
        return digital_inputs(device)
    if type_ is EventType.STORAGE_FAILURE:
        return max(1, device.disks)
    return max(1, device.channels)


@dataclass(frozen=True)
class EventSchedule:
    """A fixture's `[devices.events]` line: raise `type` every `every` s for `duration` s."""

    type: EventType
    every: float
    duration: float = 0.0  # 0: a pulse (or a start and stop at once)
    channel: int = 1


class Subscriber:
    """One protocol client's events, in a bounded queue that drops the oldest."""

    def __init__(
        self, bus: EventBus, size: int, wants: Callable[[DeviceEvent], bool] | None
    ) -> None:
        self._bus, self._wants = bus, wants
        self._queue: deque[DeviceEvent] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.lost = 0  # events dropped because the queue was full
        self.closed = False

    def offer(self, event: DeviceEvent) -> None:
        if self._wants is not None and not self._wants(event):
            return
        if len(self._queue) == self._queue.maxlen:
            self.lost += 1
        self._queue.append(event)
        self._ready.set()

    def take(self, limit: int | None = None) -> list[DeviceEvent]:
        """Up to `limit` events, the oldest first, without waiting."""
        count = len(self._queue) if limit is None else min(limit, len(self._queue))
        taken = [self._queue.popleft() for _ in range(count)]
        if not self._queue and not self.closed:
            self._ready.clear()
        return taken

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` real seconds for an event (or a `wake`); False when none
        came."""
        if self._queue:
            return True
        if self.closed:
            return False
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return bool(self._queue)

    async def next(self) -> DeviceEvent | None:
        """The next event; None once closed (the stream ends)."""
        while not self._queue:
            if self.closed:
                return None
            await self._ready.wait()
        [event] = self.take(1)
        return event

    async def relay(
        self,
        connected: Callable[[], bool],
        send: Callable[[list[DeviceEvent]], Awaitable[object]],
        keep_alive: Callable[[], Awaitable[object]],
        every: float | None,
    ) -> None:
        """A vendor's event stream: `send` each batch as it comes, and `keep_alive` after
        `every` quiet seconds (None: never), until this closes or the client leaves. It
        looks once a second, so a client that left is noticed without a write."""
        quiet = 0.0  # seconds without a write
        while not self.closed and connected():
            if await self.wait(1.0):
                await send(self.take())
                quiet = 0.0
            elif every is not None and (quiet := quiet + 1.0) >= every and not self.closed:
                await keep_alive()
                quiet = 0.0

    def wake(self) -> None:
        """End a `wait` now: the subscriber's owner has something else to send."""
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._bus._unsubscribe(self)
        self._ready.set()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# What the journal hears of each event: "delivered", "delayed" or "dropped".
Observer = Callable[[DeviceEvent, str], None]


def end_all(subscribers: set[Subscriber]) -> None:
    """The device goes down: every stream these subscribers feed ends, so none holds its
    server up."""
    for subscriber in list(subscribers):
        subscriber.close()


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    action: Callable[[float, float], None] = field(compare=False)  # (due, now)
    cancelled: bool = field(default=False, compare=False)


class EventBus:
    """One device's events: what is active, who listens, what is due later.

    Every device has one and most of a large fleet's never hear a client or set a timer,
    so a bus is slotted and makes its listeners' and timers' containers on first use.
    """

    __slots__ = (
        "_armings",
        "_ends",
        "_faults",
        "_observers",
        "_raised",
        "_subscribers",
        "_timers",
        "active",
        "on_armed",
        "schedules",
        "started",
    )

    QUEUE = 256  # a subscriber's queue; a slow one loses its oldest events
    # Decides which events `event_drop` loses; one for every bus (a test may set another
    # on the class), as a Random holds 2.5 KB of state and a fleet has 100,000 buses.
    rng = random.Random()

    def __init__(self) -> None:
        self._raised = 0  # events raised so far: the last one's id
        self._armings = 0  # timers set so far: orders timers due at the same time
        self._subscribers: set[Subscriber] | None = None
        self._observers: dict[object, Observer] | None = None
        self._timers: list[_Timer] | None = None  # a heap, the next due first
        self._ends: dict[tuple[EventType, int], _Timer] | None = None  # timed starts' stops
        self.active: dict[tuple[EventType, int], DeviceEvent] = {}
        self.schedules: list[EventSchedule] = []
        self.started = False  # its schedules are running
        self.on_armed: Callable[[], None] | None = None  # told when it gets a timer to run
        # The device's faults as last told (a raise, an advance): what timers' events suffer.
        self._faults: Faults | None = None

    # --- who listens -----------------------------------------------------------------

    def subscribe(
        self, wants: Callable[[DeviceEvent], bool] | None = None, size: int = QUEUE
    ) -> Subscriber:
        subscriber = Subscriber(self, size, wants)
        if self._subscribers is None:
            self._subscribers = set()
        self._subscribers.add(subscriber)
        return subscriber

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        if self._subscribers is not None:
            self._subscribers.discard(subscriber)

    def observe(self, key: object, observer: Observer) -> None:
        """Tell `observer` of every event and its fate; one observer per `key`."""
        if self._observers is None:
            self._observers = {}
        self._observers[key] = observer

    @property
    def subscribers(self) -> int:
        return len(self._subscribers or ())

    def close(self) -> None:
        """End every subscriber's stream (the device goes away)."""
        for subscriber in list(self._subscribers or ()):
            subscriber.close()

    # --- raising -----------------------------------------------------------------------

    def raise_(
        self,
        type_: EventType,
        channel: int,
        state: EventState,
        now: float,
        faults: Faults,
        duration: float | None = None,
    ) -> DeviceEvent | None:
        """Record and deliver one event; None when it changes nothing (see the module)."""
        self._faults = faults
        key = (type_, channel)
        if state is EventState.START and key in self.active:
            if duration is not None:
                self._end_after(key, now + duration)
            return None
        if state is EventState.STOP:
            if key not in self.active:
                return None
            del self.active[key]
            self._cancel_end(key)
        self._raised += 1
        event = DeviceEvent(self._raised, type_, channel, state, now)
        if state is EventState.START:
            self.active[key] = event
            if duration is not None:
                self._end_after(key, now + duration)
        self._deliver(event, faults)
        return event

    def _deliver(self, event: DeviceEvent, faults: Faults) -> None:
        if faults.event_drop and self.rng.random() * 100 < faults.event_drop:
            self._tell(event, "dropped")
        elif faults.event_delay > 0:
            self._tell(event, "delayed")
            self._at(event.time + faults.event_delay, lambda _due, _now: self._send(event))
        else:
            self._tell(event, "delivered")
            self._send(event)

    def _send(self, event: DeviceEvent) -> None:
        for subscriber in list(self._subscribers or ()):
            subscriber.offer(event)

    def _tell(self, event: DeviceEvent, fate: str) -> None:
        for observer in list(self._observers.values()) if self._observers else ():
            observer(event, fate)

    # --- later, on the simulation clock --------------------------------------------------

    def _at(self, due: float, action: Callable[[float, float], None]) -> _Timer:
        timer = _Timer(due, self._armings, action)
        self._armings += 1
        if self._timers is None:
            self._timers = []
        heapq.heappush(self._timers, timer)
        if self.on_armed is not None:
            self.on_armed()
        return timer

    def _later(self) -> Faults:
        assert self._faults is not None  # set by the raise or advance that runs timers
        return self._faults

    def _end_after(self, key: tuple[EventType, int], due: float) -> None:
        self._cancel_end(key)
        type_, channel = key

        def end(when: float, _now: float) -> None:
            self.raise_(type_, channel, EventState.STOP, when, self._later())

        if self._ends is None:
            self._ends = {}
        self._ends[key] = self._at(due, end)

    def _cancel_end(self, key: tuple[EventType, int]) -> None:
        timer = self._ends.pop(key, None) if self._ends else None
        if timer is not None:
            timer.cancelled = True

    @property
    def armed(self) -> bool:
        """It has something to run on the clock: a timer, or schedules not started yet."""
        return self.next_due is not None or bool(self.schedules and not self.started)

    @property
    def next_due(self) -> float | None:
        timers = self._timers
        while timers and timers[0].cancelled:
            heapq.heappop(timers)
        return timers[0].due if timers else None

    def advance(self, now: float, faults: Faults) -> None:
        """Run every timer due by `now`, each at its own time, under the device's faults now."""
        self._faults = faults
        if self.schedules and not self.started:
            self.started = True
            for schedule in self.schedules:
                self._schedule(schedule, now + schedule.every)
        while (due := self.next_due) is not None and due <= now:
            assert self._timers  # next_due found one
            timer = heapq.heappop(self._timers)
            timer.action(timer.due, now)

    def _schedule(self, schedule: EventSchedule, due: float) -> None:
        def fire(when: float) -> None:
            type_, channel, faults = schedule.type, schedule.channel, self._later()
            if type_ in PULSES or schedule.duration <= 0:
                state = EventState.PULSE if type_ in PULSES else EventState.START
                self.raise_(type_, channel, state, when, faults)
                if state is EventState.START:
                    self.raise_(type_, channel, EventState.STOP, when, faults)
            else:
                self.raise_(type_, channel, EventState.START, when, faults, schedule.duration)
            self._schedule(schedule, when + schedule.every)

        self._at(due, lambda _due, now: fire(_latest(due, schedule.every, now)))


def _latest(first: float, every: float, now: float) -> float:
    """The last period due by `now`, counting from `first`."""
    return first + max(0, int((now - first) // every)) * every


# --- a device's events, with its own faults and channels -----------------------------------


def raise_event(
    device: Device,
    type_: EventType | str,
    now: float,
    *,
    channel: int = 1,
    state: EventState | str | None = None,
    duration: float | None = None,
) -> DeviceEvent | None:
    """Raise an event on `device` (the control API, the CLI, tests): `state` None is a
    pulse for line crossing, else a start; a start `duration` seconds long ends by itself."""
    try:
        type_ = EventType(type_)
        state = EventState(state) if state is not None else None
    except ValueError as exc:
        raise EventError(str(exc)) from None
    if type_ not in event_types(device):
        raise EventError(f"{device.kind.upper()} devices do not raise {type_}")
    if not 1 <= channel <= channels_of(device, type_):
        raise EventError(f"{type_} channel {channel}: the device has {channels_of(device, type_)}")
    if state is None:
        state = EventState.PULSE if type_ in PULSES else EventState.START
    if duration is not None and (state is not EventState.START or duration < 0):
        raise EventError("a duration goes with a start, and is not negative")
    return device.events.raise_(type_, channel, state, now, device.faults, duration)


def advance(device: Device, now: float) -> None:
    device.events.advance(now, device.faults)


async def keep_time(armed: dict[str, Device], clock: Clock, period: float = 0.1) -> None:
    """Run the timers of the devices in `armed` (by serial) as the simulation clock reaches
    them, checking `period` real seconds apart, until cancelled (the runner's job while a
    fleet runs). `armed` holds the devices whose bus has a timer (`EventBus.on_armed` adds
    one); a device leaves once it has none, so a tick costs the busy devices, not the fleet."""
    while True:
        run_due(list(armed.values()), clock.now())
        for serial in [s for s, device in armed.items() if not device.events.armed]:
            del armed[serial]
        await asyncio.sleep(period)


def run_due(fleet: Iterable[Device], now: float) -> None:
    """Run every timer the clock has reached: `keep_time`'s tick, and at once when the
    clock is moved, so that what a client reads right after a jump has happened."""
    for device in fleet:
        bus = device.events
        due = bus.next_due
        if (due is not None and due <= now) or (bus.schedules and not bus.started):
            advance(device, now)
