"""One web application per vendor serves every device, each on its own socket: the device
is the one listening where the client connected, across moves, reboots and removals."""

import asyncio
import logging

import aiohttp
import pytest

from nvrsim.protocols.sadp import NetworkParams, Probe, ProbeType
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet, until
from tests.dahua.test_dhip import dahua_entry
from tests.dlink.test_nipca import dlink_entry
from tests.runtime.test_runner import isapi_get, sadp_ask

NS = "{http://www.hikvision.com/ver20/XMLSchema}"
FREE = {"ports": {"http": 0, "rtsp": 0}}
CONFIG = ServiceConfig(
    sadp_port=0, wsd_port=0, dhip_port=0, dlink_port=0, ssdp_port=0, portal_port=0
)


def cameras(clock, count: int = 3):
    return make_fleet(
        hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", count=count, **FREE),
        clock=clock,
        address_pool="127.82.0.0/24",
        client_networks=["127.0.0.0/8"],
    )


async def serial_at(device) -> str | None:
    status, info = await isapi_get(device, "/ISAPI/System/deviceInfo")
    assert status == 200
    return info.findtext(f"{NS}serialNumber")


async def test_devices_of_one_vendor_answer_from_one_application(clock):
    fleet = make_fleet(
        hik_entry("nvr", **FREE),
        hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", **FREE),
        dahua_entry("dvr", ports={"http": 0, "rtsp": 0}),
        dahua_entry("dnvr", ports={"http": 0, "rtsp": 0}),
        dlink_entry("dcs", **FREE),
        clock=clock,
        address_pool="127.82.1.0/24",
        client_networks=["127.0.0.0/8"],
    )
    nvr, cam, dvr, dnvr, dcs = fleet.devices
    async with Simulator(fleet, clock, CONFIG) as sim:
        web = sim._http
        assert web.app_of(nvr) is web.app_of(cam)
        assert web.app_of(dvr) is web.app_of(dnvr)
        assert len({id(web.app_of(d)) for d in fleet}) == len(web.runners) == 3  # vendors
        assert [await serial_at(d) for d in (nvr, cam)] == [nvr.serial, cam.serial]
        async with aiohttp.ClientSession() as http:
            for device in (dvr, dnvr):  # the Digest realm names the device: Login to <serial>
                url = f"http://{device.network.ip}:{device.network.http_port}/cgi-bin/magicBox.cgi"
                async with http.get(url, params={"action": "getSerialNo"}) as reply:
                    assert reply.status == 401
                    assert f'realm="Login to {device.serial}"' in reply.headers["WWW-Authenticate"]
            url = f"http://{dcs.network.ip}:{dcs.network.http_port}/upnp/BasicDevice.xml"
            async with http.get(url) as reply:
                assert f"<serialNumber>{dcs.serial}</serialNumber>" in await reply.text()


async def test_each_address_answers_for_its_device_after_a_move_and_a_reboot(clock):
    async with Simulator(cameras(clock), clock, CONFIG) as sim:
        moved, rebooted, _unmoved = sim.fleet.devices
        old = moved.network.ip
        network = NetworkParams(
            ipv4_address="127.82.0.99", ipv4_subnet_mask="255.255.255.0", ipv4_gateway="127.82.0.1"
        )
        probe = Probe("U-9", ProbeType.UPDATE, mac=moved.mac, password=PASSWORD, network=network)
        assert (await sadp_ask(sim.sadp.port, probe)).result == "success"
        assert sim.reboot(rebooted, downtime=0.0)
        await sim.settled()
        assert moved.network.ip == "127.82.0.99" and rebooted.powered
        for device in sim.fleet:
            assert await serial_at(device) == device.serial
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as http:
                await http.get(f"http://{old}:{moved.network.http_port}/")
        assert len(sim._http.residents) == 3


def digest_session() -> aiohttp.ClientSession:
    """One client per device, as its Digest state (realm, nonce) is the device's."""
    return aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware("admin", PASSWORD),))


async def alert_stream(http: aiohttp.ClientSession, device) -> aiohttp.ClientResponse:
    url = f"http://{device.network.ip}:{device.network.http_port}"
    reply = await http.get(f"{url}/ISAPI/Event/notification/alertStream")
    assert reply.status == 200
    return reply


