"""DHIP discovery: the codec, the pure responder, real sockets, the runner and the CLI."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvrsim.protocols import dhip
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.dhip import DhipResponder, discover_dhip, format_dhip_table, serve_dhip
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator, fleet_table
from nvrsim.strategies.dhip import headers, junk, messages
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.netns import NETNS_ADDRESS, run_json_in_netns

PEER = ("127.0.0.1", 40000)
# ConfigTool's search, byte for byte (protocols/dahua.md §1.3): 73 bytes with the \n.
CONFIGTOOL_SEARCH = b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'


def dahua_entry(name: str = "nvr", **overrides) -> dict:
    entry = {
        "name": name,
        "vendor": "dahua",
        "kind": "nvr",
        "model": "DHI-NVR4208-8P-4KS2",
        "firmware": "4.001.0000000.3.R",
        "admin_password": PASSWORD,
        "ip_channels": 8,
        "ports": {"http": 0},  # its RTSP keeps 554: the CGI tests read it back
    }
    entry.update(overrides)
    return entry


def dahua_camera(name: str = "cam", **overrides) -> dict:
    return dahua_entry(
        name, kind="ipc", model="IPC-HDW5831R-ZE", firmware="2.800.0000016.0.R", **overrides
    )


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dahua_entry("nvr"),
        dahua_camera("cam"),
        dahua_camera("factory", admin_password=None),
        hik_entry("hik", ports={"http": 0, "rtsp": 0}),
        clock=clock,
        address_pool="127.82.0.0/24",
    )


def search(mac: str = "", *, where: str = "top", raw: bytes | None = None) -> bytes:
    if raw is not None:
        return dhip.frame(raw)
    document: dict = {"method": dhip.SEARCH, "params": {"mac": "", "uni": 1}}
    if where == "top":
        document["mac"] = mac
    else:
        document["params"]["mac"] = mac
    return dhip.frame(json.dumps(document).encode())


# --- codec ---------------------------------------------------------------------------------


def test_the_header_is_32_little_endian_bytes_with_dhip_magic():
    header = dhip.build_header(73)
    assert header == struct.pack("<I4sIIIIII", 0x20, b"DHIP", 0, 0, 73, 0, 73, 0)
    assert header[:8] == bytes.fromhex("20000000") + b"DHIP"


def test_the_real_tcp_reply_header_parses():
    captured = bytes.fromhex(
        "20000000444849506 2feff7f02000000200100000000000020010000 00000000".replace(" ", "")
    )
    header = dhip.parse_header(captured)
    assert (header.session, header.request_id, header.length) == (2147483234, 2, 288)
    assert header.total_length == 288


def test_configtool_search_is_73_bytes_and_decodes():
    datagram = dhip.build_search()
    assert datagram[32:] == CONFIGTOOL_SEARCH and len(CONFIGTOOL_SEARCH) == 73
    message = dhip.decode(datagram)
    assert message.method == dhip.SEARCH and message.params == {"mac": "", "uni": 1}


def test_aio_style_lengths_everywhere_are_accepted():
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
    n = len(body)
    datagram = struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, n, n, n, n) + body
    assert dhip.decode(datagram).method == dhip.SEARCH


@pytest.mark.parametrize(
    "datagram",
    [
        b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}',  # bare JSON
        struct.pack("<I4sIIIIII", 32, b"PIHD", 0, 0, 2, 0, 2, 0) + b"{}",  # magic packed LE
        b"\xff",
        dhip.frame(b'["DHDiscover.search"]'),
        dhip.frame(b'{"method": 5}'),
        dhip.build_header(500) + b'{"method":"DHDiscover.search"}',
    ],
)
def test_what_real_devices_ignore_does_not_decode(datagram):
    with pytest.raises(dhip.DhipDecodeError):
        dhip.decode(datagram)


@given(headers)
def test_header_round_trip(header):
    built = dhip.HEADER.build(
        {
            "session": header.session,
            "request_id": header.request_id,
            "length": header.length,
            "reserved1": header.reserved1,
            "total_length": header.total_length,
            "reserved2": header.reserved2,
        }
    )
    assert len(built) == dhip.HEADER.sizeof() == 32
    assert dhip.parse_header(built) == header


@given(st.binary(max_size=300))
def test_frame_round_trip_through_construct(payload):
    datagram = dhip.frame(payload, session=7, request_id=9)
    parsed = dhip.FRAME.parse(datagram)
    assert parsed.payload == payload and parsed.header.session == 7
    assert dhip.FRAME.build(parsed) == datagram


# --- responder -------------------------------------------------------------------------------


def test_a_search_gets_one_notify_dev_info_per_dahua_device(fleet):
    replies = [dhip.decode(r) for r in DhipResponder(fleet, clock=None).handle(search(), PEER)]
    dahua = [d for d in fleet if d.vendor == "dahua"]
    assert [r.method for r in replies] == [dhip.NOTIFY_DEV_INFO] * len(dahua)
    assert [r.mac for r in replies] == [d.mac for d in dahua]
    info = replies[0].params["deviceInfo"]
    nvr = fleet.find("nvr")
    assert info["SerialNo"] == nvr.serial and info["DeviceType"] == nvr.model
    assert info["DeviceClass"] == "NVR" and info["Version"] == "4.001.0000000.3.R"
    assert info["IPv4Address"]["IPAddress"] == nvr.network.ip
    assert info["Port"] == 37777 and info["Vendor"] == "Dahua"
    assert info["Init"] & 3 == 2
    assert replies[1].params["deviceInfo"]["DeviceClass"] == "IPC"


def test_a_factory_state_device_says_so_in_init(fleet):
    replies = DhipResponder(fleet, None).handle(search(fleet.find("factory").mac), PEER)
    (reply,) = [dhip.decode(r) for r in replies]
    assert reply.params["deviceInfo"]["Init"] & 3 == 1


@pytest.mark.parametrize("where", ["top", "params"])
def test_a_search_with_a_mac_finds_that_device_alone(fleet, where):
    cam = fleet.find("cam")
    replies = DhipResponder(fleet, None).handle(search(cam.mac.upper(), where=where), PEER)
    assert [dhip.decode(r).mac for r in replies] == [cam.mac]


def test_a_search_for_an_unknown_mac_gets_nothing(fleet):
    assert DhipResponder(fleet, None).handle(search("00:11:22:33:44:55"), PEER) == []


def test_replies_leave_from_each_device_address_and_suffer_its_faults(fleet):
    fleet.find("cam").own_faults = Faults(discovery_drop=100)
    replies = DhipResponder(fleet, None).respond(search(), PEER)
    assert [r.source for r in replies] == [fleet.find(n).network.ip for n in ("nvr", "factory")]


def test_a_rebooting_device_does_not_answer(fleet):
    fleet.find("nvr").powered = False
    replies = DhipResponder(fleet, None).handle(search(), PEER)
    assert fleet.find("nvr").mac not in {dhip.decode(r).mac for r in replies}


@settings(max_examples=300)
@given(st.one_of(junk, messages()))
def test_junk_is_never_answered_and_never_changes_anything(datagram):
    fleet = make_fleet(dahua_entry("nvr"), dahua_camera("cam"), address_pool="127.82.0.0/24")
    before = [(d.network.address, d.admin_password) for d in fleet]
    replies = DhipResponder(fleet, None).handle(datagram, PEER)
    try:
        message = dhip.decode(datagram)
    except dhip.DhipDecodeError:
        assert replies == []
    else:
        if message.method != dhip.SEARCH:
            assert replies == [] or message.method == dhip.SET_CONFIG
    assert [(d.network.address, d.admin_password) for d in fleet] == before


def set_config(mac: str, old: str, new: str, password: str, user: str = "admin") -> bytes:
    document = {
        "method": dhip.SET_CONFIG,
        "mac": mac,
        "params": {
            "userName": user,
            "password": password,
            "authorityType": "Default",
            "deviceConfig": {
                "Port": 37777,
                "IPv4Address": {
                    "IPAddress": new,
                    "SubnetMask": "255.255.255.0",
                    "DefaultGateway": "127.82.0.1",
                    "DhcpEnable": False,
                    "IPAddressOld": old,
                },
            },
            "uni": 1,
        },
    }
    return dhip.frame(json.dumps(document).encode())


def test_set_config_re_addresses_with_the_ha1_of_the_password(fleet, clock):
    moved = []
    cam = fleet.find("cam")
    old = cam.network.ip
    responder = DhipResponder(fleet, clock, on_network_change=moved.append)
    empty = responder.handle(set_config(cam.mac, old, "127.82.0.200", ""), PEER)
    assert dhip.decode(empty[0]).params["Result"] is False and cam.network.ip == old
    assert cam.lockout.retries_left(PEER[0], clock.now()) == 5  # the empty try is free
    proof = hashes.ha1("admin", hashes.realm(cam), PASSWORD)
    (reply,) = responder.handle(set_config(cam.mac, old, "127.82.0.200", proof), PEER)
    document = json.loads(reply[32:])
    assert document["result"] is True and document["params"]["Result"] is True
    assert document["params"]["DeviceConfig"]["IPv4Address"]["IPAddressOld"] == old
    assert cam.network.ip == "127.82.0.200" and moved == [cam]


def test_set_config_with_a_wrong_password_counts_towards_the_lockout(fleet, clock):
    cam = fleet.find("cam")
    responder = DhipResponder(fleet, clock)
    for left in (4, 3, 2, 1):
        (reply,) = responder.handle(set_config(cam.mac, cam.network.ip, "127.82.0.9", "bad"), PEER)
        document = json.loads(reply[32:])
        assert document["error"]["code"] == 268632085
        assert document["params"]["remainLoginTimes"] == left
    (reply,) = responder.handle(set_config(cam.mac, cam.network.ip, "127.82.0.9", "bad"), PEER)
    document = json.loads(reply[32:])
    assert document["error"]["code"] == 268632081
    assert document["params"]["remainLockSecond"] == 1800


def test_set_config_for_another_old_address_is_ignored(fleet):
    cam = fleet.find("cam")
    assert (
        DhipResponder(fleet, None).handle(set_config(cam.mac, "1.2.3.4", "1.2.3.5", "x"), PEER)
        == []
    )


def test_set_config_on_a_factory_device_says_not_initialised(fleet, clock):
    device = fleet.find("factory")
    (reply,) = DhipResponder(fleet, clock).handle(
        set_config(device.mac, device.network.ip, "127.82.0.9", "x"), PEER
    )
    assert json.loads(reply[32:])["error"]["code"] == 268632086


# --- real sockets ---------------------------------------------------------------------------


def written_from_the_wire_format(target: tuple[str, int], *, connect: bool = False) -> list:
    """A DHIP search as a client writes it from §1.2 alone: struct, no project code."""
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}\n'
    datagram = struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, len(body), 0, len(body), 0) + body
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        sock.bind(("127.0.0.1", 0))
        if connect:  # as rroller's probe: only replies from (ip, 37810) reach it
            sock.connect(target)
        sock.sendto(datagram, target)
        sock.settimeout(5)
        found = []
        try:
            while True:
                data, addr = sock.recvfrom(65535)
                (size,) = struct.unpack_from("<I", data, 16)
                assert data[4:8] == b"DHIP"
                document = json.loads(data[32 : 32 + size].rstrip(b"\x00\n"))
                found.append((addr, document))
                sock.settimeout(0.5)
        except TimeoutError:
            pass
    return found


async def test_a_search_written_from_the_wire_format_finds_a_200_device_fleet(clock):
    fleet = make_fleet(
        dahua_entry("nvr", count=20),
        dahua_camera("cam", count=180),
        clock=clock,
        address_pool="127.83.0.0/24",
    )
    server = await serve_dhip(DhipResponder(fleet, clock), "127.0.0.1", 0)
    try:
        found = await asyncio.to_thread(written_from_the_wire_format, ("127.0.0.1", server.port))
    finally:
        await server.close()
    assert len(found) == 200
    assert {d["mac"] for _, d in found} == {d.mac for d in fleet}
    # each reply comes from its device's own address and the DHIP port
    by_mac = {d.mac: d for d in fleet}
    for addr, document in found:
        assert addr == (by_mac[document["mac"]].network.ip, server.port)
        assert document["params"]["deviceInfo"]["SerialNo"] == by_mac[document["mac"]].serial


async def test_a_unicast_search_to_one_device_address_is_answered_by_it_alone(fleet, clock):
    server = await serve_dhip(DhipResponder(fleet, clock), "127.0.0.1", 0)
    cam = fleet.find("cam")
    try:
        found = await asyncio.to_thread(
            written_from_the_wire_format, (cam.network.ip, server.port), connect=True
        )
    finally:
        await server.close()
    assert [(addr[0], d["mac"]) for addr, d in found] == [(cam.network.ip, cam.mac)]


async def test_discover_dhip_dedupes_and_the_table_shows_each(fleet, clock):
    server = await serve_dhip(DhipResponder(fleet, clock), "127.0.0.1", 0)
    try:
        found = await discover_dhip("127.0.0.1", server.port, timeout=1.0)
    finally:
        await server.close()
    assert len(found) == 3
    table = format_dhip_table(found)
    assert fleet.find("nvr").serial in table and "no" in table.splitlines()[-1] + table


async def test_junk_datagrams_on_the_socket_do_not_stop_it(fleet, clock):
    server = await serve_dhip(DhipResponder(fleet, clock), "127.0.0.1", 0)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for junk_datagram in (b"", b"\xff", b"DHIP" * 100, dhip.build_header(5) + b"{}"):
                sock.sendto(junk_datagram, ("127.0.0.1", server.port))
        found = await discover_dhip("127.0.0.1", server.port, timeout=1.0)
    finally:
        await server.close()
    assert len(found) == 3


async def test_the_runner_starts_dhip_only_for_a_fleet_with_dahua(fleet, clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, control_port=None)
    async with Simulator(fleet, clock, config) as sim:
        assert "dhip" in sim.services and "dahua" in sim.describe()["devices"][0]
        assert "p2p" in fleet_table(fleet)
        found = await discover_dhip("127.0.0.1", sim.services["dhip"].port, timeout=1.0)
        assert len(found) == 3
    hik_only = make_fleet(hik_entry("hik", ports={"http": 0, "rtsp": 0}), clock=clock)
    async with Simulator(hik_only, clock, config) as sim:
        assert "dhip" not in sim.services


def test_nvrsim_discover_dhip_prints_a_200_device_fleet(tmp_path):
    child = """
