"""ONVIF event service: the device's events (simulator.core.events) as PullPoint messages
and Basic Notification pushes.

`EventService` serves one device: the event service address
(/onvif/events_service: GetServiceCapabilities, GetEventProperties,
CreatePullPointSubscription, Subscribe) and one address per subscription
(/onvif/subscription/<id>: PullMessages, Renew, Unsubscribe, SetSynchronizationPoint).
Requests are read and authenticated as every other ONVIF request
(`OnvifResponder.authorize`); subscriptions expire on the device's clock (the
simulation clock plus its skew). Every ONVIF device has it: Profile S requires events.

Choices where the public record is silent:
- Topics per event type: motion raises both tns1:VideoSource/MotionAlarm (State)
  and tns1:RuleEngine/CellMotionDetector/Motion (IsMotion), as Hikvision and Dahua
  cameras do; line crossing is a moment (no PropertyOperation, ObjectId the event's
  number); video loss is tns1:VideoSource/SignalLoss and a recorder's disk error
  tns1:Device/HardwareFailure/StorageFailure (Failed). Sources name the media
  profiles' video sources (VideoSource_<n>), alarm inputs AlarmIn_<n>, disks
  Storage_<n>.
- A new subscription first gets an Initialized message for every property topic
  and channel, as SetSynchronizationPoint gives again.
- InitialTerminationTime defaults to 60 s, and no subscription or renewal is
  granted more than a day at once; at most 10 pull points and 10 push
  subscriptions live per device (expired ones are removed first), beyond which
  CreatePullPointSubscription and Subscribe answer Receiver/ter:Action/
  ter:TooManySubscriptions.
- PullMessages waits at most 60 real seconds, whatever Timeout asks; MessageLimit
  must be 1 to 1000. Messages beyond the limit wait for the next pull.
- Notify goes to the consumer's address as the client gave it; a consumer that does
  not answer loses that Notify (cameras do not queue them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import aiohttp

from nvrsim.protocols import onvif, onvif_events
from nvrsim.protocols.onvif import SoapRequest
from nvrsim.protocols.onvif_events import ArgumentError, Message, Topic
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import (
    DeviceEvent,
    EventType,
    Subscriber,
    channels_of,
    event_types,
)
from nvrsim.simulator.onvif.service import (
    OnvifFault,
    OnvifResponder,
    SoapReply,
    base_url,
    device_clock,
)

log = logging.getLogger(__name__)

SUBSCRIPTION_PATH = "/onvif/subscription"
DEFAULT_TERMINATION = 60.0
LONGEST_TERMINATION = 86400.0  # what a subscription may be granted at once
MAX_SUBSCRIPTIONS = 10  # of each kind
MAX_WAIT = 60.0  # real seconds a PullMessages may wait
MAX_MESSAGES = 1000

_RULE_SOURCE = (
    ("VideoSourceConfigurationToken", "tt:ReferenceToken"),
    ("VideoAnalyticsConfigurationToken", "tt:ReferenceToken"),
    ("Rule", "xs:string"),
)
_SOURCE = (("Source", "tt:ReferenceToken"),)

MOTION_ALARM = Topic("VideoSource/MotionAlarm", _SOURCE, ("State", "xs:boolean"))
CELL_MOTION = Topic(
    "RuleEngine/CellMotionDetector/Motion", _RULE_SOURCE, ("IsMotion", "xs:boolean")
)
LINE_CROSSED = Topic(
    "RuleEngine/LineDetector/Crossed", _RULE_SOURCE, ("ObjectId", "xs:integer"), False
)
OBJECTS_INSIDE = Topic(
    "RuleEngine/FieldDetector/ObjectsInside", _RULE_SOURCE, ("IsInside", "xs:boolean")
)
SCENE_CHANGE = Topic(
    "VideoSource/GlobalSceneChange/ImagingService", _SOURCE, ("State", "xs:boolean")
)
DIGITAL_INPUT = Topic(
    "Device/Trigger/DigitalInput",
    (("InputToken", "tt:ReferenceToken"),),
    ("LogicalState", "xs:boolean"),
)
SIGNAL_LOSS = Topic("VideoSource/SignalLoss", _SOURCE, ("State", "xs:boolean"))
STORAGE_FAILURE = Topic(
    "Device/HardwareFailure/StorageFailure",
    (("Token", "tt:ReferenceToken"),),
    ("Failed", "xs:boolean"),
)

TOPICS: dict[EventType, tuple[Topic, ...]] = {
    EventType.MOTION: (MOTION_ALARM, CELL_MOTION),
    EventType.LINE_CROSSING: (LINE_CROSSED,),
    EventType.INTRUSION: (OBJECTS_INSIDE,),
    EventType.TAMPER: (SCENE_CHANGE,),
    EventType.DIGITAL_INPUT: (DIGITAL_INPUT,),
    EventType.VIDEO_LOSS: (SIGNAL_LOSS,),
    EventType.STORAGE_FAILURE: (STORAGE_FAILURE,),
}
_RULES = {
    CELL_MOTION: "MyMotionDetectorRule",
    LINE_CROSSED: "MyLineDetectorRule",
    OBJECTS_INSIDE: "MyFieldDetectorRule",
}


def topics(device: Device) -> list[Topic]:
    """The topics the device raises: GetEventProperties' topic set."""
    return [topic for type_ in event_types(device) for topic in TOPICS[type_]]


