"""ISAPI PTZCtrl over real sockets with aiohttp's Digest client: continuous and absolute
moves on the simulation clock, presets, capabilities; the same head ONVIF moves."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols.isapi import HIKVISION_NAMESPACE
from nvrsim.simulator.hikvision.isapi import isapi_app
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.onvif.test_ptz_onvif import camera, cameras_up, position
from tests.strategies_isapi import serve

NS = {"h": HIKVISION_NAMESPACE}
DOME = {"kind": "ipc", "model": "DS-2DE4425IW-DE", "firmware": "V5.7.3 build 220112"}


@pytest.fixture
async def dome_isapi(clock):
    fleet = make_fleet(
        hik_entry("dome", ip_channels=1, **DOME),
        hik_entry("bullet", kind="ipc", model="DS-2CD2385G1-I", ip_channels=1),
        clock=clock,
    )
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session:
        dome, bullet = fleet.devices
        async with serve(isapi_app(dome, clock)) as base, serve(isapi_app(bullet, clock)) as other:
            yield session, base, other, dome


async def call(session, method: str, url: str, body: str = "") -> tuple[int, ET.Element]:
    async with session.request(method, url, data=body.encode()) as reply:
        return reply.status, ET.fromstring(await reply.read())


def absolute(root: ET.Element) -> tuple[int, int, int]:
    high = root.find(".//h:AbsoluteHigh", NS)
    return tuple(
        int(high.findtext(f"h:{t}", namespaces=NS))
        for t in ("azimuth", "elevation", "absoluteZoom")
    )


async def test_continuous_move_status_and_stop(dome_isapi, clock):
    session, base, _other, _dome = dome_isapi
    ptz = f"{base}/ISAPI/PTZCtrl/channels/1"
    status, root = await call(session, "GET", f"{ptz}/status")
    assert status == 200 and root.tag == f"{{{HIKVISION_NAMESPACE}}}PTZStatus"
    assert absolute(root) == (1800, 0, 10)
    status, root = await call(
        session,
        "PUT",
        f"{ptz}/continuous",
        "<PTZData><pan>50</pan><tilt>-20</tilt><zoom>100</zoom></PTZData>",
    )
    assert status == 200 and root.findtext("h:statusString", namespaces=NS) == "OK"
    clock.advance(1)
    # pan 0.5 → azimuth 2700; tilt -0.2 looks down → elevation 180; zoom 0.5 of 25x → 130
    assert absolute((await call(session, "GET", f"{ptz}/status"))[1]) == (2700, 180, 130)
    await call(
        session,
        "PUT",
        f"{ptz}/continuous",
        "<PTZData><pan>0</pan><tilt>0</tilt><zoom>0</zoom></PTZData>",
    )
    clock.advance(30)
    assert absolute((await call(session, "GET", f"{ptz}/status"))[1]) == (2700, 180, 130)
    # Limits hold: a minute at full speed ends at azimuth 3600.
    await call(session, "PUT", f"{ptz}/continuous", "<PTZData><pan>100</pan></PTZData>")
    clock.advance(60)
    assert absolute((await call(session, "GET", f"{ptz}/status"))[1])[0] == 3600


async def test_absolute_move_presets_and_capabilities(dome_isapi, clock):
    session, base, other, _dome = dome_isapi
    ptz = f"{base}/ISAPI/PTZCtrl/channels/1"
    body = (
        "<PTZData><AbsoluteHigh><elevation>450</elevation><azimuth>900</azimuth>"
        "<absoluteZoom>40</absoluteZoom></AbsoluteHigh></PTZData>"
    )
    assert (await call(session, "PUT", f"{ptz}/absolute", body))[0] == 200
    clock.advance(10)
    assert absolute((await call(session, "GET", f"{ptz}/status"))[1]) == (900, 450, 40)
    status, _ = await call(
        session,
        "PUT",
        f"{ptz}/presets/3",
        "<PTZPreset><id>3</id><presetName>door</presetName></PTZPreset>",
    )
    assert status == 200
    await call(
        session, "PUT", f"{ptz}/continuous", "<PTZData><pan>-100</pan><tilt>100</tilt></PTZData>"
    )
    clock.advance(0.5)
    status, root = await call(session, "GET", f"{ptz}/presets")
    [preset] = root.findall("h:PTZPreset", NS)
    assert (
        preset.findtext("h:id", namespaces=NS),
        preset.findtext("h:presetName", namespaces=NS),
    ) == ("3", "door")
    assert absolute(preset) == (900, 450, 40)
    assert (await call(session, "PUT", f"{ptz}/presets/3/goto"))[0] == 200
    clock.advance(10)
    assert absolute((await call(session, "GET", f"{ptz}/status"))[1]) == (900, 450, 40)
    assert (await call(session, "DELETE", f"{ptz}/presets/3"))[0] == 200
    status, root = await call(session, "PUT", f"{ptz}/presets/3/goto")
    assert (status, root.findtext("h:subStatusCode", namespaces=NS)) == (404, "invalidID")

    status, root = await call(session, "GET", f"{ptz}/capabilities")
    assert root.findtext("h:maxPresetNum", namespaces=NS) == "300"
    assert root.findtext("h:AbsoluteZoomPositionSpace/h:ZRange/h:Max", namespaces=NS) == "250"
    # Refused: out of range, another channel, a camera without PTZ.
    bad = body.replace("<azimuth>900", "<azimuth>3601")
    status, root = await call(session, "PUT", f"{ptz}/absolute", bad)
    assert (status, root.findtext("h:subStatusCode", namespaces=NS)) == (400, "badXmlContent")
    assert (await call(session, "GET", f"{base}/ISAPI/PTZCtrl/channels/2/status"))[0] == 404
    status, root = await call(session, "GET", f"{other}/ISAPI/PTZCtrl/channels/1/status")
    assert (status, root.findtext("h:subStatusCode", namespaces=NS)) == (404, "notSupport")


PATHS = [
    "continuous",
    "absolute",
    "status",
    "presets",
    "presets/1",
    "presets/1/goto",
    "presets/0",
    "capabilities",
]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "PUT", "DELETE", "POST"]),
    body=st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda tag, a, b: (
                f"<{tag}><pan>{a}</pan><AbsoluteHigh><azimuth>{b}</azimuth></AbsoluteHigh><id>{a}</id></{tag}>".encode()
            ),
            st.sampled_from(["PTZData", "PTZPreset", "Nope"]),
            st.sampled_from(["1", "-101", "nan", "1e9", "", "x", "100"]),
            st.sampled_from(["0", "3601", "inf", "-1", "1800", "abc"]),
        ),
    ),
)
async def test_hostile_ptz_requests_get_isapi_statuses_never_a_500(
    dome_isapi, clock, path, method, body
):
    session, base, _other, dome = dome_isapi
    head = dome.ptz
    before = (head.motion, dict(head.presets))
    async with session.request(
        method, f"{base}/ISAPI/PTZCtrl/channels/1/{path}", data=body
    ) as reply:
        assert reply.status in (200, 400, 404)
        ET.fromstring(await reply.read())
        if reply.status != 200:
            assert (head.motion, dict(head.presets)) == before


async def test_a_move_through_isapi_is_seen_by_onvif_and_back():
    async with cameras_up("127.94.0.0/24") as sim:
        dome, clock = sim.fleet.find("dome"), sim.clock
        base = f"http://{dome.network.ip}:{dome.network.http_port}/ISAPI/PTZCtrl/channels/1"
        auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
        cam = camera(dome)
        async with aiohttp.ClientSession(middlewares=(auth,)) as session:
            try:
                await cam.update_xaddrs()
                onvif_ptz = await cam.create_ptz_service()
                await call(
                    session, "PUT", f"{base}/continuous", "<PTZData><pan>-50</pan></PTZData>"
                )
                clock.advance(1)
                (pan, tilt, zoom), moving = await position(onvif_ptz)
                assert (pan, tilt, zoom, moving) == (pytest.approx(-0.5), 0, 0, "MOVING")
                await onvif_ptz.Stop({"ProfileToken": "Profile_1"})
                await onvif_ptz.SetPreset(
                    {"ProfileToken": "Profile_1", "PresetToken": "5", "PresetName": "porch"}
                )
                _status, root = await call(session, "GET", f"{base}/presets/5")
                assert root.findtext("h:presetName", namespaces=NS) == "porch"
                assert absolute(root)[0] == 900
            finally:
                await cam.close()
