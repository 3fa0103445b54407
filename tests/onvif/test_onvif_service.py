"""The pure ONVIF responder: operations, WS-Security and the shared lockout, faults, junk."""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols.onvif import password_digest
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.onvif.service import OnvifResponder
from tests.conftest import PASSWORD, hik_entry, make_fleet

CLIENT = "127.0.0.1"
NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"

# The fault of protocols/onvif-dlink.md §2.5, as a client reads it.
NOT_AUTHORIZED = ("env:Sender", "ter:NotAuthorized", "Sender not Authorized")


def token(
    password: str = PASSWORD,
    *,
    created: float,
    nonce: bytes | None = None,
    user: str = "admin",
    text: bool = False,
) -> str:
    nonce = nonce if nonce is not None else os.urandom(16)
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    value = password if text else password_digest(nonce, stamp, password)
    kind = "PasswordText" if text else "PasswordDigest"
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{PROFILE}#{kind}">{value}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def soap(operation: str, security: str = "", params: str = "", ns: str = "tds") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{NS["env"]}" xmlns:tds="{NS["tds"]}" xmlns:trt="{NS["trt"]}"'
        f' xmlns:tt="{NS["tt"]}"><s:Header>{security}</s:Header>'
        f"<s:Body><{ns}:{operation}>{params}</{ns}:{operation}></s:Body></s:Envelope>"
    ).encode()


def fault_of(body: bytes) -> tuple[str, str, str]:
    root = ET.fromstring(body)
    fault = root.find("env:Body/env:Fault", NS)
    return (
        fault.findtext("env:Code/env:Value", namespaces=NS),
        fault.findtext("env:Code/env:Subcode/env:Value", namespaces=NS),
        fault.findtext("env:Reason/env:Text", namespaces=NS),
    )


@pytest.fixture
def device(clock):
    return make_fleet(hik_entry(ports={"http": 8080}), clock=clock).devices[0]


@pytest.fixture
def onvif(device, clock):
    return OnvifResponder(device, clock)


def test_system_date_and_time_needs_no_credentials_and_shows_the_skew(clock):
    device = make_fleet(hik_entry(onvif={"clock_skew": -3600}), clock=clock).devices[0]
    reply = OnvifResponder(device, clock).handle("device", soap("GetSystemDateAndTime"), CLIENT)
    assert reply.status == 200
    utc = ET.fromstring(reply.body).find(".//tt:UTCDateTime", NS)
    shown = datetime(
        *(int(utc.findtext(f"tt:Date/tt:{f}", namespaces=NS)) for f in ("Year", "Month", "Day")),
        *(
            int(utc.findtext(f"tt:Time/tt:{f}", namespaces=NS))
            for f in ("Hour", "Minute", "Second")
        ),
        tzinfo=UTC,
    )
    assert shown.timestamp() == int(clock.now()) - 3600


def test_device_information_comes_from_the_device_model(onvif, device, clock):
    reply = onvif.handle("device", soap("GetDeviceInformation", token(created=clock.now())), CLIENT)
    info = ET.fromstring(reply.body).find(".//tds:GetDeviceInformationResponse", NS)
    assert [child.tag.split("}")[1] for child in info] == [
        "Manufacturer",
        "Model",
        "FirmwareVersion",
        "SerialNumber",
        "HardwareId",
    ]
    assert [child.text for child in info] == [
        "HIKVISION",
        device.model,
        device.firmware.text,
        device.serial,
        "88",
    ]


def test_media_profiles_stream_and_snapshot_uris(onvif, device, clock):
    def ask(op, params=""):
        return onvif.handle("media", soap(op, token(created=clock.now()), params, "trt"), CLIENT)

    profiles = ET.fromstring(ask("GetProfiles").body).findall(".//trt:Profiles", NS)
    assert len(profiles) == device.channels == 8
    assert {p.findtext(".//tt:Encoding", namespaces=NS) for p in profiles} == {"H264"}
    first = profiles[0].get("token")
    uri = ET.fromstring(ask("GetStreamUri", f"<trt:ProfileToken>{first}</trt:ProfileToken>").body)
    assert uri.findtext(".//tt:Uri", namespaces=NS) == (
        f"rtsp://{device.network.ip}:554/Streaming/Channels/101?transportmode=unicast"
        "&profile=Profile_1"
    )
    snapshot = ask("GetSnapshotUri", "<trt:ProfileToken>Profile_8</trt:ProfileToken>")
    assert ET.fromstring(snapshot.body).findtext(".//tt:Uri", namespaces=NS) == (
        f"http://{device.network.ip}:8080/onvif/snapshot?Profile_8"
    )
    missing = ask("GetStreamUri", "<trt:ProfileToken>Profile_9</trt:ProfileToken>")
    assert missing.status == 400
    assert fault_of(missing.body)[:2] == ("env:Sender", "ter:InvalidArgVal")


