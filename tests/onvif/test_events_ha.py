"""Home Assistant's ONVIF set-up and event sequence, driven with onvif-zeep-async against
a running fleet: motion raised through the control API arrives by PullMessages and by
a Basic Notification webhook; event_drop and event_delay as the client sees them."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from aiohttp import web
from onvif import ONVIFCamera
from zeep.exceptions import Fault

from nvrsim.simulator.cli.main import main
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet, until

CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "ip_channels": 1, "disks": 0}
PULLPOINT = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"
RESOURCE_UNKNOWN = "{http://docs.oasis-open.org/wsrf/rw-2}ResourceUnknownFault"


def subcodes(fault: Fault) -> list[str]:
    return [code.text for code in fault.subcodes or []]


@pytest.fixture
async def sim():
    # onvif-zeep-async signs with the host's clock: the device clock starts from it.
    clock = VirtualClock(time.time())
    fleet = make_fleet(
        hik_entry("cam", ports={"http": 0, "rtsp": 0}, **CAMERA),
        clock=clock,
        address_pool="127.84.0.0/24",
    )
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0)
    async with Simulator(fleet, clock, config) as sim:
        yield sim


async def control(sim, method: str, path: str, body=None):
    service = sim.services["control"]
    url = f"http://{service.host}:{service.port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as r:
        return r.status, await r.json()


async def raise_motion(sim, device, **body):
    status, reply = await control(
        sim, "POST", f"/api/devices/{device.serial}/events", {"type": "motion", **body}
    )
    assert status in (200, 201), reply
    return reply


def states(response) -> dict[str, tuple[str, str, str]]:
    """topic -> (PropertyOperation, the data item's name, its value), the last of each."""
    found = {}
    for msg in response.NotificationMessage:
        message = msg.Message._value_1
        item = message.Data.SimpleItem[0]
        found[msg.Topic._value_1] = (message.PropertyOperation, item.Name, item.Value)
    return found


async def pull(pullpoint, seconds: float = 5):
    return await pullpoint.PullMessages(
        {"MessageLimit": 100, "Timeout": dt.timedelta(seconds=seconds)}
    )


async def test_home_assistant_set_up_then_motion_by_pull_point(sim):
    device = sim.fleet.devices[0]
    net = device.network
    cam = ONVIFCamera(net.ip, net.http_port, "admin", PASSWORD, no_cache=True)
    try:
        await cam.update_xaddrs()  # GetSystemDateAndTime, then GetServices
        devicemgmt = await cam.create_devicemgmt_service()
        capabilities = await devicemgmt.GetCapabilities({"Category": "All"})
        assert capabilities.Events.WSPullPointSupport is True
        await devicemgmt.GetSystemDateAndTime()
        info = await devicemgmt.GetDeviceInformation()
        assert info.SerialNumber == device.serial
        [nic] = await devicemgmt.GetNetworkInterfaces()
        assert nic.Info.HwAddress == device.mac
        events = await cam.create_events_service()
        event_caps = await events.GetServiceCapabilities()
        assert event_caps.WSPullPointSupport is True
        media = await cam.create_media_service()
        [profile] = await media.GetProfiles()
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        uri = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": profile.token})
        assert uri.Uri.startswith(f"rtsp://{net.ip}:{net.rtsp_port}/")
        await media.GetSnapshotUri({"ProfileToken": profile.token})

        manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=60), lambda: None)
        await manager.set_synchronization_point()
        pullpoint = manager.get_service()
        initial = states(await pull(pullpoint, 0))
        assert initial["tns1:VideoSource/MotionAlarm"] == ("Initialized", "State", "false")
        assert initial["tns1:RuleEngine/CellMotionDetector/Motion"][0] == "Initialized"

        # as a tester types it: `nvrsim ctl event cam motion --for 10s`
        control_api = sim.services["control"]
        api = f"http://{control_api.host}:{control_api.port}"
        argv = ["ctl", "--api", api, "event", "cam", "motion", "--for", "10s"]
        assert await asyncio.to_thread(main, argv) == 0
        started = states(await pull(pullpoint))
        assert started["tns1:VideoSource/MotionAlarm"] == ("Changed", "State", "true")
        assert started["tns1:RuleEngine/CellMotionDetector/Motion"] == (
            "Changed",
            "IsMotion",
            "true",
        )
        await control(sim, "POST", "/api/clock/advance", {"seconds": 10})
        stopped = states(await pull(pullpoint))
        assert stopped["tns1:VideoSource/MotionAlarm"] == ("Changed", "State", "false")

        subscription = await cam.create_subscription_service("PullPointSubscription")
        renewed = await subscription.Renew("PT120S")
        assert renewed.TerminationTime - renewed.CurrentTime == dt.timedelta(seconds=120)
        await subscription.Unsubscribe()
        with pytest.raises(Fault) as gone:
            await pull(pullpoint, 0)
        assert subcodes(gone.value) == [RESOURCE_UNKNOWN]

        # A subscription left alone expires on the simulation clock.
        created = await events.CreatePullPointSubscription({"InitialTerminationTime": "PT60S"})
        cam.xaddrs[PULLPOINT] = created.SubscriptionReference.Address._value_1
        second = await cam.create_pullpoint_service()
        await pull(second, 0)
        await control(sim, "POST", "/api/clock/advance", {"seconds": 61})
        with pytest.raises(Fault) as expired:
            await pull(second, 0)
        assert subcodes(expired.value) == [RESOURCE_UNKNOWN]
        await manager.shutdown()
    finally:
        await cam.close()


