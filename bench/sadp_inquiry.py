"""Time for one SADP inquiry to be answered by every device of a 1,000-device fleet.

The simulator paces large bursts (32 replies, then 2 ms) so that a client with
a default receive buffer loses nothing; the figure includes that pacing, and
the responder's own time is printed apart. Baseline, in the same run: a bare
asyncio UDP server that answers one datagram with the same number of datagrams
of the same size, the floor for any simulator answering from one socket.
"""

import asyncio
import socket
import uuid

from bench.common import summary, timed
from simulator.clock import RealClock
from simulator.fixtures import build_fleet
from simulator.sadp import SadpResponder, serve_sadp

DEVICES = 1000
ROUNDS = 15


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0
        self.size = 0
        self.expected = 0
        self.done: asyncio.Future | None = None

    def datagram_received(self, data: bytes, addr) -> None:
        self.count += 1
        self.size = len(data)
        if self.count == self.expected and self.done and not self.done.done():
            self.done.set_result(None)


class _BurstEcho(asyncio.DatagramProtocol):
    """Answers any datagram with `copies` datagrams of `size` bytes: the baseline."""

    def __init__(self, copies: int, size: int) -> None:
        self.copies, self.payload = copies, b"x" * size

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        for _ in range(self.copies):
            self.transport.sendto(self.payload, addr)


async def _client(port: int, expected: int):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    transport, collector = await loop.create_datagram_endpoint(_Collector, sock=sock)
    collector.expected = expected

    async def ask(payload: bytes) -> None:
        collector.count = 0
        collector.done = loop.create_future()
        transport.sendto(payload, ("127.0.0.1", port))
        await asyncio.wait_for(collector.done, 10)

    return transport, collector, ask


def _inquiry() -> bytes:
    guid = str(uuid.uuid4()).upper()
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{guid}</Uuid>'
        "<Types>inquiry</Types></Probe>"
    ).encode()


async def run() -> str:
    fleet = build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": "127.78.0.0/16"},
            "device": [
                {
                    "name": "cam",
                    "count": DEVICES,
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": "Bench12345",
                }
            ],
        }
    )
    responder = SadpResponder(fleet, RealClock())

    async def encode_only() -> None:
        responder.handle(_inquiry(), ("127.0.0.1", 9))

    encoding = await timed(encode_only, ROUNDS)
    server = await serve_sadp(responder, "127.0.0.1", 0)
    transport, collector, ask = await _client(server.port, DEVICES)
    try:
        sadp = await timed(lambda: ask(_inquiry()), ROUNDS)
        reply_size = collector.size
    finally:
        transport.close()
        await server.close()

    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(
        lambda: _BurstEcho(DEVICES, reply_size), local_addr=("127.0.0.1", 0)
    )
    transport, _, ask = await _client(echo.get_extra_info("sockname")[1], DEVICES)
    try:
        bare = await timed(lambda: ask(b"?"), ROUNDS)
    finally:
        transport.close()
        echo.close()

    ratio = sorted(sadp)[len(sadp) // 2] / sorted(bare)[len(bare) // 2]
    return (
        f"SADP inquiry, {DEVICES} devices answering ({reply_size} B each), {ROUNDS} rounds\n"
        f"  nvrsim SADP:                {summary(sadp)}\n"
        f"  of which the responder:     {summary(encoding)} (replies built, no sockets)\n"
        f"  bare asyncio UDP burst:     {summary(bare)}\n"
        f"  ratio (median):             {ratio:.1f}x the bare burst"
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
