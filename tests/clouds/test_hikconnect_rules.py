"""Hik-Connect's pure rules and formats: regions, payloads, QR contents, add-device codes,
accounts, captchas, and what a device does with the cloud's requests."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.rules import (
    AccountError,
    Accounts,
    Captchas,
    DeviceRecord,
    add_device_code,
    device_operation,
    device_status,
    home_region,
    link_region,
    login_captcha_id,
    md5_hex,
)
from nvrsim.simulator.dahua.device import DMSS_P2P, DahuaDevice
from nvrsim.simulator.hikvision.device import qr_content
from tests.conftest import PASSWORD, as_vendor, hik_entry, make_fleet


def test_regions_by_device_server_and_api_host():
    assert hc.region_of_server("litedev.hik-connect.com").id == "default"
    assert hc.region_of_server(" DEV.hik-connectru.com. ").id == "ru"
    assert hc.region_of_server("https://litedeveu.hik-connect.com:443/").id == "eu"
    assert hc.region_of_server("192.0.2.7") is None
    assert hc.region_of_api_host("apiusa.hik-connect.com:443").id == "usa"
    assert hc.region_of_api_host("127.0.0.1:8088") is hc.DEFAULT_REGION
    assert hc.login_area(hc.region("ru"))["apiDomain"] == "apiirus.hik-connectru.com"


@given(st.binary(max_size=300))
def test_payloads_parse_or_raise_payload_error(data):
    for kind in (hc.DeviceStatus, hc.Request, hc.Reply):
        with contextlib.suppress(hc.PayloadError):
            kind.decode(data)


def test_payloads_round_trip():
    (device,) = make_fleet(hik_entry())
    status = device_status(device, "link-1", online=True)
    assert hc.DeviceStatus.decode(status.encode()) == status
    request = hc.Request("1", device.serial, hc.OP_BIND, hc.reply_topic("c1"), {"account": "x"})
    assert hc.Request.decode(request.encode()) == request
    assert hc.Reply.decode(hc.Reply("1", "ok", 3, 0).encode()) == hc.Reply("1", "ok", 3, 0)
    with pytest.raises(hc.PayloadError):
        hc.Request.decode(b'{"id":"1","serial":"s","op":"format_disk","reply_to":"r"}')
    with pytest.raises(hc.PayloadError):  # a device answers on a cloud's reply topic only
        hc.Request.decode(replace(request, reply_to="hikconnect/ru/device/x/status").encode())
    with pytest.raises(hc.PayloadError):
        hc.DeviceStatus.decode(status.encode().replace(b'"online":true', b'"online":"yes"'))


@given(
    serial=st.text("0123456789", min_size=9, max_size=9),
    code=st.text("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=6, max_size=12),
    model=st.text("DS-0123456789ABCIKN", min_size=1, max_size=20),
)
def test_qr_contents_round_trip(serial, code, model):
    qr = hc.QrContent(serial, code, model)
    assert hc.parse_qr(qr.encode()) == qr
    assert hc.parse_qr(qr.encode().replace("\r\n", "\n")) == qr


def test_the_qr_a_device_shows_is_the_menus():
    from nvrsim.firmware_menu.qr import hik_connect_content

    (device,) = make_fleet(hik_entry())
    assert qr_content(device).encode() == hik_connect_content(device)
    assert hc.parse_qr("hello") is None


def _record(owner: str | None) -> DeviceRecord:
    (device,) = make_fleet(hik_entry(hik_connect={"enabled": True, "bound_account": owner}))
    return DeviceRecord("default", device_status(device, "l", online=True))


@pytest.mark.parametrize(
    ("owner", "online", "code", "expected"),
    [
        (None, True, None, hc.ONLINE_NOT_ADDED),
        (None, True, "WRONG1", hc.DEVICE_CODE_WRONG),
        ("me", True, None, hc.ADDED_BY_YOU),
        ("other", True, None, hc.ADDED_BY_OTHER),
        ("other", True, "any", hc.ADDED_BY_OTHER),
        (None, False, None, hc.OFFLINE_NOT_ADDED),
        ("me", False, None, hc.OFFLINE_ADDED_BY_YOU),
        ("other", False, None, hc.OFFLINE_ADDED_BY_OTHER),
    ],
)
def test_add_device_codes(owner, online, code, expected):
    assert add_device_code(_record(owner), online=online, user="me", verification_code=code) == (
        expected
    )


def test_add_device_codes_no_device_and_the_right_code():
    record = _record(None)
    good = record.status.verification_code
    assert add_device_code(None, online=False, user="me", verification_code=None) == (
        hc.DEVICE_NOT_EXIST
    )
    assert add_device_code(record, online=True, user="me", verification_code=good) == hc.OK


def test_accounts_register_and_log_in_with_md5_and_regions():
    accounts = Accounts()
    eu = hc.region("eu")
    accounts.register("Me@Example.com", md5_hex("Secret123"), eu)
    with pytest.raises(AccountError) as taken:
        accounts.register("me@example.com", md5_hex("x"), eu)
    assert taken.value.code == hc.ACCOUNT_EXISTS
    with pytest.raises(AccountError) as bad:
        accounts.register("x@example.com", "not-md5", eu)
    assert bad.value.code == hc.PARAM_ERROR
    assert accounts.login("me@example.com", md5_hex("Secret123").upper(), eu).region == "eu"
    for name, password, region, code in (
        ("nobody", md5_hex("Secret123"), eu, hc.NO_ACCOUNT),
        ("me@example.com", md5_hex("nope"), eu, hc.WRONG_PASSWORD),
        ("me@example.com", md5_hex("Secret123"), hc.DEFAULT_REGION, hc.WRONG_REGION),
    ):
        with pytest.raises(AccountError) as refused:
            accounts.login(name, password, region)
        assert refused.value.code == code
    assert refused.value.region is eu  # 1100 says where to go


def test_captchas_are_one_time_and_expire():
    captchas = Captchas(ttl=60)
    a = captchas.issue(now=0)
    assert captchas.check(a.id, a.answer.lower(), now=59)
    assert not captchas.check(a.id, a.answer, now=59)  # spent
    b = captchas.issue(now=0)
    assert not captchas.check(b.id, "WRONG", now=1)
    assert not captchas.check(b.id, b.answer, now=1)  # a wrong try spends it too
    c = captchas.issue(now=0)
    assert captchas.peek(c.id, now=60) is None and not captchas.check(c.id, c.answer, now=60)
    assert all(ch in "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" for ch in a.answer)


def test_captchas_keep_a_bounded_number():
    captchas = Captchas(limit=3)
    first = captchas.issue(0)
    for _ in range(3):
        captchas.issue(0)
    assert captchas.peek(first.id, 0) is None


def test_the_device_connects_when_enabled_powered_and_not_cut():
    (device,) = make_fleet(hik_entry())
    assert link_region(device).id == "default"
    device.hik_connect.server = "dev.hik-connectru.com"
    assert link_region(device).id == "ru"
    device.own_faults = device.own_faults.update({"cloud_offline": True})
    assert link_region(device) is None
    device.own_faults = device.own_faults.update({"cloud_offline": False})
    device.powered = False
    assert link_region(device) is None
    device.powered = True
    device.hik_connect.enabled = False
    assert link_region(device) is None
    device.hik_connect.enabled = True
    device.hik_connect.server = "cloud.example.com"
    assert link_region(device) is None
    device.hik_connect.server = "litedev.hik-connect.com"
    device = as_vendor(device, DahuaDevice)  # its P2P cloud is not Hik-Connect: DMSS
    assert link_region(device) is DMSS_P2P and hc.region("dmss") is None
    device.dahua.t2u_enable = False
    assert link_region(device) is None


def test_the_cloud_knows_devices_that_registered_once():
    (device,) = make_fleet(hik_entry(hik_connect={"enabled": False, "bound_account": "a"}))
    assert home_region(device).id == "default" and link_region(device) is None
    device.hik_connect.bound_account = None
    assert home_region(device) is None  # never enabled, never bound: unknown


def _ask(device, op: str, **args) -> hc.Reply:
    return device_operation(device, hc.Request("r", device.serial, op, "t", args), now=0)


def test_bind_and_release_by_the_devices_rules():
    (device,) = make_fleet(hik_entry(hik_connect={"enabled": True, "online": True}))
    assert _ask(device, hc.OP_BIND, account="me").result == "ok"
    assert device.hik_connect.bound_account == "me"
    assert _ask(device, hc.OP_BIND, account="other").result == "bound_to_other"
    assert _ask(device, hc.OP_RELEASE, account="other").result == "not_owner"
    assert _ask(device, hc.OP_RELEASE, account="me").result == "ok"
    assert device.hik_connect.bound_account is None
    assert _ask(device, hc.OP_BIND).result == "bad_request"


def test_the_apps_unbind_is_the_one_unbind_rule_with_the_devices_lockout():
    (device,) = make_fleet(
        hik_entry(lockout={"max_failures": 2, "lock_seconds": 60}), client_networks=[]
    )
    lan = str(device.network.address.ip + 5)
    assert _ask(
        device, hc.OP_UNBIND, user="admin", password=PASSWORD, client="192.0.2.1"
    ).result == ("not_same_lan")
    wrong = _ask(device, hc.OP_UNBIND, user="admin", password="nope", client=lan)
    assert (wrong.result, wrong.retries_left) == ("wrong_password", 1)
    locked = _ask(device, hc.OP_UNBIND, user="admin", password="nope", client=lan)
    assert (locked.result, locked.unlock_in) == ("locked", 60)
    assert device.lockout.unlock_in(lan, 0) == 60  # SADP and ISAPI see the same lock
    assert device.hik_connect.bound
    other = str(device.network.address.ip + 6)
    assert _ask(device, hc.OP_UNBIND, user="admin", password=PASSWORD, client=other).result == "ok"
    assert not device.hik_connect.bound
    assert _ask(device, hc.OP_UNBIND, user="admin", client=other).result == "bad_request"


def test_five_wrong_passwords_then_a_login_needs_the_image_code():
    accounts = Accounts()
    region = hc.DEFAULT_REGION
    accounts.register("me@example.com", md5_hex("Secret123"), region)
    for _ in range(5):
        with pytest.raises(AccountError) as wrong:
            accounts.login("me@example.com", md5_hex("nope"), region)
        assert wrong.value.code == hc.WRONG_PASSWORD
    with pytest.raises(AccountError) as needed:  # even with the right password
        accounts.login("me@example.com", md5_hex("Secret123"), region)
    assert needed.value.code == hc.CAPTCHA_WRONG
    account = accounts.login("me@example.com", md5_hex("Secret123"), region, captcha_passed=True)
    assert account.name == "me@example.com" and not accounts.captcha_required("me@example.com")
    with pytest.raises(AccountError) as refused:  # a non-ASCII password is just wrong
        accounts.login("me@example.com", "ж" * 32, region)
    assert refused.value.code == hc.WRONG_PASSWORD


def test_a_login_captcha_is_keyed_by_account_and_client_and_replaced_by_a_new_one():
    captchas = Captchas()
    key = login_captcha_id("Me@example.com ", "deadbeef")
    assert key == login_captcha_id("me@example.com", "deadbeef") != login_captcha_id("me", "x")
    old = captchas.issue(0, key)
    new = captchas.issue(0, key)
    assert captchas.peek(key, 0) is new and old.id == new.id
    assert not captchas.check(key, "ЖЖЖЖ", 0)  # non-ASCII: refused, not an error
