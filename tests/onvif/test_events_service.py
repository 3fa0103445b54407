"""The ONVIF event service without sockets: topics per device, filters, the Initialized
set, limits and termination times."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.events import raise_event
from nvrsim.simulator.onvif.events import EventService
from nvrsim.simulator.onvif.service import OnvifResponder
from tests.conftest import hik_entry, make_fleet
from tests.onvif.test_events_hostile import envelope
from tests.onvif.test_onvif_service import CLIENT, fault_of, token

CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "ip_channels": 1, "disks": 0}
NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "wsa": "http://www.w3.org/2005/08/addressing",
}


def service_for(entry: dict) -> tuple[EventService, VirtualClock]:
    clock = VirtualClock()
    device = make_fleet(entry, clock=clock).devices[0]
    return EventService(OnvifResponder(device, clock)), clock


async def call(service: EventService, clock, operation: str, params: str = "", key=None):
    body = envelope(operation, token(created=clock.now()), params)
    reply = await service.handle("subscription" if key else "events", key, body, CLIENT)
    return reply.status, ET.fromstring(reply.body)


async def subscribe(service, clock, params: str = "") -> str:
    status, doc = await call(service, clock, "CreatePullPointSubscription", params)
    assert status == 200
    address = doc.findtext(".//tev:SubscriptionReference/wsa:Address", namespaces=NS)
    return address.rsplit("/", 1)[1]


async def messages(service, clock, key, limit: int = 100) -> list[tuple[str, str, str]]:
    params = f"<tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>{limit}</tev:MessageLimit>"
    status, doc = await call(service, clock, "PullMessages", params, key)
    assert status == 200
    found = []
    for message in doc.iterfind(".//wsnt:NotificationMessage", NS):
        data = message.find(".//tt:Data/tt:SimpleItem", NS)
        found.append(
            (
                message.findtext("wsnt:Topic", namespaces=NS),
                message.find(".//tt:Message", NS).get("PropertyOperation"),
                data.get("Value"),
            )
        )
    return found


def topics_of(doc) -> set[str]:
    """Leaf topics of GetEventProperties' TopicSet, as tns1:A/B/C."""
    found = set()

    def walk(node, path):
        for child in node:
            name = child.tag.rsplit("}", 1)[-1]
            if name == "MessageDescription":
                found.add("tns1:" + "/".join(path))
            else:
                walk(child, [*path, name])

    walk(doc.find(".//{http://docs.oasis-open.org/wsn/t-1}TopicSet"), [])
    return found


async def test_event_properties_list_what_the_device_raises():
    cam, clock = service_for(hik_entry("cam", **CAMERA))
    nvr, _ = service_for(hik_entry("nvr"))
    _, cam_doc = await call(cam, clock, "GetEventProperties")
    _, nvr_doc = await call(nvr, clock, "GetEventProperties")
    assert {
        "tns1:VideoSource/MotionAlarm",
        "tns1:RuleEngine/CellMotionDetector/Motion",
        "tns1:RuleEngine/LineDetector/Crossed",
        "tns1:RuleEngine/FieldDetector/ObjectsInside",
        "tns1:VideoSource/GlobalSceneChange/ImagingService",
        "tns1:Device/Trigger/DigitalInput",
    } <= topics_of(cam_doc)
    assert "tns1:Device/HardwareFailure/StorageFailure" not in topics_of(cam_doc)
    assert topics_of(nvr_doc) - topics_of(cam_doc) == {"tns1:Device/HardwareFailure/StorageFailure"}


