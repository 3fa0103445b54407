"""ISAPI alertStream from the one event model: pyhik hears events raised through the
control API, on real sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pyhik.hikvision import HikCamera

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet, until

CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "ip_channels": 1, "disks": 0}


@pytest.fixture
async def sim():
    clock = VirtualClock()
    fleet = make_fleet(
        hik_entry("cam", ports={"http": 0, "rtsp": 0}, **CAMERA),
        clock=clock,
        address_pool="127.83.0.0/24",
    )
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, heartbeat_interval=0.2)
    async with Simulator(fleet, clock, config) as sim:
        yield sim


async def control(sim, method: str, path: str, body=None):
    service = sim.services["control"]
    url = f"http://{service.host}:{service.port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as r:
        return r.status, await r.json()


async def test_pyhik_hears_motion_start_and_stop_raised_through_the_control_api(sim):
    device = sim.fleet.devices[0]
    url = f"http://{device.network.ip}:{device.network.http_port}"
    camera = await asyncio.to_thread(HikCamera, url, usr="admin", pwd=PASSWORD)
    assert {"Motion", "Line Crossing", "Field Detection", "Tamper Detection", "I/O"} <= set(
        camera.event_states
    )
    camera.start_stream()
    try:
        await until(lambda: camera.stream_connected, "pyhik connected to alertStream")

        def motion() -> bool:
            return camera.fetch_attributes("Motion", 1)[0]

        status, reply = await control(
            sim, "POST", f"/api/devices/{device.serial}/events", {"type": "motion", "for": 30}
        )
        assert status == 201 and reply["event"]["state"] == "start"
        await until(motion, "pyhik saw motion start")
        await control(sim, "POST", "/api/clock/advance", {"seconds": 10})
        _, now = await control(sim, "GET", f"/api/devices/{device.serial}/events")
        assert [e["type"] for e in now["active"]] == ["motion"] and motion()
        await control(sim, "POST", "/api/clock/advance", {"seconds": 25})
        await until(lambda: not motion(), "pyhik saw motion stop once the 30 s passed")
        await control(
            sim, "POST", f"/api/devices/{device.serial}/events", {"type": "digital_input"}
        )
        await until(lambda: camera.fetch_attributes("I/O", 1)[0], "pyhik saw the alarm input")
    finally:
        await asyncio.to_thread(camera.disconnect)
    await until(lambda: device.events.subscribers == 0, "the stream noticed pyhik left")
