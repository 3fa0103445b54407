"""ONVIF imaging over real sockets with onvif-zeep-async: settings round trip, options,
refusals with the specification's fault that change nothing."""

from __future__ import annotations

import pytest
from zeep.exceptions import Fault

from tests.onvif.test_ptz_onvif import camera, cameras_up


@pytest.fixture
async def fleet_up():
    async with cameras_up("127.92.0.0/24") as sim:
        yield sim


async def test_imaging_settings_round_trip_within_the_options(fleet_up):
    dome = fleet_up.fleet.find("dome")
    cam = camera(dome)
    try:
        await cam.update_xaddrs()
        imaging = await cam.create_imaging_service()
        source = {"VideoSourceToken": "VideoSource_1"}
        capabilities = await imaging.GetServiceCapabilities()
        assert capabilities.ImageStabilization is False
        options = await imaging.GetOptions(source)
        assert (options.Brightness.Min, options.Brightness.Max) == (0, 100)
        assert options.IrCutFilterModes == ["ON", "OFF", "AUTO"]
        settings = await imaging.GetImagingSettings(source)
        assert (settings.Brightness, settings.IrCutFilter, settings.WideDynamicRange.Mode) == (
            50,
            "AUTO",
            "OFF",
        )
        await imaging.SetImagingSettings(
            {
                **source,
                "ImagingSettings": {
                    "Brightness": 70,
                    "Contrast": 35.5,
                    "IrCutFilter": "OFF",
                    "WideDynamicRange": {"Mode": "ON", "Level": 80},
                },
                "ForcePersistence": True,
            }
        )
        settings = await imaging.GetImagingSettings(source)
        assert (settings.Brightness, settings.Contrast, settings.ColorSaturation) == (70, 35.5, 50)
        assert (settings.IrCutFilter, settings.WideDynamicRange.Level) == ("OFF", 80)
        assert dome.imaging.get(1).brightness == 70  # kept on the device

        for bad in (
            {"Brightness": 101},
            {"Sharpness": -1},
            {"WideDynamicRange": {"Mode": "ON", "Level": 500}},
        ):
            with pytest.raises(Fault) as refused:
                await imaging.SetImagingSettings(
                    {**source, "ImagingSettings": {"Contrast": 1, **bad}}
                )
            assert [s.localname for s in refused.value.subcodes] == [
                "InvalidArgVal",
                "SettingsInvalid",
            ]
        assert (await imaging.GetImagingSettings(source)).Contrast == 35.5  # all or nothing

        with pytest.raises(Fault) as refused:
            await imaging.GetImagingSettings({"VideoSourceToken": "VideoSource_7"})
        assert refused.value.subcodes[-1].localname == "NoSource"
        moves = await imaging.GetMoveOptions(source)
        assert (moves.Continuous.Speed.Min, moves.Continuous.Speed.Max) == (-1, 1)
        status = await imaging.GetStatus(source)
        assert status.FocusStatus20.MoveStatus == "IDLE"
    finally:
        await cam.close()


async def test_a_fixed_lens_offers_no_focus_move(fleet_up):
    cam = camera(fleet_up.fleet.find("bullet"))
    try:
        await cam.update_xaddrs()
        imaging = await cam.create_imaging_service()
        moves = await imaging.GetMoveOptions({"VideoSourceToken": "VideoSource_1"})
        assert moves is None  # an empty MoveOptions: zeep reads no option at all
    finally:
        await cam.close()
