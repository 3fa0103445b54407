"""One discovery request answered by a whole fleet, beside a bare UDP burst of the same size.

Shared by the SADP and DHIP benchmarks: the responder's own time (no sockets),
the simulator's answer over loopback, and, in the same run, a bare asyncio UDP
server answering one datagram with the same number of same-size datagrams.
"""

import asyncio
import socket
from collections.abc import Awaitable, Callable

from bench.common import summary, timed


class Collector(asyncio.DatagramProtocol):
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


class BurstEcho(asyncio.DatagramProtocol):
    """Answers any datagram with `copies` datagrams of `size` bytes: the baseline."""

    def __init__(self, copies: int, size: int) -> None:
        self.copies, self.payload = copies, b"x" * size

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        for _ in range(self.copies):
            self.transport.sendto(self.payload, addr)


async def client(port: int, expected: int):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    transport, collector = await loop.create_datagram_endpoint(Collector, sock=sock)
    collector.expected = expected

    async def ask(payload: bytes) -> None:
        collector.count = 0
        collector.done = loop.create_future()
        transport.sendto(payload, ("127.0.0.1", port))
        await asyncio.wait_for(collector.done, 10)

    return transport, collector, ask


async def compare(
    title: str,
    devices: int,
    rounds: int,
    respond: Callable[[], object],
    serve: Callable[[], Awaitable],
    request: Callable[[], bytes],
) -> str:
    """`respond()` builds the replies without sockets; `serve()` starts the responder on a
    loopback port (an object with `.port` and `async close()`); `request()` is one query."""

    async def encode_only() -> None:
        respond()

    encoding = await timed(encode_only, rounds)
    server = await serve()
    transport, collector, ask = await client(server.port, devices)
    try:
        answered = await timed(lambda: ask(request()), rounds)
        reply_size = collector.size
    finally:
        transport.close()
        await server.close()

    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(
        lambda: BurstEcho(devices, reply_size), local_addr=("127.0.0.1", 0)
    )
    transport, _, ask = await client(echo.get_extra_info("sockname")[1], devices)
    try:
        bare = await timed(lambda: ask(b"?"), rounds)
    finally:
        transport.close()
        echo.close()

    ratio = sorted(answered)[len(answered) // 2] / sorted(bare)[len(bare) // 2]
    simulator = f"nvrsim {title.split()[0]}:"
    return (
        f"{title}, {devices} devices answering ({reply_size} B each), {rounds} rounds\n"
        f"  {simulator:<28}{summary(answered)}\n"
        f"  of which the responder:     {summary(encoding)} (replies built, no sockets)\n"
        f"  bare asyncio UDP burst:     {summary(bare)}\n"
        f"  ratio (median):             {ratio:.1f}x the bare burst"
    )
