"""SADP over real UDP sockets: loopback on port 0, and multicast inside a namespace."""

from __future__ import annotations

import asyncio
import json
import socket
import xml.etree.ElementTree as ET

import pytest

from nvrsim.protocols import sadp_crypto
from nvrsim.protocols.sadp import Probe, ProbeType, build_probe, decode_probe_match, format_mac
from nvrsim.simulator.hikvision.sadp import (
    SadpResponder,
    discover_sadp,
    format_sadp_table,
    serve_sadp,
)
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.netns import NETNS_ADDRESS, run_json_in_netns

# Written here from the wire format (protocols/hikvision.md §1.2), not by the codec.
INQUIRY_UUID = "5C2D1E3A-0B7F-4E8A-9D61-2F4B8C7A9E10"
RAW_INQUIRY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f"<Probe><Uuid>{INQUIRY_UUID}</Uuid><Types>inquiry</Types></Probe>"
).encode()
# fmt: off
CAP1_ORDER = [
    "Uuid", "Types", "DeviceType", "DeviceDescription", "DeviceSN", "CommandPort", "HttpPort",
    "MAC", "IPv4Address", "IPv4SubnetMask", "IPv4Gateway", "IPv6Address", "IPv6Gateway",
    "IPv6MaskLen", "DHCP", "AnalogChannelNum", "DigitalChannelNum", "SoftwareVersion",
    "DSPVersion", "BootTime", "Encrypt", "ResetAbility", "DiskNumber", "Activated",
    "PasswordResetAbility", "PasswordResetModeSecond", "DetailOEMCode", "SupportSecurityQuestion",
    "SupportHCPlatform", "HCPlatformEnable", "IsModifyVerificationCode", "Salt", "DeviceLock",
    "SDKOverTLSPort", "SDKServerStatus", "SDKOverTLSServerStatus", "SupportMailBox",
]
# fmt: on


async def exchange(port: int, datagram: bytes, expect: int, timeout: float = 10.0):
    """Send one datagram to 127.0.0.1:port and wait (bounded) for `expect` replies."""
    loop = asyncio.get_running_loop()
    received: list[tuple[bytes, tuple[str, int]]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, datagram, ("127.0.0.1", port))
        try:
            async with asyncio.timeout(timeout):
                while len(received) < expect:
                    received.append(await loop.sock_recvfrom(sock, 65535))
        except TimeoutError:
            pytest.fail(f"only {len(received)} of {expect} replies within {timeout} s")
    return received


@pytest.fixture
async def served(clock):
    """Start a SADP server on 127.0.0.1 port 0 for a fleet; closed after the test."""
    servers = []

    async def serve(fleet, **kwargs):
        server = await serve_sadp(SadpResponder(fleet, clock, **kwargs), port=0)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        await server.close()


async def test_a_raw_inquiry_finds_all_200_devices_of_a_fleet(clock, served):
    fleet = make_fleet(hik_entry(count=200), clock=clock)
    server = await served(fleet)
    assert server.host == "127.0.0.1" and server.port != 0
    replies = await exchange(server.port, RAW_INQUIRY, expect=200)
    documents = [ET.fromstring(data) for data, _ in replies]
    assert {addr for _, addr in replies} == {("127.0.0.1", server.port)}
    assert {doc.findtext("Uuid") for doc in documents} == {INQUIRY_UUID}
    macs = [doc.findtext("MAC") for doc in documents]
    serials = [doc.findtext("DeviceSN") for doc in documents]
    assert len(set(macs)) == len(set(serials)) == 200
    assert set(macs) == {format_mac(d.mac) for d in fleet}
    assert set(serials) == {d.serial for d in fleet}
    assert all(mac == mac.lower() and mac.count("-") == 5 for mac in macs)
    tags = [child.tag for child in documents[0]]
    assert tags == [*CAP1_ORDER, "supportEzvizUnbind", "EZVIZBindStatus", "SADPVersion"]
    assert replies[0][0].startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ProbeMatch>')


async def test_the_flase_quirk_is_switchable_per_device(clock, served):
    fleet = make_fleet(
        hik_entry("quirky", hik_connect={}),
        hik_entry("fixed", hik_connect={}, quirks={"flase": False}),
        clock=clock,
    )
    server = await served(fleet)
    replies = [ET.fromstring(data) for data, _ in await exchange(server.port, RAW_INQUIRY, 2)]
    spelled = {doc.findtext("MAC"): doc for doc in replies}
    quirky, fixed = (spelled[format_mac(d.mac)] for d in fleet)
    for tag in ("HCPlatformEnable", "DeviceLock"):
        assert (quirky.findtext(tag), fixed.findtext(tag)) == ("flase", "false")
    assert quirky.findtext("DHCP") == fixed.findtext("DHCP") == "false"


async def test_unbind_over_udp_with_the_key_exchange(clock, served):
    fleet = make_fleet(hik_entry(), clock=clock, client_networks=["127.0.0.0/8"])
    device = fleet.devices[0]
    server = await served(fleet)
    key = sadp_crypto.new_client_key()
    code = sadp_crypto.encode_public_key(key.public_key())
    ask = Probe("E1", ProbeType.EXCHANGE_CODE, mac=device.mac, code=code)
    [(answer, _)] = await exchange(server.port, build_probe(ask), 1)
    random = sadp_crypto.decrypt_random(key, decode_probe_match(answer).fields["Code"])
    password = sadp_crypto.encrypt_password(random, PASSWORD)
    # The random is kept per client address, and every exchange() uses a new port.
    unbind = Probe("E2", ProbeType.EZVIZ_UNBIND, mac=device.mac, password=password)
    [(answer, _)] = await exchange(server.port, build_probe(unbind), 1)
    assert decode_probe_match(answer).result == "success"
    assert not device.hik_connect.bound


