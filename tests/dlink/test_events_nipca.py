"""NIPCA's notify_stream.cgi from the one event model, for events raised through the
control API, on real sockets."""

from __future__ import annotations

import aiohttp

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import make_fleet, until
from tests.dlink.test_nipca import basic, dlink_entry


async def test_notify_stream_opens_with_every_key_then_follows_motion():
    clock = VirtualClock()
    fleet = make_fleet(
        dlink_entry(ports={"http": 0, "rtsp": 0}), clock=clock, address_pool="127.88.0.0/24"
    )
    config = ServiceConfig(
        sadp_port=0, wsd_port=0, dlink_port=0, ssdp_port=0, portal_port=0, control_port=0
    )
    async with Simulator(fleet, clock, config) as sim, aiohttp.ClientSession() as session:
        cam = fleet.devices[0]
        control = sim.services["control"]
        raise_url = f"http://{control.host}:{control.port}/api/devices/{cam.serial}/events"
        url = f"http://{cam.network.ip}:{cam.network.http_port}/config/notify_stream.cgi"
        async with session.get(url, headers=basic()) as stream:
            assert stream.status == 200
            assert [await stream.content.readline() for _ in range(2)] == [
                b"md1=off\r\n",
                b"input1=off\r\n",
            ]
            for body in ({"type": "tamper"}, {"type": "motion", "for": 3}):  # tamper: no key
                async with session.post(raise_url, json=body) as reply:
                    assert reply.status == 201
            assert await stream.content.readline() == b"md1=on\r\n"
            clock.advance(3)  # the runner's timers end it
            assert await stream.content.readline() == b"md1=off\r\n"
        async with session.get(url) as refused:
            assert refused.status == 401
        await until(lambda: cam.events.subscribers == 0, "the stream noticed the client left")
