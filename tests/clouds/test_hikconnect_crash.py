"""`kill -9` of a simulator: its devices go offline in the cloud within the keepalive, and come
back when it restarts. The simulator is a real `nvrsim run` child process on a broker the
test starts (embedded amqtt in this process, or mosquitto); the cloud runs in this process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.core.clock import RealClock
from tests.mqtt_brokers import BROKERS, broker

pytestmark = pytest.mark.slow  # end to end (see the README)

KEEPALIVE = 2  # seconds; the broker gives up on a silent link after 1.5x

FLEET = """
[fleet]
seed = "crash"
address_pool = "127.81.0.0/24"

[[device]]
name = "nvr"
vendor = "hikvision"
kind = "nvr"
model = "DS-7608NI-K2"
firmware = "V4.30.085 build 200916"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
hik_connect = { enabled = true, bound_account = "a@example.com" }
"""


@contextlib.asynccontextmanager
async def nvrsim_run(fleet: Path, ready: Path, broker_url: str, *extra: str):
    """`nvrsim run` as a child; yields (process, ready-file contents) once it listens."""
    ready.unlink(missing_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nvrsim",
        "run",
        str(fleet),
        *("--sadp-port", "0", "--wsd-port", "0", "--control-port", "0"),
        *("--broker", broker_url, "--cloud-port", "-1", "--mqtt-keepalive", str(KEEPALIVE)),
        *extra,
        "--ready-file",
        str(ready),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            assert process.stdout is not None
            while not (line := await process.stdout.readline()).startswith(b"ready: "):
                if not line:
                    _, err = await process.communicate()
                    pytest.fail(f"nvrsim run did not get ready: {err.decode()}")
        yield process, json.loads(ready.read_text())
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def until(condition, seconds: float, what: str) -> float:
    """Poll, bounded; returns how long it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > seconds:
            pytest.fail(f"not within {seconds}s: {what}")
        await asyncio.sleep(0.02)
    return loop.time() - start


@pytest.mark.parametrize("kind", BROKERS)
@pytest.mark.parametrize("connections", ["shared", "per-device"])
async def test_kill_9_shows_the_devices_offline_then_a_restart_online(
    kind: str, connections: str, tmp_path: Path
):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET, encoding="utf-8")
    ready = tmp_path / "ready.json"
    async with broker(kind, tmp_path) as (host, port):
        url = f"mqtt://{host}:{port}"
        cloud = await Cloud(RealClock(), host, port, keepalive=KEEPALIVE).start()
        try:

            def online() -> bool:
                record = cloud.registry.find(serial)
                return record is not None and cloud.registry.online(record, "default")

            async with nvrsim_run(fleet, ready, url, "--mqtt-connections", connections) as (
                process,
                described,
            ):
                serial = hc.short_serial(described["devices"][0]["serial"])
                await until(online, 10, "online in the cloud")
                os.kill(process.pid, signal.SIGKILL)
                took = await until(lambda: not online(), KEEPALIVE * 1.5 + 1, "offline")
                assert took <= KEEPALIVE * 1.5 + 1
            assert cloud.registry.find(serial).status.bound_account == "a@example.com"
            async with nvrsim_run(fleet, ready, url, "--mqtt-connections", connections):
                await until(online, 10, "online again after a restart")
        finally:
            await cloud.close()


@pytest.mark.parametrize("kind", BROKERS)
async def test_a_hung_simulator_goes_offline_by_keepalive_and_reconnects(kind: str, tmp_path):
    """SIGSTOP keeps the socket open but silent: only the keepalive can tell (for amqtt, our
    patch). SIGCONT: the link finds itself dropped, reconnects, and the device is back."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET, encoding="utf-8")
    async with broker(kind, tmp_path) as (host, port):
        cloud = await Cloud(RealClock(), host, port, keepalive=KEEPALIVE).start()
        try:

            def online() -> bool:
                record = cloud.registry.find(serial)
                return record is not None and cloud.registry.online(record, "default")

            url = f"mqtt://{host}:{port}"
            async with nvrsim_run(fleet, tmp_path / "ready.json", url) as (process, described):
                serial = hc.short_serial(described["devices"][0]["serial"])
                await until(online, 10, "online in the cloud")
                os.kill(process.pid, signal.SIGSTOP)
                try:
                    # Stopped, the process can go offline no other way than by the keepalive, so
                    # the bound only ends a broken run: mosquitto 2.0 drops a silent client at
                    # up to 2.5x its keepalive (5 s for 2 s, measured), later still under load.
                    took = await until(lambda: not online(), KEEPALIVE * 10, "offline")
                finally:
                    os.kill(process.pid, signal.SIGCONT)
                assert took >= KEEPALIVE  # not before the keepalive ran out
                await until(online, 15, "online again once it runs")
        finally:
            await cloud.close()
