"""The public strategies draw what they promise: devices that start in the state asked
for and answer discovery, passwords a device accepts or refuses, firmware of the major
asked for, and protocol messages that a device answers without a server error."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols import wsdiscovery
from nvrsim.simulator.core.auth import ActivationResult
from nvrsim.simulator.core.firmware import FirmwareVersion
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.strategies import (
    DeviceStates,
    device_states,
    devices,
    firmware_versions,
    fleets,
    nipca,
    onvif,
    passwords,
)
from nvrsim.testing import RunningFleet, running_fleet

FEW = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


def wsd_probe(fleet: RunningFleet, wanted: int, deadline: float = 5.0) -> set[str]:
    """The XAddrs of the ProbeMatches a unicast WS-Discovery probe brings back."""
    port = int(fleet.services["wsd"].rsplit(":", 1)[1])
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(deadline)
        sock.sendto(wsdiscovery.build_probe(f"urn:uuid:{uuid.uuid4()}"), ("127.0.0.1", port))
        while len(found) < wanted:
            match = wsdiscovery.decode_announcement(sock.recv(65536))
            found.update(match.xaddrs)
    return found


@FEW
@given(devices())
def test_each_drawn_device_starts_in_its_state_and_answers_discovery(entry):
    with running_fleet({"device": [entry]}, cloud=False) as fleet:
        (device,) = fleet.devices
        assert (device.vendor, device.kind, device.model) == (
            entry["vendor"],
            entry["kind"],
            entry["model"],
        )
        assert any(device.address in xaddr for xaddr in wsd_probe(fleet, 1))
        assert device.activated == ("admin_password" in entry)
        bound = any(
            (entry.get(section) or {}).get(key)
            for section, key in (
                ("hik_connect", "bound_account"),
                ("dahua", "dmss_account"),
                ("mydlink", "account"),
            )
        )
        assert device.bound == bound
        assert device.state.status.effective_faults.cloud_offline == (
            "faults" in entry and entry["faults"]["cloud_offline"]
        )


@settings(max_examples=50, deadline=None)
@given(fleets(max_devices=6))
def test_drawn_fleets_build(fixture):
    fleet = build_fleet(fixture)
    assert len(fleet) == len(fixture["device"])


@given(devices(vendor="hikvision", state=DeviceStates(activated=False)), passwords(), st.data())
def test_an_acceptable_password_activates_and_a_risky_one_does_not(entry, password, data):
    device = build_fleet({"device": [entry]}).devices[0]
    assert (
        device.activate(data.draw(passwords(acceptable=False))) is ActivationResult.RISKY_PASSWORD
    )
    assert not device.activated
    assert device.activate(password) is ActivationResult.OK


@pytest.mark.parametrize(
    ("vendor", "major"), [("hikvision", 3), ("hikvision", 5), ("dahua", 2), ("dlink", 1)]
)
@settings(max_examples=10)
@given(data=st.data())
def test_firmware_of_the_major_asked_for(vendor, major, data):
    assert FirmwareVersion.parse(data.draw(firmware_versions(vendor, major))).major == major


@given(device_states())
def test_device_states_are_coherent(state):
    assert state.activated or not (state.bound or state.locked_out)


def test_unknown_vendor_or_kind_is_refused_at_once():
    with pytest.raises(ValueError, match="no vendor 'acme'"):
        firmware_versions("acme")
    with pytest.raises(ValueError, match="dlink makes no 'dvr'"):
        devices(vendor="dlink", kind="dvr")


@pytest.fixture(scope="module")
def fleet():
    with running_fleet(cloud=False) as running:
        yield running


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/soap+xml")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


@FEW
@given(request=onvif.hostile_requests | onvif.requests())
def test_onvif_requests_never_meet_a_server_error(fleet, request):
    nvr = fleet.device("nvr-4x-bound-online")
    before = nvr.state
    path, body = request
    assert post(nvr.url + path, body) in (200, 400)
    assert fleet.device("nvr-4x-bound-online").state.admin_password == before.admin_password


@FEW
@given(data=st.data())
def test_a_signed_onvif_request_is_answered(fleet, data):
    nvr = fleet.device("camera")  # not the one the hostile requests may have locked us out of
    now = fleet.client.clock().now
    path, body = data.draw(onvif.requests(password=nvr.admin_password, created=now))
    status = post(nvr.url + path, body)
    assert status == 200 or b"GetWsdlUrl" in body


@FEW
@given(request=nipca.hostile_requests | nipca.requests(read_only=True))
def test_nipca_requests_never_meet_a_server_error(fleet, request):
    camera = fleet.device("dlink-camera")
    method, target = request
    handler = urllib.request.HTTPBasicAuthHandler(urllib.request.HTTPPasswordMgrWithDefaultRealm())
    handler.add_password(None, camera.url, camera.admin_user, camera.admin_password)
    opener = urllib.request.build_opener(handler)
    try:
        with opener.open(urllib.request.Request(camera.url + target, method=method)) as reply:
            status = reply.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except ValueError:  # a target urllib itself will not send
        return
    assert status < 500
