"""Dahua's web server: RPC2 login and calls, /OutsideCmd, CGI over Digest, and amcrest."""

from __future__ import annotations

import json

import aiohttp
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from amcrest import AmcrestCamera
from amcrest.exceptions import CommError, LoginError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.http import dahua_app
from nvrsim.simulator.runtime.web import WebOptions, device_app
from tests.conftest import PASSWORD, make_fleet
from tests.dahua.test_dhip import dahua_camera, dahua_entry
from tests.strategies_isapi import ServerThread


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dahua_entry("nvr", dahua={"lock_login_times": 3, "login_fail_lock_time": 600}),
        dahua_camera("cam", device_name="FrontDoorCam"),
        dahua_camera("factory", admin_password=None),
        clock=clock,
        address_pool="127.85.0.0/24",
    )


@pytest.fixture
async def nvr_client(fleet, clock):
    async with TestClient(TestServer(dahua_app(fleet.find("nvr"), clock))) as client:
        yield client


async def rpc(client, path: str, document: dict) -> dict:
    response = await client.post(path, data=json.dumps(document))
    assert response.status == 200
    return await response.json(content_type=None)


async def login(client, password: str = PASSWORD, user: str = "admin") -> dict:
    step1 = {
        "method": "global.login",
        "params": {"userName": user, "password": "", "clientType": "Web3.0", "loginType": "Direct"},
        "id": 1,
    }
    challenge = await rpc(client, "/RPC2_Login", step1)
    if challenge.get("error", {}).get("code") != 268632079:
        return challenge
    p = challenge["params"]
    step2 = {
        "method": "global.login",
        "params": {
            "userName": user,
            "password": hashes.default_login_hash(user, password, p["realm"], p["random"]),
            "clientType": "Web3.0",
            "loginType": "Direct",
            "authorityType": "Default",
            "passwordType": "Default",
        },
        "id": 2,
        "session": challenge["session"],
    }
    return await rpc(client, "/RPC2_Login", step2)


# --- /RPC2_Login -----------------------------------------------------------------------------


def test_the_default_hash_matches_the_captured_vector():
    realm, random = "Login to 4H01D66PAJ2FA64", "1753753988"
    assert hashes.ha1("admin", realm, "SecretPassword") == "2392FB4D9A370C14D73FD1C5DDA16FED"
    assert (
        hashes.default_login_hash("admin", "SecretPassword", realm, random)
        == "71596D591679A707721AD797437DE105"
    )
    assert hashes.gen1_hash("admin") == "6QNMIQGe"


async def test_step_one_is_the_login_challenge(nvr_client, fleet):
    nvr = fleet.find("nvr")
    reply = await rpc(
        nvr_client,
        "/RPC2_Login",
        {"method": "global.login", "params": {"userName": "admin"}, "id": 1},
    )
    assert reply["error"] == {"code": 268632079, "message": "Component error: login challenge!"}
    assert reply["result"] is False and len(reply["session"]) == 32
    p = reply["params"]
    assert p["encryption"] == "Default" and p["realm"] == f"Login to {nvr.serial}"
    assert p["random"].isdigit() and len(p["authorization"]) == 40
    assert p["mac"] == nvr.mac.replace(":", "").upper()


