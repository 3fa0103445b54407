"""The model drawn as prompt_toolkit formatted text: one function per part of the screen.

Only drawing happens here: every fragment that can be clicked carries a handler
that forwards the click to the model, which decides what it means. Every word
drawn goes through the model's `tr`, in the session's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from textwrap import wrap

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.mouse_events import MouseEvent, MouseEventType

from nvrsim.firmware_menu import qr
from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.firmware_menu.tree import DialogKind, Item, ItemKind

LABEL_WIDTH = 24
LINE_WIDTH = 60
TILE_WIDTH = 20
NOTE_WIDTH = 48
DIALOG_WIDTH = 64

HINTS = {
    Screen.NO_MENU: "Ctrl-Q Quit",
    Screen.STARTING: "Wait for the device to start   Ctrl-Q Quit",
    Screen.NOT_ACTIVATED: "Enter Activate   Ctrl-Q Quit",
    Screen.LOGIN: "Type the password   Enter Log in   Esc Clear   Ctrl-Q Quit",
    Screen.LOCKED: "Wait for the lock to lift   Ctrl-Q Quit",
    Screen.MENU: "↑↓ Tab Move   Enter Select   ←→ Change   Esc Back   Mouse: click   Ctrl-Q Quit",
}
DIALOG_HINT = "Type   ←→ Tab Choose button   Enter Confirm   Esc Cancel"
NO_MENU_TEXT = (
    "IP cameras have no screen of their own: use the web page (ISAPI), "
    "SADP or the Hik-Connect app. Pick a recorder (NVR or DVR)."
)


def box_lines(text: str, width: int) -> str:
    """`text` wrapped to `width` and indented for a centred box: translations run longer
    than the English, so no line of a box is laid out by hand."""
    return "".join(f"  {line}\n" for line in wrap(text, width))


def on_click(action: Callable[[], None]) -> Callable[[MouseEvent], object]:
    def handler(event: MouseEvent) -> object:
        if event.event_type is not MouseEventType.MOUSE_UP:
            return NotImplemented
        action()
        return None

    return handler


def brand(model: MenuModel) -> str:
    tree = model.tree
    return (tree.brand if tree is not None else "") or model.device.vendor.upper()


def title_bar(model: MenuModel) -> StyleAndTextTuples:
    d = model.device
    return [
        ("class:title.brand", f" {brand(model)} "),
        ("class:title", f"  {d.model}   {model.tr('S/N')} {d.serial}   {d.name}"),
    ]


def clock(model: MenuModel) -> StyleAndTextTuples:
    return [
        ("class:title.clock", datetime.fromtimestamp(model.now()).strftime("%Y-%m-%d %H:%M:%S "))
    ]


def crumbs(model: MenuModel) -> StyleAndTextTuples:
    if model.screen is not Screen.MENU:
        return [("class:crumb", " " + model.tr("Local menu"))]
    return [("class:crumb", " " + "  ▸  ".join(model.breadcrumb))]


def footer(model: MenuModel) -> StyleAndTextTuples:
    hint = DIALOG_HINT if model.dialog is not None else HINTS[model.screen]
    return [("class:footer", f" {model.tr(hint)}")]


# --- screens outside the menu -----------------------------------------------------------


def no_menu(model: MenuModel) -> StyleAndTextTuples:
    d = model.device
    title = model.tr("{model} ({kind}) has no local menu.", model=d.model, kind=d.kind)
    return [
        ("class:box.title", f"\n  {title}\n\n"),
        ("class:box", box_lines(model.tr(NO_MENU_TEXT), 66)),
    ]


def not_activated(model: MenuModel) -> StyleAndTextTuples:
    tr = model.tr
    return [
        ("class:box.title", f"\n  {tr('Device not activated')}\n\n"),
        ("class:box", box_lines(tr("Create the admin password to activate the device."), 54)),
        ("class:box", "\n  "),
        ("class:button.selected", f"[ {tr('Activate')} ]"),
        ("class:box", f"\n\n  {tr('Press Enter.')}"),
    ]


def login(model: MenuModel) -> StyleAndTextTuples:
    masked = "●" * len(model.password)
    tr = model.tr
    width = max(12, len(tr("User Name")) + 1, len(tr("Password")) + 1)
    return [
        ("class:box.title", f"\n  {tr('Login')}\n\n"),
        ("class:label", f"  {tr('User Name'):<{width}}"),
        ("class:field", f" {model.device.admin_user:<22}"),
        ("", "\n\n"),
        ("class:label", f"  {tr('Password'):<{width}}"),
        ("class:field.active", f" {masked}▏".ljust(24)),
        ("", "\n\n"),
        ("class:notice", box_lines(model.notice, 52).rstrip("\n")),
    ]


def starting(model: MenuModel) -> StyleAndTextTuples:
    return [
        ("class:box.title", f"\n  {brand(model)}\n\n"),
        ("class:box", f"  {model.tr('The device is restarting. Please wait…')}\n"),
    ]


def locked(model: MenuModel) -> StyleAndTextTuples:
    minutes, seconds = divmod(model.locked_for, 60)
    tr = model.tr
    return [
        ("class:box.title", f"\n  {tr('User locked')}\n\n"),
        ("class:box", f"  {tr('Too many failed login attempts.')}\n"),
        ("class:box", f"  {tr('Try again in')} "),
        ("class:countdown", f"{minutes:02d}:{seconds:02d}"),
        ("class:box", "\n"),
    ]


# --- the menu ------------------------------------------------------------------------------


def sidebar(model: MenuModel) -> StyleAndTextTuples:
    entries = model.sidebar()
    if not entries:
        return device_summary(model)
    out: StyleAndTextTuples = [("class:side.title", f" {model.breadcrumb[-2]}\n\n")]
    for entry in entries:
        style = "class:side.current" if entry.current else "class:side"
        out.append(
            (
                style,
                f" {'▌' if entry.current else ' '} {entry.label:<22}\n",
                on_click(lambda key=entry.key: model.click_sidebar(key)),
            )
        )
    return out


def device_summary(model: MenuModel) -> StyleAndTextTuples:
    d = model.device
    assert model.tree is not None
    cloud, online = model.tree.cloud(d)
    tr = model.tr
    rows = [
        (tr("Model"), d.model),
        (tr("Serial"), model.tree.serial(d)),
        (tr("Firmware"), d.firmware.number),
        ("IP", d.network.ip),
        (tr(cloud), tr("Online") if online else tr("Offline")),
    ]
    out: StyleAndTextTuples = [("class:side.title", f" {tr('Device')}\n\n")]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        out += [("class:side.label", f" {label:<{width}}"), ("class:side", f"{value}\n")]
    return out


def content(model: MenuModel, spacing: int = 0, width: int = 80) -> StyleAndTextTuples:
    page = model.page()
    if len(model.path) == 1:
        return tiles(model, per_row=max(1, (width - 1) // (TILE_WIDTH + 2)))
    out: StyleAndTextTuples = [("class:page.title", f" {page.title}\n\n")]
    focus = model.focus
    # The value column starts after the page's longest label that has one beside it
    # (translations run long); notes and plain buttons have none.
    labels = [
        len(i.label) + 1
        for i in page.items
        if i.kind is not ItemKind.NOTE and (i.kind is not ItemKind.ACTION or i.value)
    ]
    column = max([LABEL_WIDTH, *labels])
    for index, (item, after) in enumerate(zip(page.items, (*page.items[1:], None), strict=True)):
        out += item_line(model, index, item, index == focus, column)
        notes = item.kind is ItemKind.NOTE and after is not None and after.kind is ItemKind.NOTE
        out.append(("", "\n" * (1 + (0 if notes else spacing))))
    if model.notice:
        out.append(("class:notice", f"\n {model.notice}\n"))
    return out


def item_line(
    model: MenuModel, index: int, item: Item, focused: bool, column: int = LABEL_WIDTH
) -> StyleAndTextTuples:
    handler = on_click(lambda: model.click(index))
    if item.kind is ItemKind.NOTE:
        return [("class:note", "\n".join(f"   {line}" for line in wrap(item.label, NOTE_WIDTH)))]
    if item.kind is ItemKind.VALUE:
        return [("class:label", f"   {item.label:<{column}}"), ("class:value", item.value)]
    base = "class:item.focused" if focused else "class:item"
    marker = "▶" if focused else " "
    if item.kind is ItemKind.LINK:
        text = f" {marker} {item.label:<{column}}▸"
    elif item.kind is ItemKind.TOGGLE:
        text = f" {marker} {item.label:<{column}}[{item.value:^5}]"
    elif item.value:
        text = f" {marker} {item.label:<{column}}{item.value}  ✎"
    else:
        text = f" {marker} [ {item.label} ]"
    return [(base, text.ljust(LINE_WIDTH), handler)]


def tiles(model: MenuModel, per_row: int = 4) -> StyleAndTextTuples:
    """The main menu as rows of big framed tiles, like the recorder's start page."""
    items = model.page().items
    focus = model.focus
    inner = TILE_WIDTH - 2
    # Each tile's label on its middle lines, wrapped when a translation is too long for one.
    names = [(wrap(item.label, inner)[:3] or [""]) for item in items]
    names = [[""] * (len(n) == 1) + n + [""] * (3 - len(n) - (len(n) == 1)) for n in names]
    out: StyleAndTextTuples = [("class:page.title", f" {model.page().title}\n\n")]
    for start in range(0, len(items), per_row):
        row = list(enumerate(items))[start : start + per_row]
        for line in range(5):
            out.append(("", " "))
            for index, _item in row:
                focused = index == focus
                style = "class:tile.focused" if focused else "class:tile"
                h, v, corners = ("━", "┃", "┏┓┗┛") if focused else ("─", "│", "┌┐└┘")
                if line == 0:
                    text = corners[0] + h * inner + corners[1]
                elif line == 4:
                    text = corners[2] + h * inner + corners[3]
                else:
                    text = v + f"{names[index][line - 1]:^{inner}}" + v
                click = on_click(lambda i=index: model.click(i))
                out += [(style, text, click), ("", "  ")]
            out.append(("", "\n"))
        out.append(("", "\n"))
    if model.notice:
        out.append(("class:notice", f" {model.notice}\n"))
    return out


