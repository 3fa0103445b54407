"""Each fault as a real client sees it: `nvrsim discover` (SADP), pyhik and aiohttp (ISAPI)."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest
from pyhik.hikvision import HikCamera

from nvrsim.protocols.sadp import Probe, ProbeType
from nvrsim.simulator.core.faults import NO_FAULTS, Faults, malformed, shape_reply
from nvrsim.simulator.hikvision.isapi import isapi_app
from nvrsim.simulator.hikvision.sadp import discover_sadp
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_camera, hik_entry, make_fleet
from tests.runtime.test_runner import isapi_get, sadp_ask
from tests.strategies_isapi import ServerThread


def fleet(clock, count=20):
    return make_fleet(
        hik_camera(
            "cam",
            count=count,
        ),
        clock=clock,
        address_pool="127.81.0.0/24",
        client_networks=["127.0.0.0/8"],
    )


@pytest.fixture
async def sim(clock):
    async with Simulator(fleet(clock), clock, ServiceConfig(sadp_port=0, wsd_port=0)) as simulator:
        yield simulator


async def discover(sim, timeout=0.5):
    found = await discover_sadp("127.0.0.1", sim.sadp.port, timeout=timeout)
    return {r["DeviceSN"] for r in found}


def test_faults_combine_to_the_worse_of_each():
    mine = Faults(discovery_drop=10, auth_fail=True)
    fleet_wide = Faults(discovery_drop=50, http_delay=1.5)
    assert mine.combine(fleet_wide) == Faults(discovery_drop=50, auth_fail=True, http_delay=1.5)
    assert NO_FAULTS.combine(NO_FAULTS) == NO_FAULTS and not NO_FAULTS.any


def test_no_faults_on_either_side_leave_the_other_as_it_is():
    """combine's shortcut for the usual case (no fleet-wide faults) gives what the field
    by field rule gives, a stall included."""
    mine = Faults(discovery_drop=10, auth_fail=True, rtsp_stall=4.0)
    assert mine.combine(NO_FAULTS) == mine == NO_FAULTS.combine(mine)
    none_set = Faults()  # no faults, but not the NO_FAULTS object (a cleared set, a state file)
    assert mine.combine(none_set) == mine == none_set.combine(mine)
    assert mine.combine(Faults(rtsp_stall=2.0)) == Faults(
        discovery_drop=10, auth_fail=True, rtsp_stall=2.0
    )


def test_faults_all_off_are_the_one_no_faults_however_they_are_made(clock):
    """A device's faults are asked several times a request; the usual answer (none) is
    found by identity, so every way of making faults that are all off gives NO_FAULTS."""
    assert Faults.of() is NO_FAULTS and Faults.of(auth_fail=False) is NO_FAULTS
    assert Faults.of(auth_fail=True).update({"auth_fail": False}) is NO_FAULTS
    device = make_fleet(hik_entry(faults={"auth_fail": False}), clock=clock).devices[0]
    assert device.own_faults is NO_FAULTS and device.faults is NO_FAULTS


def test_a_drop_rate_loses_about_that_share():
    rng = random.Random(7)
    kept = sum(shape_reply(b"x", Faults(discovery_drop=30), rng) is not None for _ in range(10_000))
    assert 6_700 < kept < 7_300
    assert shape_reply(b"x", Faults(discovery_drop=100), rng) is None
    assert shape_reply(b"<a>1</a>", Faults(discovery_malformed=True), rng).data == malformed(
        b"<a>1</a>"
    )


async def test_dropped_replies_are_not_discovered(sim):
    every = {d.serial for d in sim.fleet}
    assert await discover(sim) == every
    lost = sim.fleet.devices[:5]
    for device in lost:
        device.own_faults = Faults(discovery_drop=100)
    assert await discover(sim) == every - {d.serial for d in lost}
    sim.fleet.set_faults(Faults(discovery_drop=100))
    assert await discover(sim) == set()


async def test_malformed_replies_are_ignored_by_the_client(sim):
    spoilt = sim.fleet.devices[0]
    spoilt.own_faults = Faults(discovery_malformed=True)
    assert spoilt.serial not in await discover(sim)
    assert len(await discover(sim)) == len(sim.fleet) - 1


async def test_delayed_replies_arrive_late(sim):
    slow = sim.fleet.devices[0]
    slow.own_faults = Faults(discovery_delay=0.6)
    assert slow.serial not in await discover(sim, timeout=0.3)
    assert slow.serial in await discover(sim, timeout=1.5)


async def test_slow_http_outlasts_a_client_timeout(sim):
    device = sim.fleet.devices[0]
    device.own_faults = Faults(http_delay=0.5)
    url = f"http://{device.network.ip}:{device.network.http_port}/ISAPI/System/deviceInfo"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(url, timeout=aiohttp.ClientTimeout(total=0.2))
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as reply:
            assert reply.status == 401  # slow, but it answers


async def test_cloud_offline_is_offline_for_every_front_end(sim):
    device = sim.fleet.devices[0]
    device.own_faults = Faults(cloud_offline=True)
    probe = Probe("U-1", ProbeType.EZVIZ_UNBIND, mac=device.mac, password=PASSWORD)
    assert (await sadp_ask(sim.sadp.port, probe)).result == "offlineHCPlatform"
    _, ezviz = await isapi_get(device, "/ISAPI/System/Network/EZVIZ")
    assert ezviz.findtext("{http://www.hikvision.com/ver20/XMLSchema}registerStatus") == "false"
    assert device.hik_connect.bound  # the unbind was refused


async def test_a_rebooting_device_is_silent_then_back(sim):
    device = sim.fleet.devices[0]
    sim.reboot(device, downtime=0.4)
    await asyncio.sleep(0.05)
    assert device.serial not in await discover(sim, timeout=0.2)
    with pytest.raises(aiohttp.ClientConnectionError):
        await isapi_get(device, "/ISAPI/System/deviceInfo")
    await sim.settled()
    assert device.serial in await discover(sim)
    assert (await isapi_get(device, "/ISAPI/System/deviceInfo"))[0] == 200


def test_pyhik_cannot_log_in_while_auth_always_fails(clock):
    (device,) = make_fleet(hik_entry("nvr"), clock=clock)
    device.own_faults = Faults(auth_fail=True)
    with ServerThread(isapi_app(device, clock)) as url:
        camera = HikCamera(url, usr="admin", pwd=PASSWORD)
        assert camera.get_device_info() is None  # the right password, refused
        device.own_faults = NO_FAULTS
        camera = HikCamera(url, usr="admin", pwd=PASSWORD)
        assert camera.get_device_info()["serialNumber"] == device.serial


async def test_onvif_discovery_suffers_the_same_faults_and_a_reboot_says_bye_then_hello(clock):
    from nvrsim.simulator.onvif.wsd import discover_onvif
    from tests.onvif.test_wsd_network import listener, receive

    with listener() as client:
        config = ServiceConfig(
            sadp_port=0, wsd_port=0, wsd_announce=f"127.0.0.1:{client.getsockname()[1]}"
        )
        async with Simulator(fleet(clock, count=3), clock, config) as sim:
            await receive(client, 3)  # the Hellos of start-up
            port = sim.services["wsd"].port

            async def found() -> set[str]:
                answers = await discover_onvif("127.0.0.1", port, timeout=0.5)
                return {a["address"] for a in answers}

            dropped, spoilt, rebooted = sim.fleet.devices
            dropped.own_faults = Faults(discovery_drop=100)
            spoilt.own_faults = Faults(discovery_malformed=True)
            assert await found() == {f"urn:uuid:{rebooted.uuid}"}
            sim.reboot(rebooted, downtime=0.3)
            (bye,) = await receive(client, 1)
            assert await found() == set()
            (hello,) = await receive(client, 1)
            assert (bye.kind, hello.kind) == ("Bye", "Hello")
            assert bye.address == hello.address == f"urn:uuid:{rebooted.uuid}"
            await sim.settled()
            assert await found() == {f"urn:uuid:{rebooted.uuid}"}
