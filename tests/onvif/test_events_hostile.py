"""Hostile SOAP for every event operation: a SOAP fault with HTTP 400, never a 500, and
no subscription made, changed or lost by a request that faulted."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.onvif.events import EventService
from nvrsim.simulator.onvif.service import OnvifResponder
from tests.conftest import hik_entry, make_fleet
from tests.onvif.test_onvif_service import CLIENT, soap, token

TEV = "http://www.onvif.org/ver10/events/wsdl"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
SERVICE_OPERATIONS = (
    "GetServiceCapabilities",
    "GetEventProperties",
    "CreatePullPointSubscription",
    "Subscribe",
)
SUBSCRIPTION_OPERATIONS = ("PullMessages", "Renew", "Unsubscribe", "SetSynchronizationPoint")
ARGUMENTS = (
    "InitialTerminationTime",
    "TerminationTime",
    "Timeout",
    "MessageLimit",
    "Filter",
    "ConsumerReference",
)
BAD_VALUES = [
    "PT",
    "P",
    "PT-5S",
    "P99999999999Y",
    "1970-01-01T00:00:00Z",
    "0",
    "1001",
    "-1",
    "tns1:Nope",
    "foo:VideoSource/MotionAlarm",
    "|",
    "//.",
    "ftp://x",
    "not a url",
    "9" * 5000,
    "",
]
junk = st.one_of(
    st.text(max_size=40).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
    st.sampled_from(BAD_VALUES),
)


def params(pairs: list[tuple[str, str]]) -> str:
    """The operation's arguments; the envelope declares their prefixes."""
    out = []
    for name, value in pairs:
        if name == "Filter":
            value = f"<wsnt:TopicExpression>{value}</wsnt:TopicExpression>"
        elif name == "ConsumerReference":
            value = f"<wsa:Address>{value}</wsa:Address>"
        out.append(f"<tev:{name}>{value}</tev:{name}>")
    return "".join(out)


def envelope(operation: str, security: str, body: str) -> bytes:
    text = soap(operation, security, body, ns="tev").decode()
    return text.replace(
        "<s:Envelope ",
        f'<s:Envelope xmlns:tev="{TEV}" xmlns:wsnt="{WSNT}" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing" ',
    ).encode()


def snapshot(service: EventService) -> dict[str, float]:
    return {key: sub.terminates for key, sub in service.subscriptions.items()}


@settings(max_examples=150, deadline=None)
@given(
    operation=st.sampled_from(SERVICE_OPERATIONS + SUBSCRIPTION_OPERATIONS),
    arguments=st.lists(st.tuples(st.sampled_from(ARGUMENTS), junk), max_size=4),
    signed=st.booleans(),
    known=st.booleans(),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_hostile_event_soap_is_a_fault_and_changes_nothing(
    operation, arguments, signed, known, raw
):
    async def attempt() -> None:
        clock = VirtualClock()
        device = make_fleet(
            hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", ip_channels=1, disks=0)
        ).devices[0]
        service = EventService(OnvifResponder(device, clock))
        service.max_wait = 0.001
        security = token(created=clock.now())
        made = await service.handle(
            "events", None, envelope("CreatePullPointSubscription", security, ""), CLIENT
        )
        assert made.status == 200
        [key] = service.subscriptions
        before = snapshot(service)
        where = "events" if operation in SERVICE_OPERATIONS else "subscription"
        body = (
            raw
            if raw is not None
            else envelope(
                operation, token(created=clock.now()) if signed else "", params(arguments)
            )
        )
        reply = await service.handle(where, key if known else "nope", body, CLIENT)
        assert reply.status in (200, 400)
        ET.fromstring(reply.body)  # always a well-formed SOAP document
        if reply.status == 400:
            assert b"Fault" in reply.body
            assert snapshot(service) == before
        await service.close()

    asyncio.run(attempt())


def test_every_operation_with_every_known_bad_argument():
    """The sweep hypothesis samples from, in full: each operation, argument and value."""

    async def sweep() -> None:
        clock = VirtualClock()
        device = make_fleet(hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I")).devices[0]
        for operation in SERVICE_OPERATIONS + SUBSCRIPTION_OPERATIONS:
            for argument in ARGUMENTS:
                for value in BAD_VALUES:
                    service = EventService(OnvifResponder(device, clock))
                    service.max_wait = 0.001
                    security = token(created=clock.now())
                    create = envelope("CreatePullPointSubscription", security, "")
                    await service.handle("events", None, create, CLIENT)
                    [key] = service.subscriptions
                    before = snapshot(service)
                    where = "events" if operation in SERVICE_OPERATIONS else "subscription"
                    body = envelope(
                        operation, token(created=clock.now()), params([(argument, value)])
                    )
                    reply = await service.handle(where, key, body, CLIENT)
                    assert reply.status in (200, 400), (operation, argument, value)
                    ET.fromstring(reply.body)
                    if reply.status == 400:
                        assert snapshot(service) == before
                    await service.close()
        assert device.events.subscribers == 0

    asyncio.run(sweep())
