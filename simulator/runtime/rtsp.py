"""Each device's RTSP server (RFC 2326): its streams' test card as H.264 over RTP.

A thin transport over `protocols.rtsp`: a request is parsed there, credentials go
through the device's one login rule (`http_login`, as every web API's), the stream a
path names is the device's own rule (`stream_at`, which ONVIF's GetStreamUri shares),
and the packets come from a clip that every session of that size shares
(`runtime.clips`). A request that does not parse is answered 400 and changes nothing.

A session streams either interleaved in its RTSP connection (RTP/AVP/TCP, ending with
it) or over UDP to the client's own address (never to an address the client names,
so a request cannot aim the stream elsewhere); UDP sessions outlive their connection
until TEARDOWN or their timeout. One timer per frame rate (`FramePacer`) sends every
playing session its next frame; `RtspServer.send_frame` is the one place a frame goes
out, so the stream faults act there. Sequence numbers and timestamps run on across the
clip's loop.

Choices where the public record is silent (docs/video.md says the same for users):
- the session timeout is 60 s (`timeout=60` in every Session header); any request
  naming the session, or an RTCP report from the client (UDP: from its RTCP port;
  TCP: on the connection), keeps it alive; GET_PARAMETER naming an ended session
  answers 454, as live555 does;
- sender reports every 5 s (RFC 3550's minimum interval), the first with the first
  frame; their wall-clock time is the device's clock, their CNAME its serial number;
- a client locked out by the shared lockout, like one of a device not activated,
  gets 403 without a challenge: no credential can succeed until the lock lifts;
- `rtsp_refuse` answers DESCRIBE 503 once the client has authenticated (OPTIONS
  still answers); `rtsp_packet_loss` drops single RTP packets, over TCP too (their
  sequence numbers are skipped, as a lossy network shows them); `rtsp_stall` counts
  from each PLAY, stops RTP and RTCP alike, and the picture resumes where it stopped
  when the fault is cleared;
- a frame that cannot go out at once (more than 2 MB waiting for a slow TCP reader) is
  dropped, as a congested camera drops it; a pacer more than a second late (the
  process starved) picks up from now rather than bursting;
- a client that half-closes its connection is answered, then the connection closes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nvrsim.protocols import rtsp
from nvrsim.protocols.rtsp import InterleavedFrame, Request, RtspError, Transport
from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.plugin import ExchangeHook
from nvrsim.simulator.core.residents import bind
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime.clips import Clip, ClipLibrary, ClipSpec
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, device_realm
from nvrsim.simulator.runtime.http_login import challenges, check_credentials
from nvrsim.simulator.runtime.listener import Listener

log = logging.getLogger(__name__)

SESSION_TIMEOUT = 60  # seconds without a request or RTCP report before a session ends
RTCP_INTERVAL = 5.0  # seconds between sender reports: RFC 3550 §6.2's minimum
SERVED = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER")
PUBLIC = ", ".join(SERVED)
# RFC 2326 methods a camera does not serve: 405 with Allow; anything else is 501.
_NOT_ALLOWED = frozenset({"ANNOUNCE", "RECORD", "REDIRECT", "SET_PARAMETER"})
_TRACK = re.compile(r"/trackID=\d+$", re.IGNORECASE)
# Refusals no credential can turn around: answered 403 without a challenge.
_NO_PASSWORD_CAN_DO = frozenset({LoginResult.NOT_ACTIVATED, LoginResult.LOCKED})
# A client that reads slower than the stream loses frames rather than growing our buffers.
_MAX_BACKLOG = 2 * 1024 * 1024


def stream_target(uri: str) -> str:
    """The path and query a request URI names, without the track suffix of a SETUP."""
    if "://" in uri:
        try:
            parts = urlsplit(uri)
        except ValueError:
            return ""
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
    return _TRACK.sub("", uri)


@dataclass(eq=False)
class Session:
    id: str
    stream: VideoStream
    clip: Clip
    transport: Transport
    connection: Connection | None  # the one it streams through (TCP) or was set up on
    client: str
    control: str  # the URL of its track, for RTP-Info
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    seq: int = field(default_factory=lambda: random.getrandbits(16))
    timestamp: int = field(default_factory=lambda: random.getrandbits(32))
    position: int = 0  # the next access unit; 0 is a key frame
    last_seen: float = 0.0
    playing: bool = False
    started: float = 0.0  # when PLAY last started it (loop time), for rtsp_stall
    packets: int = 0  # RTP packets and payload octets sent, for the sender reports
    octets: int = 0
    next_report: float = 0.0


class FramePacer:
    """One timer per frame rate for every playing session of every device: a tick sends
    each session its next frame, so a thousand sessions cost one wake-up a frame, not a
    thousand. Sessions are grouped by server so a device's faults are read once a tick."""

    def __init__(self) -> None:
        self._groups: dict[int, dict[RtspServer, set[Session]]] = {}
        self._timers: dict[int, asyncio.Task] = {}

    def add(self, server: RtspServer, session: Session) -> None:
        fps = session.clip.spec.fps
        self._groups.setdefault(fps, {}).setdefault(server, set()).add(session)
        if fps not in self._timers:
            self._timers[fps] = asyncio.get_running_loop().create_task(self._run(fps))

    def remove(self, server: RtspServer, session: Session) -> None:
        fps = session.clip.spec.fps
        group = self._groups.get(fps, {})
        sessions = group.get(server)
        if sessions is None:
            return
        sessions.discard(session)
        if not sessions:
            del group[server]
        if not group:
            self._groups.pop(fps, None)
            timer = self._timers.get(fps)
            # A timer that emptied its own group (a session timed out) stays registered
            # until it sees that, so a session added meanwhile does not get a second one.
            if timer is not None and timer is not asyncio.current_task():
                del self._timers[fps]
                timer.cancel()

    async def _run(self, fps: int) -> None:
        loop = asyncio.get_running_loop()
        start, ticks = loop.time(), 0
        while group := self._groups.get(fps):
            now = loop.time()
            for server, sessions in list(group.items()):
                faults = server.device.faults
                for session in list(sessions):
                    server.send_frame(session, now, faults)
            ticks += 1
            delay = start + ticks / fps - loop.time()
            if delay < -1.0:  # the loop was starved: pick up from now rather than burst
                start, ticks = loop.time(), 0
            await asyncio.sleep(max(0.0, delay))
        if self._timers.get(fps) is asyncio.current_task():
            del self._timers[fps]


