"""The prompt_toolkit view: real key bytes through a pipe into the real Application.

Keys are queued before the app starts and end with Ctrl-Q, so `run_async` returns
once every key was handled; the assertions then look at the model, not at the
rendered bytes (DummyOutput draws nothing, but every screen is still rendered).
"""

from __future__ import annotations

from prompt_toolkit.data_structures import Point
from prompt_toolkit.formatted_text import fragment_list_to_text
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.mouse_events import MouseButton, MouseEvent, MouseEventType
from prompt_toolkit.output import DummyOutput

from nvrsim.firmware_menu import render
from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.firmware_menu.tree import DialogKind
from nvrsim.firmware_menu.view import build_app, style_for
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.dahua.device import DahuaDevice
from tests.conftest import PASSWORD, as_vendor, hik_entry, make_fleet

UP, DOWN, RIGHT, LEFT = "\x1b[A", "\x1b[B", "\x1b[C", "\x1b[D"
ENTER, TAB, BACKTAB, BACKSPACE, ESC = "\r", "\t", "\x1b[Z", "\x7f", "\x1b"
F1 = "\x1bOP"
QUIT = "\x11"  # Ctrl-Q

# From the main menu: Configuration, Network, Platform Access (each the second entry).
TO_PLATFORM_ACCESS = (DOWN + ENTER) * 3


def menu(clock: VirtualClock, **overrides) -> MenuModel:
    return MenuModel(make_fleet(hik_entry(**overrides), clock=clock).devices[0], clock)


async def run(model: MenuModel, *keys: str) -> None:
    with create_pipe_input() as pipe:
        app = build_app(model, input=pipe, output=DummyOutput(), refresh_interval=None)
        pipe.send_text("".join(keys) + QUIT)
        await app.run_async()


def text(fragments) -> str:
    return fragment_list_to_text(fragments)


async def test_log_in_go_to_platform_access_and_unbind(clock):
    m = menu(clock)
    await run(m, PASSWORD, ENTER, TO_PLATFORM_ACCESS)
    assert m.screen is Screen.MENU
    assert m.breadcrumb[-1] == "Platform Access"
    await run(m, UP, ENTER)  # Up from Enable wraps to Unbind, the last item
    assert m.dialog is not None and m.dialog.field == "Admin Password"
    await run(m, PASSWORD, ENTER)
    assert m.dialog.kind is DialogKind.MESSAGE and "Unbinding succeeded" in m.dialog.text
    assert m.device.hik_connect.bound_account is None
    await run(m, ENTER)
    assert m.dialog is None


async def test_escape_goes_back_one_page_at_a_time(clock):
    m = menu(clock)
    await run(m, PASSWORD, ENTER, TO_PLATFORM_ACCESS, ESC)
    assert m.breadcrumb == ("Main Menu", "Configuration", "Network")
    await run(m, ESC, ESC, ESC)
    assert m.path == ("main",)


async def test_tab_backtab_and_arrows_move_and_toggle(clock):
    m = menu(clock)
    await run(m, PASSWORD, ENTER, TO_PLATFORM_ACCESS, TAB, TAB)
    assert m.page().items[m.focus].label == "Stream Encryption"
    await run(m, RIGHT)
    assert m.device.hik_connect.stream_encryption
    await run(m, BACKTAB, BACKTAB, LEFT)  # Enable: switching it off asks first
    assert m.dialog.kind is DialogKind.CONFIRM
    await run(m, ENTER)
    assert not m.device.hik_connect.enabled


async def test_wrong_passwords_lock_and_the_lock_screen_counts_down(clock):
    m = menu(clock)
    await run(m, *(["nope" + ENTER] * 7))
    assert m.screen is Screen.LOCKED
    assert "01:00" in text(render.locked(m))
    clock.advance(35)
    assert "00:25" in text(render.locked(m))
    before = m.last_login
    await run(m, PASSWORD, ENTER)  # typing on the locked screen does nothing
    assert m.screen is Screen.LOCKED and m.last_login is before and m.password == ""
    clock.advance(25)
    await run(m, PASSWORD, ENTER)
    assert m.screen is Screen.MENU


