"""Media ver10 breadth with onvif-zeep-async, and Media2 (ver20) over real sockets with raw
SOAP (the client ships no Media2 WSDL): the same profiles, URIs and stream formats."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from zeep.exceptions import Fault

from tests.onvif.test_onvif_clients import post
from tests.onvif.test_onvif_service import NS, fault_of, token
from tests.onvif.test_ptz_onvif import camera, cameras_up

TR2 = "http://www.onvif.org/ver20/media/wsdl"
NS2 = NS | {"tr2": TR2}


@pytest.fixture
async def fleet_up():
    async with cameras_up("127.93.0.0/24") as sim:
        yield sim


async def media2(sim, device, operation: str, params: str = "") -> tuple[int, ET.Element]:
    body = (
        f'<s:Envelope xmlns:s="{NS["env"]}" xmlns:tr2="{TR2}" xmlns:tt="{NS["tt"]}">'
        f"<s:Header>{token(created=sim.clock.now())}</s:Header>"
        f"<s:Body><tr2:{operation}>{params}</tr2:{operation}></s:Body></s:Envelope>"
    ).encode()
    status, content_type, data = await post(device, "/onvif/media2_service", body)
    assert content_type == "application/soap+xml"
    return status, ET.fromstring(data)


async def test_media_breadth_through_onvif_zeep_async(fleet_up):
    dome = fleet_up.fleet.find("dome")
    cam = camera(dome)
    try:
        await cam.update_xaddrs()
        media = await cam.create_media_service()
        [source] = await media.GetVideoSources()
        assert (source.token, source.Resolution.Width, source.Framerate) == (
            "VideoSource_1",
            dome.main_stream.width,
            dome.main_stream.fps,
        )
        [source_config] = await media.GetVideoSourceConfigurations()
        assert source_config.SourceToken == "VideoSource_1"
        [encoder] = await media.GetVideoEncoderConfigurations()
        one = await media.GetVideoEncoderConfiguration({"ConfigurationToken": encoder.token})
        assert (one.Encoding, one.Resolution.Height) == ("H264", dome.main_stream.height)
        options = await media.GetVideoEncoderConfigurationOptions(
            {"ConfigurationToken": encoder.token}
        )
        sizes = [(r.Width, r.Height) for r in options.H264.ResolutionsAvailable]
        assert sizes == [
            (dome.main_stream.width, dome.main_stream.height),
            (dome.sub_stream.width, dome.sub_stream.height),
        ]
        assert options.H264.FrameRateRange.Max == dome.main_stream.fps
        profile = await media.GetProfile({"ProfileToken": "Profile_1"})
        assert profile.PTZConfiguration.token == "PTZConfiguration_1"
        [audio] = await media.GetAudioSources()
        assert audio.Channels == 1
        with pytest.raises(Fault) as refused:
            await media.GetProfile({"ProfileToken": "Profile_9"})
        assert refused.value.subcodes[-1].localname == "NoProfile"
    finally:
        await cam.close()
    bullet = camera(fleet_up.fleet.find("bullet"))
    try:
        await bullet.update_xaddrs()
        with pytest.raises(Fault) as refused:
            await (await bullet.create_media_service()).GetAudioSources()
        assert refused.value.subcodes[-1].localname == "AudioNotSupported"
    finally:
        await bullet.close()


async def test_media2_answers_what_media_answers(fleet_up):
    dome = fleet_up.fleet.find("dome")
    cam = camera(dome)
    try:
        await cam.update_xaddrs()
        assert cam.xaddrs[TR2].endswith("/onvif/media2_service")
        media = await cam.create_media_service()
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        media_uri = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": "Profile_1"})
        media_snapshot = await media.GetSnapshotUri({"ProfileToken": "Profile_1"})
    finally:
        await cam.close()

    status, reply = await media2(
        fleet_up,
        dome,
        "GetStreamUri",
        "<tr2:Protocol>RtspUnicast</tr2:Protocol><tr2:ProfileToken>Profile_1</tr2:ProfileToken>",
    )
    assert status == 200 and reply.findtext(".//tr2:Uri", namespaces=NS2) == media_uri.Uri
    status, reply = await media2(
        fleet_up, dome, "GetSnapshotUri", "<tr2:ProfileToken>Profile_1</tr2:ProfileToken>"
    )
    assert reply.findtext(".//tr2:Uri", namespaces=NS2) == media_snapshot.Uri

    status, reply = await media2(fleet_up, dome, "GetProfiles", "<tr2:Type>All</tr2:Type>")
    [profile] = reply.findall(".//tr2:Profiles", NS2)
    assert profile.get("token") == "Profile_1"
    configurations = profile.find("tr2:Configurations", NS2)
    assert [c.tag.split("}")[1] for c in configurations] == ["VideoSource", "VideoEncoder", "PTZ"]
    encoder = configurations.find("tr2:VideoEncoder", NS2)
    assert encoder.findtext("tt:Resolution/tt:Width", namespaces=NS2) == str(dome.main_stream.width)
    status, reply = await media2(fleet_up, dome, "GetProfiles", "<tr2:Type>VideoEncoder</tr2:Type>")
    assert [c.tag.split("}")[1] for c in reply.find(".//tr2:Configurations", NS2)] == [
        "VideoEncoder"
    ]

    status, reply = await media2(fleet_up, dome, "GetVideoEncoderConfigurations")
    assert [c.get("token") for c in reply.findall(".//tr2:Configurations", NS2)] == [
        "VideoEncoder_1"
    ]
    status, reply = await media2(fleet_up, dome, "GetVideoSourceConfigurations")
    assert [c.get("token") for c in reply.findall(".//tr2:Configurations", NS2)] == [
        "VideoSource_1"
    ]
    status, reply = await media2(fleet_up, dome, "GetServiceCapabilities")
    caps = reply.find(".//tr2:Capabilities", NS2)
    assert caps.get("SnapshotUri") == "true"
    assert caps.find("tr2:ProfileCapabilities", NS2).get("MaximumNumberOfProfiles") == "1"

    status, reply = await media2(
        fleet_up,
        dome,
        "GetStreamUri",
        "<tr2:Protocol>RtspMulticast</tr2:Protocol><tr2:ProfileToken>Profile_1</tr2:ProfileToken>",
    )
    assert status == 400
    assert fault_of(ET.tostring(reply))[1:] == (
        "ter:InvalidArgVal",
        "The stream setup is not supported",
    )
