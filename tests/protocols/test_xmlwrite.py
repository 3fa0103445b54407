"""The shared XML writer on its own: escaping, attributes, namespaces, layouts, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import xmlsafe
from nvrsim.protocols.xmlwrite import (
    Element,
    Markup,
    document,
    el,
    empty,
    write,
    xml_declaration,
    xmlns,
)

# ---------------------------------------------------------------- escaping


def test_hostile_text_is_escaped_not_interpreted():
    hostile = '</a><b x="1">&amp;<!--'
    assert write(el("a", hostile)) == '<a>&lt;/a&gt;&lt;b x="1"&gt;&amp;amp;&lt;!--</a>'
    assert xmlsafe.parse(write(el("a", hostile))).text == hostile


def test_entity_and_dtd_text_stays_text():
    text = '<!DOCTYPE r [<!ENTITY e "x">]>&e;'
    root = xmlsafe.parse(document(el("r", text)))
    assert root.text == text
    assert root.children == []


def test_attribute_values_are_quoted_and_escaped():
    element = el("a", attrs=[("q", 'say "hi" & <go>'), ("both", 'it\'s "x"')], n=3)
    assert write(element) == (
        '<a q=\'say "hi" &amp; &lt;go&gt;\' both="it\'s &quot;x&quot;" n="3"></a>'
    )
    assert xmlsafe.parse(write(element)).attrs == {
        "q": 'say "hi" & <go>',
        "both": 'it\'s "x"',
        "n": "3",
    }


def test_line_breaks_in_attributes_survive_as_references():
    element = el("a", v="one\ntwo\rthree\tfour")
    assert write(element) == '<a v="one&#10;two&#13;three&#9;four"></a>'
    assert xmlsafe.parse(write(element)).attr("v") == "one\ntwo\rthree\tfour"


def test_characters_xml_cannot_carry_are_dropped_only_when_asked():
    element = el("a", "x\x00y\x1bz\ufffe", v="\x01ok\ud800")
    assert write(element, drop_non_xml=True) == '<a v="ok">xyz</a>'
    # Codecs that never dropped them keep their old bytes, broken as they were.
    assert write(element) == '<a v="\x01ok\ud800">x\x00y\x1bz\ufffe</a>'


# ---------------------------------------------------------------- building


def test_attributes_keep_the_given_order():
    element = el("a", attrs=[("z", 1), ("xml:lang", "en")], m=True, b=False)
    assert element.attrs == (("z", "1"), ("xml:lang", "en"), ("m", "true"), ("b", "false"))
    assert write(element) == '<a z="1" xml:lang="en" m="true" b="false"></a>'


def test_scalars_are_written_as_devices_write_them():
    assert [write(el("v", value)) for value in (True, False, 0, 7, 2.5, "x")] == [
        "<v>true</v>",
        "<v>false</v>",
        "<v>0</v>",
        "<v>7</v>",
        "<v>2.5</v>",
        "<v>x</v>",
    ]


def test_an_element_holds_text_or_elements_never_both():
    with pytest.raises(TypeError):
        el("a", "text", el("b"))
    with pytest.raises(TypeError):
        el("a", "one", "two")


def test_empty_elements_have_two_spellings():
    assert write(el("a", v=1)) == '<a v="1"></a>'
    assert write(empty("a", v=1)) == '<a v="1"/>'
    assert write(el("a", "")) == "<a></a>"


def test_markup_is_copied_unchanged():
    fragment = write(el("tds:Capabilities", el("tds:Network", NTP=0)))
    assert write(el("x:Wrap", Markup(fragment))) == f"<x:Wrap>{fragment}</x:Wrap>"


# ---------------------------------------------------------------- namespaces


def test_namespace_declarations_are_attributes_in_order():
    root = el(
        "env:Envelope",
        el("env:Body", el("tds:Probe")),
        attrs=xmlns({"env": "urn:env", "tds": "urn:tds", "": "urn:default"}),
    )
    text = write(root)
    assert text.startswith('<env:Envelope xmlns:env="urn:env" xmlns:tds="urn:tds" xmlns="urn:d')
    parsed = xmlsafe.parse(text)
    assert parsed.namespace == "urn:env"
    assert parsed.children[0].children[0].namespace == "urn:tds"
    assert parsed.namespaces == {"env": "urn:env", "tds": "urn:tds", "": "urn:default"}


def test_a_default_namespace_after_other_attributes():
    # ISAPI roots carry `version` before `xmlns`, as captures show.
    root = el(
        "DeviceInfo", el("model", "DS-2CD"), attrs=[("version", "2.0"), *xmlns({"": "urn:h"})]
    )
    assert (
        write(root) == '<DeviceInfo version="2.0" xmlns="urn:h"><model>DS-2CD</model></DeviceInfo>'
    )


# ---------------------------------------------------------------- layouts


def test_one_line_document():
    root = el("Probe", el("Uuid", "u"), el("Types", "inquiry"))
    assert document(root, declaration=xml_declaration("utf-8")) == (
        b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>u</Uuid><Types>inquiry</Types></Probe>'
    )


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_one_element_per_line_without_indentation(line_end):
    root = el("A", el("B", el("C", 1), el("D")), el("E", "x"))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<A>", "<B>", "<C>1</C>", "<D></D>", "</B>"]
    lines += ["<E>x</E>", "</A>"]
    assert document(root, line_end=line_end) == "".join(f"{x}{line_end}" for x in lines).encode()
    assert write(root, line_end=line_end) == line_end.join(lines[1:])


def test_documents_are_utf8_whatever_the_label():
    assert document(el("a", "é€𝄞"), declaration=xml_declaration("utf-8")).endswith(
        "<a>é€𝄞</a>".encode()
    )


# ---------------------------------------------------------------- round trips

# Text XML can carry. A CR is left out: parsers read a bare CR in text as LF, and
# the writer does not escape it, so as not to change what codecs have always sent.
xml_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r").filter(
    lambda c: c in "\t\n" or (c >= " " and c not in "\ufffe\uffff")
)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True).filter(
    lambda n: not n.lower().startswith("xml")  # reserved: xmlns would declare a namespace
)


@st.composite
def trees(draw, depth: int = 3) -> Element:
    attrs = draw(st.dictionaries(names, st.text(xml_chars, max_size=12), max_size=3))
    if depth and draw(st.booleans()):
        children = draw(st.lists(trees(depth - 1), min_size=1, max_size=3))
        return el(draw(names), *children, attrs=attrs.items())
    return el(draw(names), draw(st.text(xml_chars, max_size=16)), attrs=attrs.items())


def as_parsed(element: Element) -> xmlsafe.XmlNode:
    return xmlsafe.XmlNode(
        element.tag,
        element.text,
        [as_parsed(c) for c in element.children if isinstance(c, Element)],
        dict(element.attrs),
    )


@given(trees(), st.sampled_from(["", "\n", "\r\n"]))
def test_what_is_written_parses_back_to_the_same_text(tree, line_end):
    parsed = xmlsafe.parse(document(tree, line_end=line_end))
    if not line_end:
        assert parsed == as_parsed(tree)
    else:
        # Line ends become the text of elements that hold children; leaves are exact.
        assert _leaves(parsed) == _leaves(as_parsed(tree))


def _leaves(node: xmlsafe.XmlNode) -> list[tuple[str, str, dict[str, str]]]:
    if not node.children:
        return [(node.name, node.text, node.attrs)]
    return [(node.name, "", node.attrs)] + [leaf for c in node.children for leaf in _leaves(c)]


@given(st.text(), st.text())
def test_any_text_parses_back_once_unwritable_characters_are_dropped(text, value):
    written = document(el("a", text.replace("\r", ""), v=value), drop_non_xml=True)
    parsed = xmlsafe.parse(written)
    assert parsed.text == only_xml_chars(text.replace("\r", ""))
    assert parsed.attr("v") == only_xml_chars(value)


def only_xml_chars(text: str) -> str:
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"
    )
