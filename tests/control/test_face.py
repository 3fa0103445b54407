"""The face: two shards of one fixture, each a Simulator with its own control API, behind
one control API that answers as one simulator would."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from nvrsim.simulator.control.app import control_app, operations
from nvrsim.simulator.control.face import Face, Shard
from nvrsim.simulator.control.schema import openapi
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.http_service import listen
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet, on_free_ports, until

NAMES = ("cam-a", "cam-b", "cam-c", "nvr-d", "cam-e")


def fleet_of(pool: str):
    camera = {"kind": "ipc", "model": "DS-2CD2043G2-I"}
    entries = [hik_entry(n, **({} if n.startswith("nvr") else camera)) for n in NAMES]
    return on_free_ports(make_fleet(*entries, address_pool=pool))


@dataclass
class Rig:
    sims: list[Simulator]
    face: Face
    url: str
    session: aiohttp.ClientSession

    def shard_of(self, name: str) -> Simulator:
        return next(s for s in self.sims if s.fleet.find(name) is not None)

    async def call(self, method: str, path: str, body=None, **kw) -> tuple[int, object]:
        data = None if body is None else json.dumps(body) if not isinstance(body, bytes) else body
        async with self.session.request(method, self.url + path, data=data, **kw) as r:
            text = await r.read()
            return r.status, (json.loads(text) if text else None)


def control_url(sim: Simulator) -> str:
    control = sim.services["control"]
    return f"http://{control.host}:{control.port}"


@contextlib.asynccontextmanager
async def rig(pool: str, token: str = "", shard_token: str = "") -> AsyncIterator[Rig]:
    fleet = fleet_of(pool)
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, token=shard_token or None)
    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(Simulator(fleet.shard(i, 2), VirtualClock(), config))
            for i in range(2)
        ]
        shards = [
            Shard(f"shard {i + 1}/2", control_url(s), shard_token) for i, s in enumerate(sims)
        ]
        face = Face(shards, token)
        stack.push_async_callback(face.close)
        runner = await listen(face.app, "face", "127.0.0.1", 0)
        stack.push_async_callback(runner.cleanup)
        host, port = runner.addresses[0][:2]
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield Rig(sims, face, f"http://{host}:{port}", session)


async def test_the_device_list_is_the_single_simulators_in_fleet_order():
    async with rig("127.91.0.0/24") as r:
        status, devices = await r.call("GET", "/api/devices")
        assert status == 200
        assert [d["name"] for d in devices] == list(NAMES)
        # the same documents one simulator of the whole fixture gives
        whole = Simulator(fleet_of("127.91.0.0/24"), VirtualClock(), ServiceConfig())
        async with aiohttp.ClientSession() as s:
            runner = await listen(control_app(whole), "one", "127.0.0.1", 0)
            try:
                host, port = runner.addresses[0][:2]
                async with s.get(f"http://{host}:{port}/api/devices") as reply:
                    single = await reply.json()
            finally:
                await runner.cleanup()
        strip = lambda d: {k: v for k, v in d.items() if k not in ("ports", "streams")}  # noqa: E731
        assert [strip(d) for d in devices] == [strip(d) for d in single]
        status, fleet = await r.call("GET", "/api/fleet")
        assert status == 200 and fleet["devices"] == len(NAMES)


async def test_a_device_command_reaches_the_shard_that_holds_it():
    async with rig("127.91.1.0/24") as r:
        for name in ("cam-a", "cam-b"):
            status, doc = await r.call(
                "PATCH", f"/api/devices/{name}", {"admin_password": "N3w!pass"}
            )
            assert status == 200 and doc["admin_password"] == "N3w!pass"
            assert r.shard_of(name).fleet.find(name).admin_password == "N3w!pass"
        status, _ = await r.call("PUT", "/api/devices/cam-b/faults", {"auth_fail": True})
        assert status == 200 and r.shard_of("cam-b").fleet.find("cam-b").faults.auth_fail
        assert not r.shard_of("cam-c").fleet.find("cam-c").faults.auth_fail
        status, doc = await r.call("POST", "/api/devices/cam-c/events", {"type": "motion"})
        assert status == 201 and doc["event"]["type"] == "motion"
        assert list(r.shard_of("cam-c").fleet.find("cam-c").events.active) == [("motion", 1)]
        status, doc = await r.call("POST", "/api/devices/nvr-d/reboot", {"downtime": 5})
        assert status == 202 and not r.shard_of("nvr-d").fleet.find("nvr-d").powered
        assert r.shard_of("cam-e").fleet.find("cam-e").powered


async def test_the_clock_advance_reaches_every_shard():
    async with rig("127.91.2.0/24") as r:
        before = [s.clock.now() for s in r.sims]
        status, doc = await r.call("POST", "/api/clock/advance", {"seconds": 3600})
        assert status == 200 and doc["now"] == before[0] + 3600
        assert [s.clock.now() for s in r.sims] == [t + 3600 for t in before]
        status, _ = await r.call("PUT", "/api/faults", {"discovery_drop": 50})
        assert status == 200 and all(s.fleet.faults.discovery_drop == 50 for s in r.sims)


async def test_a_stopped_shard_answers_503_naming_it_while_the_others_serve():
    async with rig("127.91.3.0/24") as r:
        await r.call("GET", "/api/devices")  # the face learns where each device is
        await r.sims[1].stop()
        status, doc = await r.call("GET", "/api/devices/cam-b")
        assert status == 503 and "shard 2/2" in doc["error"]
        status, doc = await r.call("GET", "/api/devices/cam-a")
        assert status == 200 and doc["name"] == "cam-a"
        status, doc = await r.call("GET", "/api/devices")
        assert status == 503 and "shard 2/2" in doc["error"]
        status, doc = await r.call("GET", "/api/health")
        assert status == 503 and [s["status"] for s in doc["shards"]] == ["serving", "down"]
        # a fleet-wide write: where it took, and who refused
        before = r.sims[0].clock.now()
        status, doc = await r.call("POST", "/api/clock/advance", {"seconds": 60})
        assert status == 503 and "shard 2/2" in doc["error"]
        assert "applied on shard 1/2" in doc["detail"][-1]
        assert r.sims[0].clock.now() == before + 60
        r.face.replace(1, None)
        status, doc = await r.call("GET", "/api/devices/cam-b")
        assert status == 503 and doc["detail"] == ["shard 2/2: it is down for now"]


async def test_health_and_adding_devices_to_the_smaller_shard():
    async with rig("127.91.4.0/24") as r:
        status, doc = await r.call("GET", "/api/health")
        assert status == 200 and doc["devices"] == len(NAMES)
        assert [s["devices"] for s in doc["shards"]] == [3, 2]
        entry = hik_entry("cam-f", kind="ipc", model="DS-2CD2043G2-I", ports={"http": 0, "rtsp": 0})
        status, added = await r.call("POST", "/api/devices", entry)
        assert status == 201 and r.sims[1].fleet.find("cam-f") is not None
        status, doc = await r.call("GET", "/api/devices/cam-f")
        assert status == 200 and doc["serial"] == added[0]["serial"]
        status, _ = await r.call("DELETE", "/api/devices/cam-f")
        assert status == 204 and r.sims[1].fleet.find("cam-f") is None
        status, doc = await r.call("GET", "/api/devices/cam-f")
        assert status == 404 and doc["error"] == "no device 'cam-f' in the fleet"


async def read_events(stream: aiohttp.StreamReader, count: int) -> list[tuple[str, dict]]:
    """`count` events of a server-sent stream: (id, data)."""
    events, ident, data = [], "", ""
    async for raw in stream:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif not line and data:
            events.append((ident, json.loads(data)))
            data = ""
            if len(events) == count:
                return events
    raise AssertionError(f"the stream ended after {len(events)} of {count} events")


async def test_the_merged_stream_resumes_without_loss_or_duplicates():
    async with rig("127.91.5.0/24") as r:
        timeout = aiohttp.ClientTimeout(total=20)

        async def raise_on(name: str, state: str = "start") -> None:
            status, _ = await r.call(
                "POST", f"/api/devices/{name}/events", {"type": "motion", "state": state}
            )
            assert status == 201

        async with r.session.get(r.url + "/api/events", timeout=timeout) as stream:
            await until(lambda: all(s.journal._subscribers for s in r.sims), "the face follows")
            await raise_on("cam-a")
            await raise_on("cam-b")
            r.face.publish("worker.restarted", worker=2)
            first = await read_events(stream.content, 3)
        kinds = {(e["kind"], e["serial"]) for _, e in first}
        assert ("worker.restarted", None) in kinds
        last = first[-1][0]
        # while no one listens: two events on each shard
        for name, state in (
            ("cam-a", "stop"),
            ("cam-b", "stop"),
            ("cam-c", "start"),
            ("nvr-d", "start"),
        ):
            await raise_on(name, state)
        headers = {"Last-Event-ID": last}
        async with r.session.get(r.url + "/api/events", headers=headers, timeout=timeout) as again:
            await raise_on("cam-e")
            missed = await read_events(again.content, 5)
        serials = [e["serial"] for _, e in missed]
        names = {s.fleet.find(n).serial: n for s in r.sims for n in NAMES if s.fleet.find(n)}
        assert sorted(names[s] for s in serials) == ["cam-a", "cam-b", "cam-c", "cam-e", "nvr-d"]
        ids = [int(i) for i, _ in first + missed]
        assert ids == sorted(set(ids)), "each event once, in order"
        assert all(e["kind"] == "device.event" for _, e in missed)


async def test_the_face_checks_its_own_token_and_uses_the_shards():
    async with rig("127.91.6.0/24", token="face-secret", shard_token="shard-secret") as r:
        status, doc = await r.call("GET", "/api/devices")
        assert status == 401 and doc["error"].startswith("a token is required")
        auth = {"Authorization": "Bearer face-secret"}
        status, devices = await r.call("GET", "/api/devices", headers=auth)
        assert status == 200 and len(devices) == len(NAMES)
        status, _ = await r.call("GET", "/api/health")
        assert status == 200


async def test_the_menu_websocket_is_relayed_to_the_devices_shard():
    async with rig("127.91.7.0/24") as r:
        url = r.url + "/api/devices/nvr-d/menu"
        async with r.session.ws_connect(url) as ws:
            first = await ws.receive(timeout=10)
            assert first.type == aiohttp.WSMsgType.TEXT and "session" in json.loads(first.data)
            status, sessions = await r.call("GET", "/api/menu-sessions")
            assert status == 200 and [s["serial"] for s in sessions] == [
                r.shard_of("nvr-d").fleet.find("nvr-d").serial
            ]
            await ws.send_bytes(b"\r")  # a key, relayed: the screen answers
            drawn = await ws.receive(timeout=10)
            assert drawn.type == aiohttp.WSMsgType.BINARY and drawn.data
        # refused before the upgrade: the shard's own error document
        status, doc = await r.call("GET", "/api/devices/nvr-d/menu?lang=xx")
        assert status == 400 and "no menu language" in doc["error"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await r.session.ws_connect(r.url + "/api/devices/cam-b/menu")
        assert refused.value.status == 409


async def test_the_dashboard_and_openapi_are_a_single_simulators():
    async with rig("127.91.8.0/24") as r:
        status, doc = await r.call("GET", "/api/openapi.json")
        assert status == 200 and doc == openapi(operations(), token=False)
        async with r.session.get(r.url + "/") as page:
            assert page.status == 200 and "<html" in (await page.text()).lower()
        async with r.session.get(r.url + "/nowhere") as nowhere:
            assert nowhere.status == 404 and (await nowhere.json())["error"] == "Not Found"


async def test_a_shard_replaced_at_a_new_address_is_followed_there():
    async with rig("127.91.9.0/24") as r:
        shard = Shard("shard 2/2", control_url(r.sims[1]))
        r.face.replace(1, None)
        status, _ = await r.call("GET", "/api/devices/cam-b")
        assert status == 503
        r.face.replace(1, shard)
        status, doc = await r.call("GET", "/api/devices/cam-b")
        assert status == 200 and doc["name"] == "cam-b"
