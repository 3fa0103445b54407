"""Discovery across processes: the supervisor's sockets, the workers' responders.

Under `nvrsim run --workers N` the supervisor binds every discovery socket once (one per
protocol and port, and a Dahua device's own DHIP socket) and a worker binds none. The
supervisor's `Hub` relays each datagram it hears, with the asker's address, to every
worker over a Unix socket pair; a worker's `Spoke` hands it to the very responder and
protocol object a single process would run (`udp.DiscoveryProtocol`: pacing, delay
faults, a reply's own source socket), whose "socket" is a `RelayTransport` that sends
each reply back over the pair, named by the socket it must leave from. So replies keep
their pacing and their per-device source, and a change made through discovery (an SADP
unbind, a DHIP setConfig) lands in the worker that holds the device.

Sockets are named as `serve_discovery` names them ("SADP", "DHIP cam-3"): both sides run
the same start functions on the same ports, so the names agree.

Choices where the public record is silent: frames are a 4-byte length and a body; a
datagram or reply body is its kind, the socket's name, the peer's address and the bytes.
"""

from __future__ import annotations

import asyncio
import json
import struct
from functools import partial
from typing import Any

from nvrsim.simulator.core.faults import DiscoveryReply
from nvrsim.simulator.runtime.udp import (
    Address,
    DiscoveryProtocol,
    DiscoveryServer,
    Outlet,
    Respond,
    bind_discovery,
)

DATAGRAM = b"D"  # supervisor -> worker: heard on a socket
REPLY = b"S"  # worker -> supervisor: send from a socket
MESSAGE = b"J"  # either way: a JSON document (a worker's "ready")

LENGTH = struct.Struct(">I")
_HEAD = struct.Struct(">HBH")  # name length, peer address length, peer port


def frame(kind: bytes, name: str, peer: Address, data: bytes) -> bytes:
    key, host = name.encode(), peer[0].encode()
    body = kind + _HEAD.pack(len(key), len(host), peer[1]) + key + host + data
    return LENGTH.pack(len(body)) + body


def message(document: dict[str, Any]) -> bytes:
    body = MESSAGE + json.dumps(document).encode()
    return LENGTH.pack(len(body)) + body


def parse(body: bytes) -> tuple[bytes, str, Address, bytes]:
    kind = body[:1]
    key_len, host_len, port = _HEAD.unpack_from(body, 1)
    at = 1 + _HEAD.size
    name = body[at : at + key_len].decode()
    host = body[at + key_len : at + key_len + host_len].decode()
    return kind, name, (host, port), body[at + key_len + host_len :]


async def frames(reader: asyncio.StreamReader):
    """Each frame's body, until the other side closes."""
    while True:
        try:
            head = await reader.readexactly(LENGTH.size)
            yield await reader.readexactly(LENGTH.unpack(head)[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return


class Hub:
    """The supervisor's side: real sockets whose datagrams go to every worker."""

    def __init__(self) -> None:
        self.sockets: dict[str, DiscoveryServer] = {}
        self.workers: dict[int, asyncio.StreamWriter] = {}  # by worker index, while up

    async def serve(self, name: str, _respond: Respond, host: str, port: int, **options: Any):
        """`serve_discovery` in the supervisor: the socket, answered by the workers."""
        server = await bind_discovery(name, partial(self._relay, name), host, port, **options)
        self.sockets[name] = server
        return server

    def _relay(self, name: str, data: bytes, peer: Address) -> list[DiscoveryReply]:
        datagram = frame(DATAGRAM, name, peer, data)
        for writer in self.workers.values():
            if not writer.is_closing():
                writer.write(datagram)
        return []  # the workers answer

    def send(self, name: str, to: Address, data: bytes) -> None:
        server = self.sockets.get(name)
        if server is not None and not server.transport.is_closing():
            server.transport.sendto(data, to)


class Spoke:
    """A worker's side: the responders of its devices, fed by the supervisor's sockets."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.protocols: dict[str, DiscoveryProtocol] = {}

    async def serve(
        self,
        name: str,
        respond: Respond,
        host: str,
        port: int,
        *,
        outlet: Outlet | None = None,
        **_socket_options: Any,  # multicast and reuse: the supervisor's socket has them
    ) -> DiscoveryServer:
        """`serve_discovery` in a worker: the protocol, without a socket of its own."""
        protocol = DiscoveryProtocol(name, respond, outlet)
        protocol.connection_made(RelayTransport(self, name, (host, port), protocol))
        self.protocols[name] = protocol
        assert protocol.transport is not None
        return DiscoveryServer(protocol.transport, protocol)

    def heard(self, name: str, peer: Address, data: bytes) -> None:
        protocol = self.protocols.get(name)
        if protocol is not None:
            protocol.datagram_received(data, peer)


class RelayTransport(asyncio.DatagramTransport):
    """A worker's stand-in for one of the supervisor's sockets."""

    def __init__(
        self, spoke: Spoke, name: str, sockname: Address, protocol: DiscoveryProtocol
    ) -> None:
        super().__init__({"sockname": sockname})
        self._spoke, self._name, self._protocol = spoke, name, protocol
        self._closing = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        if not self._closing and not self._spoke.writer.is_closing():
            self._spoke.writer.write(frame(REPLY, self._name, (addr[0], addr[1]), bytes(data)))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._spoke.protocols.get(self._name) is self._protocol:
            del self._spoke.protocols[self._name]
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()
