"""The full-screen prompt_toolkit application that draws a `MenuModel`.

It holds no state of its own: keys and clicks go to the model, and every redraw
(after each key and every `refresh_interval` seconds, for the clock, the lock
countdown and changes made by other sessions) reads the model afresh.
"""

from __future__ import annotations

from prompt_toolkit.application import Application, get_app
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    ConditionalContainer,
    Container,
    DynamicContainer,
    Float,
    FloatContainer,
    FormattedTextControl,
    HSplit,
    Layout,
    VSplit,
    Window,
    WindowAlign,
)
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style
from prompt_toolkit.widgets import Frame

from nvrsim.firmware_menu import render
from nvrsim.firmware_menu.model import Key, MenuModel, Screen

_COMMON_STYLE = {
    "title": "bold",
    "crumb": "bg:#303030 #d0d0d0",
    "footer": "bg:#303030 #d0d0d0",
    "body": "bg:#151515 #e8e8e8",
    "box": "#e8e8e8",
    "box.title": "bold #ffffff",
    "label": "#a8a8a8",
    "value": "#ffffff bold",
    "note": "italic #a0a0a0",
    "field": "bg:#3a3a3a #ffffff",
    "field.active": "bg:#ffffff #000000",
    "side": "#d8d8d8",
    "side.label": "#909090",
    "side.title": "bold #ffffff",
    "page.title": "bold underline #ffffff",
    "item": "#e8e8e8",
    "tile": "bg:#3a3a3a #ffffff bold",
    "qr": "bg:#ffffff #000000",
    "qr.caption": "#d0d0d0",
    "button": "bg:#4a4a4a #ffffff",
    "dialog": "bg:#2a2a2a #ffffff",
    "dialog frame.label": "bold",
    "dialog.text": "#ffffff",
    "countdown": "bold #ffcc00",
}

LOOKS = {
    # Hikvision's 4.x GUI: dark grey with the brand's red as the accent.
    "hikvision": {
        "title.brand": "bg:#c8102e #ffffff bold",
        "title": "bg:#202020 #ffffff",
        "title.clock": "bg:#202020 #ffffff bold",
        "sidebar": "bg:#262626",
        "side.current": "bg:#c8102e #ffffff bold",
        "item.focused": "bg:#c8102e #ffffff bold",
        "tile.focused": "bg:#c8102e #ffffff bold",
        "button.selected": "bg:#c8102e #ffffff bold",
        "notice": "bold #ff6b6b",
        "dialog frame.border": "#c8102e",
    },
    # Dahua's GUI: navy with a bright blue accent.
    "dahua": {
        "title.brand": "bg:#0057b8 #ffffff bold",
        "title": "bg:#0a1a33 #ffffff",
        "title.clock": "bg:#0a1a33 #ffffff bold",
        "body": "bg:#0d1b2e #e8e8e8",
        "sidebar": "bg:#13253f",
        "side.current": "bg:#1e88e5 #ffffff bold",
        "item.focused": "bg:#1e88e5 #ffffff bold",
        "tile": "bg:#1b3358 #ffffff bold",
        "tile.focused": "bg:#1e88e5 #ffffff bold",
        "button.selected": "bg:#1e88e5 #ffffff bold",
        "notice": "bold #ffb74d",
        "dialog frame.border": "#1e88e5",
    },
}

_KEYS = {
    "up": Key.UP,
    "down": Key.DOWN,
    "left": Key.LEFT,
    "right": Key.RIGHT,
    "enter": Key.ENTER,
    "escape": Key.ESC,
    "tab": Key.TAB,
    "s-tab": Key.BACKTAB,
    "backspace": Key.BACKSPACE,
}

SIDEBAR_WIDTH = 28
WIDE = 100  # columns from which the sidebar is shown


def style_for(model: MenuModel) -> Style:
    look = model.tree.look if model.tree is not None else "hikvision"
    return Style.from_dict(_COMMON_STYLE | LOOKS.get(look, LOOKS["hikvision"]))


