"""WS-Discovery as ONVIF uses it (UDP 3702): SOAP-over-UDP datagrams to and from typed messages.

No I/O and no device state. ONVIF speaks the 2005/04 discovery draft with
2004/08 WS-Addressing inside SOAP 1.2 envelopes (docs/protocols/onvif-dlink.md §1).
The responder side reads `Probe` and `Resolve` and writes `ProbeMatches`,
`ResolveMatches`, `Hello` and `Bye`; the client side (`build_probe`,
`decode_matches`) is here too so tests and `nvrsim discover onvif` speak the
same wire format. The matching rules (Types by QName, Scopes by the rfc3986
and strcmp0 rules) are here because they are the protocol's, not a device's.

Choices where the notes are silent or say [I]:
- Only the 2005/04 namespace is understood; a 2009 (WS-DD 1.1) Probe, like
  anything else that does not decode, is dropped: discovery never answers
  garbage, and ONVIF devices must not fault a multicast Probe.
- A Types QName whose prefix the client never declared matches by local name
  alone (inputs are read leniently); a declared prefix must name the right
  namespace.
- MatchBy rfc2396 (the draft's default) and rfc3986 (ONVIF's) are one rule;
  strcmp0 compares strings exactly; any other rule (uuid, ldap) matches nothing.
- Every element of a reply carries a prefix declared on the Envelope, since
  clients resolve `dn:NetworkVideoTransmitter` against the declarations in scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from . import xmlsafe
from .xmlwrite import Element, document, el, empty, xmlns

WSD_PORT = 3702
MULTICAST_GROUP = "239.255.255.250"
MAX_DATAGRAM = 32 * 1024  # ONVIF probes are under 1 KB; far larger is hostile

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DISCOVERY = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NETWORK_WSDL = "http://www.onvif.org/ver10/network/wsdl"
DEVICE_WSDL = "http://www.onvif.org/ver10/device/wsdl"

DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = f"{WSA}/role/anonymous"
MATCH_RFC3986 = f"{DISCOVERY}/rfc3986"
MATCH_RFC2396 = f"{DISCOVERY}/rfc2396"
MATCH_STRCMP0 = f"{DISCOVERY}/strcmp0"

QName = tuple[str | None, str]  # (namespace or None when undeclared, local name)
NETWORK_VIDEO_TRANSMITTER: QName = (NETWORK_WSDL, "NetworkVideoTransmitter")
ONVIF_DEVICE: QName = (DEVICE_WSDL, "Device")
_PREFIXES = {NETWORK_WSDL: "dn", DEVICE_WSDL: "tds"}


class WsdDecodeError(ValueError):
    """A datagram that is not a WS-Discovery message we answer; responders drop it."""


@dataclass(frozen=True)
class Probe:
    message_id: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    match_by: str | None = None  # None: the default rule (rfc3986)


@dataclass(frozen=True)
class Resolve:
    message_id: str
    address: str  # the endpoint reference wanted, e.g. urn:uuid:…


@dataclass(frozen=True)
class Target:
    """What a device says about itself in Hello, ProbeMatch and ResolveMatch."""

    address: str  # endpoint reference: urn:uuid:… stable for the device
    types: tuple[QName, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    metadata_version: int = 1


@dataclass(frozen=True)
class AppSequence:
    instance_id: int  # grows each time the device (re)starts
    message_number: int  # grows with each message of one instance


# --- decoding what clients send -------------------------------------------------------


def _envelope(datagram: bytes) -> tuple[xmlsafe.XmlNode, xmlsafe.XmlNode]:
    """The (Header, first Body element) of a SOAP envelope."""
    if len(datagram) > MAX_DATAGRAM:
        raise WsdDecodeError("datagram too large")
    try:
        root = xmlsafe.parse(datagram)
    except xmlsafe.XmlError as exc:
        raise WsdDecodeError(exc.reason) from None
    header, body = root.child("Header"), root.child("Body")
    if not root.is_named("Envelope") or header is None or body is None or not body.children:
        raise WsdDecodeError("not a SOAP envelope with a header and a body")
    return header, body.children[0]


def _message_id(header: xmlsafe.XmlNode) -> str:
    message_id = header.child_text("MessageID")
    if not message_id:
        raise WsdDecodeError("no MessageID: nothing to relate a reply to")
    return message_id


def decode_request(datagram: bytes) -> Probe | Resolve:
    """A Probe or Resolve in the 2005/04 namespace; WsdDecodeError for anything else."""
    header, message = _envelope(datagram)
    if message.namespace not in (DISCOVERY, None):
        raise WsdDecodeError(f"not WS-Discovery 2005/04: {message.namespace}")
    if message.is_named("Probe"):
        types = message.child("Types")
        scopes = message.child("Scopes")
        return Probe(
            message_id=_message_id(header),
            types=tuple(types.resolve(q) for q in types.text.split()) if types else (),
            scopes=tuple(scopes.text.split()) if scopes else (),
            match_by=scopes.attr("MatchBy") if scopes else None,
        )
    if message.is_named("Resolve"):
        epr = message.child("EndpointReference")
        address = epr.child_text("Address") if epr else None
        if not address:
            raise WsdDecodeError("Resolve without an endpoint reference")
        return Resolve(message_id=_message_id(header), address=address)
    raise WsdDecodeError(f"not a request we answer: {message.name}")


# --- matching -------------------------------------------------------------------------


def types_match(wanted: tuple[QName, ...], offered: tuple[QName, ...]) -> bool:
    """Every wanted type is offered; an undeclared prefix compares local names only."""
    return all(
        any(local == o_local and ns in (None, o_ns) for o_ns, o_local in offered)
        for ns, local in wanted
    )


def _rfc3986_match(wanted: str, offered: str) -> bool:
    """Same scheme and authority (any case), and wanted's path segments prefix offered's."""
    try:
        w, o = urlsplit(wanted), urlsplit(offered)
    except ValueError:
        return False
    if (w.scheme.lower(), w.netloc.lower()) != (o.scheme.lower(), o.netloc.lower()):
        return False
    w_path = [unquote(s) for s in w.path.rstrip("/").split("/")]
    o_path = [unquote(s) for s in o.path.split("/")]
    if {".", ".."} & {*w_path, *o_path}:
        return False
    return o_path[: len(w_path)] == w_path


def scope_matches(wanted: str, offered: str, match_by: str | None) -> bool:
    if match_by in (None, "", MATCH_RFC3986, MATCH_RFC2396):
        return _rfc3986_match(wanted, offered)
    if match_by == MATCH_STRCMP0:
        return wanted == offered
    return False


def probe_matches(probe: Probe, target: Target) -> bool:
    """Empty Types or Scopes match everything, as the draft says."""
    return types_match(probe.types, target.types) and all(
        any(scope_matches(w, o, probe.match_by) for o in target.scopes) for w in probe.scopes
    )


# --- building what devices send ----------------------------------------------------------

# Every prefix a message uses, declared once on its Envelope in this order.
_NAMESPACES = xmlns(
    {"SOAP-ENV": SOAP_ENV, "wsa": WSA, "d": DISCOVERY, "dn": NETWORK_WSDL, "tds": DEVICE_WSDL}
)


def _qname(name: QName) -> str:
    ns, local = name
    prefix = _PREFIXES.get(ns or "")
    return f"{prefix}:{local}" if prefix else local


def _datagram(header: list[Element], body: Element) -> bytes:
    """The SOAP envelope, all on one line, as devices and clients send it."""
    return document(
        el(
            "SOAP-ENV:Envelope",
            el("SOAP-ENV:Header", *header),
            el("SOAP-ENV:Body", body),
            attrs=_NAMESPACES,
        )
    )


def _message(
    action: str,
    message_id: str,
    sequence: AppSequence,
    body: Element,
    *,
    to: str,
    relates_to: str | None = None,
) -> bytes:
    header = [el("wsa:MessageID", message_id)]
    if relates_to:
        header.append(el("wsa:RelatesTo", relates_to))
    header += [
        el("wsa:To", to),
        el("wsa:Action", f"{DISCOVERY}/{action}"),
        empty(
            "d:AppSequence",
            InstanceId=sequence.instance_id,
            MessageNumber=sequence.message_number,
        ),
    ]
    return _datagram(header, body)


def _epr(address: str) -> Element:
    return el("wsa:EndpointReference", el("wsa:Address", address))


def _target(target: Target) -> list[Element]:
    return [
        _epr(target.address),
        el("d:Types", " ".join(_qname(t) for t in target.types)),
        el("d:Scopes", " ".join(target.scopes)),
        el("d:XAddrs", " ".join(target.xaddrs)),
        el("d:MetadataVersion", target.metadata_version),
    ]


def build_probe_matches(
    probe: Probe, target: Target, message_id: str, sequence: AppSequence
) -> bytes:
    body = el("d:ProbeMatches", el("d:ProbeMatch", *_target(target)))
    return _message(
        "ProbeMatches", message_id, sequence, body, to=ANONYMOUS, relates_to=probe.message_id
    )


def build_resolve_matches(
    resolve: Resolve, target: Target, message_id: str, sequence: AppSequence
) -> bytes:
    body = el("d:ResolveMatches", el("d:ResolveMatch", *_target(target)))
    return _message(
        "ResolveMatches", message_id, sequence, body, to=ANONYMOUS, relates_to=resolve.message_id
    )


def build_hello(target: Target, message_id: str, sequence: AppSequence) -> bytes:
    body = el("d:Hello", *_target(target))
    return _message("Hello", message_id, sequence, body, to=DISCOVERY_TO)


def build_bye(address: str, message_id: str, sequence: AppSequence) -> bytes:
    return _message("Bye", message_id, sequence, el("d:Bye", _epr(address)), to=DISCOVERY_TO)


# --- the client side -----------------------------------------------------------------------


def build_probe(
    message_id: str,
    types: tuple[QName, ...] = (),
    scopes: tuple[str, ...] = (),
    match_by: str | None = None,
) -> bytes:
    """A Probe as ONVIF clients send it: no AppSequence, as clients have none."""
    probe = []
    if types:
        probe.append(el("d:Types", " ".join(_qname(t) for t in types)))
    if scopes:
        rule = {"MatchBy": match_by} if match_by else {}
        probe.append(el("d:Scopes", " ".join(scopes), attrs=rule.items()))
    header = [
        el("wsa:MessageID", message_id),
        el("wsa:To", DISCOVERY_TO),
        el("wsa:Action", f"{DISCOVERY}/Probe"),
    ]
    return _datagram(header, el("d:Probe", *probe))


@dataclass(frozen=True)
class Announcement:
    """A ProbeMatch, ResolveMatch, Hello or Bye as a client reads it."""

    kind: str  # ProbeMatches, ResolveMatches, Hello or Bye
    message_id: str
    relates_to: str | None
    address: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    instance_id: int | None = None
    message_number: int | None = None


def decode_announcement(datagram: bytes) -> Announcement:
    """What a device sent; WsdDecodeError when it is not one of the four messages."""
    header, message = _envelope(datagram)
    kind = message.name
    if message.namespace != DISCOVERY or kind not in (
        "ProbeMatches",
        "ResolveMatches",
        "Hello",
        "Bye",
    ):
        raise WsdDecodeError(f"not a device's message: {kind}")
    body = message.children[0] if kind.endswith("Matches") and message.children else message
    epr = body.child("EndpointReference")
    address = epr.child_text("Address") if epr else None
    if not address:
        raise WsdDecodeError("no endpoint reference")
    types, scopes, xaddrs = (body.child(n) for n in ("Types", "Scopes", "XAddrs"))
    sequence = header.child("AppSequence")
    return Announcement(
        kind=kind,
        message_id=_message_id(header),
        relates_to=header.child_text("RelatesTo"),
        address=address,
        types=tuple(types.resolve(q) for q in types.text.split()) if types else (),
        scopes=tuple(scopes.text.split()) if scopes else (),
        xaddrs=tuple(xaddrs.text.split()) if xaddrs else (),
        instance_id=_int(sequence.attr("InstanceId")) if sequence else None,
        message_number=_int(sequence.attr("MessageNumber")) if sequence else None,
    )


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isascii() and text.isdigit() else None
