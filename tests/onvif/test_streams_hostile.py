"""Hostile stream and snapshot requests over real sockets: whatever names a stream, channel
or profile, the answer is the vendor's own (a picture, a document, or its error), never a
500, and the device's streams stay as they were."""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from base64 import b64encode
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols import nipca
from nvrsim.simulator.dahua.http import dahua_app
from nvrsim.simulator.dlink.nipca import nipca_app
from nvrsim.simulator.hikvision.isapi import isapi_app
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.dahua.test_dhip import dahua_camera
from tests.dlink.test_nipca import dlink_entry
from tests.strategies_isapi import ServerThread

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASIC = {"Authorization": "Basic " + b64encode(f"admin:{PASSWORD}".encode()).decode()}
# What names a stream: digits mostly, then anything a client or an attacker might send.
NAMES = st.one_of(
    st.integers(-5, 5000).map(str),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)


def get(url: str, path: str) -> tuple[int, str, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=BASIC)
        response = connection.getresponse()
        kind = response.getheader("Content-Type", "").split(";")[0]
        return response.status, kind, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def devices():
    hik, dahua, dlink = make_fleet(
        hik_entry("nvr", web_auth="digest/basic", ip_channels=4),
        dahua_camera("dahua", web_auth="digest/basic"),
        dlink_entry("dlink"),
        address_pool="127.86.0.0/24",
    ).devices
    return {"hikvision": hik, "dahua": dahua, "dlink": dlink}


def test_isapi_streaming_channels_and_pictures(devices, clock):
    device = devices["hikvision"]
    before = device.streams()
    with ServerThread(isapi_app(device, clock)) as url:

        @SETTINGS
        @given(name=NAMES, picture=st.booleans())
        def check(name: str, picture: bool) -> None:
            path = f"/ISAPI/Streaming/channels/{quote(name, safe='')}" + (
                "/picture" if picture else ""
            )
            status, kind, body = get(url, path)
            assert status in (200, 404), body
            if status == 200:
                assert kind == ("image/jpeg" if picture else "application/xml")
            else:  # the vendor's own invalidID, or notSupport for a path it does not have
                assert ET.fromstring(body).tag.endswith("ResponseStatus"), body

        check()
    assert device.streams() == before


def test_dahua_snapshot_channels(devices, clock):
    device = devices["dahua"]
    before = device.streams()
    with ServerThread(dahua_app(device, clock)) as url:

        @SETTINGS
        @given(channel=NAMES)
        def check(channel: str) -> None:
            status, kind, body = get(url, f"/cgi-bin/snapshot.cgi?channel={quote(channel)}")
            assert (status, kind) in ((200, "image/jpeg"), (400, "text/plain")), body
            if status == 400:
                assert body == b"Error\r\nBad Request!\r\n"

        check()
    assert device.streams() == before


def test_nipca_stream_profiles(devices, clock):
    device = devices["dlink"]
    before = device.streams()
    with ServerThread(nipca_app(device, clock)) as url:

        @SETTINGS
        @given(profile=NAMES)
        def check(profile: str) -> None:
            status, _, body = get(url, f"/config/rtspurl.cgi?profileid={quote(profile)}")
            assert status in (200, 400), body
            fields = nipca.decode_fields(body)
            if status == 200:
                assert device.stream_at("/" + fields["urlentry"]) is not None
                assert int(fields["rtspport"]) == device.network.rtsp_port

        check()
    assert device.streams() == before
