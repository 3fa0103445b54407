"""The one XML writer for what devices send: a small element tree, escaped and rendered.

Every codec that writes XML (ISAPI documents, SADP datagrams, ONVIF SOAP
bodies, WS-Discovery messages) builds `Element`s with `el` and `empty` and
renders them here, so text is always escaped one way. Reading stays in
protocols/xmlsafe.py.

What the formats need, and so all this does:
- Attributes keep the order they are given in: clients and captures compare
  documents as text. Names are written as given, so a prefix (`xml:lang`) or a
  namespace declaration (`xmlns`, `xmlns:env`; see `xmlns`) is just an attribute.
- An element holds either text or child elements, never both: no device
  document has mixed content, and the one-element-per-line layout could not
  place text between lines without changing it.
- `Markup` carries XML some other builder already wrote (ONVIF hands finished
  capability fragments from one response to another) and is copied as is.
- `<tag></tag>` is what an element without content looks like, because that
  is what devices send for an empty value; `empty` gives `<tag/>` for the few
  elements real captures write that way.
- `line_end` is the whole layout: "" writes everything on one line (SOAP,
  SADP probes); "\\n" or "\\r\\n" puts each element on its own line without
  indentation and ends the document with one (ISAPI, SADP replies).
- `drop_non_xml` removes the characters XML 1.0 cannot carry at all (escaping
  cannot help them). Off by default so that each codec decides: ISAPI drops
  them, the others have always written them through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

Scalar = str | int | float | bool
Attrs = tuple[tuple[str, str], ...]

_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_declaration(encoding: str = "UTF-8") -> str:
    """The prolog, with the encoding label spelled as the format spells it (`utf-8` or
    `UTF-8`): some clients compare it as text. The bytes are UTF-8 either way."""
    return f'<?xml version="1.0" encoding="{encoding}"?>'


@dataclass(frozen=True)
class Markup:
    """XML written elsewhere, trusted and copied into the output unchanged."""

    xml: str


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: Attrs = ()
    text: str = ""
    children: tuple[Element | Markup, ...] = ()
    self_closing: bool = False  # `<tag/>`; only for elements made by `empty`


def drop_non_xml_chars(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry, escaped or not."""
    return _NOT_XML_CHAR.sub("", text)


def scalar(value: Scalar) -> str:
    """A value as device documents write it: booleans in lower case, the rest as str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def xmlns(namespaces: Mapping[str, str]) -> Attrs:
    """Namespace declarations as attributes, in the given order; prefix "" is the default."""
    return tuple(
        (f"xmlns:{prefix}" if prefix else "xmlns", uri) for prefix, uri in namespaces.items()
    )


def _attrs(given: Iterable[tuple[str, Scalar]], named: Mapping[str, Scalar]) -> Attrs:
    return tuple((name, scalar(value)) for name, value in (*given, *named.items()))


def el(
    tag: str,
    *content: Element | Markup | Scalar,
    attrs: Iterable[tuple[str, Scalar]] = (),
    **named: Scalar,
) -> Element:
    """An element holding one scalar (its text) or child elements and markup.

    Attributes come from `attrs` (for names that are not Python identifiers, such
    as `xml:lang`), then from keywords, each group in the order given.
    """
    children = tuple(c for c in content if isinstance(c, Element | Markup))
    texts = [c for c in content if not isinstance(c, Element | Markup)]
    if len(texts) > 1 or (texts and children):
        raise TypeError(f"<{tag}> holds either one text or elements")
    text = scalar(texts[0]) if texts else ""
    return Element(tag, _attrs(attrs, named), text, children)


def empty(tag: str, *, attrs: Iterable[tuple[str, Scalar]] = (), **named: Scalar) -> Element:
    """An element written as `<tag/>`."""
    return Element(tag, _attrs(attrs, named), self_closing=True)


def write(element: Element | Markup, *, line_end: str = "", drop_non_xml: bool = False) -> str:
    """The element as text, without a prolog and without a final line end."""
    lines: list[str] = []
    _write(element, lines, drop_non_xml)
    return line_end.join(lines)


def document(
    root: Element,
    *,
    declaration: str = xml_declaration(),
    line_end: str = "",
    drop_non_xml: bool = False,
) -> bytes:
    """A whole document in UTF-8: the declaration, then the root; each line, the last one
    too, ends with `line_end`."""
    lines = [declaration]
    _write(root, lines, drop_non_xml)
    return "".join(line + line_end for line in lines).encode("utf-8")


def _write(node: Element | Markup, lines: list[str], drop_non_xml: bool) -> None:
    """Appends one line per start tag, end tag, leaf element or markup; joined with ""
    these lines are the one-line layout."""
    if isinstance(node, Markup):
        lines.append(node.xml)
        return

    def clean(text: str) -> str:
        return drop_non_xml_chars(text) if drop_non_xml else text

    # quoteattr picks single quotes for a value holding only double ones: the codecs
    # have always quoted that way, and their bytes must not change.
    attrs = "".join(f" {name}={quoteattr(clean(value))}" for name, value in node.attrs)
    if node.self_closing:
        lines.append(f"<{node.tag}{attrs}/>")
    elif node.children:
        lines.append(f"<{node.tag}{attrs}>")
        for child in node.children:
            _write(child, lines, drop_non_xml)
        lines.append(f"</{node.tag}>")
    else:
        lines.append(f"<{node.tag}{attrs}>{escaped(clean(node.text))}</{node.tag}>")


def escaped(text: str) -> str:
    """Element text escaped as `write` escapes it: for a template that places texts
    between tags it wrote itself (SADP's replies), so text is still escaped one way."""
    return escape(text)