class RtspServer:
    """One device's RTSP listener and its sessions."""

    rng = random.Random()  # decides which packets rtsp_packet_loss drops; shared, see EventBus

    def __init__(
        self,
        device: Device,  # one whose class speaks ONVIF (OnvifDevice): it has stream paths
        clock: Clock,
        clips: ClipLibrary,
        on_exchange: ExchangeHook | None = None,
        pacer: FramePacer | None = None,  # shared by the fleet's servers
    ) -> None:
        self.device = device
        self.clock = clock
        self.clips = clips
        self.on_exchange = on_exchange
        self.pacer = pacer or FramePacer()
        self.sessions: dict[str, Session] = {}
        self._listener: Listener | None = None
        self._connections: set[Connection] = set()
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None

    @functools.cached_property
    def auth(self) -> HttpAuthenticator:
        """Made on the first request: most devices of a large fleet never stream."""
        return HttpAuthenticator(device_realm(self.device))

    @property
    def host(self) -> str:
        return self.device.network.ip

    async def listen(self, port: int) -> int:
        """Listen on `port` of the device's address; the port it got."""
        sock = bind(self.host, port)
        try:
            self._listener = Listener(sock, lambda: Connection(self))
        except BaseException:
            sock.close()
            raise
        return sock.getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every session, as a device going down does."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for session in list(self.sessions.values()):
            self.end(session)
        for connection in list(self._connections):
            connection.transport.abort()
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()
        self._rtp = self._rtcp = None

    def forget_idle(self, now: float) -> None:
        """Sessions set up but never played, or paused, and not heard from: gone."""
        for session in list(self.sessions.values()):
            if not session.playing and now - session.last_seen > SESSION_TIMEOUT:
                self.end(session)

    def end(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.stop(session)

    def start(self, session: Session) -> None:
        """PLAY: its first frame (a key frame) at once, then one a tick."""
        if session.playing:
            return
        now = asyncio.get_running_loop().time()
        session.playing, session.started, session.next_report = True, now, now
        self.send_frame(session, now, self.device.faults)
        if session.playing:  # not timed out in between
            self.pacer.add(self, session)

    def stop(self, session: Session) -> None:
        session.playing = False
        self.pacer.remove(self, session)

    async def udp_ports(self) -> tuple[int, int]:
        """The device's RTP and RTCP sockets, shared by its UDP sessions, made on first use."""
        if self._rtp is None or self._rtcp is None:
            loop = asyncio.get_running_loop()
            self._rtp, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=(self.host, 0)
            )
            self._rtcp, _ = await loop.create_datagram_endpoint(
                lambda: _RtcpReceiver(self), local_addr=(self.host, 0)
            )
        return self._rtp.get_extra_info("sockname")[1], self._rtcp.get_extra_info("sockname")[1]

    def heard_from(self, address: tuple[str, int]) -> None:
        """An RTCP report from a UDP client keeps its sessions alive."""
        now = asyncio.get_running_loop().time()
        for session in self.sessions.values():
            port = session.transport.client_port
            if port and session.client == address[0] and port[1] == address[1]:
                session.last_seen = now

    # --- streaming: the one place a frame is sent, and where the stream faults act ---------

    def send_frame(self, session: Session, now: float, faults: Faults) -> None:
        """The session's next frame, unless it timed out (ended) or the device stalls."""
        if now - session.last_seen > SESSION_TIMEOUT:
            log.info("%s: RTSP session %s timed out", self.device.serial, session.id)
            self.end(session)
            return
        clip = session.clip
        tick = rtsp.H264_CLOCK // clip.spec.fps
        if faults.rtsp_stall and now - session.started >= faults.rtsp_stall:
            # Stalled: nothing goes out, the clock runs on, the picture resumes where it was.
            session.timestamp = (session.timestamp + tick) & 0xFFFFFFFF
            return
        run = clip.access_units[session.position].packets
        tcp = session.transport.tcp
        channel = (session.transport.interleaved or (0, 1))[0] if tcp else 0
        data = run.stamp(
            seq=session.seq, timestamp=session.timestamp, ssrc=session.ssrc, channel=channel
        )
        if faults.rtsp_packet_loss:
            kept = [
                span
                for span in run.packet_spans()
                if self.rng.random() * 100 >= faults.rtsp_packet_loss
            ]
        else:
            kept = None  # all of them
        if self._transmit(session, data, run, kept):
            session.packets += len(run) if kept is None else len(kept)
            session.octets += run.payload_octets  # close enough under loss: a report is a hint
        session.seq = (session.seq + len(run)) & 0xFFFF
        session.position = (session.position + 1) % len(clip.access_units)
        if now >= session.next_report:
            session.next_report = now + RTCP_INTERVAL
            self._report(session)
        session.timestamp = (session.timestamp + tick) & 0xFFFFFFFF

    def _transmit(
        self,
        session: Session,
        data: bytearray,
        run: rtsp.PacketRun,
        kept: list[tuple[int, int]] | None,
    ) -> bool:
        """Write a stamped frame: whole into the TCP connection, or packet by packet to the
        UDP client. False when it could not go out (connection gone or backed up)."""
        if session.transport.tcp:
            connection = session.connection
            if connection is None or connection.transport.is_closing():
                return False
            if connection.transport.get_write_buffer_size() > _MAX_BACKLOG:
                return False  # a frame lost, as a congested camera loses it
            if kept is None:
                connection.transport.write(data)
            else:
                view = memoryview(data)
                connection.transport.writelines([view[a - 4 : b] for a, b in kept])
            return True
        port = session.transport.client_port
        if self._rtp is None or port is None:
            return False
        view, destination = memoryview(data), (session.client, port[0])
        for a, b in run.packet_spans() if kept is None else kept:
            self._rtp.sendto(view[a:b], destination)
        return True

    def _report(self, session: Session) -> None:
        """An RTCP sender report (RFC 3550 §6.4.1), the instant the last frame was sent at:
        its wall-clock time from the device's clock, which clients use to put a time on
        the picture."""
        report = rtsp.SenderReport(
            session.ssrc, self.clock.now(), session.timestamp, session.packets, session.octets
        )
        packet = rtsp.rtcp_sender_report(report, cname=self.device.serial)
        transport = session.transport
        if transport.tcp:
            connection = session.connection
            if connection is not None and not connection.transport.is_closing():
                channel = (transport.interleaved or (0, 1))[1]
                connection.transport.write(rtsp.interleaved(channel, packet))
        elif self._rtcp is not None and transport.client_port:
            self._rtcp.sendto(packet, (session.client, transport.client_port[1]))


