# The Russian screens' words are Cyrillic, some letters of which look Latin.
# ruff: noqa: RUF001
"""The menu in every language: each screen, page and dialog of both vendor trees is walked
with the keys and clicks a user would use, and nothing shown may be left in English."""

from __future__ import annotations

import re

import pytest

from nvrsim.firmware_menu import i18n, render
from nvrsim.firmware_menu.hikvision import UNBIND_MESSAGES
from nvrsim.firmware_menu.model import Key, MenuModel, Screen
from nvrsim.firmware_menu.tree import ItemKind
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.device import LOCAL_LOCKOUT, Device
from nvrsim.simulator.dahua.device import DahuaDevice
from tests.conftest import PASSWORD, as_vendor, hik_entry, make_fleet

LANGS = tuple(i18n.LANGUAGES)
OTHERS = tuple(lang for lang in LANGS if lang != i18n.DEFAULT)


def text(fragments) -> str:
    return "".join(fragment[1] for fragment in fragments)


def shown(m: MenuModel) -> str:
    """Everything the screen shows now, as the view lays it out (render.py's parts)."""
    body = {
        Screen.NO_MENU: render.no_menu,
        Screen.STARTING: render.starting,
        Screen.NOT_ACTIVATED: render.not_activated,
        Screen.LOGIN: render.login,
        Screen.LOCKED: render.locked,
        Screen.MENU: lambda model: (
            render.sidebar(model) + render.content(model) + render.qr_panel(model)
        ),
    }[m.screen]
    parts = [render.title_bar(m), render.crumbs(m), body(m), render.footer(m), render.dialog(m)]
    screen = "\n".join(text(p) for p in parts) + "\n" + render.dialog_title(m)
    # The device's name is its owner's data, not the menu's words ("Network Video Recorder").
    return screen.replace(m.device.name, "<name>")


def hik(clock: VirtualClock, lang: str, **overrides) -> MenuModel:
    return MenuModel(make_fleet(hik_entry(**overrides), clock=clock).devices[0], clock, lang=lang)


def dahua(clock: VirtualClock, lang: str) -> MenuModel:
    device = as_vendor(make_fleet(hik_entry(), clock=clock).devices[0], DahuaDevice)
    return MenuModel(device, clock, lang=lang)


def login(m: MenuModel, password: str = PASSWORD) -> None:
    m.type(password)
    m.press(Key.ENTER)


def answer(m: MenuModel, entry: str, screens: list[str]) -> None:
    m.type(entry)
    screens.append(shown(m))
    m.press(Key.ENTER)
    screens.append(shown(m))


def labelled(m: MenuModel, label: str) -> int:
    """The index of the current page's item labelled `label` (English) in the session's language."""
    return next(i for i, item in enumerate(m.page().items) if item.label == m.tr(label))


def dismiss(m: MenuModel) -> None:
    if m.dialog is not None:
        m.press(Key.ENTER)


def go(m: MenuModel, key: str) -> None:
    """Open page `key` from the main menu, through its parents."""
    assert m.tree is not None
    chain = []
    while key is not None:
        chain.append(key)
        key = m.tree.pages[key].parent
    while len(m.path) > 1:
        m.press(Key.ESC)
    for page in reversed(chain[:-1]):
        m.open(page)


def walk_pages(m: MenuModel, screens: list[str]) -> None:
    """Every page of the tree, and every item on it used once: each dialog it opens is
    shown, then cancelled with Esc (toggles without a dialog are flipped back)."""
    assert m.tree is not None
    for key in m.tree.pages:
        go(m, key)
        screens.append(shown(m))
        if key == "language":
            continue  # choosing would change the language under the walk
        for index, item in enumerate(m.page().items):
            if not item.focusable or item.kind is ItemKind.LINK:
                continue
            m.click(index)
            screens.append(shown(m))
            if m.dialog is not None:
                m.press(Key.ESC)
            elif item.kind is ItemKind.TOGGLE or item.id == "show_code":
                m.click(index)


