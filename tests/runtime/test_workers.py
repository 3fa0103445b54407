"""`nvrsim run --workers N`: one fleet over N processes behaves as one process would.

Real processes on loopback: the supervisor's discovery sockets answer for every
worker's devices, a change made through SADP lands in the worker that holds the device,
a worker killed with SIGKILL comes back with its state while the other keeps serving,
and a fleet that needs more open files than a process may have is refused before
anything listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import sadp_crypto
from nvrsim.protocols.sadp import (
    NetworkParams,
    Probe,
    ProbeType,
    build_probe,
    decode_probe_match,
)
from nvrsim.protocols.wsdiscovery import decode_announcement
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.dahua.dhip import discover_dhip
from nvrsim.simulator.hikvision.sadp import discover_sadp
from nvrsim.simulator.onvif.wsd import discover_onvif
from nvrsim.simulator.runtime import relay, workers
from nvrsim.simulator.runtime.fixtures import Fixture
from nvrsim.simulator.runtime.journal import Journal
from nvrsim.simulator.runtime.limits import descriptors_needed, refuse_beyond, workers_needed
from nvrsim.simulator.runtime.runner import ServiceConfig
from nvrsim.simulator.runtime.state import device_entry
from tests.conftest import PASSWORD, hik_entry, make_fleet, stopped
from tests.hikvision.test_sadp_network import exchange

NVRSIM = [sys.executable, "-m", "nvrsim"]
FLEET = """
[fleet]
seed = "workers"
address_pool = "127.83.0.0/24"
client_networks = ["127.0.0.0/8"]

[[device]]
name = "cam"
count = 4
vendor = "hikvision"
kind = "ipc"
model = "DS-2CD2385G1-I"
firmware = "V5.6.2build 190701"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
hik_connect = { enabled = true, online = true, bound_account = "owner@example.com" }

[[device]]
name = "dahua"
count = 2
vendor = "dahua"
kind = "ipc"
model = "IPC-HDW5831R-ZE"
firmware = "2.800.0000016.0.R"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
"""
FREE_PORTS = [
    *("--sadp-port", "0", "--dhip-port", "0", "--dlink-port", "0", "--ssdp-port", "0"),
    *("--wsd-port", "0", "--portal-port", "0", "--dmss-port", "0", "--broker-port", "0"),
    *("--cloud-port", "0", "--control-port", "0"),
]
EZVIZ = "/ISAPI/System/Network/EZVIZ"


def start(fleet_file: Path, ready: Path, *options: str) -> tuple[subprocess.Popen, dict, str]:
    """The supervisor, its ready document, and its banner up to the ready line."""
    process = subprocess.Popen(
        [*NVRSIM, "run", str(fleet_file), "--ready-file", str(ready), *FREE_PORTS, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = []
    for line in process.stdout:  # the test's timeout bounds this
        banner.append(line)
        if line.startswith("ready: "):
            return process, json.loads(ready.read_text()), "".join(banner)
    pytest.fail(f"nvrsim run did not start: {process.communicate()}")


def stop(process: subprocess.Popen, workers: list[int]) -> str:
    """Ctrl-C on the supervisor stops it and every worker; what it printed."""
    out, err = stopped(process)
    assert process.returncode == 0, err
    assert "nvrsim: stopped" in out
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    return out


async def isapi(device: dict, path: str) -> tuple[int, str]:
    url = f"http://{device['address']}:{device['ports']['http']}{path}"
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session, session.get(url) as reply:
        return reply.status, await reply.text()


def bind_status(xml: str) -> str | None:
    return next(el.text for el in ET.fromstring(xml).iter() if el.tag.endswith("bindStatus"))


async def bound_account(face: str, serial: str) -> str | None:
    url = f"{face}/api/devices/{serial}"
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        assert reply.status == 200
        return (await reply.json())["hik_connect"]["bound_account"]


async def sadp_unbind(port: int, mac: str) -> str:
    """SADP's key exchange, then an unbind with the admin password (seed 001)."""
    key = sadp_crypto.new_client_key()
    code = sadp_crypto.encode_public_key(key.public_key())
    ask = Probe("E1", ProbeType.EXCHANGE_CODE, mac=mac, code=code)
    [(answer, _)] = await exchange(port, build_probe(ask), 1)
    random = sadp_crypto.decrypt_random(key, decode_probe_match(answer).fields["Code"])
    unbind = Probe(
        "E2",
        ProbeType.EZVIZ_UNBIND,
        mac=mac,
        password=sadp_crypto.encrypt_password(random, PASSWORD),
    )
    [(answer, _)] = await exchange(port, build_probe(unbind), 1)
    return decode_probe_match(answer).result


