"""The one XML parser for what clients send: hostile input in, a small tree or `XmlError` out.

Every codec that reads XML from the network (SADP datagrams, ISAPI bodies, and
the SOAP and HNAP ones to come) parses through `parse`, so there is one answer
to "is this safe" and one to "how lenient are we":

- Refused: any DTD (even `<!DOCTYPE r>` alone), entity declarations and
  external references, so billion laughs, quadratic blowup and XXE never
  expand. No device protocol needs a DTD.
- Bounded: at most `MAX_DEPTH` levels and `MAX_ELEMENTS` elements; the tree is
  built with an explicit stack, so no depth reaches Python's recursion limit.
  The size of the input is the transport's cap (a datagram, an HTTP body
  limit), checked before the bytes get here.
- Lenient as devices are: a prefix is dropped from element and attribute names
  even when it was never declared, namespace declarations are not attributes,
  and `XmlNode` matches names without regard to case.
- Namespaces are kept aside for the protocols whose meaning needs them (a
  WS-Discovery Types QName, a SOAP body's service): each node knows the
  prefixes in scope and its own namespace (None when its prefix is undeclared),
  without taking part in equality or name matching.
- Bytes follow XML's own encoding rules (a BOM or the declaration, else UTF-8);
  a str is taken as already decoded and its declaration is ignored.

`XmlError` has one subclass per kind of refusal so that each codec can map
them to its own answer (ISAPI's badXmlFormat vs badXmlContent; SADP drops the
datagram whatever the kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax import SAXException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml import DefusedXmlException
from defusedxml.expatreader import create_parser

MAX_DEPTH = 32
MAX_ELEMENTS = 4096


class XmlError(ValueError):
    """A document `parse` refuses; `reason` says why, for logs, never for the wire."""

    @property
    def reason(self) -> str:
        return str(self)


class XmlEmpty(XmlError):
    """Nothing but whitespace: no document at all."""


class XmlNotWellFormed(XmlError):
    """Not well-formed XML, or bytes that are not in the document's encoding."""


class XmlForbidden(XmlError):
    """Well-formed, but with a DTD, an entity declaration or an external reference."""


class XmlTooLarge(XmlError):
    """Nested deeper than the depth limit, or more elements than the element limit."""


@dataclass
class XmlNode:
    """An element: local name, all its own text (unstripped), attributes, children in order.

    Names match without regard to case; of duplicates, the first one wins.
    """

    name: str
    text: str = ""
    children: list[XmlNode] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    namespace: str | None = field(default=None, compare=False)
    # Prefix → URI of every declaration in scope; "" is the default namespace.
    namespaces: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def resolve(self, qname: str) -> tuple[str | None, str]:
        """A QName written in this element's text or attributes, as (namespace, local name)."""
        prefix, _, local = qname.strip().rpartition(":")
        return self.namespaces.get(prefix), local

    def is_named(self, name: str) -> bool:
        return self.name.lower() == name.lower()

    def child(self, name: str) -> XmlNode | None:
        return next((c for c in self.children if c.is_named(name)), None)

    def child_text(self, name: str) -> str | None:
        """The stripped text of the first such child; None when there is no such child."""
        node = self.child(name)
        return None if node is None else node.text.strip()

    def attr(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.attrs.items() if k.lower() == wanted), None)


def _local(name: str) -> str:
    return name.rpartition(":")[2]


class _TreeBuilder(ContentHandler):
    """Builds XmlNodes with an explicit stack and stops at the first element over a limit."""

    def __init__(self, max_depth: int, max_elements: int) -> None:
        super().__init__()
        self.root: XmlNode | None = None
        self._stack: list[tuple[XmlNode, list[str]]] = []
        self._count = 0
        self._max_depth = max_depth
        self._max_elements = max_elements

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        self._count += 1
        if len(self._stack) >= self._max_depth:
            raise XmlTooLarge(f"nested deeper than {self._max_depth} elements")
        if self._count > self._max_elements:
            raise XmlTooLarge(f"more than {self._max_elements} elements")
        node = XmlNode(_local(name))
        declared: dict[str, str] = {}
        for qname, value in attrs.items():
            if qname == "xmlns" or qname.startswith("xmlns:"):
                declared[qname[6:]] = value
            else:
                node.attrs.setdefault(_local(qname), value)
        inherited = self._stack[-1][0].namespaces if self._stack else {}
        # Most elements declare nothing: they share their parent's map.
        node.namespaces = inherited | declared if declared else inherited
        node.namespace = node.namespaces.get(name.rpartition(":")[0])
        if self._stack:
            self._stack[-1][0].children.append(node)
        else:
            self.root = node
        self._stack.append((node, []))

    def endElement(self, name: str) -> None:
        node, text = self._stack.pop()
        node.text = "".join(text)

    def characters(self, content: str) -> None:
        if self._stack:
            self._stack[-1][1].append(content)


def parse(
    document: bytes | str, *, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> XmlNode:
    """The root element of `document`; any refusal is an `XmlError` subclass, nothing else."""
    if not document.strip():
        raise XmlEmpty("empty document")
    builder = _TreeBuilder(max_depth, max_elements)
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(builder)
    try:
        parser.feed(document)
        parser.close()
    except XmlError:
        raise
    except DefusedXmlException as exc:
        raise XmlForbidden(f"refused: {exc}") from None
    # Expat reports bad bytes itself; a str with lone surrogates fails to encode
    # (UnicodeError, a ValueError) and an unknown declared encoding is a LookupError.
    except (SAXException, ValueError, LookupError) as exc:
        raise XmlNotWellFormed(f"not well-formed XML: {exc}") from None
    if builder.root is None:  # pragma: no cover - expat refuses a document without a root
        raise XmlNotWellFormed("no root element")
    return builder.root