def test_the_not_authorized_fault_is_exact(onvif):
    reply = onvif.handle("device", soap("GetDeviceInformation"), CLIENT)
    assert reply.status == 400
    assert fault_of(reply.body) == NOT_AUTHORIZED
    assert b'xmlns:ter="http://www.onvif.org/ver10/error"' in reply.body


def test_attribute_values_are_escaped_once():
    from nvrsim.protocols.onvif import NetworkInterface, envelope, network_interfaces_response

    nic = NetworkInterface("eth&0", "eth0", "00:11:22:33:44:55", "192.0.2.7", 24, False)
    body = ET.fromstring(envelope(network_interfaces_response(nic)))
    interface = body.find("env:Body/tds:GetNetworkInterfacesResponse/tds:NetworkInterfaces", NS)
    assert interface.get("token") == "eth&0"


def test_a_wrong_digest_counts_toward_the_shared_lockout(onvif, device, clock):
    for left in range(6, -1, -1):
        bad = onvif.handle(
            "device", soap("GetHostname", token("nope", created=clock.now())), CLIENT
        )
        assert fault_of(bad.body) == NOT_AUTHORIZED
        assert device.lockout.retries_left(CLIENT, clock.now()) == left
    assert device.lockout.unlock_in(CLIENT, clock.now()) == 1800
    good = onvif.handle("device", soap("GetHostname", token(created=clock.now())), CLIENT)
    assert fault_of(good.body) == NOT_AUTHORIZED  # locked: the right password is refused too
    clock.advance(1800)
    good = onvif.handle("device", soap("GetHostname", token(created=clock.now())), CLIENT)
    assert good.status == 200


def test_stale_replayed_malformed_and_text_tokens_are_refused_without_counting(
    onvif, device, clock
):
    now = clock.now()
    nonce = os.urandom(16)
    assert (
        onvif.handle("device", soap("GetScopes", token(created=now, nonce=nonce)), CLIENT).status
        == 200
    )
    refused = [
        token(created=now, nonce=nonce),  # replayed
        token(created=now - 301),  # stale
        token(created=now + 301),  # from the future
        token("wrong", created=now - 3600),  # stale, wrong password: still not counted
        token(created=now, text=True),  # #PasswordText is off by default
        token(created=now).replace("<wsse:Nonce>", "<wsse:Nonce>!!"),  # not base64
        token(created=now).replace("Created>", "Made>"),  # no Created
        token(created=now).replace("2023", "yesterday"),  # not a time
        "<wsse:Security/>",
    ]
    for security in refused:
        reply = onvif.handle("device", soap("GetScopes", security), CLIENT)
        assert fault_of(reply.body) == NOT_AUTHORIZED, security
    assert device.lockout.retries_left(CLIENT, clock.now()) == 7


def test_a_device_clock_ahead_wants_tokens_in_its_own_time(clock):
    device = make_fleet(hik_entry(onvif={"clock_skew": 7200}), clock=clock).devices[0]
    onvif = OnvifResponder(device, clock)
    host_time = onvif.handle("device", soap("GetScopes", token(created=clock.now())), CLIENT)
    assert fault_of(host_time.body) == NOT_AUTHORIZED
    device_time = token(created=clock.now() + 7200)
    assert onvif.handle("device", soap("GetScopes", device_time), CLIENT).status == 200
    assert device.lockout.retries_left(CLIENT, clock.now()) == 7


def test_password_text_when_configured(clock):
    device = make_fleet(hik_entry(onvif={"password_text": True}), clock=clock).devices[0]
    onvif = OnvifResponder(device, clock)
    ok = onvif.handle("device", soap("GetScopes", token(created=clock.now(), text=True)), CLIENT)
    assert ok.status == 200
    bad = token("nope", created=clock.now(), text=True)
    assert fault_of(onvif.handle("device", soap("GetScopes", bad), CLIENT).body) == NOT_AUTHORIZED
    assert device.lockout.retries_left(CLIENT, clock.now()) == 6


