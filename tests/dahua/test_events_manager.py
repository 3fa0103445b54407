"""Dahua eventManager from the one event model: amcrest's event stream hears events
raised through the control API, on real sockets."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import requests
from amcrest import AmcrestCamera
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.events import CodesError, parse_codes
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, make_fleet, until
from tests.dahua.test_dhip import dahua_camera


@pytest.fixture
async def sim():
    clock = VirtualClock()
    fleet = make_fleet(
        dahua_camera(ports={"http": 0, "rtsp": 0}), clock=clock, address_pool="127.85.0.0/24"
    )
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=0)
    async with Simulator(fleet, clock, config) as sim:
        yield sim


async def raise_event(sim, device, body):
    service = sim.services["control"]
    url = f"http://{service.host}:{service.port}/api/devices/{device.serial}/events"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as reply:
        assert reply.status == 201, await reply.text()


async def test_amcrest_event_stream_hears_video_motion_start_and_stop(sim):
    device = sim.fleet.devices[0]
    net = device.network
    camera = await asyncio.to_thread(
        lambda: AmcrestCamera(net.ip, net.http_port, "admin", PASSWORD).camera
    )
    heard: list[tuple[str, dict]] = []

    def listen() -> None:
        for code, payload in camera.event_actions("VideoMotion,VideoLoss"):
            heard.append((code, payload))
            if len(heard) == 2:
                return

    listener = asyncio.ensure_future(asyncio.to_thread(listen))
    await until(lambda: device.events.subscribers == 1, "amcrest attached")
    await raise_event(sim, device, {"type": "tamper"})  # not asked for: not heard
    await raise_event(sim, device, {"type": "motion"})
    await until(lambda: len(heard) == 1, "amcrest heard the start")
    indexes = await asyncio.to_thread(lambda: camera.is_motion_detected)
    assert indexes == [0]
    await raise_event(sim, device, {"type": "motion", "state": "stop"})
    await asyncio.wait_for(listener, 10)
    assert [(code, p["action"], p["index"]) for code, p in heard] == [
        ("VideoMotion", "Start", "0"),
        ("VideoMotion", "Stop", "0"),
    ]
    assert await asyncio.to_thread(lambda: camera.is_motion_detected) == []
    await until(lambda: device.events.subscribers == 0, "the stream noticed amcrest left")


async def test_an_attach_with_unknown_codes_is_a_bad_request(sim):
    device = sim.fleet.devices[0]
    url = f"http://{device.network.ip}:{device.network.http_port}/cgi-bin/eventManager.cgi"

    def get(query: str) -> requests.Response:
        return requests.get(
            f"{url}?{query}", auth=HTTPDigestAuth("admin", PASSWORD), timeout=5, stream=True
        )

    for query in ("action=attach&codes=[Nope]", "action=attach", "action=detach"):
        reply = await asyncio.to_thread(get, query)
        assert (reply.status_code, reply.text) == (400, "Error\r\nBad Request!\r\n")
    assert device.events.subscribers == 0


async def test_a_quiet_attach_sends_heartbeats_then_the_event(sim):
    device = sim.fleet.devices[0]
    base = f"http://{device.network.ip}:{device.network.http_port}/cgi-bin/eventManager.cgi"
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    query = "?action=attach&codes=[VideoMotion]&heartbeat=1"
    async with (
        aiohttp.ClientSession(middlewares=(auth,)) as session,
        session.get(base + query) as reply,
    ):
        heard = b""
        while heard.count(b"Heartbeat") < 2:  # a second apart while nothing happens
            heard += await reply.content.read(1024)
        await raise_event(sim, device, {"type": "motion"})
        while b"Code=VideoMotion;action=Start;index=0" not in heard:
            heard += await reply.content.read(1024)
    assert heard.startswith(b"--myboundary\r\nContent-Type: text/plain")


def test_codes_read_as_clients_write_them():
    assert len(parse_codes("[All]")) == 7
    assert {str(t) for t in parse_codes("[VideoMotion,SmartMotionHuman]")} == {"motion"}
    with pytest.raises(CodesError):
        parse_codes("[]")


async def test_rpc2_attach_notifies_on_subscribe_notify_until_detach(sim):
    device = sim.fleet.devices[0]
    base = f"http://{device.network.ip}:{device.network.http_port}"
    async with aiohttp.ClientSession() as session:

        async def rpc(path: str, document: dict) -> dict:
            async with session.post(base + path, data=json.dumps(document)) as reply:
                return await reply.json(content_type=None)

        step1 = {"method": "global.login", "params": {"userName": "admin", "password": ""}, "id": 1}
        challenge = await rpc("/RPC2_Login", step1)
        p = challenge["params"]
        password = hashes.default_login_hash("admin", PASSWORD, p["realm"], p["random"])
        step2 = {
            "method": "global.login",
            "params": {"userName": "admin", "password": password, "passwordType": "Default"},
            "id": 2,
            "session": challenge["session"],
        }
        sid = (await rpc("/RPC2_Login", step2))["session"]
        call = {"method": "eventManager.attach", "id": 3, "session": sid}
        refused = await rpc("/RPC2", call | {"params": {"codes": ["Nope"]}})
        assert refused["result"] is False and device.events.subscribers == 0
        attached = await rpc("/RPC2", call | {"params": {"codes": ["VideoMotion"]}})
        assert attached["result"] is True and attached["params"]["SID"] >= 513
        async with session.get(f"{base}/SubscribeNotify.cgi?sessionId={sid}") as stream:
            assert stream.status == 200
            await raise_event(sim, device, {"type": "motion"})
            while not (line := await stream.content.readline()).startswith(b"{"):
                pass
            note = json.loads(line)
            assert note["method"] == "client.notifyEventStream"
            assert note["params"]["SID"] == attached["params"]["SID"]
            [entry] = note["params"]["eventList"]
            assert (entry["Code"], entry["Action"], entry["Index"]) == ("VideoMotion", "Start", 0)
            detached = await rpc(
                "/RPC2", {"method": "eventManager.detach", "id": 4, "session": sid}
            )
            assert detached["result"] is True
            assert await stream.content.read() == b""  # the stream ends with the attachment
        assert device.events.subscribers == 0
        async with session.get(f"{base}/SubscribeNotify.cgi?sessionId={sid}") as gone:
            assert gone.status == 400
