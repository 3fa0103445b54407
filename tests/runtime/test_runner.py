"""The simulator as a whole on real sockets: every front end sees the same device."""

import asyncio
import socket
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from nvrsim.protocols.sadp import NetworkParams, Probe, ProbeType, build_probe, decode_probe_match
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.runtime import web as device_web
from nvrsim.simulator.runtime.runner import (
    FLEET_TABLE_DEVICES,
    ServiceConfig,
    Simulator,
    fleet_table,
)
from tests.conftest import PASSWORD, hik_camera, hik_entry, make_fleet

NS = "{http://www.hikvision.com/ver20/XMLSchema}"


def small_fleet(clock, **overrides):
    return make_fleet(
        hik_entry("nvr", ports={"http": 0, "rtsp": 0}, **overrides),
        hik_camera(
            "cam",
            count=2,
        ),
        clock=clock,
        address_pool="127.80.0.0/24",
        client_networks=["127.0.0.0/8"],
    )


async def sadp_ask(port: int, probe: Probe, timeout: float = 5):
    """One SADP exchange over a real UDP socket, as a PC tool would do it."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, build_probe(probe), ("127.0.0.1", port))
        data = await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout)
        return decode_probe_match(data)


async def isapi_get(device, path: str) -> tuple[int, ET.Element]:
    url = f"http://{device.network.ip}:{device.network.http_port}{path}"
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session, session.get(url) as reply:
        return reply.status, ET.fromstring(await reply.read())


@pytest.fixture
async def simulator(clock):
    async with Simulator(small_fleet(clock), clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        yield sim


async def test_each_device_serves_isapi_on_its_own_address(simulator):
    for device in simulator.fleet:
        assert device.network.http_port > 0
        status, info = await isapi_get(device, "/ISAPI/System/deviceInfo")
        assert status == 200
        assert info.findtext(f"{NS}serialNumber") == device.serial
    assert len({d.network.ip for d in simulator.fleet}) == 3


async def test_an_unbind_over_sadp_is_seen_by_isapi_at_once(simulator):
    nvr = simulator.fleet.devices[0]
    _, ezviz = await isapi_get(nvr, "/ISAPI/System/Network/EZVIZ")
    assert ezviz.findtext(f"{NS}bindStatus") == "bind"
    reply = await sadp_ask(
        simulator.sadp.port,
        Probe("U-1", ProbeType.EZVIZ_UNBIND, mac=nvr.mac, password=PASSWORD),
    )
    assert reply.result == "success"
    _, ezviz = await isapi_get(nvr, "/ISAPI/System/Network/EZVIZ")
    assert ezviz.findtext(f"{NS}bindStatus") == "unbind"


async def test_sadp_update_moves_the_web_server_to_the_new_address(simulator):
    nvr = simulator.fleet.devices[0]
    old = nvr.network.ip
    network = NetworkParams(
        ipv4_address="127.80.0.77", ipv4_subnet_mask="255.255.255.0", ipv4_gateway="127.80.0.1"
    )
    reply = await sadp_ask(
        simulator.sadp.port,
        Probe("U-2", ProbeType.UPDATE, mac=nvr.mac, password=PASSWORD, network=network),
    )
    assert reply.result == "success"
    await simulator.settled()
    assert nvr.network.ip == "127.80.0.77"
    status, info = await isapi_get(nvr, "/ISAPI/System/deviceInfo")
    assert (status, info.findtext(f"{NS}serialNumber")) == (200, nvr.serial)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://{old}:{nvr.network.http_port}/")


async def test_a_privileged_port_moves_up_by_the_offset(clock, monkeypatch):
    real_bind = device_web.bind

    def unprivileged(ip: str, port: int):
        if 0 < port < 1024:  # as for a user that is not root
            raise PermissionError(13, "Permission denied")
        return real_bind(ip, port)

    monkeypatch.setattr(device_web, "bind", unprivileged)
    fleet = make_fleet(hik_entry(ports={"http": 81}), address_pool="127.80.1.0/24")
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        assert sim.fleet.devices[0].network.http_port == 8081
        assert sim.describe()["devices"][0]["ports"]["http"] == 8081


def test_fleet_table_rows(clock):
    table = fleet_table(small_fleet(clock)).splitlines()
    assert table[0].split()[:3] == ["NAME", "SERIAL", "MODEL"]
    assert len(table) == 4
    assert "owner@example.com" in table[1] and "online" in table[1]


def test_a_large_fleets_table_shows_its_first_devices_and_says_where_the_rest_are(clock):
    fleet = make_fleet(hik_entry("cam", count=FLEET_TABLE_DEVICES + 5), clock=clock)
    table = fleet_table(fleet).splitlines()
    assert len(table) == 1 + FLEET_TABLE_DEVICES + 1
    assert table[1].split()[0] == fleet.devices[0].label
    assert table[-1] == "… and 5 more devices: `nvrsim ctl devices`, or the ready file"


async def test_a_taken_address_is_named_and_nothing_is_left_listening(clock):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        sim = Simulator(small_fleet(clock), clock, ServiceConfig(sadp_port=port, wsd_port=0))
        with pytest.raises(ServiceError, match=f"SADP: cannot listen on udp 127.0.0.1:{port}: "):
            await sim.start()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.80.0.2", 0))
        taken.listen()
        http = taken.getsockname()[1]
        fleet = make_fleet(
            hik_entry("nvr", ports={"http": http}),
            hik_entry("b", ports={"http": 0, "rtsp": 0}),
            address_pool="127.80.0.0/24",
        )
        sim = Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0))
        with pytest.raises(ServiceError, match=f"nvr: cannot listen on http 127.80.0.2:{http}: "):
            await sim.start()
        assert sim.sadp is None and not sim._http


async def test_event_timers_run_on_the_clock_for_the_devices_that_have_them(simulator, clock):
    from nvrsim.simulator.core.events import raise_event
    from tests.conftest import until

    nvr, cam, _ = simulator.fleet.devices
    raise_event(cam, "motion", clock.now(), duration=10)  # a start that stops by itself
    raise_event(nvr, "tamper", clock.now())  # held until told: no timer
    clock.advance(11)  # the clock alone, not the control API's jump
    await until(lambda: not cam.events.active, "the motion ends on the clock")
    assert [e.type for e in nvr.events.active.values()] == ["tamper"]
    raise_event(cam, "motion", clock.now(), duration=5)  # idle devices are woken again
    clock.advance(6)
    await until(lambda: not cam.events.active, "the second motion ends too")
