"""WS-Discovery codec: probes as clients send them, replies as clients parse them, matching."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from wsdiscovery.envelope import SoapEnvelope
from wsdiscovery.message import parseSOAPMessage

from nvrsim.protocols import xmlsafe
from nvrsim.protocols.wsdiscovery import (
    DEVICE_WSDL,
    DISCOVERY,
    MATCH_STRCMP0,
    NETWORK_VIDEO_TRANSMITTER,
    ONVIF_DEVICE,
    AppSequence,
    Probe,
    Resolve,
    Target,
    WsdDecodeError,
    build_bye,
    build_hello,
    build_probe,
    build_probe_matches,
    build_resolve_matches,
    decode_announcement,
    decode_request,
    probe_matches,
    scope_matches,
    types_match,
)

# A typed, scoped probe as wsdiscovery 2.1.2 writes it (protocols/onvif-dlink.md §1.2).
CLIENT_PROBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl"
 xmlns:s="http://www.w3.org/2003/05/soap-envelope">
<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>
<a:MessageID>urn:uuid:2f3e0c52-6b1e-4d8e-9a43-5a0b2f1c7d11</a:MessageID>
<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>
<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types>
<d:Scopes>onvif://www.onvif.org/Profile</d:Scopes></d:Probe></s:Body></s:Envelope>"""

TARGET = Target(
    address="urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    types=(NETWORK_VIDEO_TRANSMITTER, ONVIF_DEVICE),
    scopes=(
        "onvif://www.onvif.org/Profile/Streaming",
        "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I",
        "onvif://www.onvif.org/location/city/hangzhou",
    ),
    xaddrs=("http://127.77.0.2:80/onvif/device_service",),
)
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": DISCOVERY,
}


def test_a_client_probe_decodes_with_qualified_types():
    probe = decode_request(CLIENT_PROBE)
    assert probe == Probe(
        message_id="urn:uuid:2f3e0c52-6b1e-4d8e-9a43-5a0b2f1c7d11",
        types=(NETWORK_VIDEO_TRANSMITTER,),
        scopes=("onvif://www.onvif.org/Profile",),
    )
    assert probe_matches(probe, TARGET)


def test_xmlsafe_keeps_namespaces_aside():
    root = xmlsafe.parse(CLIENT_PROBE)
    types = root.child("Body").child("Probe").child("Types")
    assert types.namespace == DISCOVERY
    assert types.resolve("dn:NetworkVideoTransmitter") == NETWORK_VIDEO_TRANSMITTER
    assert types.resolve("zz:Device") == (None, "Device")


@pytest.mark.parametrize(
    "wanted, matched",
    [
        ((), True),
        ((NETWORK_VIDEO_TRANSMITTER,), True),
        ((ONVIF_DEVICE, NETWORK_VIDEO_TRANSMITTER), True),
        (((None, "Device"),), True),  # undeclared prefix: local name alone
        ((("urn:other", "Device"),), False),
        (((DEVICE_WSDL, "NetworkVideoTransmitter"),), False),
        ((NETWORK_VIDEO_TRANSMITTER, (None, "Printer")), False),
    ],
)
def test_types_match_by_qname(wanted, matched):
    assert types_match(wanted, TARGET.types) is matched


@pytest.mark.parametrize(
    "wanted, offered, matched",
    [
        ("onvif://www.onvif.org/Profile", "onvif://www.onvif.org/Profile/Streaming", True),
        ("onvif://www.onvif.org/Profile/", "onvif://www.onvif.org/Profile/Streaming", True),
        ("ONVIF://WWW.ONVIF.ORG/Profile", "onvif://www.onvif.org/Profile/Streaming", True),
        ("onvif://www.onvif.org/profile", "onvif://www.onvif.org/Profile/Streaming", False),
        ("onvif://www.onvif.org/Prof", "onvif://www.onvif.org/Profile/Streaming", False),
        ("onvif://www.onvif.org/name/A B", "onvif://www.onvif.org/name/A%20B", True),
        ("onvif://other.org/Profile", "onvif://www.onvif.org/Profile/Streaming", False),
        ("onvif://www.onvif.org/a/../Profile", "onvif://www.onvif.org/Profile/Streaming", False),
        ("onvif://www.onvif.org", "onvif://www.onvif.org/Profile/Streaming", True),
    ],
)
def test_rfc3986_scope_rule(wanted, offered, matched):
    assert scope_matches(wanted, offered, None) is matched
    assert scope_matches(wanted, offered, f"{DISCOVERY}/rfc3986") is matched


def test_strcmp0_and_unknown_rules():
    full = "onvif://www.onvif.org/Profile/Streaming"
    assert scope_matches(full, full, MATCH_STRCMP0)
    assert not scope_matches("onvif://www.onvif.org/Profile", full, MATCH_STRCMP0)
    assert not scope_matches(full, full, f"{DISCOVERY}/ldap")
    probe = Probe("m", scopes=("onvif://www.onvif.org/Profile",), match_by=MATCH_STRCMP0)
    assert not probe_matches(probe, TARGET)
    assert probe_matches(Probe("m", scopes=(TARGET.scopes[0],), match_by=MATCH_STRCMP0), TARGET)


def test_every_scope_of_a_probe_must_match():
    both = ("onvif://www.onvif.org/Profile", "onvif://www.onvif.org/location/city")
    assert probe_matches(Probe("m", scopes=both), TARGET)
    assert not probe_matches(Probe("m", scopes=(*both, "onvif://www.onvif.org/x")), TARGET)


