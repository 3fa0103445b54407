"""ONVIF device management: users, DNS, NTP, protocols, discovery mode, clock, reboot.

Pure responder tests for every operation and its faults, hostile SOAP through
hypothesis; the cross-protocol flows over real sockets are in
test_device_mgmt_clients.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.simulator.onvif.service import OnvifResponder
from nvrsim.simulator.runtime.state import device_entry
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.onvif.test_onvif_service import CLIENT, NS, fault_of, soap, token

STRONG = "Strong123"


@pytest.fixture
def device(clock):
    return make_fleet(hik_entry(), clock=clock).devices[0]


@pytest.fixture
def onvif(device, clock):
    return OnvifResponder(device, clock)


def call(onvif, clock, operation, params="", *, user="admin", password=PASSWORD):
    security = token(password, created=clock.now(), user=user)
    return onvif.handle("device", soap(operation, security, params), CLIENT)


def ok(onvif, clock, operation, params="", **kw) -> ET.Element:
    reply = call(onvif, clock, operation, params, **kw)
    assert reply.status == 200, reply.body
    return ET.fromstring(reply.body).find(f"env:Body/tds:{operation}Response", NS)


def refused(onvif, clock, operation, params="", **kw) -> tuple[str, str, str]:
    reply = call(onvif, clock, operation, params, **kw)
    assert reply.status == 400, reply.body
    return fault_of(reply.body)


def user_xml(name: str, password: str | None = STRONG, level: str = "Operator") -> str:
    secret = f"<tt:Password>{password}</tt:Password>" if password is not None else ""
    return (
        f"<tds:User><tt:Username>{name}</tt:Username>{secret}"
        f"<tt:UserLevel>{level}</tt:UserLevel></tds:User>"
    )


def listed(onvif, clock) -> list[tuple[str, str]]:
    body = ok(onvif, clock, "GetUsers")
    return [
        (u.findtext("tt:Username", namespaces=NS), u.findtext("tt:UserLevel", namespaces=NS))
        for u in body.findall("tds:User", NS)
    ]


def test_users_are_created_listed_changed_and_deleted(onvif, device, clock):
    assert listed(onvif, clock) == [("admin", "Administrator")]
    ok(onvif, clock, "CreateUsers", user_xml("op1") + user_xml("view1", level="User"))
    assert listed(onvif, clock) == [
        ("admin", "Administrator"),
        ("op1", "Operator"),
        ("view1", "User"),
    ]
    # the new account logs in to ONVIF itself
    ok(onvif, clock, "GetDNS", user="op1", password=STRONG)
    ok(onvif, clock, "SetUser", user_xml("op1", "Other4567", "Administrator"))
    assert device.user("op1").password == "Other4567"
    ok(onvif, clock, "GetUsers", user="op1", password="Other4567")  # now an administrator
    ok(onvif, clock, "DeleteUsers", "<tds:Username>op1</tds:Username>")
    assert [n for n, _ in listed(onvif, clock)] == ["admin", "view1"]
    assert refused(onvif, clock, "GetDNS", user="op1", password="Other4567")[1] == (
        "ter:NotAuthorized"
    )


@pytest.mark.parametrize(
    ("params", "subcode"),
    [
        (user_xml("admin"), "ter:OperationProhibited"),  # UsernameClash
        (user_xml("a") + user_xml("a"), "ter:OperationProhibited"),
        (user_xml("weak", "abc"), "ter:OperationProhibited"),  # Password
        (user_xml("long", "Aa1" * 30), "ter:OperationProhibited"),  # PasswordTooLong
        (user_xml("x" * 33), "ter:OperationProhibited"),  # UsernameTooLong
        (user_xml(""), "ter:InvalidArgVal"),  # UsernameTooShort
        (user_xml("anon", level="Anonymous"), "ter:OperationProhibited"),
        (user_xml("ext", level="Extended"), "ter:InvalidArgVal"),
        (user_xml("spa ce"), "ter:InvalidArgVal"),
        ("<tds:User></tds:User>", "ter:InvalidArgVal"),
    ],
)
def test_create_users_faults_change_nothing(onvif, device, clock, params, subcode):
    ok(onvif, clock, "CreateUsers", user_xml("kept"))
    before = device_entry(device)
    assert refused(onvif, clock, "CreateUsers", user_xml("new1") + params)[1] == subcode
    assert device_entry(device) == before


def test_the_fault_names_the_spec_subcode(onvif, clock):
    reply = call(onvif, clock, "CreateUsers", user_xml("admin"))
    assert b"ter:UsernameClash" in reply.body
    reply = call(onvif, clock, "DeleteUsers", "<tds:Username>admin</tds:Username>")
    assert b"ter:FixedUser" in reply.body and reply.status == 400
    reply = call(onvif, clock, "DeleteUsers", "<tds:Username>ghost</tds:Username>")
    assert b"ter:UsernameMissing" in reply.body
    reply = call(onvif, clock, "SetUser", user_xml("admin", level="User"))
    assert b"ter:FixedUser" in reply.body
    reply = call(onvif, clock, "SetUser", user_xml("ghost"))
    assert b"ter:UsernameMissing" in reply.body


def test_too_many_users(onvif, device, clock):
    ok(onvif, clock, "CreateUsers", "".join(user_xml(f"u{n}") for n in range(31)))
    reply = call(onvif, clock, "CreateUsers", user_xml("one-more"))
    assert reply.status == 400 and b"ter:TooManyUsers" in reply.body
    assert len(device.users()) == 32


def test_only_administrators_manage_users(onvif, device, clock):
    ok(onvif, clock, "CreateUsers", user_xml("op1"))
    for operation, params in [
        ("GetUsers", ""),
        ("CreateUsers", user_xml("op2")),
        ("DeleteUsers", "<tds:Username>op1</tds:Username>"),
        ("SystemReboot", ""),
    ]:
        fault = refused(onvif, clock, operation, params, user="op1", password=STRONG)
        assert fault[1] == "ter:NotAuthorized"
    assert [u.name for u in device.users()] == ["admin", "op1"]


def test_the_admin_password_changes_through_set_user(onvif, device, clock):
    ok(onvif, clock, "SetUser", user_xml("admin", "Changed123", "Administrator"))
    assert device.admin_password == "Changed123"
    assert refused(onvif, clock, "SetUser", user_xml("admin", "weak", "Administrator"))
    assert device.admin_password == "Changed123"


def test_dns_ntp_protocols_and_discovery_mode(onvif, device, clock):
    dns = ok(onvif, clock, "GetDNS")
    assert dns.findtext("tds:DNSInformation/tt:DNSManual/tt:IPv4Address", namespaces=NS) == str(
        device.network.gateway
    )
    ntp = ok(onvif, clock, "GetNTP")
    assert ntp.findtext("tds:NTPInformation/tt:FromDHCP", namespaces=NS) == "false"
    ok(
        onvif,
        clock,
        "SetNTP",
        "<tds:FromDHCP>false</tds:FromDHCP>"
        "<tds:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>10.0.0.1</tt:IPv4Address>"
        "</tds:NTPManual><tds:NTPManual><tt:Type>DNS</tt:Type>"
        "<tt:DNSname>pool.ntp.org</tt:DNSname></tds:NTPManual>",
    )
    assert device.ntp_servers == ("10.0.0.1", "pool.ntp.org")
    ntp = ok(onvif, clock, "GetNTP")
    assert [n.text for n in ntp.iter(f"{{{NS['tt']}}}DNSname")] == ["pool.ntp.org"]
    bad = "<tds:FromDHCP>false</tds:FromDHCP><tds:NTPManual><tt:Type>IPv4</tt:Type>"
    bad += "<tt:IPv4Address>300.1.1.1</tt:IPv4Address></tds:NTPManual>"
    assert refused(onvif, clock, "SetNTP", bad)[1] == "ter:InvalidArgVal"
    assert device.ntp_servers == ("10.0.0.1", "pool.ntp.org")
    protocols = ok(onvif, clock, "GetNetworkProtocols")
    names = [p.findtext("tt:Name", namespaces=NS) for p in protocols]
    assert names == ["HTTP", "HTTPS", "RTSP"]
    mode = ok(onvif, clock, "GetDiscoveryMode")
    assert mode.findtext("tds:DiscoveryMode", namespaces=NS) == "Discoverable"


def set_time(year=2030, hour=12, kind="Manual", tz="CST-8") -> str:
    return (
        f"<tds:DateTimeType>{kind}</tds:DateTimeType><tds:DaylightSavings>false"
        f"</tds:DaylightSavings><tds:TimeZone><tt:TZ>{tz}</tt:TZ></tds:TimeZone>"
        "<tds:UTCDateTime><tt:Date><tt:Year>"
        f"{year}</tt:Year><tt:Month>1</tt:Month><tt:Day>2</tt:Day></tt:Date><tt:Time>"
        f"<tt:Hour>{hour}</tt:Hour><tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time>"
        "</tds:UTCDateTime>"
    )


def device_time(onvif, clock) -> tuple[str, str]:
    body = ok(onvif, clock, "GetSystemDateAndTime")
    sdt = body.find("tds:SystemDateAndTime", NS)
    return (
        sdt.findtext("tt:DateTimeType", namespaces=NS),
        sdt.findtext("tt:UTCDateTime/tt:Date/tt:Year", namespaces=NS),
    )


def test_set_system_date_and_time_moves_the_device_clock(onvif, device, clock):
    ok(onvif, clock, "SetSystemDateAndTime", set_time(2030))
    assert device_time(onvif, clock) == ("Manual", "2030")
    clock.advance(10)  # the device clock keeps running with the simulation clock
    assert device.local_now(clock.now()) == pytest.approx(1893585610.0)
    # the caller must now sign in the device's time (the freshness window)
    assert refused(onvif, clock, "GetDNS")[1] == "ter:NotAuthorized"


def test_ntp_makes_the_clock_follow_the_simulation_clock(onvif, device, clock):
    device.clock_offset = 1000.0
    params = "<tds:DateTimeType>NTP</tds:DateTimeType><tds:DaylightSavings>false"
    params += "</tds:DaylightSavings>"
    reply = onvif.handle(
        "device", soap("SetSystemDateAndTime", token(created=clock.now() + 1000), params), CLIENT
    )
    assert reply.status == 200
    assert device.local_now(clock.now()) == clock.now()
    assert device_time(onvif, clock)[0] == "NTP"


@pytest.mark.parametrize(
    "params",
    [
        set_time(year=1969),
        set_time(hour=25),
        set_time(kind="Sometimes"),
        set_time(tz="x" * 65),
        "<tds:DateTimeType>Manual</tds:DateTimeType><tds:DaylightSavings>false"
        "</tds:DaylightSavings>",
    ],
)
def test_bad_dates_are_refused_and_change_nothing(onvif, device, clock, params):
    assert refused(onvif, clock, "SetSystemDateAndTime", params)[1] == "ter:InvalidArgVal"
    assert (device.clock_offset, device.time_mode) == (0.0, "Manual")


def test_system_reboot_restarts_the_device(onvif, device, clock):
    device.lockout.attempt("10.0.0.9", clock.now(), lambda _p: False, "")
    clock.advance(5)
    body = ok(onvif, clock, "SystemReboot")
    assert body.findtext("tds:Message", namespaces=NS) == "Rebooting"
    assert device.boot_time == clock.now() and device.lockout.retries_left("10.0.0.9", 0) == 7


OPERATIONS = [
    "GetUsers",
    "CreateUsers",
    "SetUser",
    "DeleteUsers",
    "GetDNS",
    "GetNTP",
    "SetNTP",
    "GetNetworkProtocols",
    "GetDiscoveryMode",
    "SetSystemDateAndTime",
    "SystemReboot",
]
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&"), max_size=40
)
_leaf = st.builds(
    lambda tag, text: f"<tt:{tag}>{text}</tt:{tag}>",
    st.sampled_from(
        [
            "Username",
            "Password",
            "UserLevel",
            "Type",
            "IPv4Address",
            "DNSname",
            "Year",
            "Hour",
            "TZ",
        ]
    ),
    _text,
)
_node = st.recursive(
    _leaf,
    lambda inner: st.builds(
        lambda tag, kids: f"<tds:{tag}>{''.join(kids)}</tds:{tag}>",
        st.sampled_from(
            [
                "User",
                "Username",
                "NTPManual",
                "FromDHCP",
                "DateTimeType",
                "TimeZone",
                "UTCDateTime",
                "Date",
                "Time",
                "DaylightSavings",
            ]
        ),
        st.lists(inner, max_size=4),
    ),
    max_leaves=12,
)


@given(operation=st.sampled_from(OPERATIONS), params=st.lists(_node, max_size=4))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_soap_gets_a_fault_never_a_500_or_a_change(onvif, device, clock, operation, params):
    before = device_entry(device), device.boot_time
    reply = call(onvif, clock, operation, "".join(params))
    assert reply.status in (200, 400)
    if reply.status == 400:
        assert fault_of(reply.body)[0] in ("env:Sender", "env:Receiver")
        assert (device_entry(device), device.boot_time) == before
    # restore for the next example: a 200 may legitimately change state
    device.accounts.clear()
    device.admin_password = PASSWORD
    device.clock_offset, device.time_mode, device.ntp_servers = 0.0, "Manual", ()


@given(body=st.binary(max_size=300), operation=st.sampled_from(OPERATIONS))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_around_every_operation_is_a_400(onvif, device, clock, body, operation):
    before = device_entry(device)
    wrapped = soap(operation).replace(b"</s:Body>", body + b"</s:Body>")
    reply = onvif.handle("device", wrapped, CLIENT)
    assert reply.status == 400 and device_entry(device) == before