async def test_garbage_and_a_failing_responder_do_not_stop_the_server(clock, served, caplog):
    fleet = make_fleet(hik_entry(), clock=clock)

    class Flaky(SadpResponder):
        failures = 1

        def respond(self, datagram, peer):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("responder bug")
            return super().respond(datagram, peer)

    server = await serve_sadp(Flaky(fleet, clock), port=0)
    try:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
            for junk in (RAW_INQUIRY, b"\x00\xff" * 100, b"<Probe><Uuid>", b""):
                await loop.sock_sendto(sock, junk, ("127.0.0.1", server.port))
        [(answer, _)] = await exchange(server.port, RAW_INQUIRY, 1)
        assert decode_probe_match(answer).uuid == INQUIRY_UUID
        assert "responder failed" in caplog.text
    finally:
        await server.close()


async def test_discover_client_and_table(clock, served):
    fleet = make_fleet(
        hik_entry("nvr", count=3), hik_entry("cam", admin_password=None), clock=clock
    )
    server = await served(fleet)
    found = await discover_sadp("127.0.0.1", server.port, timeout=10.0, limit=len(fleet))
    assert {r["MAC"] for r in found} == {format_mac(d.mac) for d in fleet}
    assert {r["peer"] for r in found} == {f"127.0.0.1:{server.port}"}
    table = format_sadp_table(found).splitlines()
    assert table[0].split()[:3] == ["IPv4", "Address", "Port"]
    assert len(table) == 2 + len(fleet)
    assert sum(" no " in line for line in table) >= 1  # the camera is not activated
    assert table[2].startswith("127.77.0.2 ")  # sorted by address
    assert format_sadp_table([]) == "No SADP device answered."


async def test_multicast_needs_a_wildcard_bind(clock):
    with pytest.raises(ValueError, match=r"bind 0\.0\.0\.0"):
        await serve_sadp(
            SadpResponder(make_fleet(), clock), port=0, multicast_interface="127.0.0.1"
        )


# --- multicast inside a network namespace -------------------------------------------------

NETNS_CHILD = """
import asyncio, json, sys
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.hikvision.sadp import SadpResponder, discover_sadp, serve_sadp

async def main(raw_fleet, interface):
    fleet = build_fleet(json.loads(raw_fleet))
    server = await serve_sadp(
        SadpResponder(fleet, VirtualClock()), host="0.0.0.0", port=0,
        multicast_interface=interface,
    )
    try:
        multicast = await discover_sadp(
            "239.255.255.250", server.port, timeout=10.0, interface=interface, limit=len(fleet)
        )
        unicast = await discover_sadp(interface, server.port, timeout=10.0, limit=len(fleet))
    finally:
        await server.close()
    print(json.dumps({"port": server.port, "multicast": multicast, "unicast": unicast}))

asyncio.run(main(*sys.argv[1:]))
"""


def test_multicast_inquiry_inside_a_network_namespace():
    camera = hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", firmware="V5.6.2build 190701")
    raw_fleet = {
        "fleet": {"seed": "netns", "address_pool": "10.200.0.0/24"},
        "device": [hik_entry("nvr", count=3), camera],
    }
    fleet = make_fleet(*raw_fleet["device"], seed="netns", address_pool="10.200.0.0/24")
    result = run_json_in_netns(NETNS_CHILD, json.dumps(raw_fleet), NETNS_ADDRESS)
    expected = {format_mac(d.mac) for d in fleet}
    for how in ("multicast", "unicast"):
        assert {r["MAC"] for r in result[how]} == expected, how
        assert {r["peer"] for r in result[how]} == {f"{NETNS_ADDRESS}:{result['port']}"}
    assert {r["IPv4Address"] for r in result["multicast"]} == {d.network.ip for d in fleet}


async def test_replies_never_leak_from_one_inquiry_into_another(clock, served):
    """Issue 17 once saw 2006 devices for a 6-device fleet. Inquiries at once, and one
    right after another whose replies were still on their way, each find exactly the
    fleet: a client counts only replies that echo its own inquiry's Uuid, once per MAC."""
    fleet = make_fleet(hik_entry("nvr", count=6), clock=clock)
    macs = {format_mac(d.mac) for d in fleet}
    server = await served(fleet)
    at_once = await asyncio.gather(
        *(discover_sadp("127.0.0.1", server.port, timeout=1.0) for _ in range(5))
    )
    assert [sorted(r["MAC"] for r in found) for found in at_once] == [sorted(macs)] * 5
    fleet.set_faults(fleet.faults.update({"discovery_delay": 0.3}))
    assert await discover_sadp("127.0.0.1", server.port, timeout=0.05) == []  # too soon
    found = await discover_sadp("127.0.0.1", server.port, timeout=1.5)
    assert sorted(r["MAC"] for r in found) == sorted(macs)
