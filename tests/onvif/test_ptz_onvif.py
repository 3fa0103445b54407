"""ONVIF PTZ over real sockets with onvif-zeep-async: moves on the simulation clock, limits,
presets and home; only models with a head list the service."""

from __future__ import annotations

import contextlib
import time

import pytest
from onvif import ONVIFCamera
from zeep.exceptions import Fault

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet

DOME = {"kind": "ipc", "model": "DS-2DE4425IW-DE", "firmware": "V5.7.3 build 220112"}
BULLET = {"kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.6.2build 190701"}
PTZ_NS = "http://www.onvif.org/ver20/ptz/wsdl"


@contextlib.asynccontextmanager
async def cameras_up(pool: str):
    """A PTZ dome, a fixed bullet and a pan/tilt D-Link camera, served on free ports."""
    # The client signs with the host's clock: the virtual clock starts there and moves
    # only when a test advances it (well within the tokens' 300 s freshness).
    clock = VirtualClock(time.time())
    fleet = make_fleet(
        hik_entry("dome", ports={"http": 0, "rtsp": 0}, ip_channels=1, **DOME),
        hik_entry("bullet", ports={"http": 0, "rtsp": 0}, ip_channels=1, **BULLET),
        {
            "name": "pan-tilt",
            "vendor": "dlink",
            "kind": "ipc",
            "model": "DCS-5020L",
            "firmware": "1.15.12",
            "admin_password": PASSWORD,
            "ports": {"http": 0, "rtsp": 0},
        },
        clock=clock,
        address_pool=pool,
    )
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        yield sim


@pytest.fixture
async def fleet_up():
    async with cameras_up("127.91.0.0/24") as sim:
        yield sim


def camera(device) -> ONVIFCamera:
    net = device.network
    return ONVIFCamera(net.ip, net.http_port, "admin", PASSWORD, no_cache=True)


async def position(ptz, token="Profile_1"):
    status = await ptz.GetStatus({"ProfileToken": token})
    zoom = status.Position.Zoom.x if status.Position.Zoom is not None else None
    moving = status.MoveStatus.PanTilt
    return (status.Position.PanTilt.x, status.Position.PanTilt.y, zoom), moving


async def test_continuous_move_stop_and_limits_through_onvif_zeep_async(fleet_up):
    dome, clock = fleet_up.fleet.find("dome"), fleet_up.clock
    cam = camera(dome)
    try:
        await cam.update_xaddrs()
        assert PTZ_NS in cam.xaddrs
        media = await cam.create_media_service()
        [profile] = await media.GetProfiles()
        assert profile.PTZConfiguration.NodeToken == "PTZNode_1"
        ptz = await cam.create_ptz_service()
        [node] = await ptz.GetNodes()
        spaces = node.SupportedPTZSpaces
        assert (spaces.AbsolutePanTiltPositionSpace[0].XRange.Min, node.HomeSupported) == (-1, True)
        assert node.MaximumNumberOfPresets == 300
        [config] = await ptz.GetConfigurations()
        options = await ptz.GetConfigurationOptions({"ConfigurationToken": config.token})
        assert options.Spaces.ContinuousZoomVelocitySpace[0].XRange.Max == 1
        assert await position(ptz) == ((0, 0, 0), "IDLE")

        request = {
            "ProfileToken": profile.token,
            "Velocity": {"PanTilt": {"x": 0.5, "y": -0.25}, "Zoom": {"x": 0.5}},
        }
        await ptz.ContinuousMove(request)
        clock.advance(1.0)
        (pan, tilt, zoom), moving = await position(ptz)
        assert (pan, tilt, zoom, moving) == (
            pytest.approx(0.5),
            pytest.approx(-0.25),
            pytest.approx(0.25),
            "MOVING",
        )
        await ptz.Stop({"ProfileToken": profile.token})
        clock.advance(10.0)
        assert await position(ptz) == ((pan, tilt, zoom), "IDLE")

        # Full speed right for a minute: the pan stops at the node's limit.
        await ptz.ContinuousMove(
            {"ProfileToken": profile.token, "Velocity": {"PanTilt": {"x": 1, "y": 0}}}
        )
        clock.advance(60.0)
        (pan, *_), moving = await position(ptz)
        assert (pan, moving) == (1.0, "IDLE")
        # A timeout ends a move by itself.
        await ptz.ContinuousMove(
            {
                "ProfileToken": profile.token,
                "Velocity": {"PanTilt": {"x": -1, "y": 0}},
                "Timeout": "PT0.5S",
            }
        )
        clock.advance(5.0)
        assert (await position(ptz))[0][0] == pytest.approx(0.5)

        with pytest.raises(Fault) as refused:
            await ptz.AbsoluteMove(
                {"ProfileToken": profile.token, "Position": {"PanTilt": {"x": 1.5, "y": 0}}}
            )
        assert refused.value.subcodes[-1].localname == "InvalidPosition"
        assert (await position(ptz))[0][0] == pytest.approx(0.5)
    finally:
        await cam.close()


