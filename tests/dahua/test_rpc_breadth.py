"""Dahua RPC2 and CGI past first contact: method listings, users, clock, network, storage,
upgrader; hostile params for every new method (hypothesis). Real sockets (aiohttp's test
server on loopback, port 0)."""

from __future__ import annotations

import json

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.users import UserLevel
from nvrsim.simulator.dahua.cgi import handle_cgi
from nvrsim.simulator.dahua.http import dahua_app
from nvrsim.simulator.dahua.manage import RPC_METHODS
from nvrsim.simulator.dahua.rpc import DahuaRpc
from nvrsim.simulator.runtime.state import device_entry
from tests.conftest import PASSWORD, make_fleet
from tests.dahua.test_dahua_http import login, rpc
from tests.dahua.test_dhip import dahua_camera, dahua_entry
from tests.strategies_isapi import ServerThread

METHOD_NOT_FOUND = 268894210
INVALID_PARAM = 268894211


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dahua_entry("nvr", disks=2),
        dahua_camera("cam"),
        clock=clock,
        address_pool="127.87.0.0/24",
    )


class Rpc:
    def __init__(self, client: TestClient, session: str) -> None:
        self.client, self.session, self.ids = client, session, 10

    async def __call__(self, method: str, **params) -> dict:
        self.ids += 1
        document = {"method": method, "params": params, "id": self.ids, "session": self.session}
        return await rpc(self.client, "/RPC2", document)


async def connect(client, user="admin", password=PASSWORD) -> Rpc:
    reply = await login(client, password, user)
    assert reply["result"] is True, reply
    return Rpc(client, reply["session"])


@pytest.fixture
async def nvr_rpc(fleet, clock):
    async with TestClient(TestServer(dahua_app(fleet.find("nvr"), clock))) as client:
        yield await connect(client)


@pytest.fixture
async def cam_rpc(fleet, clock):
    async with TestClient(TestServer(dahua_app(fleet.find("cam"), clock))) as client:
        yield await connect(client)


async def test_list_method_lists_exactly_what_is_answered(nvr_rpc, cam_rpc):
    for call in (nvr_rpc, cam_rpc):
        listed = (await call("system.listMethod"))["params"]["method"]
        assert "userManager.getUserInfoAll" in listed and "magicBox.listMethod" in listed
        for method in listed:
            if method in ("global.logout", "userManager.addUser", "userManager.deleteUser"):
                continue  # answered, but they end the session or need params
            reply = await call(method)
            assert reply.get("error", {}).get("code") != METHOD_NOT_FOUND, method
        magic = (await call("magicBox.listMethod"))["params"]["method"]
        assert magic == [m for m in listed if m.startswith("magicBox.")]
        services = (await call("system.listService"))["params"]["service"]
        assert {"magicBox", "userManager", "global", "system"} <= set(services)
        reply = await call("magicBox.getWhatever")
        assert reply["error"] == {"code": METHOD_NOT_FOUND, "message": "Method not found!"}
    cam_listed = (await cam_rpc("system.listMethod"))["params"]["method"]
    assert "storageDevice.getDeviceAllInfo" not in cam_listed
    reply = await cam_rpc("storageDevice.getDeviceAllInfo")
    assert reply["error"]["code"] == METHOD_NOT_FOUND


