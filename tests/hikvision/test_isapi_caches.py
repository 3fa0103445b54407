"""What the ISAPI request path keeps from one request to the next (H(A1) per password, a
nonce verified once, the login granted with no failure on record, deviceInfo's values per
device state) never hides a change: each change is seen by the very next request, on the
same keep-alive connection with the same nonce, so that every cache would be hit."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
import pytest

from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_camera, make_fleet, until

NS = "{http://www.hikvision.com/ver20/XMLSchema}"
INFO = "/ISAPI/System/deviceInfo"
NEW_PASSWORD = "Changed2024x"


@pytest.fixture
async def sim(clock):
    fleet = make_fleet(
        hik_camera(
            "cam",
        ),
        clock=clock,
        address_pool="127.86.0.0/24",
        client_networks=["127.0.0.0/8"],
    )
    async with Simulator(fleet, clock, ServiceConfig.on_free_ports(reboot_seconds=0.0)) as s:
        yield s


def keep_alive(password: str = PASSWORD) -> aiohttp.ClientSession:
    """One connection whose Digest state (nonce, rising nc) lasts from request to request."""
    auth = aiohttp.DigestAuthMiddleware("admin", password)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), middlewares=(auth,))


async def get(http: aiohttp.ClientSession, device, path: str = INFO) -> tuple[int, bytes]:
    url = f"http://{device.network.ip}:{device.network.http_port}{path}"
    async with http.get(url) as reply:
        return reply.status, await reply.read()


async def control(sim, method: str, path: str, body: dict) -> None:
    api = sim.services["control"]
    async with (
        aiohttp.ClientSession(f"http://{api.host}:{api.port}") as http,
        http.request(method, path, json=body) as reply,
    ):
        assert reply.status in (200, 202), await reply.text()


def info(body: bytes) -> dict[str, str | None]:
    root = ET.fromstring(body)
    return {tag: root.findtext(NS + tag) for tag in ("deviceName", "firmwareVersion")}


async def test_a_password_changed_through_isapi_is_needed_by_the_very_next_request(sim):
    (cam,) = sim.fleet
    async with keep_alive() as old:
        assert (await get(old, cam))[0] == 200  # H(A1) of the old password is now cached
        url = f"http://{cam.network.ip}:{cam.network.http_port}/ISAPI/Security/users/1"
        user = (
            f"<User><id>1</id><userName>admin</userName><password>{NEW_PASSWORD}</password></User>"
        )
        async with old.put(url, data=user) as reply:
            assert reply.status == 200, await reply.text()
        assert (await get(old, cam))[0] == 401
    async with keep_alive(NEW_PASSWORD) as new:
        assert (await get(new, cam))[0] == 200


@pytest.mark.parametrize("scope", ["device", "fleet"])
async def test_auth_fail_set_through_the_control_api_refuses_the_very_next_request(sim, scope):
    (cam,) = sim.fleet
    path = f"/api/devices/{cam.serial}/faults" if scope == "device" else "/api/faults"
    async with keep_alive() as http:
        assert (await get(http, cam))[0] == 200
        await control(sim, "PUT", path, {"auth_fail": True})
        assert (await get(http, cam))[0] == 401
        await control(sim, "PUT", path, {"auth_fail": False})
        assert (await get(http, cam))[0] == 200


async def test_device_info_follows_a_rename_and_a_firmware_change_at_once(sim):
    (cam,) = sim.fleet
    async with keep_alive() as http:
        status, body = await get(http, cam)
        assert status == 200 and info(body) == {
            "deviceName": cam.name,
            "firmwareVersion": "V5.6.2",
        }
        change = {"device_name": "Lobby", "firmware": "V5.7.3 build 220112"}
        await control(sim, "PATCH", f"/api/devices/{cam.serial}", change)
        assert info((await get(http, cam))[1]) == {
            "deviceName": "Lobby",
            "firmwareVersion": "V5.7.3",
        }


async def test_device_info_shows_an_upgrade_once_the_device_is_back(sim):
    (cam,) = sim.fleet
    await control(
        sim, "POST", f"/api/devices/{cam.serial}/upgrade", {"version": "V5.7.10 build 230601"}
    )
    await sim.settled()
    await until(lambda: cam.powered, "the camera is back")
    async with keep_alive() as http:
        status, body = await get(http, cam)
        assert status == 200 and info(body)["firmwareVersion"] == "V5.7.10"