def walk(clock: VirtualClock, lang: str) -> list[str]:
    """Every screen and dialog of both menus in `lang`, as shown."""
    screens: list[str] = []

    # Not activated: the activation dialogs and each of their answers.
    m = hik(clock, lang, admin_password=None)
    screens.append(shown(m))
    m.press(Key.ENTER)
    answer(m, "weak", screens)
    answer(m, "weak", screens)  # risky password
    m.press(Key.ENTER)
    m.press(Key.ENTER)
    answer(m, "Fresh2024pw", screens)
    answer(m, "Other2024pw", screens)  # do not match
    m.press(Key.ENTER)
    m.press(Key.ENTER)
    answer(m, "Fresh2024pw", screens)
    answer(m, "Fresh2024pw", screens)  # activated
    m.press(Key.ENTER)
    screens.append(shown(m))

    # A camera; a wrong password, then the lock; the boot screen.
    screens.append(shown(hik(clock, lang, kind="ipc", firmware="V5.6.2")))
    m = hik(clock, lang)
    login(m, "wrong")
    screens.append(shown(m))
    for _ in range(LOCAL_LOCKOUT.max_failures):
        login(m, "wrong")
    screens.append(shown(m))

    def power_off(device: Device) -> None:
        device.powered = False

    m = MenuModel(hik(clock, lang).device, clock, restart=power_off, lang=lang)
    login(m)
    m.restart()
    screens.append(shown(m))

    # Both menus, every page and item.
    for model in (
        hik(clock, lang),
        hik(clock, lang, hik_connect={"enabled": False}),
        dahua(clock, lang),
    ):
        login(model)
        screens.append(shown(model))
        walk_pages(model, screens)

    # Platform Access's answers: bad code, bad server, a new code, each unbind outcome.
    m = hik(clock, lang)
    login(m)
    go(m, "platform_access")
    for label, entry in (
        ("Change Verification Code", "x"),
        ("Change Verification Code", "ABCDEF"),
        ("Server Address", " bad server"),
    ):
        m.click(labelled(m, label))
        answer(m, entry, screens)
        dismiss(m)
    unbind = labelled(m, "Unbind")
    for password in ["wrong"] * LOCAL_LOCKOUT.max_failures + [PASSWORD]:
        m.click(unbind)
        answer(m, password, screens)
        dismiss(m)
    clock.advance(LOCAL_LOCKOUT.lock_seconds)
    for _ in range(2):  # succeeded, then not bound
        m.click(unbind)
        answer(m, PASSWORD, screens)
        dismiss(m)

    # Unbind where Hik-Connect is off, and where it is offline.
    for hik_connect in ({"enabled": False}, {"enabled": True, "online": False}):
        m = hik(clock, lang, hik_connect=hik_connect | {"bound_account": "a@b.c"})
        login(m)
        go(m, "platform_access")
        m.click(labelled(m, "Unbind"))
        answer(m, PASSWORD, screens)

    # Restore defaults, reboot and logout end the session, each with its notice.
    for page, label in (
        ("maintenance", "Restore Defaults"),
        ("maintenance", "Reboot"),
        ("main", "Logout"),
    ):
        login(m)
        go(m, page)
        m.click(labelled(m, label))
        m.press(Key.ENTER)
        screens.append(shown(m))
    return screens


@pytest.fixture
def used(monkeypatch) -> set[str]:
    """Every English string the screens asked to translate."""
    keys: set[str] = set()
    translate = i18n.translate

    def recording(lang: str, source: str, **fields: object) -> str:
        keys.add(source)
        return translate(lang, source, **fields)

    monkeypatch.setattr(i18n, "translate", recording)
    return keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_catalog_has_every_string_the_screens_show(clock, used, lang):
    walk(clock, lang)
    assert used, "the walk translated nothing"
    assert len(used) > 100
    missing = sorted(used - set(i18n.CATALOGS[lang])) if lang != i18n.DEFAULT else []
    assert not missing, f"{lang} lacks {missing}"