async def test_users_added_log_in_and_are_deleted(fleet, clock):
    nvr = fleet.find("nvr")
    async with TestClient(TestServer(dahua_app(nvr, clock))) as client:
        admin = await connect(client)
        user = {"Name": "guard", "Password": "Guard1234", "Group": "user", "Sharable": True}
        assert (await admin("userManager.addUser", user=user))["result"] is True
        users = (await admin("userManager.getUserInfoAll"))["params"]["users"]
        assert [(u["Id"], u["Name"], u["Group"]) for u in users] == [
            (1, "admin", "admin"),
            (2, "guard", "user"),
        ]
        guard = await connect(client, "guard", "Guard1234")
        active = (await guard("userManager.getActiveUserInfoAll"))["params"]["users"]
        assert sorted(u["Name"] for u in active) == ["admin", "guard"]
        reply = await admin(
            "userManager.modifyPassword", name="guard", pwd="Other5678", pwdOld="wrong"
        )
        assert reply["error"]["code"] == INVALID_PARAM and nvr.user("guard").password == "Guard1234"
        reply = await admin(
            "userManager.modifyPassword", name="guard", pwd="Other5678", pwdOld="Guard1234"
        )
        assert reply["result"] is True
        await connect(client, "guard", "Other5678")
        assert (await admin("userManager.deleteUser", name="admin"))["error"]["code"] == (
            INVALID_PARAM
        )
        assert (await admin("userManager.deleteUser", name="guard"))["result"] is True
        assert (await login(client, "Other5678", "guard"))["result"] is False


async def test_clock_network_storage_and_upgrader(fleet, clock, nvr_rpc):
    nvr = fleet.find("nvr")
    assert (await nvr_rpc("global.getCurrentTime"))["params"]["time"] == "2023-11-14 22:13:20"
    reply = await nvr_rpc("global.setCurrentTime", time="2030-02-03 04:05:06", tolerance=5)
    assert reply["result"] is True
    clock.advance(4)
    assert (await nvr_rpc("global.getCurrentTime"))["params"]["time"] == "2030-02-03 04:05:10"
    assert (await nvr_rpc("global.setCurrentTime", time="tomorrow"))["error"]["code"] == (
        INVALID_PARAM
    )
    [nic] = (await nvr_rpc("netApp.getNetInterfaces"))["params"]["netInterface"]
    assert (nic["Name"], nic["PhysicalAddress"], nic["Valid"]) == ("eth0", nvr.mac, True)
    disks = (await nvr_rpc("storageDevice.getDeviceAllInfo"))["params"]["info"]
    assert [(d["Name"], d["State"]) for d in disks] == [
        ("/dev/sda", "Success"),
        ("/dev/sdb", "Success"),
    ]
    nvr.own_faults = Faults(disk_failure=True)
    disks = (await nvr_rpc("storageDevice.getDeviceAllInfo"))["params"]["info"]
    assert [d["State"] for d in disks] == ["Error", "Success"] and disks[0]["Detail"][0]["IsError"]
    state = (await nvr_rpc("upgrader.getState"))["params"]
    assert state == {"Progress": 0, "State": "Inexistence"}


async def test_only_administrators_manage_users_and_the_clock(fleet, clock):
    nvr = fleet.find("nvr")
    nvr.add_users([("guard", "Guard1234", UserLevel.OPERATOR)])
    async with TestClient(TestServer(dahua_app(nvr, clock))) as client:
        guard = await connect(client, "guard", "Guard1234")
        for method, params in [
            (
                "userManager.addUser",
                {"user": {"Name": "x1", "Password": "Xx123456", "Group": "user"}},
            ),
            ("userManager.deleteUser", {"name": "admin"}),
            (
                "userManager.modifyPassword",
                {"name": "admin", "pwd": "Aa123456", "pwdOld": PASSWORD},
            ),
            ("global.setCurrentTime", {"time": "2030-01-01 00:00:00"}),
        ]:
            reply = await guard(method, **params)
            assert reply["error"]["code"] == 268894209, method
        own = await guard(
            "userManager.modifyPassword", name="guard", pwd="Guard5678", pwdOld="Guard1234"
        )
        assert own["result"] is True
    assert [u.name for u in nvr.users()] == ["admin", "guard"]
    assert nvr.admin_password == PASSWORD and nvr.clock_offset == 0.0