import asyncio, json, subprocess, sys
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua.dhip import DhipResponder, serve_dhip
from nvrsim.simulator.runtime.fixtures import build_fleet

async def main():
    fleet = build_fleet(json.loads(sys.argv[1]))
    server = await serve_dhip(DhipResponder(fleet, VirtualClock()), "127.0.0.1", 0)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nvrsim", "discover", "dhip", "--port", str(server.port),
        "--timeout", "1.5", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await proc.communicate()
    await server.close()
    print(json.dumps({"out": out.decode(), "err": err.decode(), "rc": proc.returncode}))

asyncio.run(main())
"""
    raw = {
        "fleet": {"seed": "cli", "address_pool": "127.84.0.0/24"},
        "device": [dahua_entry("nvr", count=20), dahua_camera("cam", count=180)],
    }
    done = subprocess.run(
        [sys.executable, "-c", child, json.dumps(raw)], capture_output=True, text=True, timeout=30
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, result
    assert "200 device(s) answered" in result["err"]
    assert result["out"].count("IPC-HDW5831R-ZE") == 180
    assert result["out"].count("DHI-NVR4208-8P-4KS2") == 20


# --- multicast and broadcast inside a network namespace -----------------------------------

NETNS_CHILD = """
import asyncio, json, sys
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua.dhip import DhipResponder, discover_dhip, serve_dhip
from nvrsim.simulator.runtime.fixtures import build_fleet