def key_bindings(model: MenuModel) -> KeyBindings:
    kb = KeyBindings()
    for name, key in _KEYS.items():
        kb.add(name, eager=True)(lambda _event, key=key: model.press(key))

    @kb.add(Keys.Any)
    def _typed(event: KeyPressEvent) -> None:
        # Only real characters: unbound function keys arrive here as escape sequences.
        if all(not isinstance(k.key, Keys) for k in event.key_sequence):
            model.type(event.data)

    @kb.add(Keys.BracketedPaste)
    def _pasted(event: KeyPressEvent) -> None:
        model.type(event.data)

    @kb.add("c-q")
    @kb.add("c-c")
    def _quit(event: KeyPressEvent) -> None:
        event.app.exit()

    return kb


def _text(get, **window) -> Window:
    return Window(FormattedTextControl(get), **window)


def _centered(body: Container, width: int, height: int) -> Container:
    box = Frame(body, width=Dimension.exact(width), height=Dimension.exact(height))
    return HSplit(
        [Window(), VSplit([Window(), box, Window()]), Window()],
        style="class:body",
    )


def layout(model: MenuModel) -> Layout:
    wide = Condition(lambda: get_app().output.get_size().columns >= WIDE)

    has_qr = Condition(lambda: model.screen is Screen.MENU and model.page().qr is not None)

    def spacing() -> int:
        return 1 if get_app().output.get_size().rows >= 36 else 0

    def content_width() -> int:
        columns = get_app().output.get_size().columns
        return columns - 3 - (SIDEBAR_WIDTH if columns >= WIDE else 0)

    menu = VSplit(
        [
            ConditionalContainer(
                _text(lambda: render.sidebar(model), width=SIDEBAR_WIDTH, style="class:sidebar"),
                filter=wide,
            ),
            Window(width=2),
            _text(lambda: render.content(model, spacing(), content_width()), wrap_lines=False),
            ConditionalContainer(
                _text(lambda: render.qr_panel(model), width=Dimension(max=40), wrap_lines=False),
                filter=has_qr,
            ),
            Window(width=1),
        ],
        style="class:body",
    )
    screens: dict[Screen, Container] = {
        Screen.MENU: menu,
        Screen.LOGIN: _centered(_text(lambda: render.login(model)), 56, 11),
        Screen.LOCKED: _centered(_text(lambda: render.locked(model)), 56, 8),
        Screen.NOT_ACTIVATED: _centered(_text(lambda: render.not_activated(model)), 60, 11),
        Screen.STARTING: _centered(_text(lambda: render.starting(model)), 56, 6),
        Screen.NO_MENU: _centered(_text(lambda: render.no_menu(model)), 74, 8),
    }
    dialog = Frame(
        _text(lambda: render.dialog(model), wrap_lines=True),
        title=lambda: render.dialog_title(model),
        width=Dimension(preferred=70, max=76),
        style="class:dialog",
    )
    root = FloatContainer(
        HSplit(
            [
                VSplit(
                    [
                        _text(lambda: render.title_bar(model), style="class:title"),
                        _text(lambda: render.clock(model), width=21, align=WindowAlign.RIGHT),
                    ],
                    height=1,
                    style="class:title",
                ),
                _text(lambda: render.crumbs(model), height=1, style="class:crumb"),
                DynamicContainer(lambda: screens[model.screen]),
                _text(lambda: render.footer(model), height=1, style="class:footer"),
            ]
        ),
        floats=[
            Float(ConditionalContainer(dialog, filter=Condition(lambda: model.dialog is not None)))
        ],
    )
    return Layout(root)


def build_app(
    model: MenuModel,
    *,
    input: Input | None = None,
    output: Output | None = None,
    refresh_interval: float | None = 0.5,
) -> Application[None]:
    app: Application[None] = Application(
        layout=layout(model),
        key_bindings=key_bindings(model),
        style=style_for(model),
        full_screen=True,
        mouse_support=True,
        refresh_interval=refresh_interval,
        input=input,
        output=output,
    )
    # A lone Esc is "back"; do not wait half a second to tell it from an escape sequence.
    app.ttimeoutlen = 0.05
    return app