def test_the_cgi_counterparts(fleet, clock):
    nvr = fleet.find("nvr")
    with ServerThread(dahua_app(nvr, clock)) as url:

        def get(path: str, user="admin", password=PASSWORD) -> requests.Response:
            auth = HTTPDigestAuth(user, password)
            return requests.get(f"{url}/cgi-bin/{path}", auth=auth, timeout=10)

        added = get(
            "userManager.cgi?action=addUser&user.Name=night&user.Password=Night1234"
            "&user.Group=user&user.Sharable=true&user.Reserved=false"
        )
        assert added.text == "OK\r\n"
        listing = get("userManager.cgi?action=getUserInfoAll", "night", "Night1234").text
        assert "users[1].Name=night\r\n" in listing and "users[0].Group=admin\r\n" in listing
        refused = get(
            "userManager.cgi?action=addUser&user.Name=night&user.Password=Night1234&user.Group=user"
        )
        assert (refused.status_code, refused.text) == (400, "Error\r\nBad Request!\r\n")
        changed = get(
            "userManager.cgi?action=modifyPassword&name=night&pwd=Night5678&pwdOld=Night1234"
        )
        assert changed.text == "OK\r\n" and nvr.user("night").password == "Night5678"
        assert get("userManager.cgi?action=deleteUser&name=night").text == "OK\r\n"
        assert get("global.cgi?action=getCurrentTime", "night", "Night5678").status_code == 401
        assert get("global.cgi?action=setCurrentTime&time=2029-01-01%2000:00:00").text == "OK\r\n"
        assert get("global.cgi?action=getCurrentTime").text == "result=2029-01-01 00:00:00\r\n"
        assert get("magicBox.cgi?action=getLanguageCaps").text == "Languages=English\r\n"
        nvr.add_users([("op", "Operat0r1", UserLevel.OPERATOR)])
        denied = get("userManager.cgi?action=deleteUser&name=admin", "op", "Operat0r1")
        assert (denied.status_code, denied.text) == (403, "Authority:check failure.\r\n")
        assert get("global.cgi?action=getCurrentTime", "op", "Operat0r1").status_code == 200


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_params = st.fixed_dictionaries(
    {},
    optional={
        "user": st.one_of(
            _json,
            st.fixed_dictionaries({}, optional={"Name": _json, "Password": _json, "Group": _json}),
        ),
        "name": _json,
        "pwd": _json,
        "pwdOld": _json,
        "time": _json,
    },
)


@given(
    method=st.sampled_from(
        [*sorted(RPC_METHODS), "userManager.getActiveUserInfoAll", "system.listMethod"]
    ),
    params=_params,
)
@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_params_get_rpc_errors_never_a_change(fleet, clock, method, params):
    nvr = fleet.find("nvr")
    responder = DahuaRpc(nvr)
    session = responder.sessions.open("admin", "127.0.0.1", clock.now())
    session.authorised = True
    before = device_entry(nvr)
    reply = responder.call(
        {"method": method, "params": params, "id": 1, "session": session.id},
        "127.0.0.1",
        clock.now(),
    )
    json.dumps(reply)  # always a JSON document
    if reply["result"] is False:
        assert reply["error"]["code"] == INVALID_PARAM
        assert device_entry(nvr) == before
    nvr.accounts.clear()
    nvr.admin_password = PASSWORD
    nvr.clock_offset = 0.0


_cgi_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)


@given(
    name=st.sampled_from(["userManager.cgi", "global.cgi", "magicBox.cgi"]),
    query=st.fixed_dictionaries(
        {
            "action": st.sampled_from(
                [
                    "getUserInfoAll",
                    "addUser",
                    "deleteUser",
                    "modifyPassword",
                    "setCurrentTime",
                    "getCurrentTime",
                    "getLanguageCaps",
                    "nope",
                ]
            )
        },
        optional={
            k: _cgi_text
            for k in ("user.Name", "user.Password", "user.Group", "name", "pwd", "pwdOld", "time")
        },
    ),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_cgi_queries_get_the_vendor_error_never_a_change(fleet, clock, name, query):
    nvr = fleet.find("nvr")
    before = device_entry(nvr)
    reply = handle_cgi(nvr, name, query, clock.now())
    assert reply.status in (200, 400)
    if reply.status == 400:
        assert reply.body == "Error\r\nBad Request!\r\n" and device_entry(nvr) == before
    nvr.accounts.clear()
    nvr.admin_password = PASSWORD
    nvr.clock_offset = 0.0