class _RtcpReceiver(asyncio.DatagramProtocol):
    def __init__(self, server: RtspServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if rtsp.is_rtcp(data):
            self.server.heard_from(addr)


class Connection(asyncio.Protocol):
    """One client's RTSP connection: requests answered in order, one at a time."""

    def __init__(self, server: RtspServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.authenticated = False
        self.client = ""
        self.transport: asyncio.Transport
        self._queue: asyncio.Queue[Request | RtspError | None] = asyncio.Queue()
        self._worker: asyncio.Task | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        self.server._connections.add(self)
        self._worker = asyncio.get_running_loop().create_task(self._answer_in_order())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self._queue.put_nowait(None)
        for session in list(self.server.sessions.values()):
            if session.connection is self and session.transport.tcp:
                self.server.end(session)
            elif session.connection is self:
                session.connection = None

    def eof_received(self) -> bool:
        """The client has done sending (a half-close): answer what it asked, then close."""
        self._queue.put_nowait(None)
        return True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            try:
                message = rtsp.take_message(self.buffer)
            except RtspError as error:
                self._queue.put_nowait(error)
                continue
            if message is None:
                return
            if isinstance(message, InterleavedFrame):
                if rtsp.is_rtcp(message.data):
                    self._keep_alive()  # RTCP receiver reports of a TCP session
            else:
                self._queue.put_nowait(message)

    def _keep_alive(self) -> None:
        now = asyncio.get_running_loop().time()
        for session in self.server.sessions.values():
            if session.connection is self:
                session.last_seen = now

    async def _answer_in_order(self) -> None:
        while (item := await self._queue.get()) is not None:
            if isinstance(item, RtspError):
                self._reply(item.status, item.cseq, request=None)
                continue
            try:
                await _Exchange(self, item).answer()
            except Exception:
                log.exception("RTSP %s %s", item.method, item.uri)
                self._reply(500, item.cseq, request=item)
        self.transport.close()

    def _reply(
        self,
        status: int,
        cseq: str | None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        *,
        request: Request | None,
    ) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(rtsp.build_response(status, cseq, headers or [], body))
        hook = self.server.on_exchange
        if hook is not None:
            what = f"{request.method} {stream_target(request.uri)}" if request else "(malformed)"
            hook(self.server.device, "rtsp", self.client, what, str(status), may_change=False)


class _Exchange:
    """One request and its answer."""

    def __init__(self, connection: Connection, request: Request) -> None:
        self.connection = connection
        self.server = connection.server
        self.device = connection.server.device
        self.request = request

    def reply(self, status: int, headers: list[tuple[str, str]] | None = None, body=b"") -> None:
        self.connection._reply(status, self.request.cseq, headers, body, request=self.request)

    async def answer(self) -> None:
        method = self.request.method.upper()
        if method == "OPTIONS":
            self._touch_session()
            self.reply(200, [("Public", PUBLIC)])
            return
        handler = getattr(self, f"_{method.lower()}", None) if method in SERVED else None
        if handler is None:
            if method in _NOT_ALLOWED:
                self.reply(405, [("Allow", PUBLIC)])
            else:
                self.reply(501, [("Public", PUBLIC)])
            return
        if not self._authorised():
            return
        await handler()

    def _authorised(self) -> bool:
        if self.connection.authenticated:
            return True
        now = self.server.clock.now()
        check = check_credentials(
            self.server.auth,
            self.device,
            self.request.headers.get("Authorization"),
            method=self.request.method,
            uri=self.request.uri,
            client=self.connection.client,
            now=now,
        )
        if check.granted:
            self.connection.authenticated = True
            return True
        if check.outcome is not None and check.outcome.result in _NO_PASSWORD_CAN_DO:
            self.reply(403)  # not activated, or this client locked out: no challenge helps
            return False
        values = challenges(self.server.auth, self.device, now, check)
        self.reply(401, [("WWW-Authenticate", value) for value in values])
        return False

    def _stream(self) -> VideoStream | None:
        stream = self.device.stream_at(stream_target(self.request.uri))
        if stream is None:
            self.reply(404)
        return stream

    async def _clip(self, stream: VideoStream) -> Clip:
        video = self.device.stream_format(stream)
        return await self.server.clips.get(ClipSpec(video.width, video.height, video.fps))

    def _base_url(self) -> str:
        """The presentation's URL as the client named it, made absolute if it was not."""
        uri = self.request.uri
        if "://" not in uri:
            port = self.connection.transport.get_extra_info("sockname")[1]
            uri = f"rtsp://{self.server.host}:{port}{uri}"
        return uri.rstrip("/")

    def _session(self) -> Session | None:
        session = self.server.sessions.get(self.request.session or "")
        if session is None:
            self.reply(454)
        else:
            session.last_seen = asyncio.get_running_loop().time()
        return session

    def _touch_session(self) -> None:
        session = self.server.sessions.get(self.request.session or "")
        if session is not None:
            session.last_seen = asyncio.get_running_loop().time()

    def _session_header(self, session: Session) -> tuple[str, str]:
        return ("Session", rtsp.session_header(session.id, SESSION_TIMEOUT))

    async def _describe(self) -> None:
        stream = self._stream()
        if stream is None:
            return
        if self.device.faults.rtsp_refuse:
            self.reply(503)
            return
        clip = await self._clip(stream)
        base = self._base_url()
        sdp = rtsp.h264_sdp(
            sps=clip.sps,
            pps=clip.pps,
            control=f"{base}/trackID=1",
            address=self.server.host,
            session_id=random.getrandbits(31),
            framerate=clip.spec.fps,
        )
        self.reply(
            200,
            [("Content-Type", "application/sdp"), ("Content-Base", f"{base}/")],
            sdp.encode(),
        )

    async def _setup(self) -> None:
        stream = self._stream()
        if stream is None:
            return
        try:
            offers = rtsp.parse_transport(self.request.headers.get("Transport") or "")
        except RtspError as error:
            self.reply(error.status)
            return
        offer = offers[0]
        if offer.tcp and offer.interleaved is None:
            offer = Transport(True, interleaved=(0, 1))
        existing = self.server.sessions.get(self.request.session or "")
        if self.request.session and existing is None:
            self.reply(454)
            return
        if existing is not None and existing.playing:
            self.reply(455)
            return
        clip = await self._clip(stream)
        self.server.forget_idle(asyncio.get_running_loop().time())
        session = Session(
            id=existing.id if existing else secrets.token_hex(8).upper(),
            stream=stream,
            clip=clip,
            transport=offer,
            connection=self.connection,
            client=self.connection.client,
            control=self._base_url(),
            last_seen=asyncio.get_running_loop().time(),
        )
        server_port = None if offer.tcp else await self.server.udp_ports()
        self.server.sessions[session.id] = session
        self.reply(
            200,
            [
                self._session_header(session),
                ("Transport", offer.reply(session.ssrc, server_port)),
            ],
        )

    async def _play(self) -> None:
        session = self._session()
        if session is None:
            return
        info = f"url={session.control};seq={session.seq};rtptime={session.timestamp}"
        self.reply(
            200,
            [self._session_header(session), ("Range", "npt=0.000-"), ("RTP-Info", info)],
        )
        session.connection = session.connection or self.connection
        self.server.start(session)

    async def _pause(self) -> None:
        session = self._session()
        if session is None:
            return
        self.server.stop(session)
        self.reply(200, [self._session_header(session)])

    async def _teardown(self) -> None:
        session = self._session()
        if session is None:
            return
        self.server.end(session)
        self.reply(200, [self._session_header(session)])

    async def _get_parameter(self) -> None:
        """A keep-alive: a session it names must exist (454 tells a client it ended);
        without one it is a ping."""
        if self.request.session is None:
            self.reply(200)
        elif session := self._session():
            self.reply(200, [self._session_header(session)])
