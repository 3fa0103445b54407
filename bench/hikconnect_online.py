"""Hik-Connect over MQTT on mosquitto: how long until 10,000 devices are online in the
cloud, and how long a status change takes to reach it (p50/p99).

Measured on a mosquitto this benchmark starts on a free loopback port (Debian's
`mosquitto` package; without it the benchmark says so and skips). The
simulator's link and the cloud run in this process, as in `nvrsim run`.

- Online: from the link's start until the cloud has every device online, with
  one shared connection (10,000 devices) and with one connection per device
  (1,000, and the shared link on the same 1,000 for the ratio). Baseline: a
  bare aiomqtt client publishing as many retained QoS 1 messages of the same
  size to a bare subscriber.
- Latency: the `cloud_offline` fault switched on or off on one device of the
  10,000 until the cloud's registry has the new status. Baseline: one bare
  aiomqtt QoS 1 publish to a subscriber on the same broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.hikconnect.rules import device_status
from nvrsim.simulator.clouds.mqtt.link import CloudLink
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.journal import Journal

DEVICES = 10_000
PER_DEVICE = 1_000
CHANGES = 200
LIMIT = 120.0  # seconds any one phase may take


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
    """The cloud, telling the benchmark when a message has been taken in."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.heard = asyncio.Event()

    def _on_message(self, topic: str, payload: object) -> None:
        super()._on_message(topic, payload)
        self.heard.set()


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
    """Seconds until the cloud has every device of `fleet` online; the link and cloud stay up."""
    clock = RealClock()
    cloud = await _WatchedCloud(clock, "127.0.0.1", port).start()
    link = CloudLink(fleet, clock, Journal(clock), "127.0.0.1", port, per_device=per_device)
    start = time.perf_counter()
    await link.start()
    for device in fleet:
        link.device_up(device)
    async with asyncio.timeout(LIMIT):  # counting is O(n): poll it, not per message
        while _online_count(cloud) < len(fleet):
            await asyncio.sleep(0.01)
    return time.perf_counter() - start, cloud, link


async def _baseline_online(port: int, count: int, size: int) -> float:
    """A bare client publishing `count` retained QoS 1 messages, until a subscriber has all."""
    got = 0
    done = asyncio.Event()
    async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=500) as sub:
        await sub.subscribe("bare/online/#", qos=1)

        async def read() -> None:
            nonlocal got
            async for _ in sub.messages:
                got += 1
                if got == count:
                    done.set()
                    return

        reader = asyncio.create_task(read())
        payload = b"x" * size
        start = time.perf_counter()
        async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=500) as pub:
            pub.pending_calls_threshold = 1000
            for first in range(0, count, 500):
                await asyncio.gather(
                    *(
                        pub.publish(f"bare/online/{i}", payload, qos=1, retain=True)
                        for i in range(first, min(count, first + 500))
                    )
                )
            async with asyncio.timeout(LIMIT):
                await done.wait()
        took = time.perf_counter() - start
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        for i in range(count):  # leave no retained garbage behind
            await sub.publish(f"bare/online/{i}", b"", qos=0, retain=True)
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


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _close(cloud: Cloud, link: CloudLink) -> None:
    await link.close()
    await cloud.close()


async def run() -> str:
    """Each phase on a fresh mosquitto, so none pays for another's retained messages."""
    if shutil.which("mosquitto") is None and shutil.which("mosquitto", path="/usr/sbin") is None:
        return (
            "Hik-Connect online: skipped, it needs Debian's mosquitto package "
            "(apt-get install mosquitto)"
        )
    size = len(device_status(_fleet(1, "size").devices[0], "nvrsim-0123456789ab", True).encode())
    async with _mosquitto() as port:
        big = _fleet(DEVICES, "bench-10k")
        shared, cloud, link = await _time_to_online(port, big, per_device=False)
        latencies = await _latencies(cloud, link, big)
        await _close(cloud, link)
    async with _mosquitto() as port:
        bare_online = await _baseline_online(port, DEVICES, size)
        bare_latency = await _baseline_latencies(port)
    async with _mosquitto() as port:
        per_device, cloud, link = await _time_to_online(
            port, _fleet(PER_DEVICE, "bench-1k"), per_device=True
        )
        await _close(cloud, link)
    async with _mosquitto() as port:
        shared_small, cloud, link = await _time_to_online(
            port, _fleet(PER_DEVICE, "bench-1k"), per_device=False
        )
        await _close(cloud, link)

    def ms(x: float) -> str:
        return f"{x * 1e3:.2f} ms"

    p50, p99 = _p(latencies, 0.5), _p(latencies, 0.99)
    b50, b99 = _p(bare_latency, 0.5), _p(bare_latency, 0.99)
    return (
        f"Hik-Connect over MQTT on mosquitto ({size} B statuses)\n"
        f"  {DEVICES} devices online, shared link:   {shared:.2f} s "
        f"({DEVICES / shared:.0f}/s)\n"
        f"  bare retained QoS 1 publishes:        {bare_online:.2f} s "
        f"(ratio {shared / bare_online:.1f}x)\n"
        f"  {PER_DEVICE} devices, a connection each:     {per_device:.2f} s\n"
        f"  {PER_DEVICE} devices, shared link:           {shared_small:.2f} s "
        f"(per-device is {per_device / shared_small:.1f}x the shared link)\n"
        f"  status change to the cloud, {CHANGES}x:     p50 {ms(p50)}, p99 {ms(p99)} "
        f"(mean {ms(statistics.fmean(latencies))})\n"
        f"  bare QoS 1 publish to a subscriber:   p50 {ms(b50)}, p99 {ms(b99)} "
        f"(ratios {p50 / b50:.1f}x, {p99 / b99:.1f}x)"
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