async def test_a_reboot_ends_that_devices_streams_and_no_other(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, heartbeat_interval=0.05)
    async with Simulator(cameras(clock, 2), clock, config) as sim:
        rebooted, other = sim.fleet.devices
        async with digest_session() as one, digest_session() as two:
            ending, staying = await alert_stream(one, rebooted), await alert_stream(two, other)
            assert sim.reboot(rebooted, downtime=0.0)
            async with asyncio.timeout(10):
                while await ending.content.readany():  # to its end
                    pass
                assert await staying.content.readany()  # still heartbeating
            ending.close()
            staying.close()
        await sim.settled()
        assert await serial_at(rebooted) == rebooted.serial


REQUEST = b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_removed_device_is_refused_cleanly(clock, caplog):
    caplog.set_level(logging.DEBUG)
    async with Simulator(cameras(clock, 2), clock, CONFIG) as sim:
        gone, other = sim.fleet.devices
        ip, port = gone.network.ip, gone.network.http_port
        reader, writer = await asyncio.open_connection(ip, port)  # open before it goes
        writer.write(REQUEST)
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 401")
        await sim.remove_device(gone)
        async with asyncio.timeout(10):
            await reader.read()  # the device closed it; whatever was left of the reply
        assert reader.at_eof()
        writer.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(ip, port)
        assert await serial_at(other) == other.serial
        entry = hik_entry("late", kind="ipc", model="DS-2CD2385G1-I", **FREE)
        (late,) = await sim.add_devices([entry])  # as the control API adds one
        assert sim._http.app_of(late) is sim._http.app_of(other)
        assert await serial_at(late) == late.serial
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_request_where_no_device_listens_any_more_gets_the_connection_closed(clock, caplog):
    """The gate: a connection accepted just as its device left is closed without a reply."""
    async with Simulator(cameras(clock, 1), clock, CONFIG) as sim:
        (device,) = sim.fleet.devices
        address = (device.network.ip, device.network.http_port)
        sim._http.residents.unseat(address)  # as between its last accept and its close
        reader, writer = await asyncio.open_connection(*address)
        writer.write(REQUEST)
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        sim._http.residents.seat(address, device)
        assert await serial_at(device) == device.serial
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_onvif_is_mounted_once_and_answers_only_for_devices_that_speak_it(clock):
    fleet = make_fleet(
        hik_entry("onvif", **FREE),
        hik_entry("plain", capabilities={"onvif": False}, **FREE),
        clock=clock,
        address_pool="127.82.2.0/24",
        client_networks=["127.0.0.0/8"],
    )
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        "</s:Body></s:Envelope>"
    )
    async with Simulator(fleet, clock, CONFIG) as sim:
        speaks, plain = sim.fleet.devices
        assert sim._http.app_of(speaks) is sim._http.app_of(plain)
        async with aiohttp.ClientSession() as http:
            for device, status, marker in (
                (speaks, 200, "SystemDateAndTime"),
                (plain, 404, "notSupport"),
            ):
                url = f"http://{device.network.ip}:{device.network.http_port}/onvif/device_service"
                async with http.post(url, data=body) as reply:
                    assert (reply.status, marker in await reply.text()) == (status, True)


async def test_a_slow_request_whose_device_reboots_meanwhile_gets_its_connection_closed(
    clock, caplog
):
    from nvrsim.simulator.core.faults import Faults

    async with Simulator(cameras(clock, 1), clock, CONFIG) as sim:
        (device,) = sim.fleet.devices
        device.own_faults = Faults(http_delay=30.0)  # the request waits in the middleware
        reader, writer = await asyncio.open_connection(device.network.ip, device.network.http_port)
        writer.write(REQUEST)
        (runner,) = sim._http.runners.values()
        await until(lambda: runner.server.requests_count == 1, "the request is being answered")
        assert sim.reboot(device, downtime=0.0)
        async with asyncio.timeout(10):  # within FINISH_SECONDS, not the 30 s delay
            assert await reader.read() == b""  # shut with the device, unanswered
        writer.close()
        await sim.settled()
        device.own_faults = Faults()
        assert await serial_at(device) == device.serial
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