async def test_two_step_login_then_calls_keep_alive_and_logout(nvr_client, fleet, clock):
    nvr = fleet.find("nvr")
    ok = await login(nvr_client)
    assert ok["result"] is True and ok["params"] == {"keepAliveInterval": 60}
    session = ok["session"]

    async def call(method: str, params=None, sid=session):
        return await rpc(
            nvr_client, "/RPC2", {"method": method, "params": params, "id": 9, "session": sid}
        )

    assert (await call("magicBox.getSerialNo"))["params"] == {"sn": nvr.serial}
    assert (await call("magicBox.getDeviceType"))["params"] == {"type": nvr.model}
    assert (await call("magicBox.getSoftwareVersion"))["params"]["version"]["Version"] == (
        "4.001.0000000.3.R"
    )
    assert (await call("magicBox.getMachineName"))["params"] == {"name": nvr.name}
    general = (await call("configManager.getConfig", {"name": "General"}))["params"]["table"]
    assert general["LockLoginTimes"] == 3 and general["LoginFailLockTime"] == 600
    assert (await call("Nat.getTurnStatus"))["params"]["Status"]["Status"] == "Online"
    assert (await call("no.such.method"))["error"]["code"] == 268894210
    clock.advance(50)
    assert (await call("global.keepAlive", {"timeout": 300, "active": True}))["params"] == {
        "timeout": 300
    }
    clock.advance(50)  # 100 s since login, 50 since the keep-alive: still alive
    assert (await call("magicBox.getSerialNo"))["result"] is True
    clock.advance(61)
    expired = await call("magicBox.getSerialNo")
    assert expired["error"] == {"code": 287637505, "message": "Invalid session in request data!"}
    session = (await login(nvr_client))["session"]
    assert (await call("global.logout", sid=session))["result"] is True
    assert (await call("magicBox.getSerialNo", sid=session))["error"]["code"] == 287637505


async def test_set_config_changes_the_lockout_and_p2p(nvr_client, fleet):
    nvr = fleet.find("nvr")
    session = (await login(nvr_client))["session"]
    table = {"LockLoginTimes": 7, "LoginFailLockTime": 120}
    done = await rpc(
        nvr_client,
        "/RPC2",
        {
            "method": "configManager.setConfig",
            "params": {"name": "General", "table": table},
            "id": 3,
            "session": session,
        },
    )
    assert done["result"] is True
    assert (nvr.lockout.policy.max_failures, nvr.lockout.policy.lock_seconds) == (7, 120)
    bad = await rpc(
        nvr_client,
        "/RPC2",
        {
            "method": "configManager.setConfig",
            "params": {"name": "General", "table": {"LockLoginTimes": "x"}},
            "id": 4,
            "session": session,
        },
    )
    assert bad["error"]["code"] == 268894211 and nvr.dahua.lock_login_times == 7
    await rpc(
        nvr_client,
        "/RPC2",
        {
            "method": "configManager.setConfig",
            "params": {"name": "T2UServer", "table": {"Enable": False}},
            "id": 5,
            "session": session,
        },
    )
    status = await rpc(
        nvr_client, "/RPC2", {"method": "Nat.getTurnStatus", "id": 6, "session": session}
    )
    assert status["params"]["Status"]["Status"] == "Disable" and not nvr.p2p_online


async def test_p2p_status_follows_the_cloud_offline_fault(nvr_client, fleet):
    session = (await login(nvr_client))["session"]
    fleet.find("nvr").own_faults = Faults(cloud_offline=True)
    status = await rpc(
        nvr_client, "/RPC2", {"method": "Nat.getTurnStatus", "id": 6, "session": session}
    )
    assert status["params"]["Status"]["Status"] == "Offline"


async def test_wrong_passwords_count_down_then_lock(nvr_client, fleet, clock):
    for left in (2, 1):
        reply = await login(nvr_client, "wrong")
        assert reply["error"]["code"] == 268632085
        assert reply["error"]["message"] == "Component error: User or password not valid!"
        assert reply["params"] == {"remainLockSecond": 0, "remainLoginTimes": left}
    locked = await login(nvr_client, "wrong")
    assert locked["error"]["code"] == 268632081 and locked["params"]["remainLockSecond"] == 600
    again = await login(nvr_client)  # the right password, while locked: no challenge
    assert again["error"]["code"] == 268632081 and again["params"]["remainLockSecond"] == 600
    clock.advance(600)
    assert (await login(nvr_client))["result"] is True


