"""The pure WS-Discovery responder: who answers, where replies go, Hello/Bye sequences, junk."""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols.wsdiscovery import (
    NETWORK_VIDEO_TRANSMITTER,
    build_probe,
    decode_announcement,
)
from nvrsim.simulator.onvif.wsd import WsdResponder
from tests.conftest import hik_entry, make_fleet

CLIENT = ("127.0.0.1", 40000)
CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.6.2build 190701"}


def responder(fleet, clock, **kwargs):
    ids = (f"urn:uuid:{uuid.UUID(int=n)}" for n in itertools.count(1))
    return WsdResponder(fleet, clock, new_id=lambda: next(ids), **kwargs)


def resolve_datagram(address: str) -> bytes:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>'
        "<a:MessageID>urn:uuid:resolve-1</a:MessageID></s:Header><s:Body><d:Resolve>"
        f"<a:EndpointReference><a:Address>{address}</a:Address></a:EndpointReference>"
        "</d:Resolve></s:Body></s:Envelope>"
    ).encode()


def test_each_discoverable_device_answers_a_probe_once_with_fresh_ids(clock):
    fleet = make_fleet(
        hik_entry("nvr", count=3),
        hik_entry("hidden", onvif={"discoverable": False}),
        hik_entry("cam", **CAMERA),
        clock=clock,
    )
    replies = responder(fleet, clock).handle(build_probe("urn:uuid:p1"), CLIENT, multicast=True)
    assert {to for _, to in replies} == {CLIENT}  # a multicast probe: no copy to 3702
    read = [decode_announcement(data) for data, _ in replies]
    shown = [d for d in fleet if d.label != "hidden"]
    assert {r.address for r in read} == {f"urn:uuid:{d.uuid}" for d in shown}
    assert {r.relates_to for r in read} == {"urn:uuid:p1"}
    assert len({r.message_id for r in read}) == 4 and "urn:uuid:p1" not in {
        r.message_id for r in read
    }
    nvr = next(r for r in read if r.address == f"urn:uuid:{fleet.devices[0].uuid}")
    assert nvr.xaddrs == (f"http://{fleet.devices[0].network.ip}:80/onvif/device_service",)
    assert nvr.instance_id == int(clock.now()) and nvr.message_number == 1
    scopes = set(nvr.scopes)
    assert "onvif://www.onvif.org/Profile/Streaming" in scopes
    assert "onvif://www.onvif.org/hardware/DS-7608NI-K2" in scopes
    assert "onvif://www.onvif.org/name/HIKVISION%20DS-7608NI-K2" in scopes
    assert f"onvif://www.onvif.org/MAC/{fleet.devices[0].mac}" in scopes
    assert "onvif://www.onvif.org/location/city/hangzhou" in scopes


def test_a_unicast_probe_is_also_answered_on_port_3702(clock):
    fleet = make_fleet(hik_entry(), clock=clock)
    replies = responder(fleet, clock).handle(build_probe("urn:uuid:p"), CLIENT)
    assert [to for _, to in replies] == [CLIENT, ("127.0.0.1", 3702)]
    assert replies[0][0] == replies[1][0]  # the same message: clients drop the duplicate
    from_3702 = responder(fleet, clock).handle(build_probe("urn:uuid:p"), ("127.0.0.1", 3702))
    assert [to for _, to in from_3702] == [("127.0.0.1", 3702)]


def test_filters_pick_devices(clock):
    fleet = make_fleet(
        hik_entry("lobby", onvif={"location": "building/lobby"}),
        hik_entry("yard", onvif={"location": "building/yard", "extra_scopes": ["urn:x:tag"]}),
        clock=clock,
    )
    wsd = responder(fleet, clock)

    def who(datagram=None, **probe):
        datagram = datagram or build_probe("urn:uuid:p", **probe)
        replies = wsd.handle(datagram, CLIENT, multicast=True)
        return {decode_announcement(data).address for data, _ in replies}

    lobby, yard = (f"urn:uuid:{d.uuid}" for d in fleet)
    assert who(types=(NETWORK_VIDEO_TRANSMITTER,)) == {lobby, yard}
    typed = build_probe("urn:uuid:p", types=(NETWORK_VIDEO_TRANSMITTER,))
    other = typed.replace(b"http://www.onvif.org/ver10/network/wsdl", b"urn:x")
    assert other != typed and who(other) == set()
    assert who(scopes=("onvif://www.onvif.org/location/building",)) == {lobby, yard}
    assert who(scopes=("onvif://www.onvif.org/location/building/yard",)) == {yard}
    assert who(scopes=("urn:x:tag",)) == {yard}
    assert who(scopes=("urn:x",)) == set()  # a string prefix, not a path segment
    strcmp0 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0"
    assert who(scopes=("urn:x:tag",), match_by=strcmp0) == {yard}


