"""ONVIF event service (ver10 events WSDL, WS-BaseNotification): documents and arguments.

No I/O and no device state. Builders write the replies of the event service and of a
subscription (PullPoint or Basic Notification), the Notify a device pushes, and
GetEventProperties' topic set; readers take the arguments out of a decoded request
(`onvif.decode_request`): xs:duration and absolute termination times, topic filters.

Choices where the record is silent:
- Topic filters (ConcreteSet dialect): alternatives separated by `|`; a topic ending
  in `//.` or `/` also matches the topics below it; `tns1:` is the only prefix
  accepted. A message content filter is accepted and ignored (every message passes).
- xs:duration years and months count as 365 and 30 days.
- An unknown or expired subscription is `Sender/wsrf-rw:ResourceUnknownFault`, as the
  WSDL's Renew, Unsubscribe and PullMessages declare it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .onvif import SOAP12, TT, Fault, SoapRequest
from .xmlwrite import Element, Markup, document, el, empty, write, xmlns

TEV = "http://www.onvif.org/ver10/events/wsdl"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
WSA = "http://www.w3.org/2005/08/addressing"
WSTOP = "http://docs.oasis-open.org/wsn/t-1"
TNS1 = "http://www.onvif.org/ver10/topics"
WSRF_RW = "http://docs.oasis-open.org/wsrf/rw-2"
XS = "http://www.w3.org/2001/XMLSchema"
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
NOTIFY_ACTION = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify"

_NS = xmlns(
    {"tev": TEV, "wsnt": WSNT, "wsa": WSA, "tt": TT, "tns1": TNS1, "wstop": WSTOP, "xs": XS}
)

INVALID_FILTER = Fault("Sender", ("InvalidArgVal", "InvalidFilterFault"), "Unknown topic filter")
TOO_MANY = Fault("Receiver", ("Action", "TooManySubscriptions"), "Too many subscriptions")


def resource_unknown() -> bytes:
    """The fault for a subscription that does not exist (any more)."""
    code = el(
        "env:Code",
        el("env:Value", "env:Sender"),
        el("env:Subcode", el("env:Value", "wsrf-rw:ResourceUnknownFault")),
    )
    reason = el(
        "env:Reason",
        el("env:Text", "The subscription is unknown or has expired", attrs=[("xml:lang", "en")]),
    )
    return document(
        el(
            "env:Envelope",
            el("env:Body", el("env:Fault", code, reason)),
            attrs=xmlns({"env": SOAP12, "wsrf-rw": WSRF_RW}),
        )
    )


# --- topics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    path: str  # below tns1:, e.g. RuleEngine/CellMotionDetector/Motion
    source: tuple[tuple[str, str], ...]  # SimpleItem names and their types
    data: tuple[str, str]  # the one Data SimpleItem: name, type
    is_property: bool = True  # a state with Initialized/Changed, or a moment

    @property
    def name(self) -> str:
        return f"tns1:{self.path}"


@dataclass(frozen=True)
class Message:
    topic: Topic
    utc: datetime
    source: tuple[str, ...]  # values, in the order of topic.source
    value: str  # of topic.data
    operation: str | None = "Changed"  # Initialized, Changed; None for a moment


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _simple_items(names: tuple[str, ...], values: tuple[str, ...]) -> list[Element]:
    return [empty("tt:SimpleItem", Name=n, Value=v) for n, v in zip(names, values, strict=True)]


def notification_message(message: Message, subscription: str | None = None) -> Element:
    """One wsnt:NotificationMessage; a pushed one names its `subscription` first."""
    topic = message.topic
    attrs = [("UtcTime", _iso(message.utc))]
    if message.operation is not None:
        attrs.append(("PropertyOperation", message.operation))
    body = el(
        "tt:Message",
        el("tt:Source", *_simple_items(tuple(n for n, _ in topic.source), message.source)),
        el("tt:Data", *_simple_items((topic.data[0],), (message.value,))),
        attrs=attrs,
    )
    reference = [el("wsnt:SubscriptionReference", _reference(subscription))] if subscription else []
    return el(
        "wsnt:NotificationMessage",
        *reference,
        el("wsnt:Topic", topic.name, Dialect=CONCRETE_SET),
        el("wsnt:Message", body),
    )


def _topic_tree(topics: list[Topic]) -> list[Element]:
    """wstop:TopicSet's children: the topic paths as nested elements, leaves described."""
    tree: dict[str, Any] = {}
    for topic in topics:
        node = tree
        for part in topic.path.split("/"):
            node = node.setdefault(part, {})
        node[""] = topic  # the leaf's own description, under a key no topic part has

    def write_node(name: str, node: dict, depth: int) -> Element:
        tag = f"tns1:{name}" if depth == 0 else name
        children = [write_node(k, v, depth + 1) for k, v in node.items() if k]
        leaf: Topic | None = node.get("")
        if leaf is not None:
            children.insert(0, _description(leaf))
            return el(tag, *children, attrs=[("wstop:topic", "true")])
        return el(tag, *children)

    return [write_node(k, v, 0) for k, v in tree.items()]


def _description(topic: Topic) -> Element:
    source = [empty("tt:SimpleItemDescription", Name=n, Type=t) for n, t in topic.source]
    return el(
        "tt:MessageDescription",
        el("tt:Source", *source),
        el("tt:Data", empty("tt:SimpleItemDescription", Name=topic.data[0], Type=topic.data[1])),
        IsProperty=topic.is_property,
    )


# --- replies ----------------------------------------------------------------------------------


