"""ONVIF over HTTP on each device's own web server, driven by onvif-zeep-async and aiohttp."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from onvif import ONVIFCamera
from onvif.util import is_auth_error
from zeep.exceptions import Fault

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet

CAMERA = {
    "kind": "ipc",
    "model": "DS-2CD2385G1-I",
    "firmware": "V5.6.2build 190701",
    "ip_channels": 1,
}
SOAP_NS = {"env": "http://www.w3.org/2003/05/soap-envelope"}


@pytest.fixture
async def fleet_up():
    # onvif-zeep-async signs with the host's clock: the device clock starts from it,
    # and then stands still (a VirtualClock), an hour behind with the skew below.
    clock = VirtualClock(time.time())
    fleet = make_fleet(
        hik_entry("nvr", ports={"http": 0, "rtsp": 0}),
        hik_entry("cam", ports={"http": 0, "rtsp": 0}, onvif={"clock_skew": -3600}, **CAMERA),
        clock=clock,
        address_pool="127.82.0.0/24",
    )
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        yield sim


def camera(device, password: str = PASSWORD, **kwargs) -> ONVIFCamera:
    net = device.network
    return ONVIFCamera(net.ip, net.http_port, "admin", password, no_cache=True, **kwargs)


async def test_onvif_zeep_async_connects_offline(fleet_up):
    nvr = fleet_up.fleet.devices[0]
    cam = camera(nvr)
    try:
        await cam.update_xaddrs()
        base = f"http://{nvr.network.ip}:{nvr.network.http_port}/onvif"
        assert cam.xaddrs == {
            "http://www.onvif.org/ver10/device/wsdl": f"{base}/device_service",
            "http://www.onvif.org/ver10/media/wsdl": f"{base}/media_service",
            "http://www.onvif.org/ver10/events/wsdl": f"{base}/events_service",
            "http://www.onvif.org/ver20/media/wsdl": f"{base}/media2_service",
            "http://www.onvif.org/ver20/imaging/wsdl": f"{base}/imaging_service",
        }  # no PTZ: a recorder has no head
        devicemgmt = await cam.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        assert (info.Manufacturer, info.Model, info.SerialNumber) == (
            "HIKVISION",
            nvr.model,
            nvr.serial,
        )
        assert info.FirmwareVersion == nvr.firmware.text
        [nic] = await devicemgmt.GetNetworkInterfaces()
        assert nic.Enabled and nic.Info.HwAddress == nvr.mac
        media = await cam.create_media_service()
        profiles = await media.GetProfiles()
        assert len(profiles) == 8
        assert profiles[0].VideoEncoderConfiguration.Encoding == "H264"  # what HA checks
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        uri = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": profiles[0].token})
        assert uri.Uri.startswith(
            f"rtsp://{nvr.network.ip}:{nvr.network.rtsp_port}/Streaming/Channels/101"
        )
    finally:
        await cam.close()


async def test_a_skewed_device_is_reached_with_adjust_time_and_serves_a_jpeg(fleet_up):
    cam_device = fleet_up.fleet.devices[1]
    cam = camera(cam_device, adjust_time=True)
    try:
        await cam.update_xaddrs()
        assert abs(cam.dt_diff.total_seconds() + 3600) < 60
        media = await cam.create_media_service()
        [profile] = await media.GetProfiles()
        snapshot = await cam.get_snapshot(profile.token)
    finally:
        await cam.close()
    assert snapshot[:2] == b"\xff\xd8"
    pil = pytest.importorskip("PIL.Image", reason="Pillow decodes the snapshot")
    image = pil.open(io.BytesIO(snapshot))
    image.load()
    main = cam_device.main_stream  # the video's test card, at the main stream's size
    assert image.format == "JPEG" and image.size == (main.width, main.height)
    # Without adjust_time the host's clock is an hour off the device's: refused, not counted.
    plain = camera(cam_device)
    try:
        with pytest.raises(Fault):
            await plain.update_xaddrs()
    finally:
        await plain.close()
    assert cam_device.lockout.retries_left("127.0.0.1", fleet_up.clock.now()) == 7


async def test_a_wrong_password_is_an_auth_error_and_counts(fleet_up):
    nvr = fleet_up.fleet.devices[0]
    cam = camera(nvr, "Wrong1234")
    try:
        with pytest.raises(Fault) as caught:
            await cam.update_xaddrs()
    finally:
        await cam.close()
    assert is_auth_error(caught.value)
    assert caught.value.message == "Sender not Authorized"
    # GetServices, then the GetCapabilities fallback: two tries of the shared seven.
    assert nvr.lockout.retries_left("127.0.0.1", fleet_up.clock.now()) == 5


async def post(device, path: str, body: bytes, **kwargs) -> tuple[int, str, bytes]:
    url = f"http://{device.network.ip}:{device.network.http_port}{path}"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, **kwargs) as reply:
        return reply.status, reply.content_type, await reply.read()


@pytest.mark.parametrize(
    "path, body",
    [
        ("/onvif/device_service", b"not xml"),
        ("/onvif/device_service", b"<a>" * 100_000),  # over the body cap
        ("/onvif/nothing_here", b"<x/>"),
        ("/onvif/", b""),
    ],
)
async def test_bad_requests_get_soap_faults_from_the_web_server(fleet_up, path, body):
    nvr = fleet_up.fleet.devices[0]
    status, content_type, data = await post(nvr, path, body)
    assert status == 400 and content_type == "application/soap+xml"
    assert ET.fromstring(data).find("env:Body/env:Fault", SOAP_NS) is not None


async def test_isapi_still_answers_beside_onvif(fleet_up):
    nvr = fleet_up.fleet.devices[0]
    url = f"http://{nvr.network.ip}:{nvr.network.http_port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/ISAPI/nothing") as reply:
            assert reply.status == 404 and b"notSupport" in await reply.read()
        async with session.get(f"{url}/onvif/device_service") as reply:
            assert reply.status == 400 and b"ActionNotSupported" in await reply.read()
        async with session.get(f"{url}/onvif/snapshot?Profile_1") as reply:
            assert reply.status == 401 and "Digest" in reply.headers["WWW-Authenticate"]


async def test_services_with_their_capabilities_parse_in_zeep(fleet_up):
    """IncludeCapability and GetServiceCapabilities, read by the real client's schema."""
    nvr = fleet_up.fleet.devices[0]
    cam = camera(nvr)
    try:
        await cam.update_xaddrs()
        devicemgmt = await cam.create_devicemgmt_service()
        bare = await devicemgmt.GetServices({"IncludeCapability": False})
        assert [s.Capabilities for s in bare] == [None] * 5
        full = await devicemgmt.GetServices({"IncludeCapability": True})
        assert [s.Namespace for s in full] == [
            "http://www.onvif.org/ver10/device/wsdl",
            "http://www.onvif.org/ver10/media/wsdl",
            "http://www.onvif.org/ver10/events/wsdl",
            "http://www.onvif.org/ver20/media/wsdl",
            "http://www.onvif.org/ver20/imaging/wsdl",
        ]
        assert all(s.Capabilities is not None for s in full)
        device_caps = await devicemgmt.GetServiceCapabilities()
        assert device_caps.Security.UsernameToken and device_caps.System.DiscoveryBye
        assert device_caps.Network.IPVersion6 is False
        media = await cam.create_media_service()
        media_caps = await media.GetServiceCapabilities()
        assert media_caps.SnapshotUri is True
        assert media_caps.ProfileCapabilities.MaximumNumberOfProfiles == 8
        assert media_caps.StreamingCapabilities.RTP_RTSP_TCP is True
    finally:
        await cam.close()


async def test_a_dahua_recorder_speaks_onvif_beside_rpc2():
    from tests.dahua.test_dhip import dahua_entry

    clock = VirtualClock(time.time())
    fleet = make_fleet(dahua_entry("xvr"), clock=clock, address_pool="127.86.0.0/24")
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0)
    async with Simulator(fleet, clock, config):
        xvr = fleet.devices[0]
        cam = camera(xvr)
        try:
            await cam.update_xaddrs()
            info = await (await cam.create_devicemgmt_service()).GetDeviceInformation()
            assert (info.Manufacturer, info.SerialNumber) == ("Dahua", xvr.serial)
            media = await cam.create_media_service()
            profiles = await media.GetProfiles()
            setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
            uri = await media.GetStreamUri(
                {"StreamSetup": setup, "ProfileToken": profiles[0].token}
            )
            assert uri.Uri.endswith("/cam/realmonitor?channel=1&subtype=0&unicast=true&proto=Onvif")
        finally:
            await cam.close()