def _source(topic: Topic, channel: int) -> tuple[str, ...]:
    if topic is DIGITAL_INPUT:
        return (f"AlarmIn_{channel}",)
    if topic is STORAGE_FAILURE:
        return (f"Storage_{channel}",)
    if topic in _RULES:
        return (f"VideoSource_{channel}", "VideoAnalyticsToken", _RULES[topic])
    return (f"VideoSource_{channel}",)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def messages_of(device: Device, event: DeviceEvent, skew: float) -> list[Message]:
    """One event as ONVIF messages, stamped on the device's clock."""
    found = []
    for topic in TOPICS[event.type]:
        if topic.is_property:
            value, operation = ("true" if event.active else "false"), "Changed"
        else:
            value, operation = str(event.id), None
        found.append(
            Message(topic, _utc(event.time + skew), _source(topic, event.channel), value, operation)
        )
    return found


def initialized(device: Device, now: float, wanted: Callable[[Topic], bool]) -> list[Message]:
    """The state of every property topic on every channel, as Initialized messages."""
    active = device.events.active
    return [
        Message(
            topic,
            _utc(now),
            _source(topic, channel),
            "true" if (type_, channel) in active else "false",
            "Initialized",
        )
        for type_ in event_types(device)
        for topic in TOPICS[type_]
        if topic.is_property and wanted(topic)
        for channel in range(1, channels_of(device, type_) + 1)
    ]


# --- subscriptions ---------------------------------------------------------------------------


@dataclass(eq=False)
class Subscription:
    id: str
    expressions: tuple[str, ...] | None  # the topic filter; None: every topic
    terminates: float  # on the device's clock
    events: Subscriber
    consumer: str | None = None  # a Basic Notification consumer's address; None: PullPoint
    backlog: deque[Message] = field(default_factory=deque)  # to send before new events

    def wants(self, topic: Topic) -> bool:
        return onvif_events.topic_matches(self.expressions, topic)