def _fragment(tag: str, *content: Element | Markup) -> str:
    return write(el(tag, *content, attrs=_NS))


def service_capabilities() -> str:
    """tev:Capabilities: PullPoint and Basic Notification, no pausing, no policies."""
    return write(
        empty(
            "tev:Capabilities",
            attrs=xmlns({"tev": TEV}),
            WSSubscriptionPolicySupport=False,
            WSPullPointSupport=True,
            WSPausableSubscriptionManagerInterfaceSupport=False,
            MaxNotificationProducers=10,
            MaxPullPoints=10,
            PersistentNotificationStorage=False,
        )
    )


def service_capabilities_response() -> str:
    return _fragment("tev:GetServiceCapabilitiesResponse", Markup(service_capabilities()))


def event_properties_response(topics: list[Topic]) -> str:
    return _fragment(
        "tev:GetEventPropertiesResponse",
        el("tev:TopicNamespaceLocation", "http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
        el("wsnt:FixedTopicSet", True),
        el("wstop:TopicSet", *_topic_tree(topics)),
        el(
            "wsnt:TopicExpressionDialect",
            "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete",
        ),
        el("wsnt:TopicExpressionDialect", CONCRETE_SET),
        el(
            "tev:MessageContentFilterDialect",
            "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter",
        ),
        el("tev:MessageContentSchemaLocation", "http://www.onvif.org/onvif/ver10/schema/onvif.xsd"),
    )


def _reference(address: str) -> Element:
    return el("wsa:Address", address)


def create_pull_point_response(address: str, now: datetime, terminates: datetime) -> str:
    return _fragment(
        "tev:CreatePullPointSubscriptionResponse",
        el("tev:SubscriptionReference", _reference(address)),
        el("wsnt:CurrentTime", _iso(now)),
        el("wsnt:TerminationTime", _iso(terminates)),
    )


def subscribe_response(address: str, now: datetime, terminates: datetime) -> str:
    return _fragment(
        "wsnt:SubscribeResponse",
        el("wsnt:SubscriptionReference", _reference(address)),
        el("wsnt:CurrentTime", _iso(now)),
        el("wsnt:TerminationTime", _iso(terminates)),
    )


def pull_messages_response(now: datetime, terminates: datetime, messages: list[Message]) -> str:
    return _fragment(
        "tev:PullMessagesResponse",
        el("tev:CurrentTime", _iso(now)),
        el("tev:TerminationTime", _iso(terminates)),
        *(notification_message(m) for m in messages),
    )


def renew_response(now: datetime, terminates: datetime) -> str:
    return _fragment(
        "wsnt:RenewResponse",
        el("wsnt:TerminationTime", _iso(terminates)),
        el("wsnt:CurrentTime", _iso(now)),
    )


def unsubscribe_response() -> str:
    return _fragment("wsnt:UnsubscribeResponse")


def synchronization_point_response() -> str:
    return _fragment("tev:SetSynchronizationPointResponse")


def notify(messages: list[Message], subscription: str) -> bytes:
    """The Notify a device POSTs to a Basic Notification consumer."""
    header = el("env:Header", el("wsa:Action", NOTIFY_ACTION))
    body = el("wsnt:Notify", *(notification_message(m, subscription) for m in messages))
    return document(
        el("env:Envelope", header, el("env:Body", body), attrs=xmlns({"env": SOAP12}) + _NS)
    )


# --- arguments ----------------------------------------------------------------------------

_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_UNITS = (365 * 86400, 30 * 86400, 86400, 3600, 60, 1)


class ArgumentError(ValueError):
    """An argument that does not read: the reply is a fault, and nothing changes."""


def duration(text: str) -> float:
    """An xs:duration (PT60S, PT1M, P1DT2H) in seconds."""
    text = text.strip()
    m = _DURATION.fullmatch(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ArgumentError(f"not a duration: {text[:40]!r}")
    return sum(float(v) * unit for v, unit in zip(m.groups(), _UNITS, strict=True) if v)


def termination(text: str | None, now: float, default: float, longest: float) -> float:
    """An InitialTerminationTime or Renew TerminationTime (a duration from `now`, or an
    absolute time) as epoch seconds: `default` seconds from now when absent, and never
    more than `longest` seconds from now (a device chooses the time it grants)."""
    if text is None or not text.strip():
        return now + default
    text = text.strip()
    if text.startswith("P"):
        return min(now + duration(text), now + longest)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentError(f"not a time: {text[:40]!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(when.timestamp(), now + longest)


def topic_filter(request: SoapRequest) -> tuple[str, ...] | None:
    """The topic expressions of a Filter, without `tns1:`; None when there is none.
    An expression with another prefix, or empty, is an ArgumentError."""
    filter_ = request.params.child("Filter")
    expression = filter_.child("TopicExpression") if filter_ is not None else None
    if expression is None:
        return None
    found = []
    for part in expression.text.split("|"):
        prefix, _, path = part.strip().rpartition(":")
        known = not prefix or prefix == "tns1" or expression.resolve(part)[0] == TNS1
        if not path.strip("/.") or not known:
            raise ArgumentError(f"unknown topic {part.strip()[:60]!r}")
        found.append(path)
    return tuple(found)


def topic_matches(expressions: tuple[str, ...] | None, topic: Topic) -> bool:
    if expressions is None:
        return True
    for expression in expressions:
        if expression.endswith("//.") or expression.endswith("/"):
            stem = expression.removesuffix("//.").rstrip("/")
            if topic.path == stem or topic.path.startswith(stem + "/"):
                return True
        elif topic.path == expression:
            return True
    return False
