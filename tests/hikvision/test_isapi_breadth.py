"""ISAPI past first contact over real sockets: users, time, network, storage, IP channels,
MotionDetection and triggers; hostile documents to every new write (hypothesis)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.auth import HTTPDigestAuth

from nvrsim.protocols.isapi import HIKVISION_NAMESPACE
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.users import UserLevel
from nvrsim.simulator.hikvision.isapi import isapi_app
from nvrsim.simulator.runtime.state import device_entry
from nvrsim.strategies.isapi import XML_BOMBS
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.strategies_isapi import ServerThread, serve

NS = {"ns": HIKVISION_NAMESPACE}
CAMERA = {
    "kind": "ipc",
    "model": "DS-2CD2385G1-I",
    "firmware": "V5.6.2build 190701",
    "ip_channels": 1,
    "disks": 0,
}


class Isapi:
    def __init__(self, base: str, user: str = "admin", password: str = PASSWORD) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            middlewares=(aiohttp.DigestAuthMiddleware(user, password),)
        )

    async def __aenter__(self) -> Isapi:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, body: bytes | str = b"") -> tuple[int, ET.Element]:
        async with self.session.request(method, self.base + path, data=body) as response:
            return response.status, ET.fromstring(await response.read())


def status_of(root: ET.Element) -> str:
    return root.findtext("ns:subStatusCode", namespaces=NS)


def texts(root: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(path, NS)]


@pytest.fixture
def nvr(clock):
    entry = hik_entry("nvr", analog_channels=4, ip_channels=4, disks=2)
    return make_fleet(entry, hik_entry("cam", **CAMERA), clock=clock).devices[0]


@pytest.fixture
def camera(clock):
    return make_fleet(hik_entry("cam", **CAMERA), clock=clock).devices[0]


def user_doc(name="op1", password="Operat0r1", level="Operator") -> str:
    return (
        f"<User><userName>{name}</userName><password>{password}</password>"
        f"<userLevel>{level}</userLevel></User>"
    )


async def test_users_listed_added_changed_and_deleted(nvr, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        status, root = await admin.call("GET", "/ISAPI/Security/users")
        assert status == 200 and texts(root, "ns:User/ns:userName") == ["admin"]
        assert (await admin.call("POST", "/ISAPI/Security/users", user_doc()))[0] == 200
        status, root = await admin.call("GET", "/ISAPI/Security/users")
        assert texts(root, "ns:User/ns:id") == ["1", "2"]
        assert texts(root, "ns:User/ns:userLevel") == ["Administrator", "Operator"]
        assert b"Operat0r1" not in ET.tostring(root)  # never a password
        async with Isapi(base, "op1", "Operat0r1") as op1:
            assert (await op1.call("GET", "/ISAPI/System/deviceInfo"))[0] == 200
        change = "<User><password>Changed99</password><userLevel>Viewer</userLevel></User>"
        assert (await admin.call("PUT", "/ISAPI/Security/users/2", change))[0] == 200
        assert nvr.user("op1").password == "Changed99"
        status, root = await admin.call("GET", "/ISAPI/Security/users/2")
        assert root.findtext("ns:userLevel", namespaces=NS) == "Viewer"
        assert (await admin.call("DELETE", "/ISAPI/Security/users/2"))[0] == 200
        assert nvr.user("op1") is None


@pytest.mark.parametrize(
    ("method", "path", "body", "http", "sub"),
    [
        ("POST", "/ISAPI/Security/users", user_doc("admin"), 400, "userNameExist"),
        ("POST", "/ISAPI/Security/users", user_doc(password="weak"), 400, "riskPassword"),
        ("POST", "/ISAPI/Security/users", user_doc(level="God"), 400, "badXmlContent"),
        (
            "POST",
            "/ISAPI/Security/users",
            "<User><userName>x</userName></User>",
            400,
            "badXmlContent",
        ),
        ("POST", "/ISAPI/Security/users", "<User>", 400, "badXmlFormat"),
        ("DELETE", "/ISAPI/Security/users/1", "", 400, "invalidOperation"),
        (
            "PUT",
            "/ISAPI/Security/users/1",
            "<User><userLevel>Viewer</userLevel></User>",
            400,
            "invalidOperation",
        ),
        ("DELETE", "/ISAPI/Security/users/9", "", 404, "invalidID"),
        ("PUT", "/ISAPI/Security/users/x", user_doc(), 404, "invalidID"),
        (
            "PUT",
            "/ISAPI/System/time",
            "<Time><timeMode>sometimes</timeMode></Time>",
            400,
            "badXmlContent",
        ),
        (
            "PUT",
            "/ISAPI/System/time",
            "<Time><timeMode>manual</timeMode><localTime>yesterday</localTime></Time>",
            400,
            "badXmlContent",
        ),
        (
            "PUT",
            "/ISAPI/System/Video/inputs/channels/1/motionDetection",
            "<MotionDetection><MotionDetectionLayout><sensitivityLevel>101</sensitivityLevel>"
            "</MotionDetectionLayout></MotionDetection>",
            400,
            "badXmlContent",
        ),
        ("GET", "/ISAPI/System/Network/interfaces/2", "", 404, "invalidID"),
    ],
)
async def test_refusals_are_response_status_documents_and_change_nothing(
    nvr, clock, method, path, body, http, sub
):
    before = device_entry(nvr)
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        status, root = await admin.call(method, path, body)
    assert (status, status_of(root)) == (http, sub)
    assert device_entry(nvr) == before


async def test_time_manual_and_ntp(nvr, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        _, root = await admin.call("GET", "/ISAPI/System/time")
        assert root.findtext("ns:timeMode", namespaces=NS) == "manual"
        assert root.findtext("ns:localTime", namespaces=NS) == "2023-11-14T22:13:20Z"
        manual = "<Time><timeMode>manual</timeMode><localTime>2030-01-02T03:04:05+01:00"
        manual += "</localTime><timeZone>CST-1:00:00</timeZone></Time>"
        assert (await admin.call("PUT", "/ISAPI/System/time", manual))[0] == 200
        clock.advance(60)
        _, root = await admin.call("GET", "/ISAPI/System/time")
        assert root.findtext("ns:localTime", namespaces=NS) == "2030-01-02T02:05:05Z"
        ntp = "<Time><timeMode>NTP</timeMode></Time>"
        assert (await admin.call("PUT", "/ISAPI/System/time", ntp))[0] == 200
        _status, root = await admin.call("GET", "/ISAPI/System/time")
        assert root.findtext("ns:timeMode", namespaces=NS) == "NTP"
        assert nvr.local_now(clock.now()) == clock.now()


async def test_network_interfaces(nvr, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        _status, root = await admin.call("GET", "/ISAPI/System/Network/interfaces")
    nic = root.find("ns:NetworkInterface", NS)
    assert nic.findtext("ns:IPAddress/ns:ipAddress", namespaces=NS) == nvr.network.ip
    assert nic.findtext("ns:IPAddress/ns:subnetMask", namespaces=NS) == nvr.network.netmask
    assert nic.findtext("ns:Link/ns:MACAddress", namespaces=NS) == nvr.mac


async def test_storage_shows_the_disks_and_a_disk_failure(nvr, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        _, root = await admin.call("GET", "/ISAPI/ContentMgmt/Storage")
        assert texts(root, "ns:hddList/ns:hdd/ns:status") == ["ok", "ok"]
        nvr.own_faults = Faults(disk_failure=True)
        _, root = await admin.call("GET", "/ISAPI/ContentMgmt/Storage")
        assert texts(root, "ns:hddList/ns:hdd/ns:status") == ["error", "ok"]
        _status, root = await admin.call("GET", "/ISAPI/ContentMgmt/Storage/hdd")
        assert texts(root, "ns:hdd/ns:id") == ["1", "2"]


async def test_input_proxy_lists_a_recorders_ip_channels(nvr, camera, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        status, root = await admin.call("GET", "/ISAPI/ContentMgmt/InputProxy/channels")
    assert status == 200 and texts(root, "ns:InputProxyChannel/ns:id") == ["5", "6", "7", "8"]
    async with serve(isapi_app(camera, clock)) as base, Isapi(base) as admin:
        status, root = await admin.call("GET", "/ISAPI/ContentMgmt/InputProxy/channels")
    assert (status, status_of(root)) == (404, "notSupport")


async def test_the_full_motion_detection_document(nvr, clock):
    path = "/ISAPI/System/Video/inputs/channels/2/motionDetection"
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        _, root = await admin.call("GET", path)
        layout = root.find("ns:MotionDetectionLayout", NS)
        assert layout.findtext("ns:sensitivityLevel", namespaces=NS) == "60"
        assert len(layout.findtext("ns:layout/ns:gridMap", namespaces=NS)) == 108
        body = ET.tostring(root).replace(b">60<", b">80<").replace(b">false<", b">true<", 1)
        assert (await admin.call("PUT", path, body))[0] == 200
        _status, root = await admin.call("GET", path)
    assert root.findtext("ns:enabled", namespaces=NS) == "true"
    assert root.findtext("ns:MotionDetectionLayout/ns:sensitivityLevel", namespaces=NS) == "80"
    assert nvr.motion_sensitivity == {2: 80} and 2 in nvr.motion_detection


async def test_triggers_of_every_event_type(nvr, camera, clock):
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base) as admin:
        _, root = await admin.call("GET", "/ISAPI/Event/triggers")
    kinds = texts(root, "ns:EventTrigger/ns:eventType")
    assert sorted(set(kinds)) == sorted(
        [
            "VMD",
            "linedetection",
            "fielddetection",
            "tamperdetection",
            "videoloss",
            "IO",
            "diskerror",
        ]
    )
    assert kinds.count("VMD") == 8 and kinds.count("IO") == 4
    assert kinds.count("diskerror") == nvr.disks  # one trigger per disk (simulator.core.events)
    assert texts(root, "ns:EventTrigger/ns:dynVideoInputChannelID")[:4] == ["5", "6", "7", "8"]
    assert set(texts(root, "ns:EventTrigger//ns:notificationMethod")) == {"center"}
    async with serve(isapi_app(camera, clock)) as base, Isapi(base) as admin:
        _status, root = await admin.call("GET", "/ISAPI/Event/triggers")
    assert "diskerror" not in texts(root, "ns:EventTrigger/ns:eventType")


WRITES = [
    ("POST", "/ISAPI/Security/users", "User"),
    ("PUT", "/ISAPI/Security/users/1", "User"),
    ("PUT", "/ISAPI/System/time", "Time"),
    ("PUT", "/ISAPI/System/Video/inputs/channels/1/motionDetection", "MotionDetection"),
]
_value = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&"), max_size=30
)
_field = st.builds(
    lambda tag, text: f"<{tag}>{text}</{tag}>",
    st.sampled_from(
        ["userName", "password", "userLevel", "timeMode", "localTime", "timeZone", "enabled", "id"]
    ),
    _value,
)
_layout = st.builds(
    lambda text: (
        f"<MotionDetectionLayout><sensitivityLevel>{text}</sensitivityLevel>"
        "</MotionDetectionLayout>"
    ),
    _value,
)


@st.composite
def hostile(draw) -> tuple[str, str, bytes]:
    method, path, root = draw(st.sampled_from(WRITES))
    body = draw(
        st.one_of(
            st.builds(
                lambda f: f"<{root}>{''.join(f)}</{root}>".encode(),
                st.lists(st.one_of(_field, _layout), max_size=4),
            ),
            st.binary(max_size=200),
            st.sampled_from(XML_BOMBS),
        )
    )
    return method, path, body


def test_hostile_documents_get_vendor_statuses_never_a_500(nvr, clock):
    session = requests.Session()
    session.auth = HTTPDigestAuth("admin", PASSWORD)
    with ServerThread(isapi_app(nvr, clock)) as url:

        @given(request=hostile())
        @settings(max_examples=150, deadline=None)
        def check(request):
            method, path, body = request
            before = device_entry(nvr)
            response = session.request(method, url + path, data=body, timeout=10)
            assert response.status_code in (200, 400, 404, 413), response.text
            assert ET.fromstring(response.content).tag.endswith("ResponseStatus")
            if response.status_code != 200:
                assert device_entry(nvr) == before
            nvr.accounts.clear()  # a valid write may land: start the next example afresh
            nvr.admin_password = PASSWORD
            nvr.clock_offset, nvr.time_mode = 0.0, "Manual"

        check()


async def test_only_administrators_change_users_and_time(nvr, clock):
    nvr.add_users([("viewer", "Viewer123", UserLevel.USER)])
    async with serve(isapi_app(nvr, clock)) as base, Isapi(base, "viewer", "Viewer123") as viewer:
        assert (await viewer.call("GET", "/ISAPI/Security/users"))[0] == 200
        for method, path, body in [
            ("POST", "/ISAPI/Security/users", user_doc()),
            ("DELETE", "/ISAPI/Security/users/2", ""),
            ("PUT", "/ISAPI/System/time", "<Time><timeMode>NTP</timeMode></Time>"),
        ]:
            status, root = await viewer.call(method, path, body)
            assert (status, status_of(root)) == (403, "lowPrivilege")
    assert [u.name for u in nvr.users()] == ["admin", "viewer"] and nvr.time_mode == "Manual"
