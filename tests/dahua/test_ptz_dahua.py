"""Dahua PTZ: ptz.cgi driven by amcrest over real sockets, RPC2 ptz.start/stop/getStatus,
hostile queries, and the same head ONVIF reads."""

from __future__ import annotations

import time

import aiohttp
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from amcrest import AmcrestCamera
from amcrest.exceptions import CommError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua.cgi import handle_cgi
from nvrsim.simulator.dahua.http import dahua_app
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, make_fleet
from tests.dahua.test_dahua_http import login, rpc
from tests.dahua.test_dhip import dahua_camera, dahua_entry
from tests.onvif.test_ptz_onvif import camera, position
from tests.strategies_isapi import ServerThread

DOME = {"kind": "ipc", "model": "SD49225XA-HNR", "firmware": "2.800.0000016.0.R"}


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dahua_entry("dome", **DOME), dahua_camera("cam"), clock=clock, address_pool="127.95.0.0/24"
    )


def status(camera) -> dict[str, str]:
    text = camera.ptz_status(channel=1)
    return dict(line.split("=", 1) for line in text.strip().splitlines())


def test_amcrest_moves_the_dome_and_round_trips_a_preset(fleet, clock):
    dome = fleet.find("dome")
    with ServerThread(dahua_app(dome, clock)) as url:
        host, port = url.removeprefix("http://").split(":")
        cam = AmcrestCamera(host, int(port), "admin", PASSWORD, retries_connection=0).camera
        assert status(cam)["status.Postion[0]"] == "180.000000"
        assert cam.move_right(start=True, horizontal_speed=4)  # half of full speed
        clock.advance(1)
        moving = status(cam)
        assert (moving["status.Postion[0]"], moving["status.MoveStatus"]) == (
            "270.000000",
            "Moving",
        )
        assert cam.move_right(start=False)
        clock.advance(5)
        assert status(cam)["status.Postion[0]"] == "270.000000"
        assert cam.zoom_in(start=True)
        clock.advance(1)
        assert cam.zoom_in(start=False)
        assert float(status(cam)["status.Postion[2]"]) == pytest.approx(1 + 0.5 * 24)

        assert cam.set_preset(preset_point_number=2)
        assert cam.move_up(start=True, vertical_speed=8)
        clock.advance(0.5)
        assert float(status(cam)["status.Postion[1]"]) == pytest.approx(-45)  # up is negative
        assert cam.go_to_preset(preset_point_number=2)
        clock.advance(5)
        back = status(cam)
        assert (back["status.Postion[0]"], back["status.Postion[1]"]) == ("270.000000", "0.000000")
        assert (back["status.Action"], back["status.PresetID"]) == ("Preset", "2")
        assert "presets[0].Index=2" in cam.ptz_presets_list()

        assert cam.position_abs(start=True, horizontal_angle=90, vertical_angle=30)
        clock.advance(5)
        assert status(cam)["status.Postion[0]"] == "90.000000"
        assert cam.ptz_control_command(action="start", code="ClearPreset", arg2="2")
        with pytest.raises(CommError, match="400"):  # no such preset: Bad Request
            cam.go_to_preset(preset_point_number=2)
        refused = requests.get(
            f"{url}/cgi-bin/ptz.cgi?action=start&channel=1&code=Left&arg2=9",
            auth=HTTPDigestAuth("admin", PASSWORD),
            timeout=10,
        )
        assert (refused.status_code, refused.text) == (400, "Error\r\nBad Request!\r\n")


def test_a_camera_without_ptz_does_not_implement_ptz_cgi(fleet, clock):
    with ServerThread(dahua_app(fleet.find("cam"), clock)) as url:
        reply = requests.get(
            f"{url}/cgi-bin/ptz.cgi?action=getStatus&channel=1",
            auth=HTTPDigestAuth("admin", PASSWORD),
            timeout=10,
        )
        assert (reply.status_code, reply.text) == (501, "Error\r\nNot Implemented!\r\n")


async def test_rpc2_ptz_start_stop_and_status(fleet, clock):
    dome = fleet.find("dome")
    async with TestClient(TestServer(dahua_app(dome, clock))) as client:
        session = (await login(client))["session"]

        async def call(method, **params):
            return await rpc(
                client, "/RPC2", {"method": method, "params": params, "id": 9, "session": session}
            )

        reply = await call("ptz.start", channel=0, code="Left", arg1=0, arg2=8, arg3=0)
        assert reply["result"] is True
        clock.advance(0.5)
        reply = await call("ptz.getStatus", channel=0)
        assert reply["params"]["status"]["Postion"][0] == pytest.approx(90)
        assert (await call("ptz.stop", channel=0, code="Left"))["result"] is True
        assert (await call("ptz.start", channel=0, code="Nope"))["error"]["code"] == 268894211
        other = fleet.find("cam")
    async with TestClient(TestServer(dahua_app(other, clock))) as client:
        session = (await login(client))["session"]
        reply = await rpc(
            client,
            "/RPC2",
            {"method": "ptz.getStatus", "params": {"channel": 0}, "id": 1, "session": session},
        )
        assert reply["error"]["code"] == 268894210  # Method not found


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.dictionaries(
        st.sampled_from(["action", "channel", "code", "arg1", "arg2", "arg3"])
        | st.text(max_size=6),
        st.sampled_from(
            [
                "start",
                "stop",
                "getStatus",
                "getPresets",
                "0",
                "1",
                "2",
                "Up",
                "LeftDown",
                "ZoomTele",
                "GotoPreset",
                "SetPreset",
                "ClearPreset",
                "PositionABS",
                "FocusNear",
                "9",
                "-1",
                "361",
                "nan",
                "inf",
                "1e400",
                "300",
                "301",
                "",
            ]
        )
        | st.text(max_size=8),
        max_size=6,
    )
)
def test_hostile_ptz_queries_get_dahua_answers_and_change_only_on_ok(fleet, query):
    dome = fleet.find("dome")
    head = dome.ptz
    before = (head.motion, dict(head.presets))
    reply = handle_cgi(dome, "ptz.cgi", query, 1_700_000_000.0)
    assert reply.status in (200, 400)
    if reply.body != "OK\r\n":
        assert (head.motion, dict(head.presets)) == before


async def test_a_ptz_cgi_move_is_seen_by_onvif():
    clock = VirtualClock(time.time())
    fleet = make_fleet(
        dahua_entry("dome", ports={"http": 0, "rtsp": 0}, **DOME),
        clock=clock,
        address_pool="127.96.0.0/24",
    )
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0)
    async with Simulator(fleet, clock, config):
        dome = fleet.devices[0]
        url = f"http://{dome.network.ip}:{dome.network.http_port}/cgi-bin/ptz.cgi"
        auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
        cam = camera(dome)
        async with aiohttp.ClientSession(middlewares=(auth,)) as session:
            try:
                query = "?action=start&channel=1&code=Down&arg1=0&arg2=8&arg3=0"
                async with session.get(url + query) as reply:
                    assert (reply.status, await reply.text()) == (200, "OK\r\n")
                clock.advance(0.25)
                await cam.update_xaddrs()
                ptz = await cam.create_ptz_service()
                (pan, tilt, zoom), moving = await position(ptz)
                assert (pan, tilt, zoom, moving) == (0, pytest.approx(-0.25), 0, "MOVING")
            finally:
                await cam.close()
