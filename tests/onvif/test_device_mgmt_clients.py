"""One user store and one device clock across protocols, over real sockets.

onvif-zeep-async creates users and sets the clock; ISAPI (aiohttp with HTTP Digest)
and Dahua RPC2 log in as those users and list them; ISAPI deletes one and ONVIF
no longer lists it; ffprobe plays the RTSP stream as an ONVIF-made user. The fleet's
devices run in a Simulator on loopback, port 0.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import pytest
from onvif import ONVIFCamera
from zeep.exceptions import Fault

from nvrsim.protocols.isapi import HIKVISION_NAMESPACE
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.dahua.test_dahua_http import login as rpc2_login
from tests.dahua.test_dhip import dahua_camera, dahua_entry
from tests.runtime.test_rtsp import ffprobe, needs_ffmpeg

NEW_USER, NEW_PASSWORD = "installer", "Install3r!"
HIK = {"ns": HIKVISION_NAMESPACE}


@pytest.fixture
async def sim():
    # onvif-zeep-async signs with the host's clock: the simulation clock starts there.
    clock = VirtualClock(time.time())
    fleet = make_fleet(
        hik_entry("hik", ports={"http": 0, "rtsp": 0}),
        dahua_entry("dahua", ports={"http": 0, "rtsp": 0}, disks=2),
        dahua_camera("dahua-cam", ports={"http": 0, "rtsp": 0}),
        clock=clock,
        address_pool="127.86.0.0/24",
    )
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as simulator:
        yield simulator


def base(device) -> str:
    return f"http://{device.network.ip}:{device.network.http_port}"


async def devicemgmt(device, user="admin", password=PASSWORD):
    camera = ONVIFCamera(device.network.ip, device.network.http_port, user, password, no_cache=True)
    await camera.update_xaddrs()
    return camera, await camera.create_devicemgmt_service()


async def isapi_get(device, path, user, password) -> tuple[int, bytes]:
    digest = aiohttp.DigestAuthMiddleware(user, password)
    async with (
        aiohttp.ClientSession(middlewares=(digest,)) as session,
        session.get(base(device) + path) as response,
    ):
        return response.status, await response.read()


async def isapi_delete(device, path) -> int:
    digest = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with (
        aiohttp.ClientSession(middlewares=(digest,)) as session,
        session.delete(base(device) + path) as response,
    ):
        return response.status


async def rpc2(device, method, login=(NEW_USER, NEW_PASSWORD), **params) -> dict:
    async with aiohttp.ClientSession(base_url=base(device)) as client:
        logged_in = await rpc2_login(client, login[1], login[0])
        assert logged_in["result"] is True, logged_in
        document = {"method": method, "params": params, "id": 3, "session": logged_in["session"]}
        async with client.post("/RPC2", json=document) as response:
            return await response.json(content_type=None)


def onvif_user(name=NEW_USER, password=NEW_PASSWORD, level="Operator"):
    return {"Username": name, "Password": password, "UserLevel": level}


async def test_an_onvif_user_logs_in_with_isapi_and_isapi_deletes_it(sim):
    hik = sim.fleet.find("hik")
    camera, mgmt = await devicemgmt(hik)
    try:
        await mgmt.CreateUsers({"User": [onvif_user()]})
        users = await mgmt.GetUsers()
        assert [(u.Username, u.UserLevel) for u in users] == [
            ("admin", "Administrator"),
            (NEW_USER, "Operator"),
        ]
        # the vendor's own list, read as the new user
        status, body = await isapi_get(hik, "/ISAPI/Security/users", NEW_USER, NEW_PASSWORD)
        assert status == 200
        listed = ET.fromstring(body).findall("ns:User", HIK)
        names = [
            (u.findtext("ns:userName", namespaces=HIK), u.findtext("ns:id", namespaces=HIK))
            for u in listed
        ]
        assert names == [("admin", "1"), (NEW_USER, "2")]
        assert await isapi_get(hik, "/ISAPI/System/deviceInfo", NEW_USER, "wrong") != 200
        assert await isapi_delete(hik, "/ISAPI/Security/users/2") == 200
        assert [u.Username for u in await mgmt.GetUsers()] == ["admin"]
        status, _ = await isapi_get(hik, "/ISAPI/System/deviceInfo", NEW_USER, NEW_PASSWORD)
        assert status == 401
        with pytest.raises(Fault):  # the spec's fault, through zeep
            await mgmt.CreateUsers({"User": [onvif_user("admin")]})
    finally:
        await camera.close()


@pytest.mark.parametrize("name", ["dahua", "dahua-cam"])
async def test_an_onvif_user_logs_in_with_dahua_rpc2(sim, name):
    device = sim.fleet.find(name)
    camera, mgmt = await devicemgmt(device)
    try:
        await mgmt.CreateUsers({"User": [onvif_user(level="Administrator")]})
        reply = await rpc2(device, "userManager.getUserInfoAll")
        assert [(u["Name"], u["Group"]) for u in reply["params"]["users"]] == [
            ("admin", "admin"),
            (NEW_USER, "admin"),
        ]
        active = await rpc2(device, "userManager.getActiveUserInfoAll")
        assert NEW_USER in [u["Name"] for u in active["params"]["users"]]
        # and back: a user Dahua adds is one ONVIF lists
        added = await rpc2(
            device,
            "userManager.addUser",
            user={"Name": "viewer2", "Password": "Viewer234", "Group": "user"},
        )
        assert added["result"] is True
        assert "viewer2" in [u.Username for u in await mgmt.GetUsers()]
    finally:
        await camera.close()


async def test_set_system_date_and_time_moves_onvif_isapi_and_dahua(sim):
    hik, dahua = sim.fleet.find("hik"), sim.fleet.find("dahua")
    target = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    for device in (hik, dahua):
        camera, mgmt = await devicemgmt(device)
        try:
            # Home Assistant's call when the device clock is more than 5 s off
            await mgmt.SetSystemDateAndTime(
                {
                    "DateTimeType": "Manual",
                    "DaylightSavings": False,
                    "TimeZone": {"TZ": "UTC0"},
                    "UTCDateTime": {
                        "Date": {"Year": 2031, "Month": 5, "Day": 6},
                        "Time": {"Hour": 7, "Minute": 8, "Second": 9},
                    },
                }
            )
            reply = await mgmt.GetSystemDateAndTime()
            utc = reply.UTCDateTime
            assert (utc.Date.Year, utc.Date.Month, utc.Time.Hour, utc.Time.Minute) == (
                2031,
                5,
                7,
                8,
            )
            assert reply.DateTimeType == "Manual"
        finally:
            await camera.close()
    # The client signs with the host clock, now far from the device's: ISAPI's Digest does not
    # care, and shows the same time.
    status, body = await isapi_get(hik, "/ISAPI/System/time", "admin", PASSWORD)
    assert status == 200
    local = ET.fromstring(body).findtext("ns:localTime", namespaces=HIK)
    assert local.startswith(target.strftime("%Y-%m-%dT%H:%M"))
    reply = await rpc2(dahua, "global.getCurrentTime", ("admin", PASSWORD))
    assert reply["params"]["time"].startswith("2031-05-06 07:08")


@needs_ffmpeg
async def test_an_onvif_user_plays_the_rtsp_stream_with_ffprobe(sim):
    hik = sim.fleet.find("hik")
    camera, mgmt = await devicemgmt(hik)
    try:
        await mgmt.CreateUsers({"User": [onvif_user(level="User")]})
    finally:
        await camera.close()
    secret = f"{NEW_USER}:{quote(NEW_PASSWORD, safe='')}@"
    url = stream_uri(hik, 1).replace("rtsp://", f"rtsp://{secret}", 1)
    code, stream, err = await ffprobe(url, "tcp")
    assert code == 0, err
    assert stream["codec_name"] == "h264"
    code, _, err = await ffprobe(url.replace(quote(NEW_PASSWORD, safe=""), "Wrong1234"), "tcp")
    assert code != 0 and "401" in err
