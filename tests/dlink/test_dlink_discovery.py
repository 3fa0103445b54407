"""D-Link discovery: UDP 5978 and SSDP, pure responders, real sockets, the runner and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvrsim.protocols import dlink_discovery as wire
from nvrsim.simulator.dlink.discovery import (
    DldpsResponder,
    SsdpResponder,
    discover_dldps,
    discover_ssdp,
)
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator, fleet_table
from tests.conftest import hik_entry, make_fleet
from tests.dlink.test_nipca import dlink_entry

PEER = ("127.0.0.1", 40000)


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dlink_entry("cam", ports={"http": 0, "rtsp": 0}, mydlink={"account": "me@example.com"}),
        dlink_entry("old", model="DCS-942L", firmware="1.27.00", ports={"http": 0, "rtsp": 0}),
        dlink_entry(
            "nvr", kind="nvr", model="DNR-322L", firmware="2.10.01", ports={"http": 0, "rtsp": 0}
        ),
        hik_entry("hik", ports={"http": 0, "rtsp": 0}),
        clock=clock,
        address_pool="127.81.0.0/24",
    )


def msearch(target: str) -> bytes:
    return (
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        f'MAN: "ssdp:discover"\r\nMX: 2\r\nST: {target}\r\n\r\n'
    ).encode()


# --- UDP 5978 --------------------------------------------------------------------------------


def test_a_broadcast_inquiry_gets_one_answer_per_dlink_device(fleet):
    replies = DldpsResponder(fleet).handle(wire.build_inquiry(), PEER)
    answers = [wire.decode_dldps(r) for r in replies]
    assert [a.kind for a in answers] == [wire.ANSWER] * 3
    cam = fleet.find("cam")
    first = answers[0].fields
    assert first["M"] == cam.mac.upper() and first["S"] == cam.serial and first["R"] == "1"
    assert list(first) == list(wire.ANSWER_KEYS)


def test_an_inquiry_can_name_a_mac_or_a_model_prefix(fleet):
    responder, nvr = DldpsResponder(fleet), fleet.find("nvr")
    only_nvr = responder.handle(wire.build_inquiry(mac=nvr.mac.replace(":", "-")), PEER)
    assert [wire.decode_dldps(r).fields["S"] for r in only_nvr] == [nvr.serial]
    cameras = responder.handle(wire.build_inquiry(device_type="dcs"), PEER)
    assert len(cameras) == 2


def test_commands_and_answers_are_never_answered(fleet):
    responder = DldpsResponder(fleet)
    command = wire.build_dldps(wire.COMMAND, {"M": wire.BROADCAST_MAC, "C": "aWQ=", "test": "1111"})
    assert responder.handle(command, PEER) == []
    answer = responder.handle(wire.build_inquiry(), PEER)[0]
    assert responder.handle(answer, PEER) == []


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=60).map(lambda b: len(b).to_bytes(2, "big") + b"A" + b),
    )
)
def test_junk_datagrams_are_never_answered_and_never_crash(datagram):
    fleet = make_fleet(dlink_entry())
    before = repr(fleet.devices[0])
    assert DldpsResponder(fleet).handle(datagram, PEER) == []
    assert SsdpResponder(fleet).handle(datagram, PEER) == []
    assert repr(fleet.devices[0]) == before


# --- SSDP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "answered_st"),
    [
        ("ssdp:all", wire.BASIC_DEVICE),
        ("upnp:rootdevice", "upnp:rootdevice"),
        ("urn:schemas-upnp-org:device:Basic:1.0", "urn:schemas-upnp-org:device:Basic:1.0"),
    ],
)
def test_m_search_answers(fleet, target, answered_st):
    replies = SsdpResponder(fleet).handle(msearch(target), PEER)
    assert len(replies) == 3
    headers = wire.decode_search_response(replies[0])
    cam = fleet.find("cam")
    assert headers["ST"] == answered_st
    assert headers["LOCATION"] == (
        f"http://{cam.network.ip}:{cam.network.http_port}{wire.DESCRIPTION_PATH}"
    )
    assert headers["USN"].startswith(f"uuid:{cam.uuid}")


def test_m_search_for_one_uuid_or_another_type(fleet):
    cam = fleet.find("cam")
    assert len(SsdpResponder(fleet).handle(msearch(f"uuid:{cam.uuid}"), PEER)) == 1
    assert (
        SsdpResponder(fleet).handle(msearch("urn:dial-multiscreen-org:service:dial:1"), PEER) == []
    )
    notify = b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n"
    assert SsdpResponder(fleet).handle(notify, PEER) == []


# --- on real sockets, through the runner ----------------------------------------------------


@pytest.fixture
async def simulator(fleet, clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, dlink_port=0, ssdp_port=0, portal_port=0)
    async with Simulator(fleet, clock, config) as sim:
        yield sim


async def test_discovery_then_nipca_like_hass_nipca(simulator):
    """SSDP → LOCATION → presentationURL → /common/info.cgi, as hass_nipca finds cameras."""
    found = await discover_ssdp("127.0.0.1", simulator.services["ssdp"].port, timeout=0.5)
    assert len(found) == 3
    cam = simulator.fleet.find("cam")
    location = next(f["LOCATION"] for f in found if cam.network.ip in f["LOCATION"])
    async with aiohttp.ClientSession() as session:
        async with session.get(location) as reply:
            description = await reply.text()
        assert f"<serialNumber>{cam.serial}</serialNumber>" in description
        presentation = description.split("<presentationURL>")[1].split("<")[0]
        headers = {"Authorization": aiohttp.encode_basic_auth("admin", "Demo12345")}
        async with session.get(presentation + "common/info.cgi", headers=headers) as reply:
            assert "model=DCS-2132LB1" in await reply.text()
    answers = await discover_dldps("127.0.0.1", simulator.services["dlink"].port, timeout=0.5)
    assert sorted(a["S"] for a in answers) == sorted(
        d.serial for d in simulator.fleet.of_vendor("dlink")
    )


async def test_the_runner_describes_dlink_services_and_devices(simulator):
    described = simulator.describe()
    assert {"sadp", "dlink", "ssdp", "portal"} <= set(described["services"])
    cam = next(d for d in described["devices"] if d["name"] == "cam")
    assert cam["mydlink"]["account"] == "me@example.com" and cam["hardware_version"] == "B1"
    row = next(line for line in fleet_table(simulator.fleet).splitlines() if line.startswith("cam"))
    assert "mydlink" in row and "me@example.com" in row


async def test_a_fleet_without_dlink_devices_starts_no_dlink_service(clock):
    fleet = make_fleet(hik_entry(ports={"http": 0, "rtsp": 0}), address_pool="127.81.1.0/24")
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        assert set(sim.services) == {"sadp", "wsd"}


def test_discover_dlink_cli_prints_a_table(tmp_path):
    """`nvrsim discover dlink` against a fleet served by `nvrsim run` in a child process."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[fleet]\nseed = "cli"\naddress_pool = "127.82.0.0/24"\n\n'
        '[[device]]\nname = "cam"\nvendor = "dlink"\nkind = "ipc"\nmodel = "DCS-942L"\n'
        'firmware = "1.27.00"\nadmin_password = ""\nports = { http = 0, rtsp = 0 }\n',
        encoding="utf-8",
    )
    ready = tmp_path / "ready.json"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nvrsim",
            "run",
            str(fleet),
            "--sadp-port",
            "0",
            "--dlink-port",
            "0",
            "--ssdp-port",
            "0",
            "--portal-port",
            "0",
            "--control-port",
            "0",
            "--wsd-port",
            "0",
            "--broker-port",
            "0",
            "--cloud-port",
            "0",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = []
        for line in run.stdout:
            banner.append(line)
            if line.startswith("ready: "):
                break
        text = "".join(banner)
        assert re.search(r"^PORTAL +http://127\.0\.0\.1:\d+$", text, re.M)
        assert re.search(r"^DLINK +udp://127\.0\.0\.1:\d+$", text, re.M)
        services = json.loads(ready.read_text())["services"]
        for extra in ([], ["--ssdp"]):
            name = "ssdp" if extra else "dlink"
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nvrsim",
                    "discover",
                    "dlink",
                    *extra,
                    "--port",
                    str(services[name]["port"]),
                    "--timeout",
                    "0.5",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 0, result.stderr
            assert "1 device(s) answered" in result.stderr
            assert ("DCS-942L" in result.stdout) and ("127.82.0.2" in result.stdout)
    finally:
        run.kill()
        run.communicate()


def test_dlink_discovery_suffers_each_devices_faults_and_reboots(fleet):
    from nvrsim.simulator.core.faults import Faults, malformed

    cam, old, nvr = (fleet.find(n) for n in ("cam", "old", "nvr"))
    cam.own_faults = Faults(discovery_drop=100)
    old.own_faults = Faults(discovery_malformed=True, discovery_delay=0.5)
    nvr.powered = False  # mid-reboot
    for responder, ask in (
        (DldpsResponder(fleet), wire.build_inquiry()),
        (SsdpResponder(fleet), msearch("ssdp:all")),
    ):
        meant = responder.handle(ask, PEER)
        assert len(meant) == 2  # cam and old: the rebooting recorder is silent
        (sent,) = responder.respond(ask, PEER)  # cam's reply is dropped
        assert sent.data == malformed(meant[1]) and sent.delay == 0.5
