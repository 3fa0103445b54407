"""The pure SADP responder: every action, every failing precondition, hostile input."""

from __future__ import annotations

import base64
import contextlib
import functools
from dataclasses import replace
from ipaddress import IPv4Interface

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nvrsim.protocols import sadp_crypto
from nvrsim.protocols.sadp import (
    MAX_DATAGRAM,
    NetworkParams,
    Probe,
    ProbeMatch,
    ProbeType,
    SadpDecodeError,
    build_inquiry,
    build_probe,
    decode_probe,
    decode_probe_match,
    format_mac,
)
from nvrsim.simulator.core.auth import LoginResult, plain
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.hikvision.sadp import SadpResponder
from nvrsim.strategies.sadp import foreign_macs, network_params, probes, random_xml
from tests.conftest import PASSWORD, hik_entry, make_fleet

LAN = ("127.77.0.200", 40000)
OTHER_LAN = ("192.0.2.10", 40000)
STRONG = "Fresh2024pw"


@functools.cache
def client_key():
    return sadp_crypto.new_client_key()


class Tool:
    """A SADP tool on `peer`, speaking to the responder through the codec."""

    def __init__(self, responder: SadpResponder, peer: tuple[str, int] = LAN) -> None:
        self.responder, self.peer = responder, peer

    def send(self, probe: Probe) -> list[bytes]:
        return self.responder.handle(build_probe(probe), self.peer)

    def ask(self, types: ProbeType, device: Device, **fields) -> ProbeMatch | None:
        replies = self.send(Probe("A1B2-C3", types, mac=device.mac, **fields))
        assert len(replies) <= 1
        if not replies:
            return None
        match = decode_probe_match(replies[0])
        assert (match.uuid, match.types) == ("A1B2-C3", types.value)
        return match

    def exchange(self, device: Device) -> str:
        code = sadp_crypto.encode_public_key(client_key().public_key())
        match = self.ask(ProbeType.EXCHANGE_CODE, device, code=code)
        assert match is not None and match.result == "success"
        return sadp_crypto.decrypt_random(client_key(), match.fields["Code"])

    def unbind(self, device: Device, password: str = PASSWORD) -> ProbeMatch | None:
        return self.ask(ProbeType.EZVIZ_UNBIND, device, password=password)

    def inquire(self) -> list[ProbeMatch]:
        return [decode_probe_match(r) for r in self.responder.handle(build_inquiry("q"), self.peer)]


def responder_for(*entries: dict, clock: VirtualClock, **fleet) -> tuple[SadpResponder, Fleet]:
    fleet_ = make_fleet(*entries, clock=clock, **fleet)
    return SadpResponder(fleet_, clock), fleet_


def state(fleet: Fleet, now: float) -> list:
    """Everything a request could change: passwords, Hik-Connect, network, lockouts."""
    return [
        (
            d.admin_password,
            replace(d.hik_connect),
            replace(d.network),
            [(d.lockout.retries_left(c, now), d.lockout.unlock_in(c, now)) for c in (LAN[0],)],
        )
        for d in fleet
    ]


# --- inquiry ---------------------------------------------------------------------


def test_inquiry_answers_every_hikvision_device_that_speaks_sadp(clock):
    responder, fleet = responder_for(
        hik_entry("a"), hik_entry("b"), hik_entry("mute", capabilities={"sadp": False}), clock=clock
    )
    for types in (ProbeType.INQUIRY, ProbeType.INQUIRY_V32):
        replies = [
            decode_probe_match(r) for r in responder.handle(build_probe(Probe("q", types)), LAN)
        ]
        assert [m.types for m in replies] == [types.value] * 2
        assert {m.fields["MAC"] for m in replies} == {format_mac(d.mac) for d in fleet.devices[:2]}


def test_inquiry_reports_the_hik_connect_state(demo_fleet, clock):
    tool = Tool(SadpResponder(demo_fleet, clock))
    infos = {m.fields["DeviceSN"]: m for m in tool.inquire()}
    hikvision = list(demo_fleet.of_vendor("hikvision"))  # D-Link devices do not speak SADP
    assert len(infos) == len(hikvision)
    assert any(not d.can("sadp_unbind") for d in hikvision)  # the V3.x NVR
    for device in hikvision:
        fields = infos[device.serial].fields
        assert fields["Activated"] == ("true" if device.activated else "false")
        assert fields["SoftwareVersion"] == device.firmware.text
        if device.can("sadp_unbind"):
            assert fields["supportEzvizUnbind"] == "true"
            assert fields["EZVIZBindStatus"] == ("true" if device.hik_connect.bound else "false")
        else:
            assert "supportEzvizUnbind" not in fields and "EZVIZBindStatus" not in fields


