"""Hostile input over real sockets: random paths, methods, Authorization headers and
bodies. Every answer is a vendor document (never a 500), and nothing refused
changes the device."""

from __future__ import annotations

import http.client
import itertools
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nvrsim.simulator.hikvision.isapi import isapi_app
from nvrsim.strategies.isapi import (
    authorization_headers,
    hostile_bodies,
    http_methods,
    plausible_documents,
    request_paths,
)
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.strategies_isapi import (
    ServerThread,
    basic_authorization,
    device_state,
    digest_authorization,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VENDOR_ROOTS = {"ResponseStatus", "userCheck"}


def _request(url: str, method: str, path: str, *, headers=None, body: bytes | None = None):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def _assert_vendor_answer(method: str, response, body: bytes) -> None:
    assert response.status != 500, body
    assert response.getheader("Server") == "Webs"
    if method == "HEAD" or response.status == 200:
        return
    if response.getheader("Content-Type", "").startswith("application/json"):
        assert "subStatusCode" in json.loads(body)
        return
    root = ET.fromstring(body)
    assert root.tag.rpartition("}")[2] in VENDOR_ROOTS, body


def test_random_paths_and_methods(clock):
    (device,) = make_fleet(hik_entry("nvr", web_auth="digest/basic"), clock=clock)
    app = isapi_app(device, clock)
    with ServerThread(app) as url:

        @SETTINGS
        @given(method=http_methods, path=request_paths, authenticated=st.booleans())
        def check(method, path, authenticated):
            headers = {"Authorization": basic_authorization(PASSWORD)} if authenticated else {}
            before = device_state(device, clock.now())
            response, body = _request(url, method, path, headers=headers)
            _assert_vendor_answer(method, response, body)
            # without a body nothing can be written, so nothing may change
            assert device_state(device, clock.now()) == before
            event(f"{method} {response.status}")

        check()


def test_random_authorization_headers_never_count(clock):
    (device,) = make_fleet(hik_entry("nvr"), clock=clock)
    with ServerThread(isapi_app(device, clock)) as url:

        @SETTINGS
        @given(header=authorization_headers)
        def check(header):
            response, body = _request(
                url, "GET", "/ISAPI/Security/userCheck", headers={"Authorization": header}
            )
            assert response.status == 401
            root = ET.fromstring(body)
            assert (root.findtext("lockStatus"), root.findtext("retryLoginTime")) == ("unlock", "7")

        check()
    assert device.lockout.retries_left("127.0.0.1", clock.now()) == 7


WRITABLE = [  # method, path, root element of a valid body
    ("PUT", "/ISAPI/System/Network/EZVIZ", "EZVIZ"),
    ("PUT", "/ISAPI/System/Video/inputs/channels/1/motionDetection", "MotionDetection"),
    ("POST", "/ISAPI/Security/challenge", "PublicKey"),
    ("PUT", "/ISAPI/System/activate", "ActivateInfo"),
]


def test_hostile_bodies_to_every_writable_resource(clock):
    activated, fresh = make_fleet(
        hik_entry("nvr", web_auth="digest/basic"),
        hik_entry("new", admin_password=None),
        clock=clock,
    )
    app, fresh_app = isapi_app(activated, clock), isapi_app(fresh, clock)
    with ServerThread(app) as url, ServerThread(fresh_app) as fresh_url:

        @SETTINGS
        @given(target=st.sampled_from(WRITABLE), on_fresh=st.booleans(), data=st.data())
        def check(target, on_fresh, data):
            method, path, root = target
            body = data.draw(hostile_bodies | plausible_documents(root), label="body")
            device, base = (fresh, fresh_url) if on_fresh else (activated, url)
            headers = {"Authorization": basic_authorization(PASSWORD)}
            before = device_state(device, clock.now())
            response, reply = _request(base, method, path, headers=headers, body=body)
            _assert_vendor_answer(method, response, reply)
            if response.status != 200:
                assert device_state(device, clock.now()) == before
            event(f"{path} {response.status}")
            assert not fresh.activated  # random bytes never carry a valid encrypted password

        check()


# What the HTTP parser lets through to the app: no controls, and no quote or backslash
# so the cnonce stays one quoted string.
HEADER_BYTE = st.integers(0x20, 0xFF).filter(lambda b: b not in (0x22, 0x5C, 0x7F))


def test_raw_header_bytes_never_break_the_server(clock):
    """Non-UTF-8 bytes in an otherwise valid Digest answer reach the password check."""
    (device,) = make_fleet(hik_entry("nvr"), clock=clock)
    path = "/ISAPI/Security/userCheck"
    with ServerThread(isapi_app(device, clock)) as url:
        response, _ = _request(url, "GET", path)
        challenge = response.getheader("WWW-Authenticate")
        counts = itertools.count(1)  # a fresh nc each time, or the nonce reads as replayed

        @SETTINGS
        @given(raw=st.lists(HEADER_BYTE, min_size=1, max_size=12).map(bytes))
        def check(raw):
            header = digest_authorization(
                challenge, method="GET", uri=path, password=PASSWORD, nc=next(counts)
            )
            header = header.encode().replace(b'cnonce="0a4f113b"', b'cnonce="' + raw + b'"')
            response, body = _request(url, "GET", path, headers={"Authorization": header})
            assert response.status == 401, body
            assert ET.fromstring(body).findtext("retryLoginTime") == "6"  # it was checked
            device.lockout.clear()  # every well-formed try counts; keep the address unlocked

        check()
