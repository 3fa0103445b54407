"""Hik-Connect over MQTT on mosquitto: how long until 10,000 devices are online in the
cloud, and how long a status change takes to reach it (p50/p99).

Measured on a mosquitto this benchmark starts on a free loopback port (Debian's
`mosquitto` package; without it the benchmark says so and skips). The
simulator's link and the cloud run in this process, as in `nvrsim run`.

- Online: from the link's start until the cloud has every device online, with
  one shared connection (10,000 devices, ROUNDS rounds taking turns with the
  baseline) and with one connection per device (1,000, `--per-device N` for
  more, and the shared link on the same devices for the ratio). Baseline: a
  bare aiomqtt client publishing a retained QoS 1 message of the same size for
  each device, on topics as long, in the link's batches (500 in flight, one
  deadline each), until a bare subscriber has them all. Both sides count as
  messages arrive. Each is quoted in wall time and in this process's CPU time
  (the link and the cloud, or the bare publisher and subscriber; not
  mosquitto's): on shared cores the CPU time moves far less than the wall time.
- Latency: the `cloud_offline` fault switched on or off on one device of the
  10,000 until the cloud's registry has the new status. Baseline: one bare
  aiomqtt QoS 1 publish to a subscriber on the same broker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import aiomqtt

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.hikconnect.rules import device_status
from nvrsim.simulator.clouds.mqtt.link import BATCH, CONNECT_TIMEOUT, CloudLink
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.journal import Journal

DEVICES = 10_000
PER_DEVICE = 1_000
CHANGES = 200
ROUNDS = 2  # of the 10,000-device race, link and baseline in turn
LIMIT = 300.0  # seconds any one phase may take (10,000 per-device connections: 100 or so)


class Took(NamedTuple):
    """A phase's wall time, and this process's CPU time in it (the simulator's side and
    the cloud's; mosquitto's own is not counted): on shared cores the CPU time moves
    far less between runs than the wall time."""

    wall: float
    cpu: float


@contextlib.asynccontextmanager
async def _mosquitto() -> AsyncIterator[int | None]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mosquitto.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest none\nmax_queued_messages 0\n",
            encoding="utf-8",
        )
        process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
        try:
            for _ in range(500):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.01)
            yield port
        finally:
            process.terminate()
            process.wait(10)


class _WatchedCloud(Cloud):
    """The cloud, telling the benchmark when a message has been taken in, and counting
    the devices whose status says online as statuses arrive (the baseline's subscriber
    counts its messages the same way; a full count of the registry runs only once this
    one says every device is there)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.heard = asyncio.Event()
        self.says_online: set[str] = set()

    def _on_message(self, topic: str, payload: object) -> None:
        super()._on_message(topic, payload)
        if (where := hc.parse_status_topic(topic)) is not None:
            key = hc.short_serial(where[1])
            record = self.registry.find(key)
            if record is not None and record.status.online:
                self.says_online.add(key)
            else:
                self.says_online.discard(key)
        self.heard.set()

    def all_online(self, count: int) -> bool:
        return len(self.says_online) >= count and _online_count(self) >= count


def _fleet(count: int, seed: str):
    return build_fleet(
        {
            "fleet": {"seed": seed, "address_pool": "127.78.0.0/16"},
            "device": [
                {
                    "name": "cam",
                    "count": count,
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": "Bench12345",
                    "hik_connect": {"enabled": True},
                }
            ],
        }
    )


async def _wait(condition, cloud: _WatchedCloud) -> None:
    async with asyncio.timeout(LIMIT):
        while not condition():
            cloud.heard.clear()
            await cloud.heard.wait()


def _online_count(cloud: Cloud) -> int:
    registry = cloud.registry
    return sum(1 for r in registry.records.values() if registry.online(r))


async def _time_to_online(port: int, fleet, per_device: bool):
    """Seconds until the cloud has every device of `fleet` online; the link and cloud stay up.

    The journal has seen every device already, as `nvrsim run`'s has once they listen."""
    clock = RealClock()
    cloud = await _WatchedCloud(clock, "127.0.0.1", port).start()
    journal = Journal(clock)
    for device in fleet:
        journal.watch(device)
    link = CloudLink(fleet, clock, journal, "127.0.0.1", port, per_device=per_device)
    start, cpu = time.perf_counter(), time.process_time()
    await link.start()
    for device in fleet:
        link.device_up(device)
    await _wait(lambda: cloud.all_online(len(fleet)), cloud)
    return Took(time.perf_counter() - start, time.process_time() - cpu), cloud, link


BARE_ROOT = "bare-bench"  # as long as hc.TOPIC_ROOT: the baseline's topics are as long


async def _baseline_online(port: int, serials: list[str], size: int) -> Took:
    """A bare client publishing a retained QoS 1 message of `size` bytes for each serial,
    on a topic as long as its status topic, in batches as the link does (BATCH in flight,
    one deadline each), until a subscriber has them all."""
    count = len(serials)
    topics = [hc.status_topic("default", s).replace(hc.TOPIC_ROOT, BARE_ROOT, 1) for s in serials]
    got = 0
    done = asyncio.Event()
    async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=BATCH) as sub:
        await sub.subscribe(f"{BARE_ROOT}/#", qos=1)

        async def read() -> None:
            nonlocal got
            async for _ in sub.messages:
                got += 1
                if got == count:
                    done.set()
                    return

        reader = asyncio.create_task(read())
        payload = b"x" * size
        start, cpu = time.perf_counter(), time.process_time()
        async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=BATCH) as pub:
            pub.pending_calls_threshold = BATCH * 2
            for first in range(0, count, BATCH):
                async with asyncio.timeout(CONNECT_TIMEOUT):  # a deadline a batch, as the link
                    await asyncio.gather(
                        *(
                            pub.publish(t, payload, qos=1, retain=True, timeout=math.inf)
                            for t in topics[first : first + BATCH]
                        )
                    )
            async with asyncio.timeout(LIMIT):
                await done.wait()
        took = Took(time.perf_counter() - start, time.process_time() - cpu)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        for topic in topics:  # leave no retained garbage behind
            await sub.publish(topic, b"", qos=0, retain=True)
    return took


