"""No label of the dashboard is left untranslated: every text, placeholder and tooltip of
its page names a catalog key (or is marked translate="no": a brand, a unit, a language's
own name), and every key the page or its scripts use is in each language's catalog."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib import resources

DASHBOARD = resources.files("nvrsim.simulator.control") / "dashboard"
CATALOGS: dict[str, dict[str, str]] = json.loads((DASHBOARD / "i18n.json").read_text())
# Words that are the same in French: names and abbreviations.
SAME_IN_FRENCH = {"col.cloud", "fact.cloud", "fact.mac", "fact.uuid", "fact.ports", "log.client"}
# Keys the scripts build: the stream's states ("connection." + state), and the plural
# forms English and French have (Intl.PluralRules: "one", "other").
BUILT_BY_SCRIPTS = {
    *("connection.live", "connection.reconnecting"),
    *("fleet.devices.one", "fleet.devices.other"),
}
VOID = {"meta", "link", "input", "br", "img", "hr"}


class Labels(HTMLParser):
    """Each piece of text and each translatable attribute, with what keys it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.keys: set[str] = set()
        self.untranslated: list[str] = []

    def exempt(self) -> bool:
        return any(a.get("translate") == "no" for a in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for attr in ("placeholder", "title"):
            key = a.get(f"data-i18n-{attr}")
            if key:
                self.keys.add(key)
            elif a.get(attr) and a.get("translate") != "no" and not self.exempt():
                self.untranslated.append(f"<{tag} {attr}={a[attr]!r}>")
        if a.get("data-i18n"):
            self.keys.add(a["data-i18n"] or "")
        if tag not in VOID:
            self.stack.append(a | {"tag": tag})

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if not text or not self.stack or self.stack[-1]["tag"] in ("script", "style"):
            return
        if not self.stack[-1].get("data-i18n") and not self.exempt():
            self.untranslated.append(text)


def page_labels() -> Labels:
    labels = Labels()
    labels.feed((DASHBOARD / "index.html").read_text())
    return labels


def script_keys() -> set[str]:
    scripts = "".join(f.read_text() for f in DASHBOARD.iterdir() if f.name.endswith(".js"))
    # t("key"), and the device page's facts, listed as ["fact.…", value] and drawn with t()
    pairs = re.findall(r'\bt\(\s*"([\w.]+)"|"(fact\.\w+)"', scripts)
    return {key for pair in pairs for key in pair if key}


def test_every_label_of_the_page_names_a_catalog_key():
    labels = page_labels()
    assert labels.untranslated == []
    assert len(labels.keys) > 50  # the parser did read the page


def test_every_key_the_page_and_its_scripts_use_is_in_every_language():
    keys = script_keys()
    prefixes = {k for k in keys if k.endswith(".")}  # t("fleet.devices." + form)
    assert all(any(b.startswith(p) for b in BUILT_BY_SCRIPTS) for p in prefixes), prefixes
    used = page_labels().keys | (keys - prefixes) | BUILT_BY_SCRIPTS
    assert {"menu.watch", "filter.shown", "fact.bound"} <= used  # the scripts were read
    for lang, catalog in CATALOGS.items():
        assert used - catalog.keys() == set(), lang


def test_the_catalogs_match_and_french_is_not_english():
    english, french = CATALOGS["en"], CATALOGS["fr"]
    assert english.keys() == french.keys()
    fields = re.compile(r"\{\w+\}")
    for key in english:
        assert english[key].strip() and french[key].strip(), key
        assert sorted(fields.findall(english[key])) == sorted(fields.findall(french[key])), key
        if key not in SAME_IN_FRENCH:
            assert english[key] != french[key], f"{key} is not translated"


def test_the_parser_catches_an_untranslated_label():
    labels = Labels()
    labels.feed('<p data-i18n="back">Back</p><p>Forgotten</p><input placeholder="Type">')
    assert labels.untranslated == ["Forgotten", "<input placeholder='Type'>"]
