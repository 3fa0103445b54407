"""Registry-wide checks: every vendor in simulator/vendors.py, run over the demo fleet,
which has devices of each; a vendor added to the list gets the same checks."""

import json
from dataclasses import asdict

import aiohttp
import pytest

from nvrsim.protocols.wsdiscovery import build_probe, decode_announcement
from nvrsim.simulator.onvif.wsd import WsdResponder
from nvrsim.simulator.runtime.fixtures import build_fleet, load_fleet
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from nvrsim.simulator.runtime.state import StateDir, device_entry
from nvrsim.simulator.vendors import vendor_of, vendors
from tests.conftest import on_free_ports

VENDORS = [v.name for v in vendors()]


def of_vendor(fleet, name):
    found = list(fleet.of_vendor(name))
    assert found, f"the demo fleet has no {name} device"
    return found


@pytest.fixture
def demo(clock):
    return on_free_ports(load_fleet(now=clock.now()))


@pytest.mark.parametrize("vendor", VENDORS)
def test_its_devices_are_its_class_with_its_sections(demo, vendor):
    for device in of_vendor(demo, vendor):
        assert isinstance(device, vendor_of(device).device) and device.vendor == vendor
        entry = device_entry(device)
        for section in vendor_of(device).sections:
            assert section.name in entry


@pytest.mark.parametrize("vendor", VENDORS)
def test_state_round_trip(demo, vendor, tmp_path):
    store = StateDir(tmp_path)
    store.save_all(demo)
    resumed = store.load()
    for device in of_vendor(demo, vendor):
        again = resumed.by_serial(device.serial)
        assert type(again) is type(device) and device_entry(again) == device_entry(device)
        rebuilt = build_fleet({"device": [device_entry(device)]}).devices[0]
        assert device_entry(rebuilt) == device_entry(device)


@pytest.mark.parametrize("vendor", VENDORS)
def test_factory_reset(demo, vendor, clock):
    for device in of_vendor(demo, vendor):
        before = device.boot_time
        clock.advance(5)
        device.factory_reset(clock.now())
        assert device.admin_password == device.factory_password
        assert device.boot_time > before  # it rebooted
        assert not device.motion_detection
        assert device_entry(device)["serial"] == device.serial  # its identity stays


@pytest.mark.parametrize("vendor", VENDORS)
def test_ws_discovery_finds_its_devices(demo, vendor, clock):
    replies = WsdResponder(demo, clock).handle(
        build_probe("urn:uuid:p1"), ("127.0.0.1", 40000), multicast=True
    )
    answered = {decode_announcement(data).address for data, _ in replies}
    for device in of_vendor(demo, vendor):
        if device.can("onvif") and device.onvif.discoverable:
            assert f"urn:uuid:{device.uuid}" in answered


async def test_every_vendor_in_the_control_api_and_ready_file(demo, clock, tmp_path):
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dlink_port=0, ssdp_port=0)
    config.portal_port = config.dmss_port = config.control_port = 0
    async with Simulator(demo, clock, config) as sim, aiohttp.ClientSession() as http:
        sim.write_ready_file(tmp_path / "ready.json")
        ready = json.loads((tmp_path / "ready.json").read_text())
        control = sim.services["control"]
        async with http.get(f"http://{control.host}:{control.port}/api/devices") as reply:
            listed = await reply.json()
    for vendor in VENDORS:
        serials = {d.serial for d in of_vendor(demo, vendor)}
        assert serials <= {d["serial"] for d in ready["devices"] if d["vendor"] == vendor}
        assert serials <= {d["serial"] for d in listed if d["vendor"] == vendor}
        for doc in (d for d in listed if d["vendor"] == vendor):
            cloud = demo.by_serial(doc["serial"]).cloud
            assert doc["cloud"] == (None if cloud is None else asdict(cloud))
