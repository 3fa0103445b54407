"""The recorder's local menu as a pure model: keys in, screen state and device state out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nvrsim.firmware_menu import qr, render
from nvrsim.firmware_menu.model import Key, MenuModel, Screen, tree_for
from nvrsim.firmware_menu.tree import DialogKind, ItemKind
from nvrsim.protocols.sadp import Probe, ProbeType, build_probe, decode_probe_match
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.device import LOCAL_LOCKOUT, Device
from nvrsim.simulator.hikvision.device import HIK_CONNECT_DEFAULT_SERVER
from nvrsim.simulator.hikvision.sadp import SadpResponder
from nvrsim.simulator.hikvision.unbind import UnbindVerdict
from tests.conftest import PASSWORD, hik_entry, make_fleet

V3 = {"model": "DS-7608NI-E2", "firmware": "V3.4.106 build 181215"}


def menu(clock: VirtualClock, **overrides) -> MenuModel:
    fleet = make_fleet(hik_entry(**overrides), clock=clock)
    return MenuModel(fleet.devices[0], clock)


def login(m: MenuModel, password: str = PASSWORD) -> None:
    m.type(password)
    m.press(Key.ENTER)


def choose(m: MenuModel, label: str) -> None:
    """Move the focus down to `label` with the arrow keys and press Enter, as a user would."""
    for _ in range(len(m.page().items) + 1):
        if m.page().items[m.focus].label == label:
            m.press(Key.ENTER)
            return
        m.press(Key.DOWN)
    raise AssertionError(f"no {label!r} on {m.page().title}: {[i.label for i in m.page().items]}")


def platform_access(m: MenuModel) -> None:
    login(m)
    for label in ("Configuration", "Network", "Platform Access"):
        choose(m, label)
    assert m.page().title == "Platform Access"


def answer(m: MenuModel, text: str) -> None:
    assert m.dialog is not None and m.dialog.kind is DialogKind.PROMPT
    m.type(text)
    m.press(Key.ENTER)


def test_the_model_does_not_need_prompt_toolkit():
    check = (
        "import sys, firmware_menu.model, firmware_menu.hikvision, firmware_menu.dahua; "
        "sys.exit('prompt_toolkit' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", check], timeout=30).returncode == 0


# --- which menu, if any ------------------------------------------------------------------


def test_unbind_is_on_the_platform_access_page_of_a_4x_recorder(clock):
    m = menu(clock)
    platform_access(m)
    assert m.device.can("menu_unbind")
    assert m.item("Unbind") is not None
    assert m.breadcrumb == ("Main Menu", "Configuration", "Network", "Platform Access")


def test_a_3x_recorder_has_platform_access_but_no_unbind(clock):
    m = menu(clock, **V3)
    platform_access(m)
    assert not m.device.can("menu_unbind")
    assert m.item("Unbind") is None
    assert m.item("Enable") is not None and m.item("Status").value == "Online"


def test_the_unbind_item_follows_the_capability_table_not_the_version(clock):
    m = menu(clock, capabilities={"menu_unbind": False})
    platform_access(m)
    assert m.item("Unbind") is None
    m = menu(clock, **V3, capabilities={"menu_unbind": True})
    platform_access(m)
    assert m.item("Unbind") is not None


def test_a_camera_has_no_local_menu(clock):
    m = menu(clock, kind="ipc", model="DS-2CD2385G1-I", firmware="V5.6.2build 190701")
    assert tree_for(m.device) is None
    assert m.screen is Screen.NO_MENU
    m.type(PASSWORD)
    m.press(Key.ENTER)
    assert m.screen is Screen.NO_MENU and m.last_login is None


def test_dahua_gets_its_own_menu_with_p2p_and_no_unbind(clock):
    entry = hik_entry(vendor="dahua", model="DHI-NVR4208-8P-4KS2", firmware="4.001.0000000.3.R")
    del entry["hik_connect"]
    device = make_fleet(entry, clock=clock).devices[0]
    m = MenuModel(device, clock)
    assert m.tree is not None and m.tree.vendor == "dahua"
    login(m)
    choose(m, "Network")
    choose(m, "P2P")
    labels = [i.label for i in m.page().items]
    assert "Unbind" not in labels
    assert m.item("Status").value == "Online"
    assert any("Appeal" in i.label for i in m.page().items if i.kind is ItemKind.NOTE)
    assert m.page().qr is not None and m.page().qr.content == device.serial
    choose(m, "Enable")
    assert not device.dahua.t2u_enable and not device.p2p_online
    assert m.item("Status").value == "Offline"


def test_the_demo_fleets_dahua_recorder_has_the_dahua_menu(demo_fleet, clock):
    m = MenuModel(demo_fleet.find("dahua-nvr-bound"), clock)
    assert m.tree is not None and m.tree.vendor == "dahua"
    login(m)
    choose(m, "Network")
    choose(m, "P2P")
    assert m.item("Status").value == "Online"
    assert MenuModel(demo_fleet.find("dahua-camera"), clock).screen is Screen.NO_MENU
    # The device summary beside the menu names Dahua's cloud link: P2P, not Hik-Connect.
    summary = "".join(text for _style, text, *_ in render.device_summary(m))
    assert "P2P      Online" in summary and "Cloud" not in summary


# --- login and the local lockout ----------------------------------------------------------


def test_login_with_the_admin_password_opens_the_main_menu(clock):
    m = menu(clock)
    assert m.screen is Screen.LOGIN
    login(m)
    assert m.screen is Screen.MENU
    assert [i.label for i in m.page().items] == [
        "Device Info",
        "Configuration",
        "Maintenance",
        "Logout",
    ]


def test_wrong_passwords_count_down_and_backspace_edits(clock):
    m = menu(clock)
    login(m, "nope")
    assert m.screen is Screen.LOGIN
    assert "6 attempt(s) left" in m.notice
    m.type(PASSWORD + "x")
    m.press(Key.BACKSPACE)
    m.press(Key.ENTER)
    assert m.screen is Screen.MENU


def test_seven_wrong_passwords_lock_and_the_locked_screen_counts_down(clock):
    m = menu(clock)
    for _ in range(LOCAL_LOCKOUT.max_failures):
        login(m, "wrong")
    assert m.screen is Screen.LOCKED
    assert m.locked_for == 60
    login(m)  # the right password is refused while locked
    assert m.screen is Screen.LOCKED and not m.last_login.granted
    clock.advance(45)
    assert m.locked_for == 15
    clock.advance(14.5)
    assert m.locked_for == 1
    clock.advance(0.5)
    assert m.screen is Screen.LOGIN
    login(m)
    assert m.screen is Screen.MENU


def test_the_local_lockout_is_apart_from_network_logins(clock):
    m = menu(clock)
    for _ in range(7):
        m.device.login("127.77.0.200", lambda _pw: False, clock.now())
    assert m.device.lockout.unlock_in("127.77.0.200", clock.now()) > 0
    login(m)
    assert m.screen is Screen.MENU


def test_a_device_that_is_not_activated_says_so_and_can_be_activated(clock):
    m = menu(clock, admin_password=None)
    assert m.screen is Screen.NOT_ACTIVATED
    m.press(Key.ENTER)
    answer(m, "weak")
    answer(m, "weak")
    assert "Risky password" in m.dialog.text
    m.press(Key.ENTER)
    m.press(Key.ENTER)
    answer(m, "Fresh2024pw")
    answer(m, "Other2024pw")
    assert "do not match" in m.dialog.text and not m.device.activated
    m.press(Key.ENTER)
    m.press(Key.ENTER)
    answer(m, "Fresh2024pw")
    answer(m, "Fresh2024pw")
    assert m.device.activated
    m.press(Key.ENTER)
    assert m.screen is Screen.LOGIN
    login(m, "Fresh2024pw")
    assert m.screen is Screen.MENU


def test_logout_asks_and_returns_to_the_login_screen(clock):
    m = menu(clock)
    login(m)
    choose(m, "Logout")
    assert m.dialog.kind is DialogKind.CONFIRM
    m.press(Key.RIGHT)  # No
    m.press(Key.ENTER)
    assert m.screen is Screen.MENU
    choose(m, "Logout")
    m.press(Key.ENTER)  # Yes
    assert m.screen is Screen.LOGIN and m.notice == "Logged out."


# --- navigation ---------------------------------------------------------------------------


def test_escape_goes_back_and_the_sidebar_shows_the_siblings(clock):
    m = menu(clock)
    platform_access(m)
    side = m.sidebar()
    assert [e.label for e in side] == ["General (TCP/IP)", "Platform Access", "More Settings"]
    assert [e.current for e in side] == [False, True, False]
    m.click_sidebar("tcp_ip")
    assert m.item("IPv4 Address").value == m.device.network.ip
    m.press(Key.ESC)
    assert m.page().title == "Network"
    m.press(Key.ESC)
    m.press(Key.ESC)
    m.press(Key.ESC)
    assert m.path == ("main",)


def test_focus_wraps_and_skips_read_only_items(clock):
    m = menu(clock)
    platform_access(m)
    assert m.page().items[m.focus].label == "Enable"
    m.press(Key.UP)
    assert m.page().items[m.focus].label == "Unbind"
    m.press(Key.TAB)
    assert m.page().items[m.focus].label == "Enable"


def test_a_click_focuses_and_uses_an_item(clock):
    m = menu(clock)
    login(m)
    m.click([i.label for i in m.page().items].index("Device Info"))
    assert m.item("Serial No.").value == m.device.serial
    m.click(0)  # a read-only value: nothing happens
    assert m.page().title == "Device Info"


# --- the Platform Access page -------------------------------------------------------------


def test_enable_toggles_hik_connect_and_the_status_follows(clock):
    m = menu(clock)
    platform_access(m)
    hc = m.device.hik_connect
    assert m.item("Enable").value == "ON" and m.item("Status").value == "Online"
    m.press(Key.ENTER)  # focus starts on Enable: disabling asks first
    assert m.dialog.kind is DialogKind.CONFIRM and hc.enabled
    m.press(Key.ENTER)
    assert not hc.enabled
    assert m.item("Enable").value == "OFF" and m.item("Status").value == "Offline"
    m.press(Key.RIGHT)  # enabling does not ask
    assert hc.enabled and m.dialog is None


def test_enabling_without_a_verification_code_asks_for_one(clock):
    m = menu(clock, hik_connect={"enabled": False, "online": True})
    m.device.hik_connect.verification_code = ""
    platform_access(m)
    choose(m, "Enable")
    answer(m, "Abc123")
    assert m.device.hik_connect.enabled
    assert m.device.hik_connect.verification_code == "Abc123"


def test_the_verification_code_is_masked_until_shown_and_can_be_changed(clock):
    m = menu(clock, hik_connect={"enabled": True, "online": True, "verification_code": "ABCDEF"})
    platform_access(m)
    assert m.item("Verification Code").value == "******"
    choose(m, "Verification Code")
    assert m.item("Verification Code").value == "ABCDEF"
    choose(m, "Change Verification Code")
    answer(m, "bad code!")
    assert "Invalid code" in m.dialog.text
    assert m.device.hik_connect.verification_code == "ABCDEF"
    m.press(Key.ENTER)
    choose(m, "Change Verification Code")
    answer(m, "NewCode42")
    assert m.device.hik_connect.verification_code == "NewCode42"
    assert m.item("Verification Code").value == "NewCode42"


def test_the_server_address_can_be_edited(clock):
    m = menu(clock)
    platform_access(m)
    choose(m, "Server Address")
    assert m.dialog.entry == HIK_CONNECT_DEFAULT_SERVER
    for _ in HIK_CONNECT_DEFAULT_SERVER:
        m.press(Key.BACKSPACE)
    answer(m, "dev.hik-connectru.com")
    assert m.device.hik_connect.server == "dev.hik-connectru.com"
    choose(m, "Server Address")
    m.press(Key.ESC)  # cancel keeps it
    assert m.dialog is None and m.device.hik_connect.server == "dev.hik-connectru.com"


def test_the_qr_code_carries_serial_code_and_model(clock):
    m = menu(clock, hik_connect={"enabled": True, "verification_code": "ABCDEF"})
    platform_access(m)
    panel = m.page().qr
    assert panel is not None
    serial = m.device.serial[-9:]
    assert panel.content == f"HIK-CONNECT\r\n{serial}\r\nABCDEF\r\nDS-7608NI-K2"
    assert any(serial in line for line in panel.caption)


def test_half_blocks_draw_two_module_rows_per_line():
    modules = qr.matrix("HIK-CONNECT\r\n123456789\r\nABCDEF\r\nDS-7608NI-K2")
    lines = qr.half_blocks("HIK-CONNECT\r\n123456789\r\nABCDEF\r\nDS-7608NI-K2")
    assert len(lines) == (len(modules) + 1) // 2
    assert {len(line) for line in lines} == {len(modules[0])}
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            glyph = lines[y // 2][x]
            assert dark == (glyph == "█" or glyph == ("▀" if y % 2 == 0 else "▄"))


# --- unbind -------------------------------------------------------------------------------


def unbind_with(m: MenuModel, password: str) -> str:
    choose(m, "Unbind")
    assert m.dialog.field == "Admin Password" and m.dialog.masked
    answer(m, password)
    assert m.dialog.kind is DialogKind.MESSAGE
    text = m.dialog.text
    m.press(Key.ENTER)
    return text


def test_unbind_from_the_menu_frees_the_device(clock):
    m = menu(clock)
    platform_access(m)
    assert m.device.hik_connect.bound_account == "owner@example.com"
    assert "Unbinding succeeded" in unbind_with(m, PASSWORD)
    assert m.last_unbind.verdict is UnbindVerdict.OK
    assert m.device.hik_connect.bound_account is None
    assert m.item("Bind Status").value == "Not bound"
    assert "not bound" in unbind_with(m, PASSWORD)


def test_after_the_menus_unbind_sadp_reports_not_bound(clock):
    fleet = make_fleet(hik_entry(), clock=clock)
    device = fleet.devices[0]
    responder = SadpResponder(fleet, clock)

    def unbind_status() -> str | None:
        probe = Probe("MENU-1", ProbeType.GET_UNBIND_STATUS, mac=device.mac)
        (reply,) = responder.handle(build_probe(probe), ("127.77.0.200", 40000))
        return decode_probe_match(reply).result

    assert unbind_status() == "success"
    m = MenuModel(device, clock)
    platform_access(m)
    unbind_with(m, PASSWORD)
    assert unbind_status() == "notBind"


@pytest.mark.parametrize(
    ("hik_connect", "verdict", "wording"),
    [
        ({"enabled": True, "online": False, "bound_account": "a@b.c"}, "OFFLINE", "offline"),
        ({"enabled": False, "online": True, "bound_account": "a@b.c"}, "HC_DISABLED", "disabled"),
        ({"enabled": True, "online": True}, "NOT_BOUND", "not bound"),
    ],
)
def test_unbind_preconditions_each_have_their_message(clock, hik_connect, verdict, wording):
    m = menu(clock, hik_connect=hik_connect)
    platform_access(m)
    assert wording in unbind_with(m, PASSWORD)
    assert m.last_unbind.verdict is UnbindVerdict[verdict]
    assert m.device.hik_connect.bound_account == hik_connect.get("bound_account")


def test_a_wrong_unbind_password_counts_on_the_local_lockout(clock):
    m = menu(clock)
    platform_access(m)
    text = unbind_with(m, "wrong")
    assert "Incorrect admin password" in text and "6 attempt(s) left" in text
    for _ in range(5):
        unbind_with(m, "wrong")
    text = unbind_with(m, "wrong")
    assert "locked" in text and "60 s" in text
    assert m.last_unbind.verdict is UnbindVerdict.LOCKED
    assert "locked" in unbind_with(m, PASSWORD)  # even the right one, while locked
    assert m.device.hik_connect.bound
    assert m.screen is Screen.MENU  # the session stays; a new login would wait
    other = MenuModel(m.device, clock)
    assert other.screen is Screen.LOCKED
    clock.advance(60)
    assert "succeeded" in unbind_with(m, PASSWORD)


# --- maintenance --------------------------------------------------------------------------


def maintenance_page(m: MenuModel) -> None:
    login(m)
    choose(m, "Maintenance")


def test_reboot_asks_then_ends_every_session(clock):
    m = menu(clock)
    other = MenuModel(m.device, clock)
    login(other)
    maintenance_page(m)
    choose(m, "Reboot")
    m.press(Key.ESC)
    assert m.screen is Screen.MENU
    choose(m, "Reboot")
    m.press(Key.ENTER)
    assert m.screen is Screen.LOGIN and "restarted" in m.notice
    assert other.screen is Screen.LOGIN and "restarted" in other.notice


def test_a_live_reboot_goes_through_the_restart_hook_and_shows_the_boot_screen(clock):
    restarted = []

    def restart(device: Device) -> None:  # what the simulator does: power off, later back
        restarted.append(device)
        device.powered = False

    m = MenuModel(menu(clock).device, clock, restart=restart)
    maintenance_page(m)
    choose(m, "Reboot")
    m.press(Key.ENTER)
    assert restarted == [m.device]
    assert m.screen is Screen.STARTING
    m.press(Key.ENTER)  # keys do nothing while it starts
    assert m.screen is Screen.STARTING
    m.device.reboot(clock.now())
    m.device.powered = True
    assert m.screen is Screen.LOGIN


def test_restore_defaults_resets_the_platform_but_keeps_network_password_and_binding(clock):
    m = menu(clock, hik_connect={"enabled": True, "online": True, "bound_account": "a@b.c"})
    d = m.device
    d.hik_connect.server = "dev.hik-connectru.com"
    d.hik_connect.stream_encryption = True
    address, code = d.network.address, d.hik_connect.verification_code
    maintenance_page(m)
    choose(m, "Restore Defaults")
    assert m.dialog.kind is DialogKind.CONFIRM and "reboot" in m.dialog.text
    m.press(Key.RIGHT)
    m.press(Key.ENTER)  # No
    assert d.hik_connect.enabled
    choose(m, "Restore Defaults")
    m.press(Key.ENTER)
    hc = d.hik_connect
    assert (hc.enabled, hc.server, hc.stream_encryption) == (
        False,
        HIK_CONNECT_DEFAULT_SERVER,
        False,
    )
    assert hc.bound_account == "a@b.c" and hc.verification_code == code
    assert d.network.address == address and d.activated
    assert m.screen is Screen.LOGIN
    login(m)
    assert m.screen is Screen.MENU


def test_reboot_clears_failed_logins(clock):
    m = menu(clock)
    for _ in range(3):
        login(m, "wrong")
    m.device.reboot(clock.now())
    login(m, "wrong")
    assert m.last_login.retries_left == 6