def test_device_lock_is_shown_to_the_locked_out_client_only(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    for _ in range(7):
        Tool(responder).unbind(fleet.devices[0], "wrong")
    assert Tool(responder).inquire()[0].fields["DeviceLock"] == "true"
    assert Tool(responder, ("127.77.0.201", 1)).inquire()[0].fields["DeviceLock"] == "flase"


# --- ezvizUnbind and getUnbindStatus ---------------------------------------------------


def test_unbind_succeeds_when_every_precondition_holds(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    assert tool.ask(ProbeType.GET_UNBIND_STATUS, device).result == "success"
    assert tool.unbind(device).result == "success"
    assert not device.hik_connect.bound
    assert tool.ask(ProbeType.GET_UNBIND_STATUS, device).result == "notBind"


def test_unbind_with_an_exchanged_random_and_an_encrypted_password(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    random = tool.exchange(device)
    assert tool.unbind(device, sadp_crypto.encrypt_password(random, "wrong")).result == (
        "PasswordError"
    )
    assert tool.unbind(device, sadp_crypto.encrypt_password(random, PASSWORD)).result == "success"
    assert not device.hik_connect.bound


def test_after_an_exchange_the_password_must_be_encrypted(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    tool.exchange(device)
    reply = tool.unbind(device, PASSWORD)
    assert (reply.result, reply.fields["RetryTimes"]) == ("PasswordError", "6")
    # The random belongs to that client: another tool may still send plaintext.
    assert Tool(responder, ("127.77.0.201", 1)).unbind(device).result == "success"


@pytest.mark.parametrize(
    ("overrides", "peer", "result"),
    [
        ({"hik_connect": {"enabled": True, "online": True}}, LAN, "notBind"),
        (
            {"hik_connect": {"enabled": False, "online": True, "bound_account": "a@b.c"}},
            LAN,
            "unenableHCPlatform",
        ),
        (
            {"hik_connect": {"enabled": True, "online": False, "bound_account": "a@b.c"}},
            LAN,
            "offlineHCPlatform",
        ),
        ({"admin_password": None}, LAN, "notActivated"),
        ({}, OTHER_LAN, "failed"),
    ],
    ids=["not-bound", "hc-disabled", "offline", "not-activated", "other-lan"],
)
def test_each_failing_precondition_has_its_own_result(clock, overrides, peer, result):
    responder, fleet = responder_for(hik_entry(**overrides), clock=clock)
    device = fleet.devices[0]
    before = state(fleet, clock.now())
    reply = Tool(responder, peer).unbind(device)
    assert reply.result == result
    assert "RetryTimes" not in reply.fields  # the password was never looked at
    assert state(fleet, clock.now()) == before


def test_wrong_passwords_lock_the_client_for_30_minutes_shared_with_isapi(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    for left in range(6, 0, -1):
        reply = tool.unbind(device, "wrong")
        assert (reply.result, reply.fields["RetryTimes"]) == ("PasswordError", str(left))
    reply = tool.unbind(device, "wrong")
    assert reply.fields == reply.fields | {"Result": "locked", "RetryTimes": "0"}
    assert reply.fields["SurplusLockTime"] == "30"
    # The one lockout: an ISAPI login from the same address is locked as well.
    assert device.login(LAN[0], plain(PASSWORD), clock.now()).result is LoginResult.LOCKED
    clock.advance(1799)
    reply = tool.unbind(device)
    assert (reply.result, reply.fields["SurplusLockTime"]) == ("locked", "1")
    assert device.hik_connect.bound
    clock.advance(1)
    assert tool.unbind(device).result == "success"


def test_a_lock_keeps_other_clients_out_of_nothing(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    for _ in range(7):
        Tool(responder).unbind(fleet.devices[0], "wrong")
    assert Tool(responder, ("127.77.0.201", 1)).unbind(fleet.devices[0]).result == "success"


@pytest.mark.parametrize(
    ("overrides", "result"),
    [
        ({}, "success"),
        ({"hik_connect": {"enabled": True, "online": True}}, "notBind"),
        ({"hik_connect": {"enabled": False, "bound_account": "a@b.c"}}, "unenableHCPlatform"),
        ({"hik_connect": {"enabled": True, "bound_account": "a@b.c"}}, "offlineHCPlatform"),
        ({"admin_password": None}, "notActivated"),
    ],
)
def test_get_unbind_status_for_each_state(clock, overrides, result):
    responder, fleet = responder_for(hik_entry(**overrides), clock=clock)
    reply = Tool(responder).ask(ProbeType.GET_UNBIND_STATUS, fleet.devices[0])
    assert reply.result == result


def test_firmware_without_sadp_unbind_does_not_answer_the_unbind_types(clock):
    responder, fleet = responder_for(
        hik_entry("nvr-3x", model="DS-7608NI-E2", firmware="V3.4.106 build 181215"), clock=clock
    )
    device, tool = fleet.devices[0], Tool(responder)
    assert not device.can("sadp_unbind")
    assert tool.unbind(device) is None
    assert tool.ask(ProbeType.GET_UNBIND_STATUS, device) is None
    assert device.hik_connect.bound
    assert len(tool.inquire()) == 1  # it still answers inquiries


def test_actions_act_only_on_the_addressed_device(clock):
    responder, fleet = responder_for(hik_entry("a"), hik_entry("b"), clock=clock)
    a, b = fleet.devices
    assert Tool(responder).unbind(a).result == "success"
    assert not a.hik_connect.bound and b.hik_connect.bound


# --- activate ------------------------------------------------------------------------


@pytest.fixture
def unactivated(clock):
    return responder_for(hik_entry("cam", admin_password=None), clock=clock)


def test_activate_through_the_key_exchange(unactivated):
    responder, fleet = unactivated
    device, tool = fleet.devices[0], Tool(responder)
    random = tool.exchange(device)
    reply = tool.ask(
        ProbeType.ACTIVATE, device, password=sadp_crypto.encrypt_password(random, STRONG)
    )
    assert reply.result == "success"
    assert device.admin_password == STRONG
    assert tool.inquire()[0].fields["Activated"] == "true"
    again = tool.ask(ProbeType.ACTIVATE, device, password=sadp_crypto.encrypt_password(random, "x"))
    assert again.result == "hasActivated"
    assert device.admin_password == STRONG


def test_a_weak_password_is_a_risk_password(unactivated):
    responder, fleet = unactivated
    device, tool = fleet.devices[0], Tool(responder)
    random = tool.exchange(device)
    for weak in ("12345678", "admin1234X", "short1"):
        encrypted = sadp_crypto.encrypt_password(random, weak)
        assert tool.ask(ProbeType.ACTIVATE, device, password=encrypted).result == "riskPassword"
    assert not device.activated


def test_activate_takes_plaintext_without_an_exchange_and_refuses_garbage_after_one(unactivated):
    responder, fleet = unactivated
    device, tool = fleet.devices[0], Tool(responder)
    other = Tool(responder, ("127.77.0.201", 1))
    other.exchange(device)
    assert other.ask(ProbeType.ACTIVATE, device, password="not-a-cipher").result == "failed"
    assert not device.activated
    assert tool.ask(ProbeType.ACTIVATE, device, password=STRONG).result == "success"
    assert device.admin_password == STRONG


def test_a_bad_rsa_key_fails_the_exchange_and_keeps_no_random(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    assert tool.ask(ProbeType.EXCHANGE_CODE, device, code="bm90IGEga2V5").result == "failed"
    assert tool.unbind(device).result == "success"  # plaintext still accepted


@given(der=st.binary(min_size=1, max_size=300))
def test_any_bad_key_in_an_exchange_is_a_failure_not_a_crash(der):
    clock = VirtualClock()
    responder, fleet = responder_for(hik_entry(), clock=clock)
    code = base64.b64encode(der).decode()
    assert Tool(responder).ask(ProbeType.EXCHANGE_CODE, fleet.devices[0], code=code).result == (
        "failed"
    )
    assert responder._randoms == {}


def test_exchanged_randoms_are_bounded(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    responder.MAX_SESSIONS = 8
    for host in range(20):
        Tool(responder, (f"127.77.1.{host}", 1)).exchange(fleet.devices[0])
    assert len(responder._randoms) == 8
    # The most recent clients keep theirs.
    assert (fleet.devices[0].mac, "127.77.1.19") in responder._randoms


# --- update ---------------------------------------------------------------------------


def new_network(**overrides) -> NetworkParams:
    values = {
        "ipv4_address": "127.77.5.5",
        "command_port": "8001",
        "ipv4_subnet_mask": "255.255.0.0",
        "ipv4_gateway": "127.77.0.1",
        "ipv6_address": "::",
        "ipv6_gateway": "::",
        "ipv6_mask_len": "64",
        "dhcp": "false",
        "http_port": "8080",
        "sdk_over_tls_port": "8443",
    }
    return NetworkParams(**values | overrides)


@pytest.fixture
def updatable(clock):
    changed: list[Device] = []
    fleet = make_fleet(hik_entry("a"), hik_entry("b"), clock=clock)
    return SadpResponder(fleet, clock, on_network_change=changed.append), fleet, changed


def update(tool: Tool, device: Device, password: str, salted: bool = True, **network):
    if salted:
        password = sadp_crypto.salted_password(password, device.salt)
    return tool.ask(
        ProbeType.UPDATE,
        device,
        password=password,
        password_salted=salted,
        pw_error_parse=True,
        network=new_network(**network),
    )


def test_update_with_a_salted_password_changes_the_network_and_notifies(updatable):
    responder, fleet, changed = updatable
    device = fleet.devices[0]
    reply = update(Tool(responder), device, PASSWORD)
    assert reply.result == "success"
    assert reply.device_info().ipv4_address == "127.77.5.5"
    assert reply.fields["MAC"] == format_mac(device.mac)
    assert device.network.address == IPv4Interface("127.77.5.5/16")
    assert (device.network.command_port, device.network.http_port) == (8001, 8080)
    assert changed == [device]


@pytest.mark.parametrize(
    "password", [PASSWORD, sadp_crypto.legacy_password(PASSWORD)], ids=["plain", "md5"]
)
def test_update_accepts_plain_and_legacy_md5_passwords(updatable, password):
    responder, fleet, changed = updatable
    reply = update(Tool(responder), fleet.devices[0], password, salted=False, dhcp="true")
    assert reply.result == "success"
    assert fleet.devices[0].network.dhcp is True
    assert changed == [fleet.devices[0]]


@pytest.mark.parametrize("salted", [True, False])
def test_update_with_a_wrong_password_changes_nothing(updatable, clock, salted):
    responder, fleet, changed = updatable
    before = state(fleet, clock.now())
    reply = update(Tool(responder), fleet.devices[0], "Wrong12345", salted=salted)
    assert (reply.result, reply.fields["RetryTimes"]) == ("PasswordError", "6")
    assert changed == []
    assert [s[:3] for s in state(fleet, clock.now())] == [s[:3] for s in before]


@pytest.mark.parametrize(
    "bad",
    [
        {"ipv4_address": "300.1.1.1"},
        {"ipv4_address": "0.0.0.0"},
        {"ipv4_address": "224.0.0.9"},
        {"ipv4_address": "127.77.0.0"},
        {"ipv4_address": "127.77.0.3"},  # device b's address
        {"ipv4_subnet_mask": "255.0.255.0"},
        {"ipv4_subnet_mask": "255.255.255.255"},
        {"ipv4_gateway": "10.0.0.1"},
        {"ipv4_gateway": "127.77.5.5"},
        {"command_port": "0"},
        {"http_port": "70000"},
        {"http_port": "80a"},
        {"dhcp": "maybe"},
        {"ipv6_address": "zz::1"},
        {"ipv6_mask_len": "129"},
    ],
)
def test_update_with_unusable_values_fails_and_changes_nothing(updatable, clock, bad):
    responder, fleet, changed = updatable
    assert fleet.devices[1].network.ip == "127.77.0.3"
    before = state(fleet, clock.now())
    assert update(Tool(responder), fleet.devices[0], PASSWORD, **bad).result == "failed"
    assert state(fleet, clock.now()) == before
    assert changed == []


@given(params=network_params)
def test_any_update_either_applies_whole_or_not_at_all(params):
    clock = VirtualClock()
    changed: list[Device] = []
    fleet = make_fleet(hik_entry(), clock=clock)
    device = fleet.devices[0]
    before = replace(device.network)
    probe = Probe("u", ProbeType.UPDATE, mac=device.mac, password=PASSWORD, network=params)
    replies = SadpResponder(fleet, clock, changed.append).handle(build_probe(probe), LAN)
    result = decode_probe_match(replies[0]).result
    assert result in ("success", "failed")
    if result == "success":
        assert changed == [device]
    else:
        assert device.network == before and changed == []


# --- Hik-Connect settings ------------------------------------------------------------------


def test_set_hc_platform_needs_the_password(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    reply = tool.ask(ProbeType.SET_HC_PLATFORM, device, password="wrong", hc_platform_enable=False)
    assert reply.result == "PasswordError" and device.hik_connect.enabled
    random = tool.exchange(device)
    encrypted = sadp_crypto.encrypt_password(random, PASSWORD)
    reply = tool.ask(
        ProbeType.SET_HC_PLATFORM, device, password=encrypted, hc_platform_enable=False
    )
    assert reply.result == "success" and not device.hik_connect.enabled
    assert tool.inquire()[0].fields["HCPlatformEnable"] == "flase"


def test_set_verification_code(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    reply = tool.ask(
        ProbeType.SET_VERIFICATION_CODE, device, password=PASSWORD, verification_code="Abc123"
    )
    assert reply.result == "success" and device.hik_connect.verification_code == "Abc123"


@pytest.mark.parametrize("code", ["", "abc12", "x" * 13, "abc 123", "abcé123"])
def test_an_illegal_verification_code_is_refused(clock, code):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    device, tool = fleet.devices[0], Tool(responder)
    before = device.hik_connect.verification_code
    wrong = tool.ask(
        ProbeType.SET_VERIFICATION_CODE, device, password="wrong", verification_code=code
    )
    assert wrong.result == "PasswordError"  # the password is checked first
    reply = tool.ask(
        ProbeType.SET_VERIFICATION_CODE, device, password=PASSWORD, verification_code=code
    )
    assert reply.result == "IllegalVerificationCode"
    assert device.hik_connect.verification_code == before


# --- hostile input -----------------------------------------------------------------------

HOSTILE_FLEET = (hik_entry("a"), hik_entry("cam", admin_password=None))


def assert_ignored(datagram: bytes, peer=LAN) -> None:
    clock = VirtualClock()
    responder, fleet = responder_for(*HOSTILE_FLEET, clock=clock)
    before = state(fleet, clock.now())
    assert responder.handle(datagram, peer) == []
    assert state(fleet, clock.now()) == before
    assert responder._randoms == {}


@given(datagram=st.binary(max_size=3000))
def test_random_bytes_are_ignored(datagram):
    assert_ignored(datagram)


@given(datagram=random_xml())
def test_random_xml_is_ignored(datagram):
    with contextlib.suppress(SadpDecodeError):  # most of them do not even decode
        assume(not decode_probe(datagram).types.is_inquiry)
    assert_ignored(datagram)


@given(probe=probes(mac=foreign_macs))
def test_requests_for_a_mac_outside_the_fleet_are_ignored(probe):
    assume(not probe.types.is_inquiry)
    assert_ignored(build_probe(probe))


@given(probe=probes(mac=st.just("00:00:00:00:00:00")), data=st.data())
def test_truncated_requests_are_ignored(probe, data):
    fleet = make_fleet(*HOSTILE_FLEET)
    raw = build_probe(replace(probe, mac=fleet.devices[0].mac, password=PASSWORD))
    assert_ignored(raw[: data.draw(st.integers(0, len(raw) - 1))])


def _unbind_for(mac: str) -> bytes:
    return build_probe(Probe("u", ProbeType.EZVIZ_UNBIND, mac=mac, password=PASSWORD))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: (
            b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaa"><!ENTITY b '
            b'"&a;&a;&a;&a;&a;&a;&a;&a;">]>' + raw[38:].replace(b"<Uuid>u", b"<Uuid>&b;")
        ),
        lambda raw: raw.replace(b"?>", b'?><!DOCTYPE x SYSTEM "file:///etc/passwd">', 1),
        lambda raw: raw.replace(b"<Uuid>u", b"<Uuid>\xc3\x28"),
        lambda raw: raw.replace(b"<Uuid>", b"<!--" + b"-" * MAX_DATAGRAM + b"--><Uuid>"),
        lambda raw: raw.replace(b"ezvizUnbind", b"reboot"),
        lambda raw: raw.replace(b"ezvizUnbind", b"ezvizUnbindDelUsers"),
        lambda raw: raw[:-1],
    ],
    ids=["bomb", "dtd", "not-utf8", "oversize", "unknown-types", "unhandled-types", "truncated"],
)
def test_hostile_variants_of_a_valid_unbind_are_ignored(mangle):
    mac = make_fleet(*HOSTILE_FLEET).devices[0].mac
    assert_ignored(mangle(_unbind_for(mac)))


def test_the_unmangled_unbind_would_have_worked(clock):
    responder, fleet = responder_for(*HOSTILE_FLEET, clock=clock)
    reply = responder.handle(_unbind_for(fleet.devices[0].mac), LAN)
    assert decode_probe_match(reply[0]).result == "success"


def test_peer_addresses_that_are_not_ip_addresses_do_not_break_the_rules(clock):
    responder, fleet = responder_for(hik_entry(), clock=clock)
    reply = responder.handle(_unbind_for(fleet.devices[0].mac), ("not-an-ip", 0))
    assert decode_probe_match(reply[0]).result == "failed"  # not on the device's LAN
    assert fleet.devices[0].hik_connect.bound