async def test_presets_home_absolute_and_relative_moves(fleet_up):
    dome, clock = fleet_up.fleet.find("dome"), fleet_up.clock
    cam = camera(dome)
    try:
        await cam.update_xaddrs()
        ptz = await cam.create_ptz_service()
        token = "Profile_1"
        await ptz.AbsoluteMove(
            {
                "ProfileToken": token,
                "Position": {"PanTilt": {"x": 0.3, "y": -0.2}, "Zoom": {"x": 0.4}},
            }
        )
        clock.advance(0.1)
        assert (await position(ptz))[1] == "MOVING"
        clock.advance(5)
        assert await position(ptz) == (
            (pytest.approx(0.3), pytest.approx(-0.2), pytest.approx(0.4)),
            "IDLE",
        )
        gate = await ptz.SetPreset({"ProfileToken": token, "PresetName": "gate"})
        assert gate == "1"
        await ptz.SetHomePosition({"ProfileToken": token})
        await ptz.RelativeMove(
            {"ProfileToken": token, "Translation": {"PanTilt": {"x": -0.5, "y": 0.1}}}
        )
        clock.advance(5)
        assert (await position(ptz))[0][:2] == (pytest.approx(-0.2), pytest.approx(-0.1))
        [preset] = await ptz.GetPresets({"ProfileToken": token})
        assert (preset.token, preset.Name, preset.PTZPosition.PanTilt.x) == (
            "1",
            "gate",
            pytest.approx(0.3),
        )
        await ptz.GotoPreset({"ProfileToken": token, "PresetToken": "1"})
        clock.advance(5)
        assert (await position(ptz))[0] == (
            pytest.approx(0.3),
            pytest.approx(-0.2),
            pytest.approx(0.4),
        )
        await ptz.ContinuousMove({"ProfileToken": token, "Velocity": {"PanTilt": {"x": 1, "y": 1}}})
        clock.advance(0.5)
        await ptz.GotoHomePosition({"ProfileToken": token})
        clock.advance(5)
        assert (await position(ptz))[0][:2] == (pytest.approx(0.3), pytest.approx(-0.2))
        await ptz.RemovePreset({"ProfileToken": token, "PresetToken": "1"})
        assert await ptz.GetPresets({"ProfileToken": token}) == []
        with pytest.raises(Fault) as refused:
            await ptz.GotoPreset({"ProfileToken": token, "PresetToken": "1"})
        assert refused.value.subcodes[-1].localname == "NoToken"
    finally:
        await cam.close()


async def test_a_camera_without_ptz_lists_no_ptz_service(fleet_up):
    bullet = fleet_up.fleet.find("bullet")
    cam = camera(bullet)
    try:
        await cam.update_xaddrs()
        assert PTZ_NS not in cam.xaddrs
        capabilities = await (await cam.create_devicemgmt_service()).GetCapabilities(
            {"Category": "All"}
        )
        assert capabilities.PTZ is None and capabilities.Imaging is not None
        [profile] = await (await cam.create_media_service()).GetProfiles()
        assert profile.PTZConfiguration is None
    finally:
        await cam.close()


async def test_a_pan_tilt_camera_has_no_zoom_space(fleet_up):
    pan_tilt, clock = fleet_up.fleet.find("pan-tilt"), fleet_up.clock
    cam = camera(pan_tilt)
    try:
        await cam.update_xaddrs()
        ptz = await cam.create_ptz_service()
        [node] = await ptz.GetNodes()
        assert node.SupportedPTZSpaces.AbsoluteZoomPositionSpace == []
        await ptz.ContinuousMove(
            {
                "ProfileToken": "Profile_1",
                "Velocity": {"PanTilt": {"x": 0, "y": 1}, "Zoom": {"x": 1}},
            }
        )
        clock.advance(0.5)
        (pan, tilt, zoom), _ = await position(ptz)
        assert (pan, tilt, zoom) == (0, pytest.approx(0.5), None)
    finally:
        await cam.close()


@pytest.mark.parametrize("service", ["ptz_service", "imaging_service", "media2_service"])
async def test_junk_to_the_new_services_gets_a_soap_fault_over_http(fleet_up, service):
    from tests.onvif.test_onvif_clients import post

    dome = fleet_up.fleet.find("dome")
    for body in (b"not xml", b"<x/>", b"<a>" * 100_000):
        status, content_type, data = await post(dome, f"/onvif/{service}", body)
        assert (status, content_type) == (400, "application/soap+xml")
        assert b"Fault" in data