async def events_until(url: str, wanted: list[str], seen: list[str], opened: asyncio.Event):
    """Follow the face's event stream until every kind in `wanted` has come, in order."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url + "/api/events") as stream,
    ):
        opened.set()
        async for line in stream.content:
            if line.startswith(b"event: ") and not line.startswith(b"event: exchange"):
                seen.append(line[7:].decode().strip())
            if [k for k in seen if k in wanted] == wanted:
                return


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_two_worker_fleet_behaves_as_one_and_survives_a_killed_worker(tmp_path):
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(FLEET)
    state = tmp_path / "state"
    process, ready, _ = await asyncio.to_thread(
        start, fleet_file, tmp_path / "ready.json", "--workers", "2", "--state", str(state)
    )
    try:
        devices = ready["devices"]
        services = ready["services"]
        face = f"http://127.0.0.1:{services['control']['port']}"
        # Every device once, in the fleet's order; the share of each worker is every 2nd.
        names = [f"cam-{i}" for i in range(1, 5)] + ["dahua-1", "dahua-2"]
        assert sorted(d["name"] for d in devices) == sorted(names)
        assert len({d["serial"] for d in devices}) == 6
        assert [w["devices"] for w in ready["workers"]] == [3, 3]
        hik = [d for d in devices if d["vendor"] == "hikvision"]
        dahua = [d for d in devices if d["vendor"] == "dahua"]

        # Discovery from the supervisor's one socket per protocol: exactly the fleet.
        sadp = await discover_sadp("127.0.0.1", services["sadp"]["port"], timeout=5, limit=4)
        assert sorted(r["DeviceSN"] for r in sadp) == sorted(d["serial"] for d in hik)
        dhip = await discover_dhip("127.0.0.1", services["dhip"]["port"], timeout=5, limit=2)
        assert sorted(r["mac"] for r in dhip) == sorted(d["mac"] for d in dahua)
        # A device's own DHIP socket (its address, the fleet's port) answers from there.
        assert {r["from"] for r in dhip} == {d["address"] for d in dahua}
        # WS-Discovery, answered by the supervisor, names each device's own web address.
        onvif = await discover_onvif("127.0.0.1", services["wsd"]["port"], timeout=5, limit=6)
        where = {f"http://{d['address']}:{d['ports']['http']}/" for d in devices}
        assert {r["xaddrs"].split("onvif")[0] for r in onvif} == where

        # An SADP unbind of a device worker 1 holds: its ISAPI and the face see it at once.
        second = devices[1]  # the fleet's 2nd device: worker 1's first
        assert second["vendor"] == "hikvision"
        status, xml = await isapi(second, EZVIZ)
        assert (status, bind_status(xml)) == (200, "bind")
        assert await sadp_unbind(services["sadp"]["port"], second["mac"]) == "success"
        status, xml = await isapi(second, EZVIZ)
        assert (status, bind_status(xml)) == (200, "unbind")
        assert await bound_account(face, second["serial"]) is None

        # kill -9 worker 1: worker 0's devices answer throughout; the stream tells it.
        seen: list[str] = []
        opened = asyncio.Event()
        following = asyncio.create_task(
            events_until(face, ["worker.down", "worker.restarted"], seen, opened)
        )
        await asyncio.wait_for(opened.wait(), 10)
        os.kill(ready["workers"][1]["pid"], signal.SIGKILL)
        first = devices[0]
        answered = 0
        async with asyncio.timeout(60):
            while not following.done():
                status, _ = await isapi(first, "/ISAPI/System/deviceInfo")
                assert status == 200
                answered += 1
            await following
        assert answered > 0
        assert seen.index("worker.down") < seen.index("worker.restarted")

        # Back with its state from --state: still unbound, on ISAPI and through the face.
        status, xml = await isapi(second, EZVIZ)
        assert (status, bind_status(xml)) == (200, "unbind")
        assert await bound_account(face, second["serial"]) is None
        restarted = json.loads((tmp_path / "ready.json").read_text())
        assert restarted["workers"][1]["pid"] != ready["workers"][1]["pid"]
        sadp = await discover_sadp("127.0.0.1", services["sadp"]["port"], timeout=5, limit=4)
        assert len(sadp) == 4
        workers = [w["pid"] for w in restarted["workers"]]
    except BaseException:
        process.kill()
        raise
    await asyncio.to_thread(stop, process, workers)


@pytest.mark.timeout(120)
def test_without_state_the_workers_serve_the_fixture_and_say_so(tmp_path):
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(FLEET)
    process, ready, banner = start(fleet_file, tmp_path / "ready.json", "--workers", "3")
    try:
        assert "6 device(s) over 3 workers" in banner
        assert "restarted from the fixture" in banner
        assert [w["devices"] for w in ready["workers"]] == [2, 2, 2]
        assert len({d["serial"] for d in ready["devices"]}) == 6
        assert all(d["ports"]["http"] > 0 for d in ready["devices"])
    except BaseException:
        process.kill()
        raise
    stop(process, [w["pid"] for w in ready["workers"]])


@contextlib.asynccontextmanager
async def two_workers(tmp_path: Path, *options: str):
    """FLEET over two workers: its ready document; stopped as a user stops it after."""
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(FLEET)
    process, ready, _ = await asyncio.to_thread(
        start, fleet_file, tmp_path / "ready.json", "--workers", "2", *options
    )
    try:
        yield ready
    except BaseException:
        process.kill()  # its workers follow it
        await asyncio.to_thread(process.communicate)
        raise
    await asyncio.to_thread(stop, process, [w["pid"] for w in ready["workers"]])


@pytest.mark.timeout(120)
async def test_the_clouds_of_a_fleet_over_workers_answer_through_its_control_api(tmp_path):
    # The clouds run in the supervisor, not in any worker: the face answers their routes.
    async with two_workers(tmp_path) as ready:
        face = f"http://127.0.0.1:{ready['services']['control']['port']}"
        cameras = sorted(d["serial"] for d in ready["devices"] if d["vendor"] == "hikvision")
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            online: list[str] = []
            while online != cameras:  # each worker's link tells the cloud in its own time
                async with session.get(f"{face}/api/cloud/devices") as reply:
                    assert reply.status == 200, await reply.text()
                    online = sorted(d["serial"] for d in await reply.json() if d["online"])
                await asyncio.sleep(0.05)
            account = {"email": "viewer@example.com", "password": "Viewer12345"}
            async with session.post(f"{face}/api/dmss/accounts", json=account) as reply:
                assert reply.status == 201, await reply.text()
            async with session.get(f"{face}/api/dmss/accounts") as reply:
                assert [a["email"] for a in await reply.json()] == ["viewer@example.com"]


async def face_device(session: aiohttp.ClientSession, face: str, serial: str) -> dict:
    async with session.get(f"{face}/api/devices/{serial}") as reply:
        assert reply.status == 200
        return await reply.json()


@pytest.mark.timeout(120)
async def test_the_supervisors_copy_of_the_fleet_follows_the_workers_and_back(tmp_path):
    # WS-Discovery and the clouds run in the supervisor, on its copy of the devices.
    async with two_workers(tmp_path) as ready:
        services = ready["services"]
        face = f"http://127.0.0.1:{services['control']['port']}"
        cam = ready["devices"][1]  # worker 1's first
        # An SADP move, made in the worker: WS-Discovery gives the new address.
        sadp = await discover_sadp("127.0.0.1", services["sadp"]["port"], timeout=5, limit=4)
        [salt] = [r["Salt"] for r in sadp if r["DeviceSN"] == cam["serial"]]
        network = NetworkParams(
            *("127.83.0.200", "8000", "255.255.255.0", "127.83.0.1", "::", "::", "64"),
            *("false", str(cam["ports"]["http"]), "8443"),
        )
        password = sadp_crypto.salted_password(PASSWORD, salt)
        move = Probe("M1", ProbeType.UPDATE, mac=cam["mac"], password=password, network=network)
        move = dataclasses.replace(move, password_salted=True, pw_error_parse=True)
        [(answer, _)] = await exchange(services["sadp"]["port"], build_probe(move), 1)
        assert decode_probe_match(answer).result == "success"
        old, new = f"http://{cam['address']}:", "http://127.83.0.200:"
        deadline, heard = time.monotonic() + 10, []
        while not any(x.startswith(new) for x in heard):  # the copy follows in its own time
            assert time.monotonic() < deadline, f"WS-Discovery still says {heard}"
            onvif = await discover_onvif("127.0.0.1", services["wsd"]["port"], 2, limit=6)
            heard = [r["xaddrs"] for r in onvif]
        assert not any(x.startswith(old) for x in heard)

        # A DMSS binding, made by the supervisor's cloud: the worker's device has it, and
        # the one event stream tells both the cloud's event and the device's change.
        dahua = next(d for d in ready["devices"] if d["vendor"] == "dahua")
        seen: list[str] = []
        opened = asyncio.Event()
        wanted = ["dmss.account", "device.changed"]
        following = asyncio.create_task(events_until(face, wanted, seen, opened))
        await asyncio.wait_for(opened.wait(), 10)
        dmss = f"http://127.0.0.1:{services['dmss']['port']}/api/v1"
        me = {"email": "owner@example.com", "password": "Owner12345"}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{dmss}/accounts", json=me) as reply:
                assert reply.status == 201, await reply.text()
            async with session.post(f"{dmss}/session", json=me) as reply:
                bearer = {"Authorization": f"Bearer {(await reply.json())['token']}"}
            add = {"serial": dahua["serial"], "password": PASSWORD}
            async with session.post(f"{dmss}/devices", json=add, headers=bearer) as reply:
                assert reply.status == 201, await reply.text()
            deadline, bound = time.monotonic() + 10, None
            while bound != me["email"]:  # the worker makes the change in its own time
                assert time.monotonic() < deadline, f"the worker's device is bound to {bound}"
                bound = (await face_device(session, face, dahua["serial"]))["dahua"]["dmss_account"]
            async with session.get(f"{dmss}/devices", headers=bearer) as reply:
                assert [d["serial"] for d in await reply.json()] == [dahua["serial"]]
        await asyncio.wait_for(following, 10)


@pytest.mark.timeout(120)
async def test_a_device_added_through_the_face_is_discovered_and_gone_once_removed(tmp_path):
    # A device added takes an address no device of any worker has. Discovery answers from
    # the supervisor's sockets: a Dahua device added to a worker has its own DHIP socket
    # there, and WS-Discovery knows it, until it is removed.
    dahua = tomllib.loads(FLEET.split("[[device]]")[2]) | {"name": "dahua-new", "count": 1}
    async with two_workers(tmp_path) as ready, aiohttp.ClientSession() as session:
        services = ready["services"]
        face = f"http://127.0.0.1:{services['control']['port']}"
        async with session.post(f"{face}/api/devices", json=dahua) as reply:
            assert reply.status == 201, await reply.text()
            [added] = await reply.json()

        async def discovered(limit: int) -> tuple[set[str], set[str]]:
            dhip = await discover_dhip("127.0.0.1", services["dhip"]["port"], 2, limit=limit)
            onvif = await discover_onvif("127.0.0.1", services["wsd"]["port"], 2, limit=limit + 4)
            return {r["from"] for r in dhip}, {r["xaddrs"].split("/")[2] for r in onvif}

        address = added["address"].split("/")[0]  # an entry's address has its prefix
        # Placed in the whole fleet, not in the one worker's share of it.
        assert address not in {d["address"] for d in ready["devices"]}
        where = f"{address}:{added['ports']['http']}"
        deadline, dhip, onvif = time.monotonic() + 10, set(), set()
        while address not in dhip or where not in onvif:  # the copy follows
            assert time.monotonic() < deadline, f"DHIP {dhip}, WS-Discovery {onvif}"
            dhip, onvif = await discovered(3)
        async with session.delete(f"{face}/api/devices/{added['serial']}") as reply:
            assert reply.status == 204
        deadline = time.monotonic() + 10
        while address in dhip or where in onvif:
            assert time.monotonic() < deadline, f"DHIP {dhip}, WS-Discovery {onvif}"
            dhip, onvif = await discovered(2)
        assert len(dhip) == 2 and len(onvif) == 6


@pytest.mark.timeout(120)
async def test_a_fleet_over_workers_says_hello_and_bye_as_one_process_does(tmp_path):
    # WS-Discovery is the supervisor's; the devices' comings and goings are the workers'.
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.setblocking(False)
        client.bind(("127.0.0.1", 0))

        async def heard(count: int) -> list:
            async with asyncio.timeout(10):
                return [
                    decode_announcement(await loop.sock_recv(client, 65535)) for _ in range(count)
                ]

        announce = f"127.0.0.1:{client.getsockname()[1]}"
        async with two_workers(
            tmp_path, "--wsd-announce", announce, "--reboot-seconds", "0.5"
        ) as ready:
            uuids = {f"urn:uuid:{d['uuid']}": d for d in ready["devices"]}
            hellos = await heard(6)  # each once it listens, on the port it got
            assert {h.kind for h in hellos} == {"Hello"} and {h.address for h in hellos} == set(
                uuids
            )
            for hello in hellos:
                device = uuids[hello.address]
                where = f"http://{device['address']}:{device['ports']['http']}/onvif/device_service"
                assert hello.xaddrs == (where,)
            cam = ready["devices"][1]  # worker 1's first
            face = f"http://127.0.0.1:{ready['services']['control']['port']}"
            async with aiohttp.ClientSession() as session:
                reboot = f"{face}/api/devices/{cam['serial']}/reboot"
                async with session.post(reboot, json={}) as reply:
                    assert reply.status == 202, await reply.text()
            bye, hello = await heard(2)
            assert (bye.kind, hello.kind) == ("Bye", "Hello")
            assert bye.address == hello.address == f"urn:uuid:{cam['uuid']}"
        byes = await heard(6)
    assert {b.kind for b in byes} == {"Bye"} and {b.address for b in byes} == set(uuids)


@pytest.mark.timeout(120)
async def test_the_fleets_faults_set_through_the_face_reach_the_supervisors_discovery(tmp_path):
    # WS-Discovery answers from the supervisor's copy of the fleet, not from a worker; and
    # fleet.json, where the faults are kept, is the supervisor's to write.
    state = tmp_path / "state"
    async with (
        two_workers(tmp_path, "--state", str(state)) as ready,
        aiohttp.ClientSession() as session,
    ):
        wsd = ready["services"]["wsd"]["port"]
        face = f"http://127.0.0.1:{ready['services']['control']['port']}"
        assert len(await discover_onvif("127.0.0.1", wsd, 2, limit=6)) == 6
        order = json.loads((state / "fleet.json").read_text())["order"]
        async with session.put(f"{face}/api/faults", json={"discovery_drop": 100}) as reply:
            assert reply.status == 200, await reply.text()
        saved = json.loads((state / "fleet.json").read_text())
        assert saved["faults"]["discovery_drop"] == 100 and saved["order"] == order
        assert await discover_onvif("127.0.0.1", wsd, 1, limit=6) == []
        async with session.put(f"{face}/api/faults", json={"discovery_drop": 0}) as reply:
            assert reply.status == 200, await reply.text()
        assert len(await discover_onvif("127.0.0.1", wsd, 2, limit=6)) == 6


async def test_the_supervisors_copy_takes_the_clock_and_faults_the_workers_answered():
    clock = ScaledClock()
    supervisor = workers.Supervisor(make_fleet, clock, ServiceConfig(), Journal(clock), 2, None)
    try:
        supervisor.fleet = make_fleet()
        await supervisor.fleet_changed("/api/clock", {"now": 2_000_000_000.0, "speed": 60.0})
        assert clock.speed == 60.0 and 2_000_000_000.0 <= clock.now() < 2_000_000_000.0 + 60
        faults = {"discovery_drop": 50.0, "cloud_offline": True}
        await supervisor.fleet_changed("/api/faults", Faults().as_dict() | faults)
        assert all(
            d.faults.discovery_drop == 50 and d.faults.cloud_offline for d in supervisor.fleet
        )
    finally:
        await supervisor.stop()


def test_what_the_supervisors_copy_keeps_of_its_own_are_fields_of_a_device():
    names = {f.name for f in dataclasses.fields(Device)}
    assert names >= workers._NOT_IN_ENTRY
    entry = device_entry(make_fleet().devices[0])
    assert not {"powered", "boot_time", "fleet_faults"} & entry.keys()


def _lowered(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@pytest.mark.parametrize(
    ("workers", "needed"),
    [("1", "1056"), ("2", "656")],  # 400 cameras: HTTP and RTSP each, and 256 spare
)
def test_a_fleet_beyond_the_open_file_limit_is_refused_in_one_line(tmp_path, workers, needed):
    fleet_file = tmp_path / "fleet.toml"
    cameras = FLEET.split('[[device]]\nname = "dahua"')[0].replace("count = 4", "count = 400")
    fleet_file.write_text(cameras.replace("127.83.0.0/24", "127.84.0.0/16"))
    ready = tmp_path / "ready.json"
    argv = [*NVRSIM, "run", str(fleet_file), "--ready-file", str(ready), "--workers", workers]
    done = subprocess.run(
        [*argv, *FREE_PORTS],
        capture_output=True,
        text=True,
        preexec_fn=_lowered(600),
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "600" in line and f"need {needed} open files" in line
    assert f"ulimit -n {needed}" in line and "--workers 3" in line
    assert not ready.exists()  # nothing listened


def test_workers_by_default_one_per_core_and_more_if_the_limit_needs_it():
    fleet = make_fleet(hik_entry("cam", count=400))
    assert descriptors_needed(fleet.devices) == 400 * 2 + 256
    assert workers_needed(fleet.devices, limit=2000) == 1
    cores = os.cpu_count() or 1
    assert workers_needed(fleet.devices, limit=1000) == max(cores, 2)
    assert workers_needed(fleet.devices, limit=400) >= 5  # 400/5 * 2 + 256 = 416 > 400


def test_workers_are_planned_from_the_fixture_in_outline_as_from_its_fleet():
    # A supervisor forks its workers before it builds the fleet: the outline (one device
    # standing for each of its entry's) must need the very sockets the fleet will.
    dahua = tomllib.loads(FLEET.split("[[device]]")[2])
    nvr = hik_entry("nvr") | {"count": 3, "hik_connect": {"enabled": False}}
    raw = {
        "fleet": {"seed": "outline", "address_pool": "127.86.0.0/24"},
        "device": [hik_entry("cam", kind="ipc", count=5), dahua | {"count": 7}, nvr],
    }
    fixture = Fixture(raw)
    outline, fleet = fixture.outline(), fixture.build().devices
    assert len(outline) == len(fleet) == 15
    for discovery in (True, False):
        assert descriptors_needed(outline, discovery=discovery) == descriptors_needed(
            fleet, discovery=discovery
        )
    assert [d.kind for d in outline] == [d.kind for d in fleet]
    for limit in (300, 100, 60):
        assert workers_needed(outline, limit) == workers_needed(fleet, limit)


def test_a_dahua_device_counts_its_own_dhip_socket_where_it_is_opened():
    dahua = {
        "name": "dahua",
        "count": 300,
        "vendor": "dahua",
        "kind": "ipc",
        "model": "IPC-HDW5831R-ZE",
        "firmware": "2.800.0000016.0.R",
        "admin_password": PASSWORD,
    }
    devices = make_fleet(dahua).devices
    assert descriptors_needed(devices) == 300 * 3 + 256  # HTTP, RTSP, DHIP
    assert descriptors_needed(devices, discovery=False) == 300 * 2 + 256  # in a worker
    # The supervisor holds the 300 DHIP sockets: no number of workers fits 500.
    with pytest.raises(ServiceError, match="need 558 open files") as refused:
        refuse_beyond(devices, 500, workers=2)
    assert "ulimit -n 558" in str(refused.value) and "--workers" not in str(refused.value)


@given(
    name=st.text(max_size=60),
    host=st.sampled_from(["127.0.0.1", "10.200.0.1", "::1"]),
    port=st.integers(0, 65535),
    data=st.binary(max_size=2000),
)
def test_a_relayed_datagram_comes_out_as_it_went_in(name, host, port, data):
    body = relay.frame(relay.DATAGRAM, name, (host, port), data)[4:]
    assert relay.parse(body) == (relay.DATAGRAM, name, (host, port), data)
