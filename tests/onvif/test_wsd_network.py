"""WS-Discovery over real UDP: loopback on port 0, and wsdiscovery multicast in a namespace."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from nvrsim.protocols.wsdiscovery import build_probe, decode_announcement
from nvrsim.simulator.onvif.wsd import WsdResponder, discover_onvif, format_onvif_table, serve_wsd
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet
from tests.netns import NETNS_ADDRESS, run_json_in_netns

pytestmark = pytest.mark.slow  # end to end (see the README)

CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.6.2build 190701"}


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    return sock


async def receive(sock: socket.socket, count: int, timeout: float = 10.0) -> list:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        return [decode_announcement(await loop.sock_recv(sock, 65535)) for _ in range(count)]


async def test_discover_finds_the_fleet_on_loopback_and_the_table_names_it(clock):
    fleet = make_fleet(
        hik_entry("nvr", count=3), hik_entry("quiet", onvif={"discoverable": False}), clock=clock
    )
    server = await serve_wsd(WsdResponder(fleet, clock), port=0)
    try:
        found = await discover_onvif("127.0.0.1", server.port, timeout=10.0, limit=3)
        scoped = await discover_onvif(
            "127.0.0.1",
            server.port,
            timeout=0.3,
            scopes=("onvif://www.onvif.org/hardware/DS-7608NI-K2",),
        )
    finally:
        await server.close()
    shown = [d for d in fleet if d.onvif.discoverable]
    assert {r["address"] for r in found} == {f"urn:uuid:{d.uuid}" for d in shown}
    assert {r["address"] for r in scoped} == {r["address"] for r in found}
    assert {r["peer"] for r in found} == {f"127.0.0.1:{server.port}"}
    assert {r["mac"] for r in found} == {d.mac for d in shown}
    table = format_onvif_table(found).splitlines()
    assert table[0].split() == ["XAddr", "Name", "Hardware", "MAC", "Location", "Endpoint"]
    assert len(table) == 2 + 3 and "HIKVISION DS-7608NI-K2" in table[2]
    assert format_onvif_table([]) == "No ONVIF device answered."


async def test_a_unicast_probe_is_copied_to_the_senders_discovery_port(clock):
    fleet = make_fleet(hik_entry(), clock=clock)
    with listener() as discovery_port, listener() as sender:
        copy_port = discovery_port.getsockname()[1]
        server = await serve_wsd(WsdResponder(fleet, clock, copy_port=copy_port), port=0)
        try:
            loop = asyncio.get_running_loop()
            await loop.sock_sendto(sender, build_probe("urn:uuid:p"), ("127.0.0.1", server.port))
            [direct] = await receive(sender, 1)
            [copy] = await receive(discovery_port, 1)
        finally:
            await server.close()
    assert direct == copy and direct.relates_to == "urn:uuid:p"


async def test_a_listening_client_sees_hello_and_bye_as_devices_start_and_stop(clock):
    fleet = make_fleet(
        hik_entry("nvr", ports={"http": 0, "rtsp": 0}),
        hik_entry("cam", ports={"http": 0, "rtsp": 0}, **CAMERA),
        hik_entry("quiet", ports={"http": 0, "rtsp": 0}, onvif={"discoverable": False}),
        clock=clock,
        address_pool="127.83.0.0/24",
    )
    with listener() as client:
        config = ServiceConfig(
            sadp_port=0, wsd_port=0, wsd_announce=f"127.0.0.1:{client.getsockname()[1]}"
        )
        async with Simulator(fleet, clock, config) as sim:
            hellos = await receive(client, 2)
            assert sim.services["wsd"].port > 0
        byes = await receive(client, 2)
    announced = {f"urn:uuid:{d.uuid}" for d in fleet if d.label != "quiet"}
    assert {h.kind for h in hellos} == {"Hello"} and {b.kind for b in byes} == {"Bye"}
    assert {h.address for h in hellos} == {b.address for b in byes} == announced
    nvr = fleet.devices[0]
    [hello] = [h for h in hellos if h.address == f"urn:uuid:{nvr.uuid}"]
    # The Hello is sent once the web server listens, so XAddrs carry the real port.
    assert hello.xaddrs == (
        f"http://{nvr.network.ip}:{nvr.network.http_port}/onvif/device_service",
    )


async def test_junk_and_a_failing_responder_do_not_stop_the_server(clock, caplog):
    fleet = make_fleet(hik_entry(), clock=clock)

    class Flaky(WsdResponder):
        failures = 1

        def respond(self, datagram, peer, *, multicast=False):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("responder bug")
            return super().respond(datagram, peer, multicast=multicast)

    server = await serve_wsd(Flaky(fleet, clock), port=0)
    try:
        with listener() as sock:
            loop = asyncio.get_running_loop()
            for junk in (build_probe("urn:uuid:x"), b"\x00\xff" * 50, b"<s:Envelope>", b""):
                await loop.sock_sendto(sock, junk, ("127.0.0.1", server.port))
            found = await discover_onvif("127.0.0.1", server.port, timeout=10.0, limit=1)
        assert len(found) == 1 and "responder failed" in caplog.text
    finally:
        await server.close()


async def test_multicast_needs_a_wildcard_bind(clock):
    with pytest.raises(ValueError, match=r"bind 0\.0\.0\.0"):
        await serve_wsd(WsdResponder(make_fleet(), clock), port=0, multicast_interface="127.0.0.1")


# --- wsdiscovery (PyPI) inside a network namespace -------------------------------------------

NETNS_CHILD = """
import asyncio, json, sys
from wsdiscovery import QName, Scope
from wsdiscovery.discovery import ThreadedWSDiscovery
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from nvrsim.simulator.onvif.wsd import WsdResponder, serve_wsd

NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter")


async def until(condition, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.05)


def search(client, **kwargs):
    client.clearRemoteServices()  # only what this probe finds, not earlier Hellos
    return sorted(s.getEPR() for s in client.searchServices(timeout=1, **kwargs))


async def main(raw_fleet, interface):
    fleet = build_fleet(json.loads(raw_fleet))
    expected = sum(1 for d in fleet if d.onvif.discoverable)
    client = ThreadedWSDiscovery()
    hellos, byes = [], []
    client.setRemoteServiceHelloCallback(lambda service: hellos.append(service.getEPR()))
    client.setRemoteServiceByeCallback(byes.append)
    client.start()
    result = {}
    try:
        # WS-Discovery's own port inside the namespace: the probe goes to 3702.
        config = ServiceConfig(sadp_port=0, wsd_port=3702, wsd_jitter=0.0, interface=interface)
        sim = Simulator(fleet, VirtualClock(), config)
        await sim.start()
        await until(lambda: len(hellos) >= expected)
        result["hellos"] = sorted(hellos)
        result["all"] = await asyncio.to_thread(search, client)
        result["typed"] = await asyncio.to_thread(search, client, types=[NVT])
        yard = Scope("onvif://www.onvif.org/location/yard")
        result["scoped"] = await asyncio.to_thread(search, client, scopes=[yard])
        streaming = Scope("onvif://www.onvif.org/Profile/Streaming")
        result["ha"] = await asyncio.to_thread(search, client, types=[NVT], scopes=[streaming])
        await sim.stop()
        await until(lambda: len(byes) >= expected)
        result["byes"] = sorted(byes)
        # Unicast: the server off 3702, the client's replies copied to its 3702.
        server = await serve_wsd(WsdResponder(fleet, VirtualClock()), host=interface, port=0)
        try:
            result["unicast"] = await asyncio.to_thread(
                search, client, address=interface, port=server.port
            )
        finally:
            await server.close()
    finally:
        client.stop()
    print(json.dumps(result))

asyncio.run(main(*sys.argv[1:]))
"""


def test_wsdiscovery_finds_the_fleet_by_multicast_and_unicast_and_hears_hello_and_bye():
    raw_fleet = {
        "fleet": {"seed": "wsd-netns", "address_pool": "127.77.0.0/24"},
        "device": [
            hik_entry("nvr", count=2, ports={"http": 0, "rtsp": 0}),
            hik_entry("cam", ports={"http": 0, "rtsp": 0}, onvif={"location": "yard"}, **CAMERA),
            hik_entry("quiet", ports={"http": 0, "rtsp": 0}, onvif={"discoverable": False}),
            # a fault: every probe reply lost, so wsdiscovery never finds it; it still
            # says Hello and Bye, which are announcements, not replies
            hik_entry("lossy", ports={"http": 0, "rtsp": 0}, faults={"discovery_drop": 100}),
        ],
    }
    fleet = make_fleet(*raw_fleet["device"], seed="wsd-netns", address_pool="127.77.0.0/24")
    result = run_json_in_netns(NETNS_CHILD, json.dumps(raw_fleet), NETNS_ADDRESS, timeout=60)
    announced = sorted(f"urn:uuid:{d.uuid}" for d in fleet if d.label != "quiet")
    shown = sorted(f"urn:uuid:{d.uuid}" for d in fleet if d.label not in ("quiet", "lossy"))
    [yard] = [f"urn:uuid:{d.uuid}" for d in fleet if d.label == "cam"]
    for how in ("hellos", "byes"):
        assert result[how] == announced, how
    for how in ("all", "typed", "ha", "unicast"):
        assert result[how] == shown, how
    assert result["scoped"] == [yard]