async def _latencies(cloud: _WatchedCloud, link: CloudLink, fleet) -> list[float]:
    device = fleet.devices[len(fleet.devices) // 2]
    key = hc.short_serial(device.serial)
    samples = []
    for i in range(CHANGES):
        offline = i % 2 == 0
        device.own_faults = device.own_faults.update({"cloud_offline": offline})
        start = time.perf_counter()
        link.changed(device.serial)
        await _wait(lambda o=offline: cloud.registry.find(key).status.online is not o, cloud)
        samples.append(time.perf_counter() - start)
    return samples


async def _baseline_latencies(port: int) -> list[float]:
    samples = []
    async with (
        aiomqtt.Client("127.0.0.1", port) as sub,
        aiomqtt.Client("127.0.0.1", port) as pub,
    ):
        await sub.subscribe("bare/latency", qos=1)
        messages = sub.messages
        for _ in range(CHANGES):
            start = time.perf_counter()
            await pub.publish("bare/latency", b"x" * 300, qos=1)
            async with asyncio.timeout(10):
                await anext(messages)
            samples.append(time.perf_counter() - start)
    return samples


def _rounds(rounds: list[Took]) -> str:
    return ", ".join(f"{t.wall:.2f} s (CPU {t.cpu:.2f} s)" for t in rounds)


def _ratios(ours: list[float], bare: list[float]) -> str:
    """Each round's ratio, then the best of each side's over the other's best."""
    each = ", ".join(f"{a / b:.2f}" for a, b in zip(ours, bare, strict=True))
    return f"{each}; best to best {min(ours) / min(bare):.2f}x"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _close(cloud: Cloud, link: CloudLink) -> None:
    await link.close()
    await cloud.close()


async def run(per_device_count: int = PER_DEVICE) -> str:
    """Each phase on a fresh mosquitto, so none pays for another's retained messages."""
    if shutil.which("mosquitto") is None and shutil.which("mosquitto", path="/usr/sbin") is None:
        return (
            "Hik-Connect online: skipped, it needs Debian's mosquitto package "
            "(apt-get install mosquitto)"
        )
    size = len(device_status(_fleet(1, "size").devices[0], "nvrsim-0123456789ab", True).encode())
    big = _fleet(DEVICES, "bench-10k")
    shared: list[Took] = []
    bare: list[Took] = []
    for _ in range(ROUNDS):  # taking turns, so a burst of load elsewhere hits both alike
        async with _mosquitto() as port:
            took, cloud, link = await _time_to_online(port, big, per_device=False)
            shared.append(took)
            latencies = await _latencies(cloud, link, big)
            await _close(cloud, link)
        for device in big:  # as it was before the link started
            device.link_online = False
        async with _mosquitto() as port:
            bare.append(await _baseline_online(port, [d.serial for d in big], size))
            bare_latency = await _baseline_latencies(port)
    small = _fleet(per_device_count, "bench-per-device")
    async with _mosquitto() as port:
        per_device, cloud, link = await _time_to_online(port, small, per_device=True)
        await _close(cloud, link)
    for device in small:
        device.link_online = False
    async with _mosquitto() as port:
        shared_small, cloud, link = await _time_to_online(port, small, per_device=False)
        await _close(cloud, link)

    def ms(x: float) -> str:
        return f"{x * 1e3:.2f} ms"

    p50, p99 = _p(latencies, 0.5), _p(latencies, 0.99)
    b50, b99 = _p(bare_latency, 0.5), _p(bare_latency, 0.99)
    n = per_device_count
    return (
        f"Hik-Connect over MQTT on mosquitto ({size} B statuses, {ROUNDS} rounds each)\n"
        f"  {DEVICES} devices online, shared link:   {_rounds(shared)}\n"
        f"  bare retained QoS 1 publishes:        {_rounds(bare)}\n"
        f"    ratio, wall: {_ratios([t.wall for t in shared], [t.wall for t in bare])}\n"
        f"    ratio, CPU:  {_ratios([t.cpu for t in shared], [t.cpu for t in bare])}\n"
        f"  {n} devices, a connection each:{' ' * max(1, 6 - len(str(n)))}{_rounds([per_device])}\n"
        f"  {n} devices, shared link:{' ' * max(1, 12 - len(str(n)))}{_rounds([shared_small])} "
        f"(per-device is {per_device.wall / shared_small.wall:.1f}x the shared link)\n"
        f"  status change to the cloud, {CHANGES}x:     p50 {ms(p50)}, p99 {ms(p99)} "
        f"(mean {ms(statistics.fmean(latencies))})\n"
        f"  bare QoS 1 publish to a subscriber:   p50 {ms(b50)}, p99 {ms(b99)} "
        f"(ratios {p50 / b50:.1f}x, {p99 / b99:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hikconnect_online")
    parser.add_argument(
        "--per-device",
        type=int,
        default=PER_DEVICE,
        metavar="N",
        help=f"devices for the connection-each phase (default {PER_DEVICE}; each is a socket)",
    )
    print(asyncio.run(run(parser.parse_args().per_device)))


if __name__ == "__main__":
    main()
