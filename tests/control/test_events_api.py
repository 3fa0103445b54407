"""Raising device events through the control API and `nvrsim ctl event`, and the journal's
`device.event` records on the event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from nvrsim.simulator.cli.main import main
from nvrsim.simulator.control.app import control_app, operations
from nvrsim.simulator.control.schema import openapi
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet, until
from tests.strategies_isapi import ServerThread


@pytest.fixture
def api():
    fleet = make_fleet(hik_entry("nvr", ports={"http": 0, "rtsp": 0}), address_pool="127.87.0.0/24")
    sim = Simulator(fleet, VirtualClock(), ServiceConfig())
    with ServerThread(control_app(sim)) as url:
        yield sim, url


def test_ctl_event_raises_and_refuses_what_the_device_cannot(api, capsys):
    sim, url = api
    nvr = sim.fleet.devices[0]
    assert (
        main(["ctl", "--api", url, "event", "nvr", "motion", "--channel", "3", "--for", "10s"]) == 0
    )
    reply = json.loads(capsys.readouterr().out)
    assert reply["event"]["type"] == "motion" and reply["event"]["channel"] == 3
    assert [(e["type"], e["channel"]) for e in reply["active"]] == [("motion", 3)]
    assert list(nvr.events.active) == [("motion", 3)]
    # a second start changes nothing; a channel the recorder lacks changes nothing either
    assert main(["ctl", "--api", url, "event", "nvr", "motion", "--channel", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["event"] is None
    assert main(["ctl", "--api", url, "event", "nvr", "tamper", "--channel", "9"]) == 1
    assert "channel 9" in capsys.readouterr().err
    assert list(nvr.events.active) == [("motion", 3)]


async def test_the_api_validates_and_documents_the_event_body():
    clock = VirtualClock()
    fleet = make_fleet(hik_entry("nvr", ports={"http": 0, "rtsp": 0}), address_pool="127.87.1.0/24")
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0)
    async with Simulator(fleet, clock, config) as sim:
        nvr = fleet.devices[0]
        control = sim.services["control"]
        base = f"http://{control.host}:{control.port}"
        path = f"{base}/api/devices/{nvr.serial}/events"
        async with aiohttp.ClientSession() as session:
            for bad in (
                {"type": "fire"},
                {"type": "motion", "for": -1},
                {"type": "motion", "x": 1},
                {"type": "motion", "channel": "1"},
                [],
            ):
                async with session.post(path, json=bad) as reply:
                    assert reply.status == 400, bad
            assert nvr.events.active == {}
            records: list[dict] = []

            async def listen() -> None:
                async with session.get(f"{base}/api/events?serial={nvr.serial}") as stream:
                    async for line in stream.content:
                        if line.startswith(b"data: "):
                            record = json.loads(line[6:])
                            if record["kind"] == "device.event":
                                records.append(record["data"])

            listener = asyncio.ensure_future(listen())
            await until(lambda: sim.journal._subscribers, "the event stream is open")
            async with session.post(path, json={"type": "motion", "for": 5}) as reply:
                assert reply.status == 201
            clock.advance(5)  # the runner's timers stop it
            await until(lambda: len(records) == 2, "start and stop on the event stream")
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            assert [(r["type"], r["state"], r["fate"]) for r in records] == [
                ("motion", "start", "delivered"),
                ("motion", "stop", "delivered"),
            ]
            assert records[1]["time"] - records[0]["time"] == 5
    doc = openapi(operations(), token=False)
    body = doc["components"]["schemas"]["EventRaise"]["properties"]
    assert {"type", "channel", "state", "for"} <= set(body)
