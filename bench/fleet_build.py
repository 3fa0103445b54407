"""Building a fleet from one `count = N` entry: time per device at 1,000 and 10,000 (the
same at both when the build is linear) and memory per device, against plain records.

For each vendor it builds one template of SIZES devices through `build_fleet` (the
fixture's validation included), timed in CPU time, then under tracemalloc for the bytes the
fleet keeps. The baseline, in the same run and the same way, is the least a fleet of
that many can cost in Python: one plain dataclass record a device, with the device
class's fields, holding a serial, MAC and name of its own and sharing every other value.

`python -m bench.fleet_build [SIZE...]` (1,000 and 10,000 by default).
"""

import dataclasses
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

from nvrsim.simulator.runtime.fixtures import build_fleet

SIZES = (1_000, 10_000)
ENTRIES = {
    "hikvision": {"kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.5.0 build 170725"},
    "dahua": {"kind": "ipc", "model": "DH-IPC-HFW2431S", "firmware": "V2.800.0000000.1"},
    "dlink": {"kind": "ipc", "model": "DCS-8000LH", "firmware": "2.02.02"},
}


def _fixture(vendor: str, count: int) -> dict:
    entry = {"name": "cam", "vendor": vendor, "count": count, **ENTRIES[vendor]}
    return {"fleet": {"seed": "bench"}, "device": [entry]}


def _records(vendor: str) -> Callable[[int], list]:
    """The baseline's builder: `count` records with the vendor device class's fields."""
    proto = build_fleet(_fixture(vendor, 1)).devices[0]
    names = [f.name for f in dataclasses.fields(proto) if f.init]
    record = dataclasses.make_dataclass("Record", names, slots=True)
    shared = {name: getattr(proto, name) for name in names}

    def build(count: int) -> list:
        own = (
            {"serial": f"SN{n:09d}", "mac": f"02:00:{n:08x}", "label": f"cam-{n}"}
            for n in range(count)
        )
        return [record(**shared | mine) for mine in own]

    return build


def _seconds(build: Callable[[], object]) -> float:
    """CPU seconds: on a shared machine the wall clock measures the neighbours."""
    start = time.process_time()
    build()
    return time.process_time() - start


def _bytes(build: Callable[[], object]) -> int:
    """What `build`'s result keeps, as tracemalloc counts it."""
    gc.collect()
    tracemalloc.start()
    kept = build()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return size


def measure(vendor: str, sizes: tuple[int, ...] = SIZES) -> str:
    records = _records(vendor)
    lines = []
    for count in sizes:
        fixture = _fixture(vendor, count)
        fleet, bare = partial(build_fleet, fixture), partial(records, count)
        fleet_s, bare_s = _seconds(fleet), _seconds(bare)
        fleet_b, bare_b = _bytes(fleet) / count, _bytes(bare) / count
        lines.append(
            f"  {count:>6,}: {fleet_s / count * 1e6:6.1f} µs and {fleet_b:,.0f} B a device "
            f"(plain records {bare_s / count * 1e6:.1f} µs, {bare_b:,.0f} B: "
            f"{fleet_s / bare_s:.0f}x the time, {fleet_b / bare_b:.1f}x the memory)"
        )
    return f"fleet build, one {vendor} template:\n" + "\n".join(lines)


async def run(sizes: tuple[int, ...] = SIZES) -> str:
    load = os.getloadavg()[0]
    parts = [measure(vendor, sizes) for vendor in ENTRIES]
    return "\n".join(parts) + f"\n  (load average {load:.1f} at the start)"


if __name__ == "__main__":
    import asyncio

    chosen = tuple(int(arg) for arg in sys.argv[1:]) or SIZES
    print(asyncio.run(run(chosen)))
