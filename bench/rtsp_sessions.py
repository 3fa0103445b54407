"""Concurrent live-video sessions over RTSP/TCP: the server's CPU time per streamed second,
nvrsim against a bare asyncio sender of the same packets, and whether every session got
every frame.

Each server runs in its own process, so that its CPU time (`time.process_time`, asked
for over a pipe before and after the measured window) is its own; the clients (this
process) do the RTSP handshake (Digest included) and then count every RTP packet,
checking sequence numbers for gaps and counting frames by their marker bit.

The baseline is the floor for any Python sender of these streams: one asyncio timer for
every connection, writing each session's copy of the clip's prebuilt packets with its own
sequence numbers, timestamp and SSRC (`PacketRun.stamp`, which nvrsim uses too), and no
RTSP, RTCP, faults, timeouts or back-pressure. It starts streaming as soon as a client
connects. Both stream the same 1280x720, 25 fps test card.

`python -m bench.rtsp_sessions [SESSIONS...]` measures each count in turn (500 by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.request import parse_http_list, parse_keqv_list

from nvrsim.protocols.rtsp import H264_CLOCK
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.runtime.clips import ClipLibrary, ClipSpec
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.rtsp import RtspServer

SESSIONS = 500
WARMUP = 2.0  # seconds every session streams before the measured window
SECONDS = 10.0  # the measured window
FPS = 25
TICK = H264_CLOCK // FPS
SIZE = (1280, 720)
PASSWORD = "Bench12345"
CONNECTING = 50  # handshakes under way at once


# --- the servers (each in its own process) ---------------------------------------------------


async def _nvrsim() -> dict:
    fleet = build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": "127.79.0.0/24"},
            "device": [
                {
                    "name": "cam",
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": PASSWORD,
                    "video": {"main": {"width": SIZE[0], "height": SIZE[1], "fps": FPS}},
                }
            ],
        }
    )
    (device,) = fleet.devices
    server = RtspServer(device, RealClock(), ClipLibrary())
    device.network.rtsp_port = await server.listen(0)
    _clocks.append(lambda: {s.ssrc: s.timestamp for s in server.sessions.values()})
    return {
        "host": device.network.ip,
        "port": device.network.rtsp_port,
        "uri": stream_uri(device, 1),
    }


_running: set[asyncio.Task] = set()  # the bare sender's timer, kept from the collector
# The server's RTP clock of each session (by SSRC): how far each has streamed.
_clocks: list[Callable[[], dict[int, int]]] = []


class _BareSession(asyncio.Protocol):
    def __init__(self, sessions: set[_BareSession]) -> None:
        self.sessions = sessions
        self.seq, self.timestamp, self.ssrc, self.position = 0, 0, random.getrandbits(32), 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.sessions.add(self)

    def connection_lost(self, exc) -> None:
        self.sessions.discard(self)


async def _bare() -> dict:
    clip = await ClipLibrary().get(ClipSpec(*SIZE, FPS))
    runs = [unit.packets for unit in clip.access_units]
    sessions: set[_BareSession] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _BareSession(sessions), "127.0.0.1", 0)
    tick = H264_CLOCK // FPS

    async def send() -> None:
        start, ticks = loop.time(), 0
        while True:
            for s in sessions:
                run = runs[s.position]
                s.transport.write(run.stamp(seq=s.seq, timestamp=s.timestamp, ssrc=s.ssrc))
                s.seq = (s.seq + len(run)) & 0xFFFF
                s.timestamp = (s.timestamp + tick) & 0xFFFFFFFF
                s.position = (s.position + 1) % len(runs)
            ticks += 1
            await asyncio.sleep(max(0.0, start + ticks / FPS - loop.time()))

    _running.add(loop.create_task(send()))
    _clocks.append(lambda: {s.ssrc: s.timestamp for s in sessions})
    return {"host": "127.0.0.1", "port": server.sockets[0].getsockname()[1], "uri": None}


async def serve(kind: str) -> None:
    """Serve, print where as one JSON line, then answer each `now` with the CPU time so
    far and each session's RTP clock."""
    info = await (_nvrsim() if kind == "nvrsim" else _bare())
    print(json.dumps(info), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "now":
        print(json.dumps({"cpu": time.process_time(), "clocks": _clocks[0]()}), flush=True)


# --- the clients (this process) ----------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Receiver(asyncio.Protocol):
    """One client connection: RTSP answers to a queue, RTP packets counted."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.answers: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        self.packets = self.gaps = self.skips = 0
        self.last_seq: int | None = None
        self.last_timestamp = 0
        self.first_packet = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        at = 0
        while at < len(buf):
            if buf[at] == 0x24:  # $: an interleaved packet
                if len(buf) - at < 4:
                    break
                end = at + 4 + int.from_bytes(buf[at + 2 : at + 4], "big")
                if len(buf) < end:
                    break
                if buf[at + 1] == 0:
                    self._rtp(
                        int.from_bytes(buf[at + 6 : at + 8], "big"),
                        int.from_bytes(buf[at + 8 : at + 12], "big"),
                    )
                at = end
                continue
            head_end = buf.find(b"\r\n\r\n", at)
            if head_end < 0:
                break
            head = bytes(buf[at:head_end])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(buf) < head_end + 4 + length:
                break
            self.answers.put_nowait((head, bytes(buf[head_end + 4 : head_end + 4 + length])))
            at = head_end + 4 + length
        del buf[:at]

    def _rtp(self, seq: int, timestamp: int) -> None:
        """A packet missing (a sequence gap) or a frame missing (the RTP clock moving by
        more than a frame) is a loss."""
        if self.last_seq is not None:
            if seq != (self.last_seq + 1) & 0xFFFF:
                self.gaps += 1
            step = (timestamp - self.last_timestamp) & 0xFFFFFFFF
            if step not in (0, TICK):
                self.skips += 1
        self.last_seq, self.last_timestamp = seq, timestamp
        self.packets += 1
        if not self.first_packet.done():
            self.first_packet.set_result(None)

    async def request(self, cseq: int, method: str, uri: str, *headers: str) -> bytes:
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", *headers]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head, _ = await asyncio.wait_for(self.answers.get(), 30)
        return head

    async def play(self, uri: str) -> None:
        head = await self.request(1, "DESCRIBE", uri)
        challenge = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"www-authenticate: digest")
        )
        fields = parse_keqv_list(parse_http_list(challenge.removeprefix("Digest ")))
        ha1 = _md5(f"admin:{fields['realm']}:{PASSWORD}")
        response = _md5(f"{ha1}:{fields['nonce']}:00000001:b0b:auth:{_md5(f'DESCRIBE:{uri}')}")
        authorization = (
            f'Authorization: Digest username="admin", realm="{fields["realm"]}", '
            f'nonce="{fields["nonce"]}", uri="{uri}", response="{response}", qop=auth, '
            f'nc=00000001, cnonce="b0b"'
        )
        assert b" 200 " in await self.request(2, "DESCRIBE", uri, authorization)
        head = await self.request(
            3, "SETUP", f"{uri}/trackID=1", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1"
        )
        session = next(
            line.split(b":", 1)[1].split(b";")[0].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"session:")
        )
        assert b" 200 " in await self.request(4, "PLAY", uri, f"Session: {session}")


@dataclass
class Measured:
    kind: str
    sessions: int
    cpu: float  # server CPU seconds in the window
    wall: float
    frames: int  # frames the server sent in the window, every session together
    lost: int  # packets and frames the clients missed

    @property
    def streamed(self) -> float:
        """Seconds of video sent, every session together."""
        return self.frames / FPS

    @property
    def per_streamed_second(self) -> float:
        return self.cpu / self.streamed

    @property
    def pace(self) -> float:
        """Frames sent over those due: below 1, the server fell behind real time."""
        return self.frames / (self.sessions * self.wall * FPS)

    @property
    def sustained(self) -> bool:
        return self.lost == 0 and self.pace >= 0.98


async def measure(kind: str, count: int) -> Measured:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.rtsp_sessions",
        "--serve",
        kind,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None
    loop = asyncio.get_running_loop()
    receivers: list[Receiver] = []

    async def now() -> tuple[float, float, dict[str, int]]:
        server.stdin.write(b"now\n")
        answer = json.loads(await asyncio.wait_for(server.stdout.readline(), 30))
        return loop.time(), answer["cpu"], answer["clocks"]

    try:
        info = json.loads(await asyncio.wait_for(server.stdout.readline(), 120))
        gate = asyncio.Semaphore(CONNECTING)

        async def connect() -> None:
            async with gate:
                _, receiver = await loop.create_connection(Receiver, info["host"], info["port"])
                receivers.append(receiver)
                if info["uri"]:
                    await receiver.play(info["uri"])
                await asyncio.wait_for(receiver.first_packet, 30)

        await asyncio.wait_for(asyncio.gather(*(connect() for _ in range(count))), 300)
        await asyncio.sleep(WARMUP)  # a measurement window, not a wait for a condition
        for r in receivers:
            r.gaps = r.skips = 0
        start, cpu_before, clocks_before = await now()
        await asyncio.sleep(SECONDS)
        end, cpu_after, clocks_after = await now()
        lost = sum(r.gaps + r.skips for r in receivers)
        frames = sum(
            ((clocks_after[ssrc] - clock) & 0xFFFFFFFF) // TICK
            for ssrc, clock in clocks_before.items()
            if ssrc in clocks_after
        )
        return Measured(kind, count, cpu_after - cpu_before, end - start, frames, lost)
    finally:
        for r in receivers:
            r.transport.close()
        if server.returncode is None:
            server.stdin.close()
            try:
                await asyncio.wait_for(server.wait(), 10)
            except TimeoutError:
                server.kill()
                await server.wait()


def _line(m: Measured, label: str) -> str:
    return (
        f"  {label:<22}{m.per_streamed_second * 1e3:6.3f} ms CPU per streamed second "
        f"({m.cpu / m.wall:.0%} of a core), {m.pace:.1%} of frames sent on time, "
        f"{m.lost} lost; {'sustained' if m.sustained else 'NOT sustained'}"
    )


async def run(counts: tuple[int, ...] = (SESSIONS,)) -> str:
    _raise_file_limit()
    lines = []
    for count in counts:
        nvrsim = await measure("nvrsim", count)
        bare = await measure("bare", count)
        ratio = nvrsim.per_streamed_second / bare.per_streamed_second
        per_core = 1 / (nvrsim.per_streamed_second)
        lines += [
            f"RTSP over TCP: {count} sessions of {SIZE[0]}x{SIZE[1]} at {FPS} fps, "
            f"{SECONDS:.0f} s measured after {WARMUP:.0f} s "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
            _line(nvrsim, "nvrsim:"),
            _line(bare, "bare asyncio sender:"),
            f"  ratio:                {ratio:.2f}x the bare sender's CPU (target at most 1.5x)",
            f"  one core sustains:    about {per_core:,.0f} such sessions "
            f"(1 s / nvrsim's CPU per streamed second; target at least 500)",
        ]
    return "\n".join(lines)


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _raise_file_limit()
        asyncio.run(serve(sys.argv[2]))
    else:
        print(asyncio.run(run(tuple(int(a) for a in sys.argv[1:]) or (SESSIONS,))))