async def test_a_webhook_subscription_receives_notify_for_motion(sim):
    device = sim.fleet.devices[0]
    notified: list[dict[str, str]] = []

    async def consumer(request: web.Request) -> web.Response:
        root = ET.fromstring(await request.read())
        for message in root.iter("{http://docs.oasis-open.org/wsn/b-2}NotificationMessage"):
            topic = message.findtext("{http://docs.oasis-open.org/wsn/b-2}Topic")
            item = message.find(".//{http://www.onvif.org/ver10/schema}Data/*")
            assert item is not None
            notified.append({"topic": topic or "", item.get("Name", ""): item.get("Value", "")})
        return web.Response()

    app = web.Application()
    app.router.add_post("/onvif_notify", consumer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    address = f"http://127.0.0.1:{runner.addresses[0][1]}/onvif_notify"
    net = device.network
    cam = ONVIFCamera(net.ip, net.http_port, "admin", PASSWORD, no_cache=True)
    try:
        await cam.update_xaddrs()
        manager = await cam.create_notification_manager(
            address, dt.timedelta(seconds=60), lambda: None
        )
        await until(lambda: len(notified) > 0, "the Initialized messages were pushed")
        notified.clear()
        await raise_motion(sim, device)
        wanted = {"topic": "tns1:VideoSource/MotionAlarm", "State": "true"}
        await until(lambda: wanted in notified, "Notify carried MotionAlarm State true")
        await manager.shutdown()
    finally:
        await cam.close()
        await runner.cleanup()


MOTION = "tns1:VideoSource/MotionAlarm"


async def test_dropped_and_delayed_motion_seen_by_a_pull_point(sim):
    device = sim.fleet.devices[0]
    net = device.network
    faults = f"/api/devices/{device.serial}/faults"
    cam = ONVIFCamera(net.ip, net.http_port, "admin", PASSWORD, no_cache=True)
    try:
        await cam.update_xaddrs()
        manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=600), lambda: None)
        pullpoint = manager.get_service()
        await pull(pullpoint, 0)  # the Initialized messages

        await control(sim, "PUT", faults, {"event_drop": 100})
        await raise_motion(sim, device, **{"for": 5})
        assert states(await pull(pullpoint, 0.3)) == {}
        await control(sim, "POST", "/api/clock/advance", {"seconds": 5})
        assert states(await pull(pullpoint, 0.3)) == {}  # its stop is dropped too

        await control(sim, "PUT", faults, {"event_drop": 0, "event_delay": 30})
        await raise_motion(sim, device)
        assert states(await pull(pullpoint, 0.3)) == {}
        await control(sim, "POST", "/api/clock/advance", {"seconds": 30})
        late = await pull(pullpoint)
        assert states(late)[MOTION] == ("Changed", "State", "true")
        [message] = [m for m in late.NotificationMessage if m.Topic._value_1 == MOTION]
        assert late.CurrentTime - message.Message._value_1.UtcTime >= dt.timedelta(seconds=30)
        await manager.shutdown()
    finally:
        await cam.close()


async def test_the_event_addresses_answer_garbage_with_soap_faults(sim):
    device = sim.fleet.devices[0]
    base = f"http://{device.network.ip}:{device.network.http_port}/onvif"
    async with aiohttp.ClientSession() as session:
        for method, path, body in (
            ("GET", "/events_service", b""),
            ("POST", "/events_service", b"<not soap"),
            ("POST", "/subscription/nope", b"\xff\xfe"),
            ("PUT", "/subscription/nope", b""),
        ):
            async with session.request(method, base + path, data=body) as reply:
                assert reply.status == 400, (method, path)
                assert b"env:Fault" in await reply.read()
    assert device.events.subscribers == 0