def test_a_device_not_activated_refuses_without_counting(clock):
    device = make_fleet(hik_entry(admin_password=None), clock=clock).devices[0]
    onvif = OnvifResponder(device, clock)
    reply = onvif.handle(
        "device", soap("GetScopes", token("Any12345", created=clock.now())), CLIENT
    )
    assert fault_of(reply.body) == NOT_AUTHORIZED
    assert device.lockout.retries_left(CLIENT, clock.now()) == 7
    assert onvif.handle("device", soap("GetSystemDateAndTime"), CLIENT).status == 200


def test_pre_auth_spec_opens_the_discovery_operations(clock):
    device = make_fleet(hik_entry(onvif={"pre_auth": "spec"}), clock=clock).devices[0]
    onvif = OnvifResponder(device, clock)
    for op in ("GetServices", "GetCapabilities", "GetHostname"):
        assert onvif.handle("device", soap(op), CLIENT).status == 200, op
    assert fault_of(onvif.handle("device", soap("GetScopes"), CLIENT).body) == NOT_AUTHORIZED
    wrong = token("nope", created=clock.now())
    assert onvif.handle("device", soap("GetServices", wrong), CLIENT).status == 200
    assert device.lockout.retries_left(CLIENT, clock.now()) == 7  # ignored, not counted


def test_the_lockout_is_shared_with_sadp_and_isapi(onvif, device, clock):
    from nvrsim.simulator.core.auth import plain

    for _ in range(7):
        device.login(CLIENT, plain("wrong"), clock.now())  # as SADP or ISAPI would
    reply = onvif.handle("device", soap("GetScopes", token(created=clock.now())), CLIENT)
    assert fault_of(reply.body) == NOT_AUTHORIZED
    other = onvif.handle("device", soap("GetScopes", token(created=clock.now())), "127.0.0.9")
    assert other.status == 200  # the lock is per client address


def test_unknown_operations_and_wrong_endpoints(onvif, clock):
    reply = onvif.handle(
        "device", soap("SetSystemFactoryDefault", token(created=clock.now())), CLIENT
    )
    assert (reply.status, fault_of(reply.body)[:2]) == (
        400,
        ("env:Receiver", "ter:ActionNotSupported"),
    )
    reply = onvif.handle("media", soap("GetDeviceInformation"), CLIENT)
    assert fault_of(reply.body)[1] == "ter:ActionNotSupported"


@pytest.mark.parametrize(
    "body, subcode",
    [
        (b"", "ter:WellFormed"),
        (b"<s:Envelope", "ter:WellFormed"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "ter:WellFormed"),
        (b"<Envelope><Body/></Envelope>", "ter:Tag"),
        (b"<NotSoap/>", "ter:Tag"),
    ],
)
def test_bad_soap_gets_a_sender_fault(onvif, body, subcode):
    reply = onvif.handle("device", body, CLIENT)
    assert reply.status == 400
    assert fault_of(reply.body)[:2] == ("env:Sender", subcode)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: soap("GetScopes", t.replace("<", "&lt;")).decode()),
        st.sampled_from(["GetScopes", "GetStreamUri", "Get", "GetProfiles"]).flatmap(
            lambda op: st.text(max_size=80).map(
                lambda junk: soap(op, f"<wsse:Security xmlns:wsse='{WSSE}'>{junk}</wsse:Security>")
            )
        ),
    ),
    service=st.sampled_from(["device", "media"]),
)
def test_hostile_soap_is_never_a_500_and_changes_nothing(body, service):
    clock = VirtualClock()
    device = make_fleet(hik_entry()).devices[0]
    before = (device.admin_password, device.lockout.retries_left(CLIENT, clock.now()))
    data = body if isinstance(body, bytes) else body.encode()
    reply = OnvifResponder(device, clock).handle(service, data, CLIENT)
    assert reply.status in (200, 400)
    ET.fromstring(reply.body)  # always a well-formed SOAP document
    assert (device.admin_password, device.lockout.retries_left(CLIENT, clock.now())) == before