def qr_panel(model: MenuModel) -> StyleAndTextTuples:
    panel = model.page().qr if model.screen is Screen.MENU else None
    if panel is None:
        return []
    out: StyleAndTextTuples = []
    for line in qr.half_blocks(panel.content):
        out += [("class:qr", line), ("", "\n")]
    for line in panel.caption:
        out.append(("class:qr.caption", f"{line}\n"))
    return out


def dialog(model: MenuModel) -> StyleAndTextTuples:
    d = model.dialog
    if d is None:
        return []
    lines = (
        wrapped for line in d.text.splitlines() for wrapped in wrap(line, DIALOG_WIDTH) or [""]
    )
    text = "".join(f" {line}\n" for line in lines)
    out: StyleAndTextTuples = [("class:dialog.text", f"\n{text}\n")]
    if d.field is not None:
        shown = "●" * len(d.entry) if d.masked else d.entry
        out += [
            ("class:label", f" {d.field}: "),
            ("class:field.active", f" {shown}▏".ljust(26)),
            ("", "\n\n"),
        ]
    out.append(("", " "))
    for index, button in enumerate(d.buttons):
        style = "class:button.selected" if index == d.selected else "class:button"
        label = f"[ {model.tr(button)} ]"
        out.append((style, label, on_click(lambda i=index: model.click_button(i))))
        out.append(("", "  "))
    return out


def dialog_title(model: MenuModel) -> str:
    d = model.dialog
    if d is None:
        return ""
    return {DialogKind.MESSAGE: "ⓘ ", DialogKind.CONFIRM: "? ", DialogKind.PROMPT: "✎ "}[
        d.kind
    ] + d.title
