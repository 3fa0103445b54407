"""Hostile SOAP for every PTZ, imaging, Media breadth and Media2 operation, through the pure
responder with valid credentials: a SOAP fault with HTTP 400, never an exception (a 500)
and never a change of the device's state."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.simulator.onvif import imaging, media, ptz
from nvrsim.simulator.onvif.service import OnvifResponder
from tests.conftest import hik_entry, make_fleet
from tests.onvif.test_onvif_service import NS, fault_of, token

SERVICES = {
    "ptz": ("http://www.onvif.org/ver20/ptz/wsdl", sorted(ptz.OPERATIONS)),
    "imaging": ("http://www.onvif.org/ver20/imaging/wsdl", sorted(imaging.OPERATIONS)),
    "media": ("http://www.onvif.org/ver10/media/wsdl", sorted(media.OPERATIONS)),
    "media2": ("http://www.onvif.org/ver20/media/wsdl", sorted(media.MEDIA2_OPERATIONS)),
}
CALLS = [(service, op) for service, (_ns, ops) in SERVICES.items() for op in ops]

NAMES = [
    "ProfileToken",
    "Token",
    "Type",
    "Protocol",
    "NodeToken",
    "ConfigurationToken",
    "PTZConfigurationToken",
    "Velocity",
    "Translation",
    "Position",
    "Speed",
    "PanTilt",
    "Zoom",
    "Timeout",
    "PresetName",
    "PresetToken",
    "VideoSourceToken",
    "ImagingSettings",
    "Brightness",
    "ColorSaturation",
    "Contrast",
    "Sharpness",
    "IrCutFilter",
    "WideDynamicRange",
    "BacklightCompensation",
    "Mode",
    "Level",
]
TEXTS = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e309",
            "0.5",
            "-1.5",
            "2",
            "101",
            "-0",
            "PT5S",
            "PT0S",
            "P",
            "PT",
            "P1DT",
            "PT-1S",
            "Profile_1",
            "Profile_2",
            "Profile_0",
            "VideoSource_1",
            "VideoSource_9",
            "VideoEncoder_1",
            "PTZNode_1",
            "PTZConfiguration_1",
            "1",
            "0",
            "300",
            "301",
            "true",
            "false",
            "ON",
            "AUTO",
            "on",
            "RtspUnicast",
            "All",
            "",
        ]
    ),
    st.text(max_size=12),
    st.floats().map(repr),
)
ATTRS = st.dictionaries(st.sampled_from(["x", "y", "space"]), TEXTS, max_size=3)


def _element(name: str, text: str, attrs: dict, children: list[str]) -> str:
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    inner = "".join(children) if children else escape(text)
    return f"<tt:{name}{attributes}>{inner}</tt:{name}>"


ELEMENTS = st.recursive(
    st.builds(_element, st.sampled_from(NAMES), TEXTS, ATTRS, st.just([])),
    lambda inner: st.builds(
        _element, st.sampled_from(NAMES), TEXTS, ATTRS, st.lists(inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def devices():
    from nvrsim.simulator.core.clock import VirtualClock

    clock = VirtualClock()
    fleet = make_fleet(
        hik_entry("dome", kind="ipc", model="DS-2DE4425IW-DE", ip_channels=1),
        hik_entry("bullet", kind="ipc", model="DS-2CD2385G1-I", ip_channels=1),
        clock=clock,
    )
    dome = fleet.find("dome")
    dome.ptz.set_preset(clock.now(), name="gate")  # something to lose
    return clock, fleet


def state(device):
    head = device.ptz
    ptz_state = (head.motion, copy.deepcopy(head.presets), head.home) if head else None
    return ptz_state, [device.imaging.get(channel) for channel in (1, 2)]


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    call=st.sampled_from(CALLS),
    params=st.lists(ELEMENTS, max_size=4),
    name=st.sampled_from(["dome", "bullet"]),
)
def test_hostile_parameters_get_a_fault_and_change_nothing(devices, call, params, name):
    clock, fleet = devices
    device = fleet.find(name)
    service, operation = call
    namespace = SERVICES[service][0]
    body = (
        f'<s:Envelope xmlns:s="{NS["env"]}" xmlns:tt="{NS["tt"]}" xmlns:op="{namespace}">'
        f"<s:Header>{token(created=clock.now())}</s:Header>"
        f"<s:Body><op:{operation}>{''.join(params)}</op:{operation}></s:Body></s:Envelope>"
    ).encode()
    before = state(device)
    reply = OnvifResponder(device, clock).handle(service, body, "127.0.0.1")
    device.lockout.clear()
    assert reply.status in (200, 400)
    root = ET.fromstring(reply.body)  # always a well-formed SOAP document
    if reply.status == 400:
        code, _subcode, reason = fault_of(reply.body)
        assert code in ("env:Sender", "env:Receiver") and reason
        assert state(device) == before, "a refused request changed the device"
    else:
        assert root.find("env:Body", NS)[0].tag.endswith(f"{operation}Response")


def test_a_device_without_a_head_answers_ptz_action_not_supported(devices):
    clock, fleet = devices
    bullet = fleet.find("bullet")
    body = (
        f'<s:Envelope xmlns:s="{NS["env"]}" xmlns:tptz="{SERVICES["ptz"][0]}">'
        f"<s:Header>{token(created=clock.now())}</s:Header>"
        "<s:Body><tptz:GetNodes/></s:Body></s:Envelope>"
    ).encode()
    reply = OnvifResponder(bullet, clock).handle("ptz", body, "127.0.0.1")
    assert reply.status == 400
    assert fault_of(reply.body)[1] == "ter:ActionNotSupported"