async def main(raw_fleet, interface):
    fleet = build_fleet(json.loads(raw_fleet))
    server = await serve_dhip(DhipResponder(fleet, VirtualClock()), "0.0.0.0", 0, interface)
    try:
        multicast = await discover_dhip("239.255.255.251", server.port, 3.0, interface)
        broadcast = await discover_dhip("10.200.0.255", server.port, 3.0, interface)
    finally:
        await server.close()
    print(json.dumps({"multicast": multicast, "broadcast": broadcast}))

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.slow
def test_multicast_and_broadcast_searches_inside_a_network_namespace():
    raw = {
        "fleet": {"seed": "dhip-netns", "address_pool": "10.200.0.0/24"},
        "device": [dahua_entry("nvr", address="10.200.0.1/24"), dahua_camera("cam", count=3)],
    }
    fleet = make_fleet(*raw["device"], seed="dhip-netns", address_pool="10.200.0.0/24")
    result = run_json_in_netns(NETNS_CHILD, json.dumps(raw), NETNS_ADDRESS)
    for how in ("multicast", "broadcast"):
        assert {r["mac"] for r in result[how]} == {d.mac for d in fleet}, how


# --- fixtures -------------------------------------------------------------------------------


def test_dahua_fixture_mistakes_name_the_file_device_and_field():
    from nvrsim.simulator.runtime.fixtures import FixtureError, build_fleet

    with pytest.raises(
        FixtureError, match=r"f\.toml: device 'x' \(entry 1\): dahua.lock_login_times"
    ):
        build_fleet({"device": [dahua_entry("x", dahua={"lock_login_times": 0})]}, source="f.toml")
    with pytest.raises(FixtureError, match=r"device 'h' \(entry 1\): \(entry\): dahua: only Dahua"):
        build_fleet({"device": [hik_entry("h", dahua={})]}, source="f.toml")