async def test_an_uninitialised_device_says_so_and_outside_cmd_initialises_it(fleet, clock):
    device = fleet.find("factory")
    async with TestClient(TestServer(dahua_app(device, clock))) as client:
        assert (await login(client))["error"]["code"] == 268632086
        cgi = await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
        assert cgi.status == 401 and await cgi.text() == "Invalid Authority!\r\n"
        status = await rpc(
            client, "/OutsideCmd", {"method": "DevInit.getStatus", "params": None, "id": 1}
        )
        assert status["params"] == {"Find": "AB", "Init": 1}
        agree = {
            "method": "DevInit.setProtocolAgree",
            "params": {"ProtocolEnable": True},
            "id": 2,
            "session": 0,
        }
        assert (await rpc(client, "/OutsideCmd", agree))["result"] is True
        weak = {
            "method": "DevInit.account",
            "params": {"name": "admin", "pwd": "x", "CellPhone": "", "Mail": "a@b.c"},
            "id": 3,
        }
        assert (await rpc(client, "/OutsideCmd", weak))["result"] is False and not device.activated
        account = {
            "method": "DevInit.account",
            "params": {"name": "admin", "pwd": "NewPass123", "CellPhone": "", "Mail": "a@b.c"},
            "id": 4,
        }
        assert (await rpc(client, "/OutsideCmd", account))["result"] is True
        access = {
            "method": "DevInit.access",
            "params": {"NetAccess": 0, "UpgradeCheck": 2},
            "id": 5,
        }
        assert (await rpc(client, "/OutsideCmd", access))["result"] is True
        assert device.activated and not device.dahua.t2u_enable
        assert (await login(client, "NewPass123"))["result"] is True
        again = await rpc(client, "/OutsideCmd", account)
        assert again["result"] is False
        assert (await rpc(client, "/OutsideCmd", {"method": "DevInit.getStatus", "id": 6}))[
            "params"
        ]["Init"] == 2


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
async def test_hostile_rpc_bodies_get_dahua_errors_never_a_500(fleet, clock, body):
    async with TestClient(TestServer(dahua_app(fleet.find("cam"), clock))) as client:
        for path in ("/RPC2_Login", "/RPC2", "/OutsideCmd"):
            response = await client.post(path, data=body)
            assert response.status == 200
            assert "error" in await response.json(content_type=None)


async def test_unknown_paths_and_methods_get_dahuas_own_error_pages(nvr_client):
    assert (await nvr_client.get("/cgi-bin/nothing.cgi")).status == 501
    response = await nvr_client.get("/nowhere")
    assert response.status == 501 and await response.text() == "Error\r\nNot Implemented!\r\n"
    assert (await nvr_client.get("/RPC2")).status == 400
    response = await nvr_client.post("/RPC2", data=b"x" * 70000)
    assert response.status == 400 and "Bad Request" in await response.text()


# --- CGI over Digest, with requests and amcrest ---------------------------------------------


def test_the_cgi_over_digest_with_requests(fleet):
    cam = fleet.find("cam")
    with ServerThread(dahua_app(cam, _clock(fleet))) as url:
        anonymous = requests.get(f"{url}/cgi-bin/magicBox.cgi?action=getSerialNo", timeout=10)
        assert anonymous.status_code == 401 and anonymous.text == "Invalid Authority!\r\n"
        challenge = anonymous.headers["WWW-Authenticate"]
        assert challenge.startswith(f'Digest realm="Login to {cam.serial}",qop="auth",nonce="')
        auth = HTTPDigestAuth("admin", PASSWORD)

        def get(query: str) -> requests.Response:
            return requests.get(f"{url}/cgi-bin/{query}", auth=auth, timeout=10)

        assert get("magicBox.cgi?action=getSerialNo").text == f"sn={cam.serial}\r\n"
        assert get("magicBox.cgi?action=getDeviceType").text == f"type={cam.model}\r\n"
        assert get("magicBox.cgi?action=getVendor").text == "vendor=Dahua\r\n"
        assert get("magicBox.cgi?action=getDeviceClass").text == "class=IPC\r\n"
        assert get("magicBox.cgi?action=getHardwareVersion").text == "version=1.00\r\n"
        assert get("magicBox.cgi?action=getProductDefinition&name=MaxExtraStream").text == (
            "table.MaxExtraStream=2\r\n"
        )
        info = get("magicBox.cgi?action=getSystemInfo").text
        assert f"serialNumber={cam.serial}\r\n" in info and f"deviceType={cam.model}" in info
        assert get("global.cgi?action=getCurrentTime").text.startswith("result=2023-11-14 ")
        assert get("configManager.cgi?action=getConfig&name=RTSP").text.startswith(
            "table.RTSP.Enable=true\r\ntable.RTSP.Port=554\r\n"
        )
        assert get("configManager.cgi?action=getConfig&name=General.MachineName").text == (
            "table.General.MachineName=FrontDoorCam\r\n"
        )
        assert get("configManager.cgi?action=getConfig&name=T2UServer").text == (
            "table.T2UServer.Enable=true\r\ntable.T2UServer.Online=true\r\n"
        )
        assert get("configManager.cgi?action=getConfig&name=Nope").text == (
            "Error: Error -1 getting param in name=Nope\r\n"
        )
        set_ok = get(
            "configManager.cgi?action=setConfig&General.MachineName=Porch&T2UServer.Enable=false"
        )
        assert set_ok.text == "OK\r\n" and cam.name == "Porch" and not cam.dahua.t2u_enable
        refused = get(
            "configManager.cgi?action=setConfig&General.MachineName=X&General.LockLoginTimes=abc"
        )
        assert refused.status_code == 400 and refused.text == "Error\r\nBad Request!\r\n"
        assert cam.name == "Porch"  # all or nothing
        assert get("magicBox.cgi?action=reboot").status_code == 400


