"""The control API over real sockets: every change is seen at once by the devices' own protocols."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from nvrsim.protocols.sadp import Probe, ProbeType
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.runtime.test_runner import isapi_get, sadp_ask, small_fleet


@pytest.fixture
async def sim(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, reboot_seconds=0.2)
    async with Simulator(small_fleet(clock), clock, config) as simulator:
        yield simulator


@pytest.fixture
async def api(sim):
    control = sim.services["control"]
    async with aiohttp.ClientSession(f"http://{control.host}:{control.port}") as session:
        yield session


async def call(api, method, path, body=None):
    async with api.request(method, path, json=body) as reply:
        text = await reply.text()
        return reply.status, json.loads(text) if text else None


async def test_devices_are_listed_with_their_full_state(sim, api):
    status, devices = await call(api, "GET", "/api/devices")
    assert status == 200
    assert [d["serial"] for d in devices] == [d.serial for d in sim.fleet]
    nvr = devices[0]
    assert nvr["hik_connect"]["bound_account"] == "owner@example.com"
    assert nvr["status"] | {"effective_faults": None} == {
        "powered": True,
        "cloud_online": True,
        "bound": True,
        "rebooting": False,
        "locked_clients": {},
        "effective_faults": None,
    }
    status, by_name = await call(api, "GET", "/api/devices/nvr")
    assert (status, by_name["serial"]) == (200, nvr["serial"])


async def test_an_unbind_through_the_api_is_what_sadp_and_isapi_report(sim, api):
    nvr = sim.fleet.devices[0]
    status, state = await call(
        api, "PATCH", f"/api/devices/{nvr.serial}", {"hik_connect": {"bound_account": None}}
    )
    assert (status, state["hik_connect"]["bound_account"]) == (200, None)
    probe = Probe("U-1", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac)
    assert (await sadp_ask(sim.sadp.port, probe)).result == "notBind"
    _, ezviz = await isapi_get(nvr, "/ISAPI/System/Network/EZVIZ")
    assert ezviz.findtext("{http://www.hikvision.com/ver20/XMLSchema}bindStatus") == "unbind"


async def test_going_offline_is_seen_by_sadp(sim, api):
    nvr = sim.fleet.devices[0]
    await call(api, "PATCH", "/api/devices/nvr", {"hik_connect": {"online": False}})
    probe = Probe("U-2", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac)
    assert (await sadp_ask(sim.sadp.port, probe)).result == "offlineHCPlatform"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"hik_connect": {"online": "no"}}, "hik_connect.online"),
        ({"hik_connect": {"verification_code": "a!"}}, "hik_connect.verification_code"),
        ({"firmware": "four"}, "firmware"),
        ({"colour": "red"}, "colour"),
        ({"firmware": "V5.0.0", "hik_connect": {"online": 3}}, "hik_connect.online"),
    ],
)
async def test_a_bad_change_names_the_field_and_changes_nothing(sim, api, body, named):
    before = (await call(api, "GET", "/api/devices/nvr"))[1]
    status, problem = await call(api, "PATCH", "/api/devices/nvr", body)
    assert status == 400
    assert any(line.startswith(named + ":") for line in problem["detail"]), problem
    assert (await call(api, "GET", "/api/devices/nvr"))[1] == before


async def test_not_json_and_unknown_devices_get_json_errors(api):
    async with api.patch("/api/devices/nvr", data=b"{not json") as reply:
        assert (reply.status, (await reply.json())["error"]) == (400, "the body is not JSON")
    status, problem = await call(api, "GET", "/api/devices/nope")
    assert (status, problem["error"]) == (404, "no device 'nope' in the fleet")


async def test_devices_are_added_and_removed_at_run_time(sim, api):
    entry = hik_entry("late", ports={"http": 0, "rtsp": 0}, address="127.80.0.50/24")
    status, added = await call(api, "POST", "/api/devices", entry)
    assert status == 201
    late = sim.fleet.find("late")
    assert added[0]["serial"] == late.serial
    status, _ = await isapi_get(late, "/ISAPI/System/deviceInfo")
    assert status == 200
    status, problem = await call(api, "POST", "/api/devices", entry)
    assert status == 409 and "late" in " ".join(problem["detail"])
    assert (await call(api, "DELETE", "/api/devices/late"))[0] == 204
    assert sim.fleet.find("late") is None
    with pytest.raises(aiohttp.ClientConnectionError):
        await isapi_get(late, "/ISAPI/System/deviceInfo")


async def test_a_bad_entry_is_a_400_naming_the_field(api, sim):
    status, problem = await call(api, "POST", "/api/devices", hik_entry("x", disks=-1))
    assert status == 400
    assert "request: device 'x' (entry 1): disks:" in problem["detail"][0]
    assert sim.fleet.find("x") is None


async def test_the_clock_moves_and_a_lockout_lifts(sim, api, clock):
    nvr = sim.fleet.devices[0]
    for _ in range(7):
        nvr.login("127.0.0.9", lambda _p: False, clock.now())
    state = (await call(api, "GET", "/api/devices/nvr"))[1]
    assert state["status"]["locked_clients"] == {"127.0.0.9": 1800}
    status, doc = await call(api, "POST", "/api/clock/advance", {"seconds": 1800})
    assert status == 200 and doc["now"] == clock.now() and doc["speed"] is None
    state = (await call(api, "GET", "/api/devices/nvr"))[1]
    assert state["status"]["locked_clients"] == {}
    assert (await call(api, "POST", "/api/clock/advance", {"seconds": -1}))[0] == 400
    # a VirtualClock has no speed to set
    assert (await call(api, "PUT", "/api/clock", {"speed": 2}))[0] == 409


async def test_factory_reset_leaves_the_device_not_activated(sim, api):
    status, state = await call(api, "POST", "/api/devices/nvr/factory-reset")
    assert (status, state["admin_password"]) == (200, None)
    status, _ = await isapi_get(sim.fleet.devices[0], "/ISAPI/System/deviceInfo")
    assert status == 403


async def test_the_event_stream_reports_changes_and_exchanges(sim, api):
    async with api.get("/api/events", timeout=aiohttp.ClientTimeout(total=10)) as stream:
        await call(api, "PATCH", "/api/devices/nvr", {"device_name": "Lobby"})
        nvr = sim.fleet.devices[0]
        await sadp_ask(sim.sadp.port, Probe("U-3", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac))
        seen = []
        async for line in stream.content:
            if line.startswith(b"data: "):
                seen.append(json.loads(line[6:]))
            if len(seen) == 2:
                break
    changed, exchange = seen
    assert changed["kind"] == "device.changed"
    assert changed["data"]["changes"] == {"device_name": ["Network Video Recorder", "Lobby"]}
    assert exchange["kind"] == "exchange"
    assert exchange["data"] | {"client": None} == {
        "protocol": "sadp",
        "client": None,
        "request": "getUnbindStatus",
        "reply": "success",
    }
    log = (await call(api, "GET", "/api/devices/nvr/log"))[1]
    assert log == [exchange]  # the device's log keeps each exchange as the stream told it


async def test_a_token_is_required_when_one_is_set(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, token="s3cret")
    async with Simulator(make_fleet(hik_entry(ports={"http": 0, "rtsp": 0})), clock, config) as sim:
        control = sim.services["control"]
        base = f"http://{control.host}:{control.port}"
        async with aiohttp.ClientSession(base) as api:
            assert (await call(api, "GET", "/api/devices"))[0] == 401
            async with api.get("/api/devices", headers={"Authorization": "Bearer s3cret"}) as r:
                assert r.status == 200
            async with api.get("/api/devices?token=s3cret") as r:
                assert r.status == 200
            assert (await call(api, "GET", "/api/openapi.json"))[0] == 200


async def test_beyond_loopback_without_a_token_it_refuses_to_listen(clock):
    """Listening on every address without a token would hand the fleet to the LAN."""
    from nvrsim.simulator.control.app import start_control
    from nvrsim.simulator.core.plugin import ServiceError

    sim = Simulator(make_fleet(), clock, ServiceConfig(control_host="0.0.0.0", control_port=0))
    with pytest.raises(ServiceError, match="without a token"):
        await start_control(sim)


async def test_reboot_is_gone_then_back_with_the_uploaded_firmware(sim, api):
    from nvrsim.protocols.firmware_image import FirmwareImage, build_image

    nvr = sim.fleet.devices[0]
    image = build_image(FirmwareImage("hikvision", ("nvr", "dvr"), "V4.40.001 build 230101"))
    url = f"http://{nvr.network.ip}:{nvr.network.http_port}"
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as isapi:
        async with isapi.put(url + "/ISAPI/System/updateFirmware", data=image) as reply:
            assert reply.status == 200
            assert "<subStatusCode>rebootRequired</subStatusCode>" in await reply.text()
        wrong = build_image(FirmwareImage("hikvision", ("ipc",), "V5.9.0 build 230101"))
        async with isapi.put(url + "/ISAPI/System/updateFirmware", data=wrong) as reply:
            assert reply.status == 400
            assert "<subStatusCode>badFirmware</subStatusCode>" in await reply.text()
        async with isapi.put(url + "/ISAPI/System/reboot") as reply:
            assert reply.status == 200
    await asyncio.sleep(0.15)  # the device answers, then goes
    assert not nvr.powered
    with pytest.raises(asyncio.TimeoutError):
        await sadp_ask(sim.sadp.port, Probe("U-4", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac), 0.2)
    await sim.settled()
    assert nvr.powered and nvr.firmware.text == "V4.40.001 build 230101"
    status, info = await isapi_get(nvr, "/ISAPI/System/deviceInfo")
    assert info.findtext("{http://www.hikvision.com/ver20/XMLSchema}firmwareVersion") == "V4.40.001"
    # the control API's own upgrade flow does the same in one call
    status, state = await call(api, "POST", "/api/devices/nvr/upgrade", {"version": "V4.50.0"})
    assert (status, state["pending_firmware"], state["status"]["rebooting"]) == (
        202,
        "V4.50.0",
        True,
    )
    assert (await call(api, "POST", "/api/devices/nvr/reboot", {}))[0] == 409
    await sim.settled()
    assert nvr.firmware.text == "V4.50.0"
