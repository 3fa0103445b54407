"""Hostile input to the face: bad JSON, unknown serials and bad Last-Event-ID get the control
API's own error documents (or, for the stream, what one simulator does: the stream from
now), and change nothing on any shard."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.simulator.cli.face import face_thread, shards_of
from nvrsim.simulator.runtime.state import device_entry
from tests.cli.test_ctl_shards import NAMES, ShardsThread

WRITES = [
    ("PATCH", "/api/devices/cam-a"),
    ("PUT", "/api/devices/cam-b/faults"),
    ("POST", "/api/devices/cam-c/events"),
    ("POST", "/api/devices/cam-d/reboot"),
    ("PUT", "/api/clock"),
    ("POST", "/api/clock/advance"),
    ("PUT", "/api/faults"),
    ("POST", "/api/devices"),
]
# bodies no route accepts: not JSON, JSON but not an object, or an object of unknown fields
NOT_JSON = st.binary().filter(lambda b: not _parses(b))
NOT_AN_OBJECT = st.one_of(st.integers(), st.text(), st.lists(st.integers())).map(
    lambda v: json.dumps(v).encode()
)
UNKNOWN_FIELDS = st.dictionaries(
    st.text(min_size=1).map(lambda k: "zz_" + k), st.integers(), min_size=1
).map(lambda d: json.dumps(d).encode())
# any text but line breaks, sent as UTF-8 ("²" is a digit to str.isdigit, not to int)
HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def face() -> Iterator[tuple[ShardsThread, str, str]]:
    with (
        ShardsThread("127.92.2.0/24") as shards,
        face_thread(shards_of(shards.urls, [])) as (
            url,
            token,
        ),
    ):
        yield shards, url, token


def state(shards: ShardsThread) -> Any:
    return [
        ([device_entry(d) for d in sim.fleet], sim.clock.now(), sim.fleet.faults.as_dict())
        for sim in shards.sims
    ]


def send(url: str, token: str, method: str, path: str, body: bytes | None = None, **headers: str):
    request = urllib.request.Request(
        url + path,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"} | headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read(0)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Content-Type", ""), json.loads(refused.read())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(WRITES), body=st.one_of(NOT_JSON, NOT_AN_OBJECT, UNKNOWN_FIELDS))
def test_a_bad_body_is_the_apis_400_and_changes_nothing(face, route, body):
    shards, url, token = face
    before = state(shards)
    status, _, doc = send(url, token, *route, body)
    assert status == 400 and set(doc) == {"error", "detail"}, doc
    assert state(shards) == before
    # the very document the shard itself gives (it refuses too: nothing changes there either)
    name = route[1].split("/")[3] if route[1].startswith("/api/devices/") else NAMES[0]
    shard = shards.urls[shards.sims.index(shards.holder(name))]
    assert send(shard, "", *route, body) == (status, "application/json; charset=utf-8", doc)
    assert state(shards) == before


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    serial=st.text(min_size=1).filter(lambda s: s not in (*NAMES, ".", "..")),
    method=st.sampled_from(["GET", "PATCH", "DELETE"]),
    tail=st.sampled_from(["", "/faults", "/events", "/log", "/snapshot"]),
)
def test_an_unknown_serial_is_the_apis_404_and_changes_nothing(face, serial, method, tail):
    shards, url, token = face
    known = {d.serial for sim in shards.sims for d in sim.fleet}
    if serial in known:
        return
    before = state(shards)
    path = f"/api/devices/{quote(serial, safe='')}{tail}"
    status, content_type, doc = send(url, token, method, path)
    assert status in (404, 405) and set(doc) == {"error", "detail"}, doc
    assert send(shards.urls[0], "", method, path) == (status, content_type, doc)  # one shard's
    assert state(shards) == before


def open_stream(url: str, token: str, last: str) -> bytes:
    """The first bytes of GET /api/events with this Last-Event-ID, sent as UTF-8 bytes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(
            f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Last-Event-ID: {last}\r\n\r\n".encode()
        )
        return conn.recv(4096)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(last=HEADER_TEXT)
def test_a_bad_last_event_id_opens_the_stream_from_now_and_changes_nothing(face, last):
    shards, url, token = face
    before = state(shards)
    head = open_stream(url, token, last.strip())
    assert head.startswith(b"HTTP/1.1 200 ") and b"text/event-stream" in head, head
    assert state(shards) == before


def test_a_shard_too_takes_a_digit_int_refuses(face):
    shards, _, _ = face
    host, port = shards.urls[0].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \xc2\xb2\r\n\r\n")
        # an event on that shard makes its stream write (and so send its headers)
        holder = NAMES[0]
        status, _, _ = send(
            shards.urls[0],
            "",
            "POST",
            f"/api/devices/{holder}/events",
            json.dumps({"type": "tamper"}).encode(),
        )
        assert status == 201
        assert conn.recv(4096).startswith(b"HTTP/1.1 200 ")