def _clock(fleet):
    from nvrsim.simulator.core.clock import VirtualClock

    return VirtualClock()


@pytest.mark.parametrize(("name", "kind"), [("nvr", "NVR"), ("cam", "IPC")])
def test_amcrest_reads_serial_machine_name_and_software_version(fleet, name, kind):
    device = fleet.find(name)
    with ServerThread(dahua_app(device, _clock(fleet))) as url:
        host, port = url.removeprefix("http://").split(":")
        camera = AmcrestCamera(host, int(port), "admin", PASSWORD, retries_connection=0).camera
        assert camera.serial_number == device.serial
        assert camera.machine_name == device.name
        version, build = camera.software_information
        assert version == device.firmware.number and build.strip() == "2020-06-05"
        assert camera.device_type == device.model and camera.device_class == kind
        assert camera.vendor_information == "Dahua"


def test_amcrest_with_a_wrong_password_locks_after_the_configured_count(fleet):
    nvr = fleet.find("nvr")  # General.LockLoginTimes = 3
    clock = _clock(fleet)
    with ServerThread(dahua_app(nvr, clock)) as url:
        host, port = url.removeprefix("http://").split(":")
        for _ in range(2):
            with pytest.raises(LoginError):
                _ = AmcrestCamera(
                    host, int(port), "admin", "wrong", retries_connection=0
                ).camera.serial_number
        with pytest.raises(CommError, match="403"):  # the third failure locks
            _ = AmcrestCamera(
                host, int(port), "admin", "wrong", retries_connection=0
            ).camera.serial_number
        with pytest.raises(CommError, match="403"):  # the right password, while locked
            _ = AmcrestCamera(
                host, int(port), "admin", PASSWORD, retries_connection=0
            ).camera.serial_number
        locked = requests.get(
            f"{url}/cgi-bin/magicBox.cgi?action=getSerialNo",
            auth=HTTPDigestAuth("admin", PASSWORD),
            timeout=10,
        )
        assert locked.status_code == 403
        assert locked.json() == {
            "ErrorCode": 268632081,
            "Result": False,
            "RmLock": 600,
            "RmLogin": 0,
        }
        clock.advance(600)
        camera = AmcrestCamera(host, int(port), "admin", PASSWORD, retries_connection=0).camera
        assert camera.serial_number == nvr.serial


