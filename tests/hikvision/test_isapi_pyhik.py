"""pyhik (Home Assistant's Hikvision library) against simulated devices on real sockets.

pyhik is synchronous (requests), so each device is served from a background
thread; the VirtualClock is shared with the server and moved by the test.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import requests
from pyhik.constants import CAM_DEVICE, NVR_DEVICE
from pyhik.hikvision import HikCamera
from requests.auth import HTTPDigestAuth

from nvrsim.simulator.hikvision.isapi import isapi_app
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.strategies_isapi import ServerThread


def _connect(url: str, password: str = PASSWORD) -> HikCamera:
    return HikCamera(url, usr="admin", pwd=password)


@pytest.fixture
def demo_devices(demo_fleet):
    """The demo fleet by fixture entry name (device names repeat, entry names do not)."""
    return {re.search(r"device '([^']+)'", d.source)[1]: d for d in demo_fleet}


@pytest.mark.parametrize(
    ("name", "device_type", "channels"),
    [
        ("nvr-4x-bound-online", NVR_DEVICE, 8),
        ("camera", CAM_DEVICE, 1),
        ("dvr-hc-disabled", NVR_DEVICE, 10),
    ],
)
def test_pyhik_reads_device_info_and_triggers(demo_devices, clock, name, device_type, channels):
    device = demo_devices[name]
    with ServerThread(isapi_app(device, clock)) as url:
        camera = _connect(url)
    assert camera.name == device.name
    assert camera.cam_id == str(device.uuid)
    assert camera.device_type == device_type
    motion = camera.event_states["Motion"]
    assert sorted(entry[1] for entry in motion) == list(range(1, channels + 1))
    assert camera.get_channels() == list(range(1, channels + 1))
    assert camera.motion_detection is False


def test_pyhik_toggles_motion_detection(demo_devices, clock):
    app = isapi_app(demo_devices["camera"], clock)
    with ServerThread(app) as url:
        camera = _connect(url)
        camera.enable_motion_detection()
        assert camera.get_motion_detection() is True
        camera.disable_motion_detection()
        assert camera.get_motion_detection() is False


def test_pyhik_with_a_wrong_password_fails(demo_devices, clock):
    device = demo_devices["camera"]
    with ServerThread(isapi_app(device, clock)) as url:
        camera = _connect(url, "wrong-password")
    assert camera.cam_id is None and camera.name is None
    # Basic first (refused unseen on a digest-only device), then one Digest try
    assert device.lockout.retries_left("127.0.0.1", clock.now()) == 6


def test_pyhik_lockout_and_release(clock):
    (device,) = make_fleet(hik_entry("nvr"), clock=clock)
    user_check = "/ISAPI/Security/userCheck"
    with ServerThread(isapi_app(device, clock)) as url:
        for attempt in range(1, 8):
            camera = _connect(url, "wrong-password")
            assert camera.cam_id is None
            # each connect costs exactly one try
            assert device.lockout.retries_left("127.0.0.1", clock.now()) == 7 - attempt

        camera = _connect(url)  # the right password, but the address is locked
        assert camera.cam_id is None and camera.name is None
        response = requests.get(
            url + user_check, auth=HTTPDigestAuth("admin", PASSWORD), timeout=10
        )
        assert response.status_code == 401
        body = ET.fromstring(response.content)
        assert body.findtext("lockStatus") == "lock"
        assert body.findtext("unlockTime") == "1800"
        assert body.findtext("retryLoginTime") == "0"

        clock.advance(1799)
        assert _connect(url).cam_id is None
        clock.advance(1)
        camera = _connect(url)
        assert camera.cam_id == str(device.uuid)
        assert camera.device_type == NVR_DEVICE


def test_pyhik_uses_basic_where_the_device_allows_it(demo_devices, clock):
    device = demo_devices["dvr-hc-disabled"]  # web_auth = "digest/basic"
    with ServerThread(isapi_app(device, clock)) as url:
        camera = _connect(url)
        assert camera.cam_id == str(device.uuid)
        assert not isinstance(camera.hik_request.auth, HTTPDigestAuth)


def test_pyhik_against_a_device_that_is_not_activated(demo_devices, clock):
    with ServerThread(isapi_app(demo_devices["camera-not-activated"], clock)) as url:
        camera = _connect(url)
    assert camera.cam_id is None
