"""The shared request-body parser on its own: trees, leniency, refusals, limits, random bytes."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols.xmlsafe import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    XmlEmpty,
    XmlError,
    XmlForbidden,
    XmlNode,
    XmlNotWellFormed,
    XmlTooLarge,
    parse,
)

# ---------------------------------------------------------------- well-formed documents


def test_a_document_becomes_local_names_raw_text_attributes_and_children_in_order():
    root = parse(
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<Probe v="2">'
        b'<Uuid> u-1 </Uuid><Password bSalt="true">p&amp;w</Password><Empty/></Probe>\r\n'
    )
    assert root == XmlNode(
        "Probe",
        attrs={"v": "2"},
        children=[
            XmlNode("Uuid", " u-1 "),
            XmlNode("Password", "p&w", attrs={"bSalt": "true"}),
            XmlNode("Empty"),
        ],
    )


def test_text_is_all_of_an_elements_own_character_data():
    root = parse(b"<a>x<b>inner</b>y<!-- c --><?pi z?><![CDATA[<&>]]>&#233;&#x1F600;</a>")
    assert root.text == "xy<&>\u00e9\U0001f600"
    assert root.child_text("b") == "inner"


def test_lookups_ignore_case_and_the_first_of_duplicates_wins():
    root = parse(b'<EZVIZ><Enabled k="1" K="2"> true </Enabled><enabled>false</enabled></EZVIZ>')
    assert root.is_named("ezviz") and root.is_named("EZVIZ")
    assert root.child_text("ENABLED") == "true"
    assert root.child("enabled") is root.children[0]
    assert root.children[0].attr("k") == "1"
    assert root.children[0].attr("missing") is None


def test_a_missing_child_is_none_and_an_empty_one_is_empty_text():
    root = parse(b"<a><b/><c>\n  </c></a>")
    assert (root.child("d"), root.child_text("d")) == (None, None)
    assert (root.child_text("b"), root.child_text("c")) == ("", "")


# ---------------------------------------------------------------- namespaces and prefixes


def test_prefixes_are_dropped_even_when_never_declared():
    root = parse(
        b'<hik:EZVIZ xmlns:hik="urn:x"><hik:enabled>true</hik:enabled>'
        b"<undeclared:verificationCode>ABC123</undeclared:verificationCode></hik:EZVIZ>"
    )
    assert root.name == "EZVIZ"
    assert [c.name for c in root.children] == ["enabled", "verificationCode"]
    assert root.child_text("verificationcode") == "ABC123"


def test_namespace_declarations_are_not_attributes_and_attribute_prefixes_are_dropped():
    root = parse(
        b'<Probe xmlns="urn:a" xmlns:x="urn:b" version="2.0">'
        b'<Password x:bSalt="true" y:bSalt="false"/></Probe>'
    )
    assert root.attrs == {"version": "2.0"}
    assert root.children[0].attrs == {"bSalt": "true"}


def test_names_expat_accepts_without_namespace_processing():
    assert parse(b"<a:b:c/>").name == "c"
    assert parse(b'<a xmlns:p="" p:x="1"/>').attrs == {"x": "1"}


# ---------------------------------------------------------------- refused constructs

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<a>&lol3;</a>"
)
QUADRATIC = b'<!DOCTYPE q [<!ENTITY a "' + b"x" * 5000 + b'">]><a>' + b"&a;" * 200 + b"</a>"
EXTERNAL_ENTITY = b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>'


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(QUADRATIC, id="quadratic-blowup"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><a/>', id="external-dtd"),
        pytest.param(b'<!DOCTYPE r PUBLIC "-//x//EN" "x.dtd"><a/>', id="public-dtd"),
        pytest.param(b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><a/>',
                     id="parameter-entity"),
        pytest.param(b'<!DOCTYPE r [<!ENTITY i SYSTEM "x.png" NDATA png>]><a/>',
                     id="unparsed-entity"),
        pytest.param(b"<!DOCTYPE a><a/>", id="dtd-alone"),
        pytest.param(BILLION_LAUGHS.decode(), id="billion-laughs-str"),
    ],
)  # fmt: skip
def test_dtds_entities_and_external_references_are_forbidden(document):
    with pytest.raises(XmlForbidden):
        parse(document)


def test_an_undeclared_entity_is_not_well_formed():
    with pytest.raises(XmlNotWellFormed):
        parse(b"<a>&xxe;</a>")


# ---------------------------------------------------------------- limits


def _nested(depth: int) -> bytes:
    return b"<a>" * depth + b"</a>" * depth


def test_depth_up_to_the_limit_parses():
    node = parse(_nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        node = node.children[0]
    assert node.children == []


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeper_documents_are_too_large_and_never_recurse(depth):
    with pytest.raises(XmlTooLarge):
        parse(_nested(depth))


def test_element_count_up_to_the_limit_parses_and_one_more_is_too_large():
    assert len(parse(b"<r>" + b"<e/>" * (MAX_ELEMENTS - 1) + b"</r>").children) == MAX_ELEMENTS - 1
    with pytest.raises(XmlTooLarge):
        parse(b"<r>" + b"<e/>" * MAX_ELEMENTS + b"</r>")


def test_limits_can_be_tightened_per_call():
    assert parse(_nested(2), max_depth=2).child("a") is not None
    with pytest.raises(XmlTooLarge):
        parse(_nested(3), max_depth=2)
    with pytest.raises(XmlTooLarge):
        parse(b"<r><e/><e/></r>", max_elements=2)


# ---------------------------------------------------------------- bytes, encodings, emptiness


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(b"<a>\xff\xfe</a>", id="invalid-utf8"),
        pytest.param(b"<a>\xed\xa0\x80</a>", id="encoded-surrogate"),
        pytest.param(b"<a>\xc0\xaf</a>", id="overlong"),
        pytest.param(b'<?xml version="1.0" encoding="no-such"?><a/>', id="unknown-encoding"),
        pytest.param("<a>\ud800</a>", id="lone-surrogate-str"),
        pytest.param(b"<a>\x01</a>", id="control-character"),
        pytest.param(b"<a>", id="truncated"),
        pytest.param(b"<a></b>", id="mismatched"),
        pytest.param(b"<a/><b/>", id="two-roots"),
        pytest.param(b"text", id="no-element"),
        pytest.param(b'<?xml version="1.0"?>', id="prolog-only"),
        pytest.param(b'\n<?xml version="1.0"?><a/>', id="prolog-not-first"),
        pytest.param(b'<a x="1" x="2"/>', id="duplicate-attribute"),
        pytest.param(b"\x00", id="nul"),
    ],
)
def test_malformed_documents_are_not_well_formed(document):
    with pytest.raises(XmlNotWellFormed):
        parse(document)


def test_bytes_follow_the_documents_own_encoding():
    assert parse("<a>\u00e9</a>".encode()).text == "\u00e9"
    assert parse(b"\xef\xbb\xbf<a>x</a>").text == "x"
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>'
    assert parse(latin).text == "\u00e9"
    assert parse("<a>\u00e9</a>".encode("utf-16")).text == "\u00e9"


def test_a_str_is_already_decoded_whatever_its_prolog_says():
    assert parse('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>').text == "\u00e9"
    assert parse("\ufeff<a>x</a>").text == "x"


@pytest.mark.parametrize("document", [b"", b" \r\n\t", "", " \n"])
def test_nothing_but_whitespace_is_empty(document):
    with pytest.raises(XmlEmpty):
        parse(document)


def test_errors_are_value_errors_with_a_reason():
    for document, kind in (
        (b"", XmlEmpty),
        (b"<a>", XmlNotWellFormed),
        (BILLION_LAUGHS, XmlForbidden),
        (_nested(MAX_DEPTH + 1), XmlTooLarge),
    ):
        with pytest.raises(kind) as caught:
            parse(document)
        assert isinstance(caught.value, ValueError)
        assert caught.value.reason and caught.value.reason == str(caught.value)


# ---------------------------------------------------------------- properties

_FRAGMENTS = [
    "<a>", "</a>", "<b x='1'>", "</b>", "<p:c>", "</p:c>", "<d/>", "text", " ", "&amp;", "&x;",
    "&#0;", "&#65;", "<![CDATA[", "]]>", "<!--", "-->", "<?xml version='1.0'?>", "<?pi ?>",
    "<!DOCTYPE a>", "<!ENTITY e 'v'>", "<!DOCTYPE a [", "]>", "&e;", "\xe9", "\x00", "\ufeff",
    "<", ">", "'", '"', "=", "xmlns:p='u'", " ",
]  # fmt: skip
soup = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)


def _depth_and_count(node: XmlNode) -> tuple[int, int]:
    stack, depth, count = [(node, 1)], 0, 0
    while stack:
        current, level = stack.pop()
        depth, count = max(depth, level), count + 1
        stack.extend((child, level + 1) for child in current.children)
    return depth, count


_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\t\n\r"),
    max_size=20,
)


def _trees(children: st.SearchStrategy[list[XmlNode]]) -> st.SearchStrategy[XmlNode]:
    return st.builds(XmlNode, _NAMES, _TEXT, children, st.dictionaries(_NAMES, _TEXT, max_size=3))


trees = st.recursive(_trees(st.just([])), lambda inner: _trees(st.lists(inner, max_size=4)))


def _serialise(node: XmlNode, prefix: str) -> str:
    attrs = "".join(f" {prefix}{k}={quoteattr(v)}" for k, v in node.attrs.items())
    text = escape(node.text, {"\r": "&#13;"})
    inner = "".join(_serialise(child, prefix) for child in node.children)
    return f"<{prefix}{node.name}{attrs}>{text}{inner}</{prefix}{node.name}>"


@given(tree=trees, prefix=st.sampled_from(["", "p:", "hik:"]))
def test_any_tree_round_trips_with_or_without_prefixes(tree, prefix):
    assert parse(_serialise(tree, prefix).encode("utf-8")) == tree


@st.composite
def _damaged(draw) -> str:
    """A valid document with a fragment spliced in: close enough to reach the limits."""
    text = _serialise(draw(trees), draw(st.sampled_from(["", "p:"])))
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(_FRAGMENTS)) + text[at:]


@given(
    document=st.one_of(
        st.binary(max_size=512),
        st.text(max_size=200),
        soup,
        soup.map(lambda s: f"<r>{s}</r>".encode()),
        soup.map(lambda s: s.encode("utf-16")),
        _damaged(),
        _damaged().map(lambda s: s.encode("utf-8")),
    )
)
def test_anything_parses_or_raises_only_xml_error(document):
    try:
        root = parse(document, max_depth=3, max_elements=5)
    except XmlError:
        return
    depth, count = _depth_and_count(root)
    assert depth <= 3 and count <= 5
