"""Hostile input against a live RTSP server: random bytes, almost-valid requests and
interleaved junk, before and after a client has logged in. Every answer is a well-formed
RTSP answer and never a 500; the device's state does not change; the server goes on
answering."""

from __future__ import annotations

import asyncio
import re
import socket
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols.rtsp import REASONS
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.runtime.clips import ClipLibrary
from nvrsim.simulator.runtime.rtsp import SERVED, RtspServer
from tests.conftest import PASSWORD, make_fleet
from tests.runtime.rtsp_client import digest
from tests.runtime.test_rtsp import CAMERAS

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLIENT = "127.0.0.1"


class LiveServer:
    """One camera's RTSP server on a loop in a thread, for synchronous socket clients."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        (self.device,) = make_fleet(
            CAMERAS["hikvision"], clock=self.clock, address_pool="127.87.0.0/24"
        ).devices
        self.loop = asyncio.new_event_loop()
        self.server = RtspServer(self.device, self.clock, ClipLibrary())
        self._thread = threading.Thread(target=self.loop.run_forever, name="rtsp-test-server")

    def call(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        self.device.network.rtsp_port = self.call(self.server.listen(0))
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()

    @property
    def uri(self) -> str:
        return stream_uri(self.device, 1)

    def state(self) -> tuple:
        """What a request could change, as this client sees it."""
        now = self.clock.now()
        lockout = self.device.lockout
        return (
            self.device.admin_password,
            lockout.retries_left(CLIENT, now),
            lockout.unlock_in(CLIENT, now),
            self.device.own_faults,
        )

    def exchange(self, data: bytes, login: bool = False) -> bytes:
        """Connect (and log in, if asked), send `data`, half-close: all that comes back."""
        with socket.create_connection((self.device.network.ip, self.device.network.rtsp_port)) as s:
            s.settimeout(10)
            if login:
                self._login(s)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            received = bytearray()
            while chunk := s.recv(65536):
                received += chunk
            return bytes(received)

    def _login(self, s: socket.socket) -> None:
        ask = f"DESCRIBE {self.uri} RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        s.sendall(ask.encode())
        challenge = re.search(rb"WWW-Authenticate: (Digest [^\r]*)", _one_answer(s)).group(1)
        proof = digest(challenge.decode(), "DESCRIBE", self.uri, self.device.admin_user, PASSWORD)
        s.sendall(
            f"DESCRIBE {self.uri} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {proof}\r\n\r\n".encode()
        )
        assert _one_answer(s).startswith(b"RTSP/1.0 200 ")


def _one_answer(s: socket.socket) -> bytes:
    data = bytearray()
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    length = re.search(rb"Content-Length: (\d+)", head)
    need = int(length.group(1)) if length else 0
    while len(body) < need:
        body += s.recv(65536)
    return head


_STATUS = re.compile(rb"RTSP/1\.0 (\d{3}) ([^\r\n]*)\r\n")


def answers(data: bytes) -> list[tuple[int, bytes]]:
    """The answers in what came back, each checked to be whole and well-formed."""
    found = []
    while data:
        status = _STATUS.match(data)
        assert status, data[:200]
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data[:200]
        assert re.search(rb"\r\nCSeq: \d+\r\n", head + b"\r\n") or b"CSeq" not in head, head
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        need = int(length.group(1)) if length else 0
        found.append((int(status.group(1)), head + sep + rest[:need]))
        data = rest[need:]
    return found


# --- strategies: what a hostile or broken client sends -------------------------------------------

_TOKEN = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1)
METHODS = st.sampled_from([*SERVED, "ANNOUNCE", "RECORD", "SET_PARAMETER", "describe"]) | _TOKEN
_NO_BREAK = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"))
URIS = st.sampled_from(
    [
        "*",
        "/Streaming/Channels/101",
        "/Streaming/Channels/101/trackID=1",
        "/Streaming/Channels/999",
        "rtsp://127.87.0.2:554/Streaming/Channels/102?transportmode=unicast",
        "rtsp://[::1",
        "rtsp://%zz/",
        "rtsp://host:99999999/x",
        "/" + "a" * 5000,
    ]
) | _NO_BREAK.filter(lambda t: t and " " not in t)
HEADER_NAMES = (
    st.sampled_from(
        ["CSeq", "Session", "Transport", "Content-Length", "Authorization", "Range", "Accept"]
    )
    | _TOKEN
)
HEADER_VALUES = (
    st.sampled_from(
        [
            "1",
            "-1",
            "99999999999999999999",
            "RTP/AVP/TCP;unicast;interleaved=0-1",
            "RTP/AVP/TCP;interleaved=300-301",
            "RTP/AVP;unicast;client_port=70000-70001",
            "RTP/AVP;multicast",
            "RTP/AVP;unicast;client_port=a-b",
            "RTP/AVP;unicast;client_port=",
            'Digest username="admin", nonce="x", response="y"',
            'Digest ,,,=,"',
            "Basic !!!",
            "Basic " + "A" * 3000,
            "npt=now-",
            "ABCDEF;timeout=-5",
        ]
    )
    | _NO_BREAK
)


@st.composite
def almost_valid_requests(draw) -> bytes:
    cseq = draw(st.sampled_from(["7", "0", "", "x", "1e3"]) | st.integers(0, 2**40).map(str))
    headers = [("CSeq", cseq)] if draw(st.booleans()) else []
    headers += draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5))
    version = draw(st.sampled_from(["RTSP/1.0", "RTSP/1.0", "RTSP/2.0", "HTTP/1.1", "rtsp/1.0"]))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    lines = [f"{draw(METHODS)} {draw(URIS)} {version}"]
    lines += [f"{name}: {value}" for name, value in headers]
    body = draw(st.binary(max_size=64)) if draw(st.booleans()) else b""
    return (newline.join(lines) + newline + newline).encode() + body


INTERLEAVED_JUNK = st.builds(
    lambda channel, data, extra: (
        b"$" + bytes([channel]) + (len(data) + extra).to_bytes(2, "big") + data
    ),
    st.integers(0, 255),
    st.binary(max_size=64),
    st.sampled_from([0, 0, 0, 1, 40]),  # a length that overstates swallows what follows
)
HOSTILE = st.lists(
    almost_valid_requests() | INTERLEAVED_JUNK | st.binary(max_size=200), min_size=1, max_size=6
).map(b"".join)


def _check(live: LiveServer, data: bytes, before: tuple, login: bool) -> list[tuple[int, bytes]]:
    got = answers(live.exchange(data, login=login))
    for status, answer in got:
        assert status in REASONS and status != 500, answer
    assert live.state() == before
    ping = answers(live.exchange(b"OPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n"))
    assert [status for status, _ in ping] == [200]  # still answering
    return got


async def end_all(server: RtspServer) -> None:
    for session in list(server.sessions.values()):
        server.end(session)


def test_hostile_bytes_from_a_stranger_are_answered_and_change_nothing():
    with LiveServer() as live:
        before = live.state()

        @SETTINGS
        @given(HOSTILE)
        def hostile(data: bytes) -> None:
            _check(live, data, before, login=False)
            assert not live.server.sessions

        hostile()


def test_hostile_bytes_after_a_login_are_answered_and_leave_no_stray_session():
    """Logged in, a request may set up a session; it may not leave any that it was not
    told about (a 200 with a Session header), and none streaming over TCP once it goes."""
    with LiveServer() as live:
        before = live.state()

        @SETTINGS
        @given(HOSTILE)
        def hostile(data: bytes) -> None:
            got = _check(live, data, before, login=True)
            told = sum(1 for status, a in got if status == 200 and b"\r\nSession: " in a)
            sessions = list(live.server.sessions.values())
            assert len(sessions) <= told
            assert not any(s.transport.tcp for s in sessions)
            live.call(end_all(live.server))

        hostile()