def test_resolve_answers_only_the_device_named(clock):
    fleet = make_fleet(hik_entry("a"), hik_entry("b"), clock=clock)
    wsd = responder(fleet, clock)
    wanted = fleet.devices[1]
    replies = wsd.handle(resolve_datagram(f"URN:UUID:{str(wanted.uuid).upper()}"), CLIENT)
    read = decode_announcement(replies[0][0])
    assert (read.kind, read.address, read.relates_to) == (
        "ResolveMatches",
        f"urn:uuid:{wanted.uuid}",
        "urn:uuid:resolve-1",
    )
    nobody = resolve_datagram("urn:uuid:00000000-0000-0000-0000-000000000000")
    assert wsd.handle(nobody, CLIENT) == []


def test_hello_and_bye_number_their_messages_and_a_restart_is_a_new_instance(clock):
    fleet = make_fleet(hik_entry(onvif={"clock_skew": 30}), clock=clock)
    device = fleet.devices[0]
    wsd = responder(fleet, clock)
    hello = decode_announcement(wsd.hello(device))
    assert (hello.kind, hello.instance_id, hello.message_number) == (
        "Hello",
        int(clock.now()) + 30,  # the device's own clock
        1,
    )
    wsd.handle(build_probe("urn:uuid:p"), CLIENT)
    bye = decode_announcement(wsd.bye(device))
    assert (bye.kind, bye.instance_id, bye.message_number) == ("Bye", hello.instance_id, 3)
    again = decode_announcement(wsd.hello(device))  # a reboot on a frozen clock
    assert again.instance_id == hello.instance_id + 1 and again.message_number == 1


def test_a_device_coming_up_unannounced_is_still_a_new_instance(clock):
    """With no Hello to send, coming up still starts a new instance: a client telling
    reboots apart by InstanceId sees one in the next ProbeMatch."""
    fleet = make_fleet(hik_entry(), clock=clock)
    device = fleet.devices[0]
    wsd = responder(fleet, clock)

    def instance() -> tuple[int, int]:
        (data, _), *_ = wsd.handle(build_probe("urn:uuid:p"), CLIENT, multicast=True)
        match = decode_announcement(data)
        return match.instance_id, match.message_number

    assert wsd.came_up(device)
    first, number = instance()
    assert (first, number) == (int(clock.now()), 1)
    wsd.came_up(device)  # a reboot on a frozen clock
    assert instance() == (first + 1, 1)


def test_devices_that_are_not_discoverable_do_not_announce(clock):
    fleet = make_fleet(
        hik_entry("quiet", onvif={"discoverable": False}),
        hik_entry("no-onvif", capabilities={"onvif": False}),
        clock=clock,
    )
    wsd = responder(fleet, clock)
    for device in fleet:
        assert wsd.hello(device) is None and wsd.bye(device) is None
    assert wsd.handle(build_probe("urn:uuid:p"), CLIENT) == []


@given(datagram=st.binary(max_size=2000))
def test_junk_datagrams_are_never_answered(datagram):
    from nvrsim.simulator.core.clock import VirtualClock

    clock = VirtualClock()
    assert responder(make_fleet(hik_entry()), clock).handle(datagram, CLIENT) == []


@given(
    body=st.text(max_size=200),
    header=st.sampled_from(["", "<a:MessageID>m</a:MessageID>", "<a:MessageID/>"]),
    element=st.sampled_from(["d:Probe", "d:Resolve", "d:Bye", "Probe", "x:Probe"]),
)
def test_hostile_envelopes_never_crash_and_answer_only_probes(body, header, element):
    from xml.sax.saxutils import escape

    from nvrsim.simulator.core.clock import VirtualClock

    datagram = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
        f"<s:Header>{header}</s:Header><s:Body><{element}>{escape(body)}</{element}>"
        "</s:Body></s:Envelope>"
    ).encode()
    replies = responder(make_fleet(hik_entry()), VirtualClock()).handle(datagram, CLIENT)
    for data, _ in replies:
        assert decode_announcement(data).kind == "ProbeMatches"