def test_the_dahua_lockout_follows_general_and_a_factory_reset_forgets_the_password(clock):
    fleet = make_fleet(
        dahua_entry("nvr", dahua={"lock_login_times": 3, "login_fail_lock_time": 600}), clock=clock
    )
    nvr = fleet.find("nvr")
    assert (nvr.lockout.policy.max_failures, nvr.lockout.policy.lock_seconds) == (3, 600)
    assert nvr.p2p_online
    nvr.own_faults = Faults(cloud_offline=True)
    assert not nvr.p2p_online
    nvr.own_faults = Faults()
    nvr.dahua.dmss_account = "someone@example.com"
    nvr.factory_reset(clock.now())
    assert not nvr.activated and not nvr.p2p_online
    assert nvr.lockout.policy.max_failures == 5  # General back to its defaults
    assert nvr.dahua.dmss_account == "someone@example.com"  # the binding lives on the cloud


def test_dahua_state_round_trips_through_a_fixture_entry(clock):
    from nvrsim.simulator.runtime.fixtures import build_fleet
    from nvrsim.simulator.runtime.state import device_entry

    fleet = make_fleet(dahua_entry("nvr", dahua={"dmss_account": "a@example.com"}), clock=clock)
    entry = device_entry(fleet.find("nvr"))
    again = build_fleet({"fleet": {"seed": "test"}, "device": [entry]}).devices[0]
    assert device_entry(again) == entry and again.dahua.dmss_account == "a@example.com"