async def test_a_filter_keeps_only_its_topics_from_the_first_message_on():
    service, clock = service_for(hik_entry("cam", **CAMERA))
    expression = "tns1:RuleEngine/CellMotionDetector/Motion|tns1:Device/Trigger//."
    key = await subscribe(
        service,
        clock,
        f'<tev:Filter><wsnt:TopicExpression Dialect="x">{expression}</wsnt:TopicExpression>'
        "</tev:Filter>",
    )
    assert await messages(service, clock, key) == [
        ("tns1:RuleEngine/CellMotionDetector/Motion", "Initialized", "false"),
        ("tns1:Device/Trigger/DigitalInput", "Initialized", "false"),
    ]
    raise_event(service.device, "tamper", clock.now())  # filtered out
    raise_event(service.device, "motion", clock.now())
    assert await messages(service, clock, key) == [
        ("tns1:RuleEngine/CellMotionDetector/Motion", "Changed", "true")
    ]


async def test_message_limit_keeps_the_rest_for_the_next_pull():
    service, clock = service_for(hik_entry("cam", **CAMERA))
    key = await subscribe(service, clock)
    first = await messages(service, clock, key, limit=2)
    rest = await messages(service, clock, key)
    assert len(first) == 2 and len(rest) == 4  # a camera's 6 property topics, one channel
    raise_event(service.device, "line_crossing", clock.now())
    [(topic, operation, object_id)] = await messages(service, clock, key)
    assert (topic, operation, object_id.isdigit()) == (
        "tns1:RuleEngine/LineDetector/Crossed",
        None,
        True,
    )


@pytest.mark.parametrize(
    ("params", "subcode"),
    [
        ("<tev:InitialTerminationTime>PT-5S</tev:InitialTerminationTime>", "ter:InvalidArgVal"),
        (
            "<tev:InitialTerminationTime>2001-01-01T00:00:00Z</tev:InitialTerminationTime>",
            "ter:InvalidArgVal",
        ),
        (
            "<tev:Filter><wsnt:TopicExpression>tns1:Nowhere</wsnt:TopicExpression></tev:Filter>",
            "ter:InvalidArgVal",
        ),
    ],
)
async def test_a_subscription_that_cannot_be_is_refused_and_not_made(params, subcode):
    service, clock = service_for(hik_entry("cam", **CAMERA))
    body = envelope("CreatePullPointSubscription", token(created=clock.now()), params)
    reply = await service.handle("events", None, body, CLIENT)
    assert reply.status == 400 and fault_of(reply.body)[1] == subcode
    assert service.subscriptions == {} and service.device.events.subscribers == 0


async def test_at_most_ten_pull_points_and_an_absolute_termination_time():
    service, clock = service_for(hik_entry("cam", **CAMERA))
    later = "2023-11-14T22:15:00Z"  # the VirtualClock starts at 2023-11-14T22:13:20Z
    key = await subscribe(
        service, clock, f"<tev:InitialTerminationTime>{later}</tev:InitialTerminationTime>"
    )
    assert service.subscriptions[key].terminates == clock.now() + 100
    for _ in range(9):
        await subscribe(
            service, clock, "<tev:InitialTerminationTime>PT1H</tev:InitialTerminationTime>"
        )
    status, doc = await call(service, clock, "CreatePullPointSubscription")
    assert status == 400 and "TooManySubscriptions" in ET.tostring(doc).decode()
    clock.advance(101)  # the first one expires, which frees a place
    await subscribe(service, clock)
    assert key not in service.subscriptions and len(service.subscriptions) == 10
    await service.close()
    assert service.device.events.subscribers == 0


@pytest.mark.parametrize(
    "asked", ["P99999999999Y", "PT99999999999999999999S", "9999-12-31T23:59:59Z", "PT1H"]
)
async def test_a_termination_time_is_granted_for_at_most_a_day(asked):
    service, clock = service_for(hik_entry("cam", **CAMERA))
    key = await subscribe(
        service, clock, f"<tev:InitialTerminationTime>{asked}</tev:InitialTerminationTime>"
    )
    granted = service.subscriptions[key].terminates - clock.now()
    assert granted == (3600 if asked == "PT1H" else 86400)
    renew = f"<wsnt:TerminationTime>{asked}</wsnt:TerminationTime>"
    status, _ = await call(service, clock, "Renew", renew, key)
    assert status == 200 and service.subscriptions[key].terminates - clock.now() == granted
