"""The one UDP transport of the discovery protocols that answer only the asker (SADP, D-Link).

A responder turns a datagram into `DiscoveryReply`s (already shaped by the
device's faults); this sends them back to where the datagram came from. A
200-device fleet answers one inquiry with 200 datagrams: they go in bursts with a
breather, as a real LAN spreads them out, so a client's receive buffer is not
overrun, and each burst is taken from the responder as it goes, so the first reply
leaves before the last is written. A reply a delay fault holds goes later, on its own.

Choices where the public record is silent (each real device answers at once, on its own,
so nothing of this exists on a real LAN):
- A paced answer can outlive its asker: the asking socket closes, the kernel gives its
  port to the next program that asks, and the rest of the old answer lands there (a
  client counting datagrams counts the old answer's devices beside its own).
  So one paced answer per asker address: a newer one to the same address (a fresh
  inquiry, or the port's next holder asking) cancels what is left of the older.
- At most `ASKERS` paced answers are under way at once; a flood of inquiries from many
  ports drops the oldest answer first, so hostile load queues bounded work.
- A reply a delay fault holds is the fault's point: once its turn in the answer comes, it
  goes on its own timer and is not cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar, cast

from nvrsim.simulator.core.faults import DiscoveryReply

log = logging.getLogger(__name__)

Address = tuple[str, int]
# The replies to a datagram, which may be written as they are taken.
Respond = Callable[[bytes, Address], Iterable[DiscoveryReply]]
# The socket that sends from a device's own address (DiscoveryReply.source), if any.
Outlet = Callable[[str], asyncio.DatagramTransport | None]


class DiscoveryProtocol(asyncio.DatagramProtocol):
    BURST = 32
    BREATHER = 0.002
    ASKERS = 64  # paced answers under way at once

    def __init__(self, name: str, respond: Respond, outlet: Outlet | None = None) -> None:
        self.name, self.respond, self.outlet = name, respond, outlet
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sending: set[asyncio.Task[None]] = set()  # every paced task, cancelled or not
        self.pacing: dict[Address, asyncio.Task[None]] = {}  # the live one per asker, oldest first

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        peer = (addr[0], addr[1])
        try:
            replies = iter(self.respond(data, peer))
        except Exception:  # a responder bug must not take the fleet's socket down
            log.exception("%s: dropped a datagram from %s the responder failed on", self.name, addr)
            return
        if self._send_burst(replies, peer):
            self._pace(replies, peer)

    def _send_burst(self, replies: Iterator[DiscoveryReply], addr: Address) -> bool:
        """Send the next BURST of `replies` (one a delay fault holds goes later, on its own
        timer); whether there may be more. Replies are written as they are taken, so the
        first of a large fleet's leaves before the last is written."""
        loop, sent = asyncio.get_running_loop(), 0
        try:
            for reply in replies:
                if reply.delay:
                    loop.call_later(reply.delay, self._send, reply, addr)
                    continue
                self._send(reply, addr)
                sent += 1
                if sent == self.BURST:
                    return True
        except Exception:
            log.exception("%s: the responder failed on a datagram from %s", self.name, addr)
        return False

    def _pace(self, replies: Iterator[DiscoveryReply], addr: Address) -> None:
        """Send the rest of `replies` in bursts; what is left of an older answer to `addr`
        is dropped."""
        superseded = self.pacing.pop(addr, None)
        if superseded is not None:
            superseded.cancel()
        while len(self.pacing) >= self.ASKERS:
            self.pacing.pop(next(iter(self.pacing))).cancel()
        task = asyncio.ensure_future(self._send_paced(replies, addr))
        self.pacing[addr] = task
        self.sending.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self.sending.discard(task)
            if self.pacing.get(addr) is task:
                del self.pacing[addr]

        task.add_done_callback(done)

    def _send(self, reply: DiscoveryReply, addr: Address) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        transport = self.transport
        if reply.source is not None and self.outlet is not None:
            own = self.outlet(reply.source)
            if own is not None and not own.is_closing():
                transport = own
        transport.sendto(reply.data, addr)  # only ever back to the asker

    async def _send_paced(self, replies: Iterator[DiscoveryReply], addr: Address) -> None:
        while True:
            await asyncio.sleep(self.BREATHER)
            if not self._send_burst(replies, addr):
                return

    def error_received(self, exc: Exception) -> None:
        log.debug("%s socket error: %s", self.name, exc)  # e.g. ICMP from a gone client

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self.sending:
            task.cancel()
        if not self.closed.done():
            self.closed.set_result(None)