# --- aiodahua, a real client, inside a network namespace (it always uses port 37810) --------

AIODAHUA_CHILD = """
import asyncio, json, sys
from aiodahua import discovery
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.dhip import DhipResponder, serve_dhip
from nvrsim.simulator.runtime.fixtures import build_fleet

async def main(raw_fleet, interface):
    fleet = build_fleet(json.loads(raw_fleet))
    server = await serve_dhip(DhipResponder(fleet, VirtualClock()), "0.0.0.0", 37810, interface)
    try:
        found = await discovery.async_discover(source_ip=interface, timeout=1.5)
        cam = fleet.find("cam-1")
        proof = hashes.ha1("admin", hashes.realm(cam), "Demo12345")
        moved = await discovery.async_set_network_config(
            mac=cam.mac, ip="10.200.0.77", netmask="255.255.255.0", gateway="10.200.0.1",
            current_ip=cam.network.ip, password_hash=proof, source_ip=interface, timeout=1.5,
        )
    finally:
        await server.close()
    print(json.dumps({
        "found": [[d.mac, d.serial, d.ip, d.device_class, d.port] for d in found],
        "moved": moved.ip if moved else None,
    }))

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.slow
def test_aiodahua_discovers_the_fleet_and_re_addresses_a_camera():
    raw = {
        "fleet": {"seed": "aiodahua", "address_pool": "10.200.0.0/24"},
        "device": [dahua_entry("nvr"), dahua_camera("cam", count=3)],
    }
    fleet = make_fleet(*raw["device"], seed="aiodahua", address_pool="10.200.0.0/24")
    result = run_json_in_netns(AIODAHUA_CHILD, json.dumps(raw), NETNS_ADDRESS)
    expected = [
        [d.mac, d.serial, d.network.ip, "NVR" if d.kind == "nvr" else "IPC", 37777] for d in fleet
    ]
    assert sorted(result["found"]) == sorted(expected)
    assert result["moved"] == "10.200.0.77"


async def test_a_taken_dhip_port_is_reported_not_shared(fleet, clock):
    from nvrsim.simulator.runtime.runner import ServiceError

    first = await serve_dhip(DhipResponder(fleet, clock), "127.0.0.1", 0)
    try:
        config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=first.port, dmss_port=0)
        with pytest.raises(
            ServiceError, match=rf"DHIP: cannot listen on udp 127\.0\.0\.1:{first.port}"
        ):
            await Simulator(fleet, clock, config).start()
    finally:
        await first.close()