class EventService:
    """One device's event service and subscriptions; its HTTP routes are in onvif.http."""

    def __init__(self, responder: OnvifResponder) -> None:
        self.responder = responder
        self.device: Device = responder.device
        self.clock: Clock = responder.clock
        self.subscriptions: dict[str, Subscription] = {}
        self._pushes: set[asyncio.Task] = set()
        self.max_wait = MAX_WAIT  # real seconds a PullMessages may wait

    def now(self) -> float:
        return device_clock(self.device, self.clock)

    @property
    def skew(self) -> float:
        return self.device.onvif.clock_skew

    async def handle(
        self, where: Literal["events", "subscription"], key: str | None, body: bytes, client: str
    ) -> SoapReply:
        try:
            request = onvif.decode_request(body)
            self.responder.authorize(request, client)
            self._expire()
            if where == "events":
                handler = self._service_operations.get(request.operation)
                subscription = None
            else:
                handler = self._subscription_operations.get(request.operation)
                subscription = self.subscriptions.get(key or "")
            if handler is None:
                raise OnvifFault(onvif.ACTION_NOT_SUPPORTED)
            if where == "subscription" and subscription is None:
                return SoapReply(400, onvif_events.resource_unknown())
            reply = await handler(self, subscription, request)
            return SoapReply(200, onvif.envelope(reply))
        except onvif.OnvifDecodeError as exc:
            return SoapReply(400, onvif.fault(exc.fault))
        except OnvifFault as exc:
            return SoapReply(400, onvif.fault(exc.fault))
        except ArgumentError:
            return SoapReply(400, onvif.fault(onvif.INVALID_ARG))

    # --- the event service ------------------------------------------------------------

    async def _capabilities(self, _sub: Subscription | None, _request: SoapRequest) -> str:
        return onvif_events.service_capabilities_response()

    async def _properties(self, _sub: Subscription | None, _request: SoapRequest) -> str:
        return onvif_events.event_properties_response(topics(self.device))

    def _subscribe(self, request: SoapRequest, consumer: str | None) -> Subscription:
        """A new subscription from a request's filter and termination; faults change nothing."""
        expressions = onvif_events.topic_filter(request)
        now = self.now()
        terminates = onvif_events.termination(
            request.params.child_text("InitialTerminationTime"),
            now,
            DEFAULT_TERMINATION,
            LONGEST_TERMINATION,
        )
        if terminates <= now:
            raise ArgumentError("the termination time has passed")
        kind = [
            s for s in self.subscriptions.values() if (s.consumer is None) == (consumer is None)
        ]
        if len(kind) >= MAX_SUBSCRIPTIONS:
            raise OnvifFault(onvif_events.TOO_MANY)
        device_topics = topics(self.device)
        if expressions is not None and not any(
            onvif_events.topic_matches(expressions, t) for t in device_topics
        ):
            raise OnvifFault(onvif_events.INVALID_FILTER)

        def wants(event: DeviceEvent) -> bool:
            return any(onvif_events.topic_matches(expressions, t) for t in TOPICS[event.type])

        key = secrets.token_hex(8)
        subscription = Subscription(
            key, expressions, terminates, self.device.events.subscribe(wants), consumer
        )
        subscription.backlog.extend(initialized(self.device, now, subscription.wants))
        self.subscriptions[key] = subscription
        return subscription

    def address(self, subscription: Subscription) -> str:
        return f"{base_url(self.device)}{SUBSCRIPTION_PATH}/{subscription.id}"

    async def _create_pull_point(self, _sub: Subscription | None, request: SoapRequest) -> str:
        subscription = self._subscribe(request, None)
        return onvif_events.create_pull_point_response(
            self.address(subscription), _utc(self.now()), _utc(subscription.terminates)
        )

    async def _notification_subscribe(self, _sub: Subscription | None, request: SoapRequest) -> str:
        reference = request.params.child("ConsumerReference")
        consumer = reference.child_text("Address") if reference is not None else None
        if not consumer or not consumer.startswith(("http://", "https://")):
            raise ArgumentError("a consumer address is an http URL")
        subscription = self._subscribe(request, consumer)
        task = asyncio.get_running_loop().create_task(self._push(subscription))
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)
        return onvif_events.subscribe_response(
            self.address(subscription), _utc(self.now()), _utc(subscription.terminates)
        )

    # --- a subscription -----------------------------------------------------------------

    def _messages(self, subscription: Subscription, limit: int) -> list[Message]:
        while len(subscription.backlog) < limit:
            taken = subscription.events.take(1)
            if not taken:
                break
            wanted = [
                m
                for m in messages_of(self.device, taken[0], self.skew)
                if subscription.wants(m.topic)
            ]
            subscription.backlog.extend(wanted)
        count = min(limit, len(subscription.backlog))
        return [subscription.backlog.popleft() for _ in range(count)]

    async def _pull(self, sub: Subscription | None, request: SoapRequest) -> str:
        assert sub is not None
        timeout = onvif_events.duration(request.params.child_text("Timeout") or "PT0S")
        limit_text = request.params.child_text("MessageLimit") or ""
        if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 4):
            raise ArgumentError("MessageLimit is a number from 1 to 1000")
        limit = int(limit_text)
        if not 1 <= limit <= MAX_MESSAGES:
            raise ArgumentError("MessageLimit is 1 to 1000")
        messages = self._messages(sub, limit)
        if not messages and timeout > 0:
            await sub.events.wait(min(timeout, self.max_wait))
            messages = self._messages(sub, limit)
        return onvif_events.pull_messages_response(_utc(self.now()), _utc(sub.terminates), messages)

    async def _renew(self, sub: Subscription | None, request: SoapRequest) -> str:
        assert sub is not None
        now = self.now()
        terminates = onvif_events.termination(
            request.params.child_text("TerminationTime"),
            now,
            DEFAULT_TERMINATION,
            LONGEST_TERMINATION,
        )
        if terminates <= now:
            raise ArgumentError("the termination time has passed")
        sub.terminates = terminates
        return onvif_events.renew_response(_utc(now), _utc(terminates))

    async def _unsubscribe(self, sub: Subscription | None, _request: SoapRequest) -> str:
        assert sub is not None
        self._drop(sub)
        return onvif_events.unsubscribe_response()

    async def _synchronize(self, sub: Subscription | None, _request: SoapRequest) -> str:
        assert sub is not None
        sub.backlog.extend(initialized(self.device, self.now(), sub.wants))
        sub.events.wake()
        return onvif_events.synchronization_point_response()

    _service_operations = {
        "GetServiceCapabilities": _capabilities,
        "GetEventProperties": _properties,
        "CreatePullPointSubscription": _create_pull_point,
        "Subscribe": _notification_subscribe,
    }
    _subscription_operations = {
        "PullMessages": _pull,
        "Renew": _renew,
        "Unsubscribe": _unsubscribe,
        "SetSynchronizationPoint": _synchronize,
    }

    # --- lifetime -----------------------------------------------------------------------

    def _drop(self, subscription: Subscription) -> None:
        self.subscriptions.pop(subscription.id, None)
        subscription.events.close()

    def _expire(self) -> None:
        now = self.now()
        for subscription in list(self.subscriptions.values()):
            if subscription.terminates <= now:
                self._drop(subscription)

    async def _push(self, subscription: Subscription) -> None:
        """Notify the consumer of each message until the subscription ends or expires."""
        address = self.address(subscription)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not subscription.events.closed:
                await subscription.events.wait(1.0)  # a second at most: expiry is checked
                if subscription.terminates <= self.now():
                    self._drop(subscription)
                    return
                messages = self._messages(subscription, 100)
                if not messages or subscription.consumer is None:
                    continue
                body = onvif_events.notify(messages, address)
                headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.post(subscription.consumer, data=body, headers=headers):
                        pass

    async def close(self) -> None:
        """End every subscription and push (the device's web server stops)."""
        for subscription in list(self.subscriptions.values()):
            self._drop(subscription)
        for task in list(self._pushes):
            task.cancel()
        await asyncio.gather(*self._pushes, return_exceptions=True)