class DiscoveryServer:
    """One UDP socket answering one discovery protocol for a whole fleet."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: DiscoveryProtocol) -> None:
        self._transport, self._protocol = transport, protocol
        self.host, self.port = transport.get_extra_info("sockname")[:2]

    @property
    def transport(self) -> asyncio.DatagramTransport:
        return self._transport

    async def close(self) -> None:
        self._transport.close()
        await self._protocol.closed
        # Paced replies still under way were cancelled; let them finish unwinding.
        await asyncio.gather(*self._protocol.sending, return_exceptions=True)


# Under `nvrsim run --workers`, where discovery sockets are not a worker's own: the
# supervisor binds them and relays datagrams, a worker answers through the relay
# (simulator/runtime/relay.py). Called with serve_discovery's arguments, it replaces it.
RELAY: ContextVar[Callable[..., Awaitable[DiscoveryServer]] | None] = ContextVar(
    "nvrsim_discovery_relay", default=None
)


async def serve_discovery(
    name: str,
    respond: Respond,
    host: str,
    port: int,
    *,
    multicast_group: str | None = None,
    interface: str | None = None,
    outlet: Outlet | None = None,
    reuse: bool = False,
) -> DiscoveryServer:
    """Serve one discovery protocol on host:port (`bind_discovery`), or through the relay
    when this process is one of several workers."""
    serve = RELAY.get() or bind_discovery
    return await serve(
        name,
        respond,
        host,
        port,
        multicast_group=multicast_group,
        interface=interface,
        outlet=outlet,
        reuse=reuse,
    )


async def bind_discovery(
    name: str,
    respond: Respond,
    host: str,
    port: int,
    *,
    multicast_group: str | None = None,
    interface: str | None = None,
    outlet: Outlet | None = None,
    reuse: bool = False,
) -> DiscoveryServer:
    """Serve on host:port; with `interface` (a local IPv4 address, host "0.0.0.0") also
    hear broadcasts and join `multicast_group` there."""
    if interface is not None and host not in ("0.0.0.0", ""):
        raise ValueError(
            f"a socket bound to {host} never sees broadcast or multicast; bind 0.0.0.0 "
            f"to hear them on {interface}"
        )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if interface is not None or reuse:
            # The vendor's own tool (SADP, D-Link's) may hold the port on the same host;
            # DHIP's per-device sockets share the fleet socket's port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if interface is not None and multicast_group is not None:
            membership = socket.inet_aton(multicast_group) + socket.inet_aton(interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: DiscoveryProtocol(name, respond, outlet), sock=sock
    )
    return DiscoveryServer(transport, protocol)


# --- the asking side: what `nvrsim discover` does ------------------------------------------

Reply = tuple[bytes, tuple[str, int]]
Answer = TypeVar("Answer")
# Which device a reply is from and what it says; None: not an answer to this request
# (garbage, another client's or an earlier request's answer, another protocol's datagram).
Read = Callable[[Reply], tuple[Hashable, Answer] | None]


async def ask(
    request: bytes,
    target: str,
    port: int,
    timeout: float,
    interface: str | None = None,
    *,
    read: Read[Answer],
    limit: int | None = None,
) -> list[Answer]:
    """Send one discovery datagram (broadcast and multicast allowed; `interface` picks the
    multicast interface) and collect the devices that answer it until `timeout`, or until
    `limit` have: only what `read` takes for an answer to this request counts, and each
    device once (its first answer), however many datagrams reach the socket."""
    loop = asyncio.get_running_loop()
    found: dict[Hashable, Answer] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.bind((interface or "", 0))
        await loop.sock_sendto(sock, request, (target, port))
        deadline = loop.time() + timeout
        while (limit is None or len(found) < limit) and (left := deadline - loop.time()) > 0:
            try:
                reply = await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), left)
            except TimeoutError:
                break
            if (answer := read(reply)) is not None:
                found.setdefault(*answer)
    return list(found.values())