async def test_the_device_web_server_is_dahuas(fleet, clock):
    app = device_app(fleet.find("cam"), clock, WebOptions())
    async with TestClient(TestServer(app)) as client:
        assert (await login(client))["result"] is True


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "action",
                    "name",
                    "General.MachineName",
                    "General.LockLoginTimes",
                    "T2UServer.Enable",
                    "RTSP.Port",
                    "General",
                    "x.y.z",
                    "",
                ]
            )
            | st.text(max_size=12),
            st.sampled_from(["getConfig", "setConfig", "true", "5", "-1", "General", ""])
            | st.text(max_size=12),
        ),
        max_size=5,
    ),
    cgi=st.sampled_from(["configManager.cgi", "magicBox.cgi", "global.cgi"]),
)
def test_hostile_cgi_queries_get_dahua_answers_and_change_only_on_ok(fleet, query, cgi):
    from nvrsim.simulator.dahua.cgi import handle_cgi
    from nvrsim.simulator.runtime.state import device_entry

    cam = fleet.find("cam")
    before = device_entry(cam)
    reply = handle_cgi(cam, cgi, dict(query), 0.0)
    assert reply.status in (200, 400)
    if reply.body != "OK\r\n":
        assert device_entry(cam) == before


async def test_a_dhip_re_ip_moves_the_web_server_and_the_dhip_socket(fleet, clock):
    import asyncio

    from nvrsim.protocols import dhip
    from nvrsim.simulator.dahua.dhip import discover_dhip
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, control_port=None, dmss_port=0)
    async with Simulator(fleet, clock, config) as sim:
        cam = fleet.find("cam")
        port = sim.services["dhip"].port
        old = cam.network.ip
        body = {
            "method": "DHDiscover.setConfig",
            "mac": cam.mac,
            "params": {
                "userName": "admin",
                "password": hashes.ha1("admin", hashes.realm(cam), PASSWORD),
                "deviceConfig": {
                    "IPv4Address": {
                        "IPAddress": "127.85.0.201",
                        "SubnetMask": "255.255.255.0",
                        "DefaultGateway": "127.85.0.1",
                        "DhcpEnable": False,
                        "IPAddressOld": old,
                    }
                },
            },
        }
        loop = asyncio.get_running_loop()
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
            await loop.sock_sendto(sock, dhip.frame(json.dumps(body).encode()), ("127.0.0.1", port))
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), 5)
        assert addr == (old, port) and json.loads(data[32:])["params"]["Result"] is True
        await sim.settled()
        await sim.services["dhip"].settled()
        assert cam.network.ip == "127.85.0.201"
        (found,) = await discover_dhip("127.85.0.201", port, timeout=1.0)
        assert found["from"] == "127.85.0.201" and found["mac"] == cam.mac
        url = f"http://127.85.0.201:{cam.network.http_port}/RPC2_Login"
        async with aiohttp.ClientSession() as http:
            reply = await http.post(
                url,
                data=json.dumps(
                    {"method": "global.login", "params": {"userName": "admin"}, "id": 1}
                ),
            )
            assert (await reply.json(content_type=None))["error"]["code"] == 268632079
        assert [e.data["protocol"] for e in sim.journal.log(cam.serial)] == ["dhip", "dhip", "http"]
        changed = [e for e in sim.journal.since(0, cam.serial) if e.kind == "device.changed"]
        assert changed[0].data["changes"]["address"][1].startswith("127.85.0.201/")


async def test_a_factory_reset_puts_a_dahua_device_back_to_not_initialised(fleet, clock):
    from nvrsim.protocols import dhip
    from nvrsim.simulator.dahua.dhip import DhipResponder

    nvr = fleet.find("nvr")
    nvr.factory_reset(clock.now())
    (reply,) = DhipResponder(fleet, clock).handle(dhip.build_search(nvr.mac), ("127.0.0.1", 1))
    assert json.loads(reply[32:])["params"]["deviceInfo"]["Init"] & 3 == 1
    async with TestClient(TestServer(dahua_app(nvr, clock))) as client:
        assert (await login(client))["error"]["code"] == 268632086


