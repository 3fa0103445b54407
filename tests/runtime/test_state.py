"""`--state DIR`: every change the API acknowledged survives a `kill -9`, and a restart resumes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.runtime.fixtures import load_fleet
from nvrsim.simulator.runtime.state import StateDir, device_entry
from tests.conftest import hik_entry, make_fleet, stopped

NVRSIM = [sys.executable, "-m", "nvrsim"]
FLEET = """
[fleet]
seed = "state"
address_pool = "127.82.0.0/24"

[[device]]
name = "cam"
count = 20
vendor = "hikvision"
kind = "ipc"
model = "DS-2CD2385G1-I"
firmware = "V5.6.2build 190701"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
hik_connect = { enabled = true, online = true }
"""


def start(fleet_file: Path, state: Path, ready: Path) -> tuple[subprocess.Popen, dict]:
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            *NVRSIM,
            "run",
            str(fleet_file),
            "--state",
            str(state),
            "--ready-file",
            str(ready),
            "--sadp-port",
            "0",
            "--control-port",
            "0",
            "--wsd-port",
            "0",
            "--broker-port",
            "0",
            "--cloud-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # the test's timeout bounds this
        if line.startswith("ready: "):
            return process, json.loads(ready.read_text())
    pytest.fail(f"nvrsim run did not start: {process.communicate()}")


def test_the_state_dir_round_trips_every_field(tmp_path, clock):
    fleet = load_fleet(now=clock.now())
    nvr = fleet.devices[0]
    nvr.hik_connect.bound_account = None
    nvr.motion_detection.add(3)
    store = StateDir(tmp_path)
    store.save_all(fleet)
    again = store.load(now=clock.now())
    assert [device_entry(d) for d in again] == [device_entry(d) for d in fleet]


def test_a_damaged_state_file_is_named(tmp_path):
    store = StateDir(tmp_path)
    store.save_all(make_fleet(hik_entry("nvr")))
    (file,) = store.devices.glob("*.json")
    file.write_text('{"name": "nvr", "disks": -1}')
    with pytest.raises(FixtureError, match=rf"{file}: device 'nvr' \(entry 1\): "):
        store.load()
    file.write_text("{")
    with pytest.raises(FixtureError, match=rf"{file}: not valid JSON"):
        store.load()


async def device_names(base: str) -> dict[str, str]:
    async with aiohttp.ClientSession(base) as api, api.get("/api/devices") as reply:
        return {d["serial"]: d["device_name"] for d in await reply.json()}


@pytest.mark.timeout(180)
def test_kill_9_loses_no_acknowledged_change(tmp_path):
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(FLEET)
    state, ready = tmp_path / "state", tmp_path / "ready.json"
    process, described = start(fleet_file, state, ready)
    control = described["services"]["control"]
    base = f"http://{control['host']}:{control['port']}"
    serials = [d["serial"] for d in described["devices"]]
    acknowledged: dict[str, str] = {}  # serial -> the last name the API acknowledged
    sent: dict[str, list[str]] = {s: [] for s in serials}  # every name sent, in order

    async def changes() -> None:
        async with aiohttp.ClientSession(base) as api:

            async def one(i: int) -> None:
                serial = serials[i % len(serials)]
                name = f"change-{i:04d}"
                sent[serial].append(name)
                async with api.patch(f"/api/devices/{serial}", json={"device_name": name}) as r:
                    assert r.status == 200
                    acknowledged[serial] = name

            # four at a time, 1000 in all; the kill lands in the middle
            queue = iter(range(1000))

            async def worker() -> None:
                for i in queue:
                    if i == 500:
                        os.kill(process.pid, signal.SIGKILL)
                    await one(i)

            results = await asyncio.gather(*(worker() for _ in range(4)), return_exceptions=True)
            assert any(isinstance(r, aiohttp.ClientError) for r in results)

    asyncio.run(changes())
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert 400 <= sum(len(n) for n in sent.values()) <= 510
    process, described = start(fleet_file, state, ready)
    try:
        assert [d["serial"] for d in described["devices"]] == serials
        control = described["services"]["control"]
        names = asyncio.run(device_names(f"http://{control['host']}:{control['port']}"))
        assert len(acknowledged) == len(serials)
        for serial, last in acknowledged.items():
            # what was acknowledged is there, or a later change that reached the disk
            assert names[serial] in sent[serial][sent[serial].index(last) :], serial
    finally:
        stopped(process)
