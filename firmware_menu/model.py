"""The recorder's local GUI as a pure state machine: keys in, screen state out.

One `MenuModel` is one person at the recorder's screen (or one telnet session):
its own login, page, focus and dialog, on a device it shares with every other
front end. It never draws and never reads the system clock: the view turns key
presses into `press`/`type`/`click` calls and draws `screen`, `page()`,
`dialog`, ...; time comes from the injected clock. Which menu a device gets is
chosen by `device.vendor`; whether it has one at all by capability `local_menu`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from nvrsim.firmware_menu import common, i18n
from nvrsim.firmware_menu.tree import Dialog, DialogKind, Item, ItemKind, MenuTree, Page
from nvrsim.simulator.core.auth import LoginOutcome, LoginResult, plain
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import LOCAL_CONSOLE, Device
from nvrsim.simulator.vendors import vendor_of


def tree_for(device: Device) -> MenuTree | None:
    """The vendor's menu tree (its `Vendor.menu`), or None when the device has no local
    menu (cameras)."""
    make = vendor_of(device).menu
    return make() if make is not None and device.can("local_menu") else None


class Screen(Enum):
    NO_MENU = "no_menu"  # a camera: nothing to show
    STARTING = "starting"  # the device is rebooting: the screen shows its boot logo
    NOT_ACTIVATED = "not_activated"
    LOGIN = "login"
    LOCKED = "locked"
    MENU = "menu"


class Key(Enum):
    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    ENTER = "enter"
    ESC = "esc"
    TAB = "tab"
    BACKTAB = "backtab"
    BACKSPACE = "backspace"


@dataclass(frozen=True)
class SideEntry:
    key: str
    label: str
    current: bool


class MenuModel:
    def __init__(
        self,
        device: Device,
        clock: Clock,
        tree: MenuTree | None = None,
        restart: Callable[[Device], object] | None = None,
        lang: str = i18n.DEFAULT,
    ) -> None:
        self.device = device
        self.clock = clock
        # The session's own language, as the menu's Language setting changes it: another
        # person at another session of the same device keeps theirs.
        self.lang = i18n.check(lang)
        # How Maintenance > Reboot restarts the device: at once on a copy of the fleet;
        # through the simulator (down, Bye, back up, Hello) when attached to a running one.
        self._restart = restart or (lambda d: d.reboot(self.now()))
        self.tree = tree if tree is not None else tree_for(device)
        self.password = ""  # what is typed into the login box
        self.notice = ""  # one line under the login box or the page
        self.dialog: Dialog | None = None
        self.show_code = False  # verification code shown in clear
        self.last_login: LoginOutcome | None = None
        self.last_unbind: Any = None  # the vendor's last unbind outcome, for its page
        self._session: float | None = None  # device.boot_time when logged in
        self._path: list[str] = [self.tree.root] if self.tree else []
        self._focus: dict[str, str] = {}  # page key -> focused item id

    def now(self) -> float:
        return self.clock.now()

    def tr(self, text: str, **fields: object) -> str:
        return i18n.translate(self.lang, text, **fields)

    # --- what is on screen -------------------------------------------------------

    @property
    def screen(self) -> Screen:
        if self.tree is None:
            return Screen.NO_MENU
        if not self.device.powered:
            return Screen.STARTING
        if not self.device.activated:
            self._end_session()
            return Screen.NOT_ACTIVATED
        if self._session is not None:
            if self._session == self.device.boot_time:
                return Screen.MENU
            self._end_session(self.tr("The device restarted. Please log in again."))
        return Screen.LOCKED if self.locked_for else Screen.LOGIN

    @property
    def locked_for(self) -> int:
        """Seconds until the local console's login lock lifts (0: not locked)."""
        return self.device.local_lockout.unlock_in(LOCAL_CONSOLE, self.now())

    @property
    def logged_in(self) -> bool:
        return self.screen is Screen.MENU

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self._path)

    @property
    def breadcrumb(self) -> tuple[str, ...]:
        assert self.tree is not None
        return tuple(self.tr(self.tree.pages[key].title) for key in self._path)

    def page(self) -> Page:
        assert self.tree is not None
        spec = self.tree.pages[self._path[-1]]
        return Page(spec.key, self.tr(spec.title), tuple(spec.items(self)), spec.qr(self))

    def item(self, label: str) -> Item | None:
        """The current page's item with this label or key, if it is there."""
        return next((i for i in self.page().items if label in (i.label, i.id)), None)

    @property
    def focus(self) -> int:
        """Index of the focused item of the current page (-1 when none can take focus)."""
        items = self.page().items
        wanted = self._focus.get(self._path[-1])
        for index, item in enumerate(items):
            if item.focusable and item.id == wanted:
                return index
        return next((i for i, item in enumerate(items) if item.focusable), -1)

    def sidebar(self) -> list[SideEntry]:
        """The pages beside the current one (its parent's links), the current one marked."""
        assert self.tree is not None
        if len(self._path) < 2:
            return []
        parent = self.tree.pages[self._path[-2]]
        return [
            SideEntry(i.id, i.label, i.id == self._path[-1])
            for i in parent.items(self)
            if i.kind is ItemKind.LINK
        ]

    # --- input -----------------------------------------------------------------

    def press(self, key: Key) -> None:
        screen = self.screen
        if self.dialog is not None:
            self._dialog_key(key)
        elif screen is Screen.LOGIN:
            self._login_key(key)
        elif screen is Screen.NOT_ACTIVATED:
            if key is Key.ENTER:
                self.start_activation()
        elif screen is Screen.MENU:
            self._menu_key(key)

    def type(self, text: str) -> None:
        text = "".join(c for c in text if c.isprintable())
        if self.dialog is not None:
            if self.dialog.field is not None:
                self.dialog.entry += text
        elif self.screen is Screen.LOGIN:
            self.password += text

    def click(self, index: int) -> None:
        """A mouse click on the current page's item `index`: focus it and use it."""
        if self.dialog is not None or self.screen is not Screen.MENU:
            return
        items = self.page().items
        if 0 <= index < len(items) and items[index].focusable:
            self._focus[self._path[-1]] = items[index].id
            self._activate(items[index])

    def click_sidebar(self, key: str) -> None:
        usable = self.dialog is None and self.screen is Screen.MENU and len(self._path) > 1
        if usable and any(e.key == key for e in self.sidebar()):
            self._path[-1] = key

    def click_button(self, index: int) -> None:
        if self.dialog is not None and 0 <= index < len(self.dialog.buttons):
            self._close_dialog(self.dialog.buttons[index])

    # --- login -------------------------------------------------------------------

    def _login_key(self, key: Key) -> None:
        if key is Key.ENTER:
            self.submit_login()
        elif key is Key.BACKSPACE:
            self.password = self.password[:-1]
        elif key is Key.ESC:
            self.password = ""

    def submit_login(self) -> LoginOutcome:
        outcome = self.device.login(LOCAL_CONSOLE, plain(self.password), self.now())
        self.password = ""
        self.last_login = outcome
        if outcome.result is LoginResult.OK:
            self._session = self.device.boot_time
            self._path = [self.tree.root] if self.tree else []
            self._focus.clear()
            self.notice = ""
        elif outcome.result is LoginResult.WRONG_PASSWORD:
            self.notice = self.tr(
                "Incorrect user name or password. {n} attempt(s) left.", n=outcome.retries_left
            )
        else:
            self.notice = ""  # the locked or not-activated screen says it all
        return outcome

    def restart(self) -> None:
        self._restart(self.device)

    def logout(self, notice: str | None = None) -> None:
        self._end_session(self.tr("Logged out.") if notice is None else notice)

    def _end_session(self, notice: str = "") -> None:
        if self._session is not None:
            self._session = None
            self.dialog = None
            self.show_code = False
            self.notice = notice
        self.password = ""

    def start_activation(self) -> None:
        common.start_activation(self)

    # --- pages ------------------------------------------------------------------

    def open(self, key: str) -> None:
        assert self.tree is not None
        if key not in self.tree.pages:
            raise KeyError(f"no page {key!r} in the {self.tree.vendor} menu")
        self._path.append(key)

    def back(self) -> None:
        if len(self._path) > 1:
            self._path.pop()

    def _menu_key(self, key: Key) -> None:
        items = self.page().items
        index = self.focus
        current = items[index] if index >= 0 else None
        if key in (Key.UP, Key.BACKTAB):
            self._move(-1)
        elif key in (Key.DOWN, Key.TAB):
            self._move(+1)
        elif key in (Key.LEFT, Key.RIGHT):
            if current is not None and current.kind is ItemKind.TOGGLE:
                self._activate(current)
            else:
                self._move(-1 if key is Key.LEFT else +1)
        elif key is Key.ENTER:
            if current is not None:
                self._activate(current)
        elif key in (Key.ESC, Key.BACKSPACE):
            self.back()

    def _move(self, step: int) -> None:
        items = self.page().items
        focusable = [i for i, item in enumerate(items) if item.focusable]
        if not focusable:
            return
        here = self.focus
        position = focusable.index(here) if here in focusable else 0
        target = items[focusable[(position + step) % len(focusable)]]
        self._focus[self._path[-1]] = target.id

    def _activate(self, item: Item) -> None:
        self.notice = ""
        if item.run is not None:
            item.run(self)

    # --- dialogs -----------------------------------------------------------------

    def message(self, title: str, text: str) -> None:
        self.dialog = Dialog(DialogKind.MESSAGE, title, text, ("OK",))

    def confirm(self, title: str, text: str, on_yes: Callable[[MenuModel], None]) -> None:
        def close(model: MenuModel, button: str | None, _entry: str) -> None:
            if button == "Yes":
                on_yes(model)

        self.dialog = Dialog(DialogKind.CONFIRM, title, text, ("Yes", "No"), close)

    def prompt(
        self,
        title: str,
        text: str,
        field: str,
        on_ok: Callable[[MenuModel, str], None],
        *,
        masked: bool = False,
        entry: str = "",
    ) -> None:
        def close(model: MenuModel, button: str | None, value: str) -> None:
            if button == "OK":
                on_ok(model, value)

        self.dialog = Dialog(
            DialogKind.PROMPT, title, text, ("OK", "Cancel"), close, field, masked, entry
        )

    def _dialog_key(self, key: Key) -> None:
        dialog = self.dialog
        assert dialog is not None
        if key in (Key.LEFT, Key.BACKTAB, Key.UP):
            dialog.selected = (dialog.selected - 1) % len(dialog.buttons)
        elif key in (Key.RIGHT, Key.TAB, Key.DOWN):
            dialog.selected = (dialog.selected + 1) % len(dialog.buttons)
        elif key is Key.ENTER:
            self._close_dialog(dialog.buttons[dialog.selected])
        elif key is Key.ESC:
            self._close_dialog(None)
        elif key is Key.BACKSPACE and dialog.field is not None:
            dialog.entry = dialog.entry[:-1]

    def _close_dialog(self, button: str | None) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and dialog.on_close is not None:
            dialog.on_close(self, button, dialog.entry)