async def test_the_web_uis_encrypted_initialisation(fleet, clock):
    from nvrsim.simulator.dahua.rpac import seal

    device = fleet.find("factory")
    async with TestClient(TestServer(dahua_app(device, clock))) as client:
        info = await rpc(client, "/OutsideCmd", {"method": "Security.getEncryptInfo", "id": 1})
        params = info["params"]
        assert params["asymmetric"] == "RSA" and params["cipher"] == ["AES", "RPAC"]
        assert params["pub"].startswith("N:") and params["pub"].endswith(",E:010001")
        same = await rpc(
            client, "/RPC2", {"method": "Security.getEncryptInfo", "id": 2, "session": 0}
        )
        assert same["params"]["pub"] == params["pub"]
        account = {"name": "admin", "pwd": "Sealed12345", "CellPhone": "", "Mail": "a@b.c"}
        for digits in (16, 32):
            envelope = seal(account | {"pwd": "x"}, params["pub"], digits)
            weak = await rpc(
                client, "/OutsideCmd", {"method": "DevInit.account", "params": envelope, "id": 3}
            )
            assert weak["result"] is False
        garbled = {"cipher": "RPAC-256", "salt": "00ff", "content": "!!"}
        bad = await rpc(
            client, "/OutsideCmd", {"method": "DevInit.account", "params": garbled, "id": 4}
        )
        assert bad["error"]["code"] == 268894211 and not device.activated
        sealed = seal(account, params["pub"])
        ok = await rpc(
            client, "/OutsideCmd", {"method": "DevInit.account", "params": sealed, "id": 5}
        )
        assert ok["result"] is True and device.admin_password == "Sealed12345"
        assert (await login(client, "Sealed12345"))["result"] is True


async def test_aiodahua_reads_and_writes_a_camera_over_digest(fleet, clock):
    from aiodahua.client import DahuaClient

    cam = fleet.find("cam")
    server = TestServer(dahua_app(cam, clock))
    await server.start_server()
    try:
        async with DahuaClient("127.0.0.1", "admin", PASSWORD, port=server.port) as client:
            brand = await client.async_identify()
            assert brand is not None
            assert await client.async_get_serial_number() == cam.serial
            assert await client.async_get_device_type() == cam.model
            version = await client.async_get_software_version()
            assert version.startswith("2.800.0000016.0.R")
            assert await client.async_set_machine_name("Garage") is True
            assert cam.name == "Garage"
            general = await client.async_get_config("General")
            assert general["table.General.MachineName"] == "Garage"
    finally:
        await server.close()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    password=st.text(max_size=20) | st.integers() | st.none(),
    kind=st.sampled_from(["Default", "OldDigest", "Plain", "Basic", "", None]),
    user=st.text(max_size=8) | st.just("admin"),
)
def test_hostile_step_two_logins_are_refused_cleanly(fleet, clock, password, kind, user):
    from nvrsim.simulator.dahua.rpc import DahuaRpc

    cam = fleet.find("cam")
    rpc_ = DahuaRpc(cam)
    step1 = {"method": "global.login", "params": {"userName": user}, "id": 1}
    challenge = rpc_.login(step1, "127.0.0.1", clock.now())
    step2 = {
        "method": "global.login",
        "params": {"userName": user, "password": password, "passwordType": kind},
        "id": 2,
        "session": challenge.get("session"),
    }
    reply = rpc_.login(step2, "127.0.0.1", clock.now())
    assert reply["result"] is False or (password == PASSWORD and kind == "Plain")
    cam.lockout.clear()


def test_amcrest_takes_a_snapshot(fleet):
    import io

    from PIL import Image

    cam = fleet.find("cam")
    with ServerThread(dahua_app(cam, _clock(fleet))) as url:
        host, port = url.removeprefix("http://").split(":")
        camera = AmcrestCamera(host, int(port), "admin", PASSWORD, retries_connection=0).camera
        picture = camera.snapshot(channel=1, stream=False)
        assert Image.open(io.BytesIO(picture)).format == "JPEG"
        refused = requests.get(
            f"{url}/cgi-bin/snapshot.cgi?channel=9",
            auth=HTTPDigestAuth("admin", PASSWORD),
            timeout=10,
        )
        assert refused.status_code == 400
