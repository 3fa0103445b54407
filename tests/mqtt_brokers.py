"""MQTT brokers for the Hik-Connect tests: the embedded one (amqtt) and a real mosquitto.

mosquitto runs as a child process on a free loopback port with a generated
config, and is stopped at the end; without Debian's `mosquitto` package the
test skips and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nvrsim.simulator.clouds.mqtt.broker import EmbeddedBroker

BROKERS = ["embedded", "mosquitto"]


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _accepting(port: int, process: subprocess.Popen, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process.poll() is not None or loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)
        else:
            writer.close()
            return


@contextlib.asynccontextmanager
async def mosquitto(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    binary = mosquitto_path()
    if binary is None:
        pytest.skip("this test needs Debian's mosquitto package (apt-get install mosquitto)")
    for _attempt in range(3):  # the free port may be taken between the probe and the bind
        port = _free_port()
        config = tmp_path / f"mosquitto-{port}.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n",
            encoding="utf-8",
        )
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            await _accepting(port, process, asyncio.get_running_loop().time() + 10)
        except OSError:
            process.kill()
            process.communicate()
            continue
        try:
            yield "127.0.0.1", port
        finally:
            process.terminate()
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        return
    pytest.fail("mosquitto did not start")


@contextlib.asynccontextmanager
async def broker(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    """(host, port) of a running broker of `kind`: "embedded" or "mosquitto"."""
    if kind == "mosquitto":
        async with mosquitto(tmp_path) as address:
            yield address
    else:
        async with EmbeddedBroker("127.0.0.1", 0) as embedded:
            yield embedded.host, embedded.port
