"""What a vendor's menu is made of: pages of items, dialogs, and the tree that links pages.

All of it is plain data and callbacks on the model; nothing here draws or reads keys.
A page's items are built afresh from the device each time they are asked for, so
what a page shows (and whether an item exists at all) always follows the device
state and its firmware capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from nvrsim.simulator.core.device import Device


class MenuSession(Protocol):
    """What a vendor's pages ask of the session they are shown in (firmware_menu.model's
    MenuModel is one): trees depend on this, not on the model."""

    device: Device
    notice: str  # one line under the page
    show_code: bool  # the verification code shown in clear
    last_unbind: Any  # the vendor's last unbind outcome, for its page to show
    lang: str  # the language the session shows (firmware_menu.i18n.LANGUAGES)

    def tr(self, text: str, **fields: object) -> str:
        """`text` (English, a template when given fields) in the session's language."""
        ...

    def now(self) -> float: ...

    def open(self, key: str) -> None: ...

    def restart(self) -> None: ...

    def logout(self, notice: str | None = ...) -> None: ...

    def message(self, title: str, text: str) -> None: ...

    def confirm(self, title: str, text: str, on_yes: Callable[[MenuSession], None]) -> None: ...

    def prompt(
        self,
        title: str,
        text: str,
        field: str,
        on_ok: Callable[[MenuSession, str], None],
        *,
        masked: bool = ...,
        entry: str = ...,
    ) -> None: ...


Action = Callable[[MenuSession], None]


class ItemKind(Enum):
    LINK = "link"  # opens another page
    TOGGLE = "toggle"  # on/off: Enter, Left/Right or a click flips it
    ACTION = "action"  # a button
    VALUE = "value"  # read-only "label: value"
    NOTE = "note"  # a line of explanatory text


FOCUSABLE = frozenset({ItemKind.LINK, ItemKind.TOGGLE, ItemKind.ACTION})


@dataclass(frozen=True)
class Item:
    label: str
    kind: ItemKind = ItemKind.VALUE
    value: str = ""
    run: Action | None = None
    key: str = ""  # stable identity for focus; the label when empty

    @property
    def id(self) -> str:
        return self.key or self.label

    @property
    def focusable(self) -> bool:
        return self.kind in FOCUSABLE


@dataclass(frozen=True)
class QrPanel:
    """A QR code beside the page's items, for a phone app to scan."""

    content: str
    caption: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageDef:
    key: str
    title: str  # English: the session translates it where it is shown
    parent: str | None
    items: Callable[[MenuSession], Iterable[Item]]
    qr: Callable[[MenuSession], QrPanel | None] = lambda _model: None


@dataclass(frozen=True)
class Page:
    """One page as it is now: what the view draws."""

    key: str
    title: str
    items: tuple[Item, ...]
    qr: QrPanel | None = None


@dataclass
class MenuTree:
    """A vendor's menu: its pages by key, the root page, and its look."""

    vendor: str
    look: str  # the view's colour scheme
    brand: str = ""  # the title bar's logo text; the vendor's name in capitals when empty
    # The serial as the device summary shows it (Hikvision: the 9 characters the app uses).
    serial: Callable[[Device], str] = lambda d: d.serial
    # The device summary's cloud line: its name (Cloud, P2P) and whether it is connected.
    cloud: Callable[[Device], tuple[str, bool]] = lambda d: (
        (d.cloud.name, d.cloud.online) if d.cloud else ("Cloud", False)
    )
    pages: dict[str, PageDef] = field(default_factory=dict)
    root: str = "main"

    def add(self, page: PageDef) -> PageDef:
        if page.key in self.pages:
            raise ValueError(f"page {page.key!r} defined twice")
        self.pages[page.key] = page
        return page

    def menu(
        self,
        key: str,
        title: str,
        parent: str | None,
        children: Iterable[str | Callable[[MenuSession], Item]],
    ) -> PageDef:
        """A page of links to other pages (named by key, looked up when built) and buttons
        (built for the session, so in its language)."""
        entries = tuple(children)
        return self.add(
            PageDef(
                key,
                title,
                parent,
                lambda m: [self.link(e, m) if isinstance(e, str) else e(m) for e in entries],
            )
        )

    def link(self, key: str, m: MenuSession) -> Item:
        """A link to page `key`, labelled with its title; keyed by the page so the focus
        stays on it when the language changes."""
        title = m.tr(self.pages[key].title)
        return Item(title, ItemKind.LINK, run=lambda s: s.open(key), key=key)


class DialogKind(Enum):
    MESSAGE = "message"
    CONFIRM = "confirm"
    PROMPT = "prompt"


@dataclass
class Dialog:
    """A modal box. `on_close(model, button, entry)` runs after it closes; button None = Esc."""

    kind: DialogKind
    title: str
    text: str  # title, text and field come translated; the buttons stay English (what
    buttons: tuple[str, ...]  # on_close is told) and the view translates them
    on_close: Callable[[MenuSession, str | None, str], None] | None = None
    field: str | None = None  # the label of a text field, if the dialog has one
    masked: bool = False
    entry: str = ""
    selected: int = 0  # index into buttons
