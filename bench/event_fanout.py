"""Device events: how long one raise takes to reach every subscriber, against bare deques.

A camera with SUBSCRIBERS listeners (ONVIF pull points, alertStreams, eventManager
attaches) raises EVENTS pulses; each subscriber's queue is bounded, so a listener that
never reads keeps at most EventBus.QUEUE events. The baseline appends the same objects
to the same number of bounded deques, the least any fan-out can do.
"""

import time
from collections import deque

from nvrsim.simulator.core.events import EventBus, raise_event
from nvrsim.simulator.runtime.fixtures import build_fleet

EVENTS = 20_000
SUBSCRIBERS = 50


def _camera():
    entry = {
        "name": "cam",
        "vendor": "hikvision",
        "kind": "ipc",
        "model": "DS-2CD2385G1-I",
        "firmware": "V5.6.2build 190701",
        "admin_password": "Demo12345",
    }
    return build_fleet({"fleet": {"seed": "bench"}, "device": [entry]}).devices[0]


async def run() -> str:
    camera = _camera()
    subscribers = [camera.events.subscribe() for _ in range(SUBSCRIBERS)]
    start = time.perf_counter()
    for n in range(EVENTS):
        raise_event(camera, "line_crossing", float(n))
    bus_seconds = time.perf_counter() - start
    kept = max(len(s.take()) for s in subscribers)

    queues: list[deque] = [deque(maxlen=EventBus.QUEUE) for _ in range(SUBSCRIBERS)]
    start = time.perf_counter()
    for n in range(EVENTS):
        item = (n, float(n))
        for queue in queues:
            queue.append(item)
    bare_seconds = time.perf_counter() - start
    per_bus = bus_seconds / EVENTS * 1e6
    per_bare = bare_seconds / EVENTS * 1e6
    return (
        f"event fan-out to {SUBSCRIBERS} subscribers: {per_bus:.1f} µs a raise "
        f"(bare bounded deques {per_bare:.1f} µs, {per_bus / per_bare:.1f}x); "
        f"a subscriber that never read holds {kept} of {EVENTS}"
    )