def test_probe_matches_shape_and_headers():
    probe = decode_request(CLIENT_PROBE)
    reply = build_probe_matches(probe, TARGET, "urn:uuid:fresh-1", AppSequence(1700000000, 3))
    root = ET.fromstring(reply)
    header = root.find("s:Header", NS)
    assert header.findtext("a:MessageID", namespaces=NS) == "urn:uuid:fresh-1"
    assert header.findtext("a:RelatesTo", namespaces=NS) == probe.message_id
    assert header.findtext("a:Action", namespaces=NS) == f"{DISCOVERY}/ProbeMatches"
    assert header.findtext("a:To", namespaces=NS).endswith("/role/anonymous")
    sequence = header.find("d:AppSequence", NS).attrib
    assert sequence == {"InstanceId": "1700000000", "MessageNumber": "3"}
    match = root.find("s:Body/d:ProbeMatches/d:ProbeMatch", NS)
    assert match.findtext("d:MetadataVersion", namespaces=NS) == "1"
    # The Types prefixes are declared where they are used.
    assert b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in reply
    assert match.findtext("d:Types", namespaces=NS) == "dn:NetworkVideoTransmitter tds:Device"


def test_wsdiscovery_parses_every_message_we_send():
    probe = decode_request(CLIENT_PROBE)
    sequence = AppSequence(1700000000, 1)
    env = parseSOAPMessage(build_probe_matches(probe, TARGET, "urn:uuid:m1", sequence), "x")
    [match] = env.getProbeResolveMatches()
    assert match.getEPR() == TARGET.address
    assert [str(t) for t in match.getTypes()] == [
        "http://www.onvif.org/ver10/network/wsdl:NetworkVideoTransmitter",
        "http://www.onvif.org/ver10/device/wsdl:Device",
    ]
    assert match.getXAddrs() == list(TARGET.xaddrs)
    assert env.getRelatesTo() == probe.message_id and env.getInstanceId() == "1700000000"
    resolve = Resolve("urn:uuid:r1", TARGET.address)
    env = parseSOAPMessage(build_resolve_matches(resolve, TARGET, "urn:uuid:m2", sequence), "x")
    assert env.getProbeResolveMatches()[0].getEPR() == TARGET.address
    hello = parseSOAPMessage(build_hello(TARGET, "urn:uuid:m3", sequence), "x")
    assert hello.getAction() == f"{DISCOVERY}/Hello" and hello.getEPR() == TARGET.address
    bye = parseSOAPMessage(build_bye(TARGET.address, "urn:uuid:m4", sequence), "x")
    assert isinstance(bye, SoapEnvelope) and bye.getAction() == f"{DISCOVERY}/Bye"


def test_our_client_side_round_trips():
    probe = build_probe("urn:uuid:p", scopes=("onvif://www.onvif.org/Profile",))
    assert decode_request(probe).scopes == ("onvif://www.onvif.org/Profile",)
    sequence = AppSequence(5, 2)
    read = decode_announcement(build_hello(TARGET, "urn:uuid:h", sequence))
    assert (read.kind, read.address, read.xaddrs) == ("Hello", TARGET.address, TARGET.xaddrs)
    assert (read.instance_id, read.message_number) == (5, 2)
    assert read.types == TARGET.types and read.scopes == TARGET.scopes


def test_markup_characters_in_any_field_are_escaped_and_read_back():
    odd = Target(
        address="urn:uuid:a&b<c>",
        types=((DEVICE_WSDL, "Odd&<Type>"),),
        scopes=("onvif://www.onvif.org/name/a&b",),
        xaddrs=("http://192.0.2.1/onvif/device_service?a=1&b=<2>",),
    )
    read = decode_announcement(build_hello(odd, "urn:uuid:h&1", AppSequence(1, 2)))
    assert (read.address, read.types, read.scopes) == (odd.address, odd.types, odd.scopes)
    assert (read.xaddrs, read.message_id) == (odd.xaddrs, "urn:uuid:h&1")
    probe = decode_request(build_probe("urn:uuid:p<1>", odd.types, odd.scopes, "a&b"))
    assert (probe.message_id, probe.types, probe.match_by) == ("urn:uuid:p<1>", odd.types, "a&b")


def test_resolve_decodes():
    resolve = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        b' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        b' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>'
        b"<a:MessageID>urn:uuid:r</a:MessageID></s:Header><s:Body><d:Resolve>"
        b"<a:EndpointReference><a:Address> urn:uuid:abc </a:Address></a:EndpointReference>"
        b"</d:Resolve></s:Body></s:Envelope>"
    )
    assert decode_request(resolve) == Resolve("urn:uuid:r", "urn:uuid:abc")


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"<x/>",
        CLIENT_PROBE.replace(b"<a:MessageID>", b"<a:Other>").replace(
            b"</a:MessageID>", b"</a:Other>"
        ),
        CLIENT_PROBE.replace(
            b'schemas.xmlsoap.org/ws/2005/04/discovery"',
            b'docs.oasis-open.org/ws-dd/ns/discovery/2009/01"',
        ),
        CLIENT_PROBE.replace(b"d:Probe>", b"d:Hello>"),
        b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        CLIENT_PROBE + b" " * 40_000,
    ],
    ids=["empty", "not-soap", "no-message-id", "wsd-2009", "not-a-request", "dtd", "too-large"],
)
def test_what_is_not_a_2005_04_request_is_refused(datagram):
    with pytest.raises(WsdDecodeError):
        decode_request(datagram)