async def test_backspace_edits_paste_types_and_function_keys_are_not_typed(clock):
    m = menu(clock)
    await run(m, "abc", BACKSPACE, F1, "\x1b[200~pasted\x1b[201~")
    assert m.password == "abpasted"
    await run(m, ESC)
    assert m.password == ""


async def test_a_mouse_click_in_the_terminal_opens_a_tile(clock):
    m = menu(clock)
    await run(m, PASSWORD, ENTER)
    # DummyOutput is 80x40: no sidebar; tiles start at column 2, row 4; labels on row 6.
    x, y = 2 + 24 + 5, 6  # the second tile: Configuration
    click = f"\x1b[<0;{x + 1};{y + 1}M\x1b[<0;{x + 1};{y + 1}m"
    await run(m, click)
    assert m.breadcrumb == ("Main Menu", "Configuration")


def press(fragments, label: str) -> None:
    """Click the fragment showing `label`, as prompt_toolkit would on a mouse release."""
    handler = next(f[2] for f in fragments if len(f) > 2 and label in f[1])
    handler(MouseEvent(Point(0, 0), MouseEventType.MOUSE_UP, MouseButton.LEFT, frozenset()))


def test_clicks_on_items_sidebar_and_buttons_reach_the_model(clock):
    m = menu(clock)
    m.type(PASSWORD)
    m.submit_login()
    press(render.content(m), "Configuration")
    press(render.content(m), "Network")
    press(render.content(m), "More Settings")
    assert m.item("Server Port") is not None
    press(render.sidebar(m), "Platform Access")
    assert m.page().title == "Platform Access"
    press(render.content(m), "Unbind")
    press(render.dialog(m), "Cancel")
    assert m.dialog is None and m.device.hik_connect.bound


def test_the_platform_access_page_as_drawn(clock):
    m = menu(clock)
    m.type(PASSWORD)
    m.submit_login()
    for key in ("configuration", "network", "platform_access"):
        m.open(key)
    drawn = text(render.content(m))
    for label in ("Enable", "Server Address", "Verification Code", "Status", "Unbind"):
        assert label in drawn
    assert m.device.hik_connect.verification_code not in drawn
    qr_lines = text(render.qr_panel(m)).splitlines()
    assert any("█" in line for line in qr_lines)
    assert qr_lines[-1] == f"Serial No. {m.device.serial[-9:]}"
    assert "Platform Access" in text(render.crumbs(m))
    v3 = menu(clock, model="DS-7608NI-E2", firmware="V3.4.106 build 181215")
    v3.type(PASSWORD)
    v3.submit_login()
    for key in ("configuration", "network", "platform_access"):
        v3.open(key)
    assert "Unbind" not in text(render.content(v3))


async def test_every_screen_renders(clock):
    for overrides in ({}, {"admin_password": None}, {"kind": "ipc", "firmware": "V5.6.2"}):
        m = menu(clock, **overrides)
        await run(m)
    m = menu(clock)
    await run(m, PASSWORD, ENTER, UP, ENTER, ENTER)  # Logout's confirm dialog, answered Yes
    assert m.screen is Screen.LOGIN


async def test_dahua_has_its_own_look_and_p2p_page(clock):
    base = make_fleet(hik_entry(), clock=clock).devices[0]
    device = as_vendor(base, DahuaDevice)
    m = MenuModel(device, clock)
    assert style_for(m) != style_for(menu(clock))
    assert "dahua" in text(render.title_bar(m))
    await run(m, PASSWORD, ENTER, ENTER, DOWN, ENTER)  # Network, then P2P
    assert m.page().title == "P2P"
    assert "Appeal" in text(render.content(m))
    assert "Unbind" not in text(render.content(m))