@pytest.mark.parametrize("lang", OTHERS)
def test_no_screen_shows_english_that_has_a_translation(clock, used, lang):
    screens = walk(clock, lang)
    catalog = i18n.CATALOGS[lang]
    english = sorted((s for s in used if catalog.get(s, s) != s and not s.startswith("{")), key=len)
    for screen in screens:
        for source in english:
            template = re.escape(source).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"\{[a-z]+\}", ".*", template)
            assert not re.search(rf"(?<!\w){pattern}(?!\w)", screen), (
                f"{lang}: {source!r} left in English on:\n{screen}"
            )


def test_the_catalogs_have_no_key_the_menu_does_not_use(clock, used):
    walk(clock, "ru")
    used |= set(UNBIND_MESSAGES.values())  # some answers only a network client can get
    for lang in OTHERS:
        assert set(i18n.CATALOGS[lang]) <= used, sorted(set(i18n.CATALOGS[lang]) - used)


def test_templates_keep_their_fields_in_every_language():
    fields = re.compile(r"\{(\w+)\}")
    for lang in OTHERS:
        for source, shown_as in i18n.CATALOGS[lang].items():
            assert set(fields.findall(shown_as)) == set(fields.findall(source)), (lang, source)


def choose(m: MenuModel, label: str) -> None:
    """Move the focus down to `label` with the arrow keys and press Enter, as a user would."""
    for _ in range(len(m.page().items) + 1):
        if m.page().items[m.focus].label == label:
            m.press(Key.ENTER)
            return
        m.press(Key.DOWN)
    raise AssertionError(f"no {label!r} on {m.page().title}: {[i.label for i in m.page().items]}")


def test_in_russian_log_in_go_to_platform_access_and_unbind(clock):
    m = hik(clock, "ru")
    assert "Вход" in shown(m) and "Пароль" in shown(m)
    login(m, "wrong")
    assert m.notice == "Неверное имя пользователя или пароль. Осталось попыток: 6."
    login(m)
    assert m.screen is Screen.MENU
    for label in ("Конфигурация", "Сеть", "Доступ к платформе"):
        choose(m, label)
    assert m.breadcrumb == ("Главное меню", "Конфигурация", "Сеть", "Доступ к платформе")
    assert m.item("Статус привязки").value == "Привязано"
    choose(m, "Отвязать")
    assert m.dialog is not None and m.dialog.title == "Отвязать"
    assert m.dialog.field == "Пароль admin" and m.dialog.masked
    m.type(PASSWORD)
    m.press(Key.ENTER)
    assert m.dialog.text.startswith("Устройство отвязано.")
    assert "[ OK ]" in shown(m)
    assert m.device.hik_connect.bound_account is None
    m.press(Key.ENTER)
    assert m.item("Статус привязки").value == "Не привязано"


@pytest.mark.parametrize(
    ("make", "path"),
    [(hik, ("Configuration", "General")), (dahua, ("System", "General"))],
)
def test_the_language_setting_switches_the_screen_at_once(clock, make, path):
    m = make(clock, "en")
    other = MenuModel(m.device, clock)  # another session keeps its own language
    login(m)
    for label in path:
        choose(m, label)
    assert m.item("Language").value == "English"
    choose(m, "Language")
    assert [i.label for i in m.page().items] == ["English", "Русский", "Español", "Français"]
    choose(m, "Français")
    assert m.lang == "fr"
    assert m.page().title == "Langue" and m.breadcrumb[0] == "Menu principal"
    assert "Échap Retour" in shown(m) and m.item("Français").value == "✔"
    m.press(Key.ESC)
    assert m.item("Langue").value == "Français"
    assert m.focus == [i.id for i in m.page().items].index("language")  # focus kept
    choose(m, "Langue")
    choose(m, "Русский")
    m.press(Key.ESC)
    m.press(Key.ESC)
    assert m.page().title in ("Конфигурация", "Система")
    assert other.lang == "en" and "Login" in shown(other)


def test_an_unknown_language_is_refused(clock):
    with pytest.raises(ValueError, match="en, ru, es, fr"):
        hik(clock, "de")
