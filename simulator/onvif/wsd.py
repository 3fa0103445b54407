"""WS-Discovery for ONVIF devices: the pure responder, its UDP transport and a discover client.

`WsdResponder.handle(datagram, peer, multicast=…)` is pure (no sockets; time
only from the clock) and returns (datagram, destination) pairs: one
ProbeMatches per matching device (each device is its own Target Service with
its own AppSequence), or the ResolveMatches of the device named. One server
answers for the whole fleet, as SADP's does.

Choices where docs/protocols/onvif-dlink.md is silent or says [I]:
- Replies go to the probe's source address and port, never to a ReplyTo, so
  the simulator cannot be made to send to third parties. A unicast probe's
  replies also go to the sender's port 3702 (`copy_port`): wsdiscovery sends
  unicast probes from a socket it never reads and listens on 3702.
- Hello and Bye go where they can be heard: the multicast group on the named
  interface, or an address given in `announce_to`; on plain loopback they are
  not sent (nothing would hear them).
- Replies to multicast probes wait a random 0 to `jitter` seconds (the draft's
  APP_MAX_DELAY is 500 ms) so a fleet does not answer in one burst; replies
  to unicast probes and announcements go at once. Tests use no jitter.
- AppSequence: InstanceId is the device clock's second when the device came up,
  and always grows across restarts, even on a frozen virtual clock;
  MessageNumber counts that instance's messages from 1.
- A device that is not discoverable, or lacks capability `onvif`, neither
  answers nor announces.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote

from nvrsim.protocols.wsdiscovery import (
    MULTICAST_GROUP,
    WSD_PORT,
    Announcement,
    AppSequence,
    Probe,
    Resolve,
    WsdDecodeError,
    build_bye,
    build_hello,
    build_probe,
    build_probe_matches,
    build_resolve_matches,
    decode_announcement,
    decode_request,
    probe_matches,
)
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import DiscoveryReply, shape_reply
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.onvif.service import device_clock, discovery_target
from nvrsim.simulator.runtime.udp import ask

log = logging.getLogger(__name__)

Address = tuple[str, int]
Reply = tuple[bytes, Address]


def new_message_id() -> str:
    return f"urn:uuid:{uuid_module.uuid4()}"


@dataclass
class _Instance:
    instance_id: int
    sent: int = 0


class WsdResponder:
    """Discovery datagrams in, (reply, destination) pairs out."""

    def __init__(
        self,
        fleet: Fleet,
        clock: Clock,
        *,
        copy_port: int = WSD_PORT,
        new_id: Callable[[], str] = new_message_id,
        rng: random.Random | None = None,
    ) -> None:
        self.fleet = fleet
        self.rng = rng or random.Random()  # decides which replies a drop fault loses
        self.clock = clock
        self.copy_port = copy_port
        self._new_id = new_id
        self._instances: dict[str, _Instance] = {}  # by serial

    def devices(self) -> list[Device]:
        """The devices that answer WS-Discovery now."""
        return [d for d in self.fleet if announces(d) and d.powered]

    def handle(self, datagram: bytes, peer: Address, *, multicast: bool = False) -> list[Reply]:
        """The replies as the devices mean them (faults aside: see `respond`)."""
        answers = self._answer(datagram)  # one message each, sent to every destination
        return [(reply, to) for to in self._destinations(peer, multicast) for _, reply in answers]

    def respond(
        self, datagram: bytes, peer: Address, *, multicast: bool = False
    ) -> list[tuple[DiscoveryReply, Address]]:
        """The replies as they go out: each device's faults drop, delay or spoil its own."""
        shaped = [
            shape_reply(reply, device.faults, self.rng) for device, reply in self._answer(datagram)
        ]
        return [
            (reply, to)
            for to in self._destinations(peer, multicast)
            for reply in shaped
            if reply is not None
        ]

    def _destinations(self, peer: Address, multicast: bool) -> list[Address]:
        destinations = [peer]
        if not multicast and peer[1] != self.copy_port:
            destinations.append((peer[0], self.copy_port))
        return destinations

    def _answer(self, datagram: bytes) -> list[tuple[Device, bytes]]:
        try:
            request = decode_request(datagram)
        except WsdDecodeError:
            return []
        if isinstance(request, Probe):
            return [
                (device, build_probe_matches(request, target, self._new_id(), self._next(device)))
                for device in self.devices()
                if probe_matches(request, target := discovery_target(device))
            ]
        return [
            (device, build_resolve_matches(request, target, self._new_id(), self._next(device)))
            for device in self.devices()
            if _same_endpoint((target := discovery_target(device)).address, request)
        ]

    def hello(self, device: Device) -> bytes | None:
        """The Hello of a device that has just come up (a new instance), if it announces."""
        if not self.came_up(device):
            return None
        return build_hello(discovery_target(device), self._new_id(), self._next(device))

    def came_up(self, device: Device) -> bool:
        """A new instance of the device, which its later messages number from; whether
        it announces. Without a Hello to send, this is all a device coming up costs."""
        if not announces(device):
            return False
        previous = self._instances.get(device.serial)
        now = int(device_clock(device, self.clock))
        self._instances[device.serial] = _Instance(
            max(now, previous.instance_id + 1) if previous else now
        )
        return True

    def bye(self, device: Device) -> bytes | None:
        if not announces(device):
            return None
        return build_bye(discovery_target(device).address, self._new_id(), self._next(device))

    def _next(self, device: Device) -> AppSequence:
        instance = self._instances.get(device.serial)
        if instance is None:
            instance = self._instances[device.serial] = _Instance(
                int(device_clock(device, self.clock))
            )
        instance.sent += 1
        return AppSequence(instance.instance_id, instance.sent)


def announces(device: Device) -> bool:
    """Whether it says Hello and Bye (and, while running, answers probes)."""
    return device.can("onvif") and device.onvif.discoverable


def _same_endpoint(address: str, resolve: Resolve) -> bool:
    # urn:uuid values compare without regard to case (RFC 4122).
    return address.lower() == resolve.address.strip().lower()


# --- transport -----------------------------------------------------------------------------


class _Receiver(asyncio.DatagramProtocol):
    """One socket's datagrams, handed to the server with whether they came by multicast."""

    def __init__(self, server: WsdServer, multicast: bool) -> None:
        self.server = server
        self.multicast = multicast
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.received(data, (addr[0], addr[1]), self.multicast)

    def error_received(self, exc: Exception) -> None:
        log.debug("WS-Discovery socket error: %s", exc)  # e.g. ICMP unreachable from a gone client

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class WsdServer:
    """WS-Discovery for a fleet: a unicast socket, and the multicast group on a named interface.

    Every datagram leaves through `_send`, so faults (drop, delay, corrupt) can
    hook in at one place.
    """

    def __init__(
        self,
        responder: WsdResponder,
        *,
        announce_to: Address | None = None,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.responder = responder
        self.announce_to = announce_to
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._unicast: _Receiver | None = None
        self._group: _Receiver | None = None
        self._pending: set[asyncio.TimerHandle] = set()
        self.host, self.port = "", 0

    def received(self, data: bytes, peer: Address, multicast: bool) -> None:
        try:
            replies = self.responder.respond(data, peer, multicast=multicast)
        except Exception:  # a responder bug must not take the fleet's socket down
            log.exception("WS-Discovery: dropped a datagram from %s the responder failed on", peer)
            return
        for reply, to in replies:
            jitter = self._rng.uniform(0, self.jitter) if multicast and self.jitter > 0 else 0.0
            self._send(reply.data, to, reply.delay + jitter)

    def device_up(self, device: Device) -> None:
        # Hellos are written only where they go: 10,000 of them took a second at start.
        if self.announce_to is None:
            self.responder.came_up(device)
        elif (hello := self.responder.hello(device)) is not None:
            self._send(hello, self.announce_to)

    def device_down(self, device: Device) -> None:
        if self.announce_to is not None and (bye := self.responder.bye(device)) is not None:
            self._send(bye, self.announce_to)

    def _send(self, datagram: bytes, to: Address, delay: float = 0.0) -> None:
        if delay > 0:

            def due() -> None:
                self._pending.discard(handle)
                self._send(datagram, to)

            handle = asyncio.get_running_loop().call_later(delay, due)
            self._pending.add(handle)
            return
        transport = self._unicast.transport if self._unicast else None
        if transport is None or transport.is_closing():
            return
        transport.sendto(datagram, to)

    async def close(self) -> None:
        for handle in self._pending:
            handle.cancel()
        for receiver in (self._unicast, self._group):
            if receiver is not None and receiver.transport is not None:
                receiver.transport.close()
                await receiver.closed


def _udp_socket(reuse: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if reuse:
        # ONVIF clients on the same host (wsdiscovery) hold 3702 with SO_REUSEADDR too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setblocking(False)
    return sock


async def serve_wsd(
    responder: WsdResponder,
    host: str = "127.0.0.1",
    port: int = WSD_PORT,
    *,
    multicast_interface: str | None = None,
    announce_to: Address | None = None,
    jitter: float = 0.0,
) -> WsdServer:
    """Serve WS-Discovery on host:port. With `multicast_interface` (a local IPv4 address)
    also join 239.255.255.250 there (binding 0.0.0.0) and announce to the group."""
    if multicast_interface is not None and host not in ("0.0.0.0", ""):
        raise ValueError(
            f"a socket bound to {host} never sees multicast; bind 0.0.0.0 to join "
            f"{MULTICAST_GROUP} on {multicast_interface}"
        )
    loop = asyncio.get_running_loop()
    multicast = multicast_interface is not None
    if multicast and announce_to is None:
        announce_to = (MULTICAST_GROUP, WSD_PORT)
    server = WsdServer(responder, announce_to=announce_to, jitter=jitter)
    unicast = _udp_socket(reuse=multicast)
    group = None
    try:
        if multicast:
            assert multicast_interface is not None
            # The wildcard socket takes unicast only; the group has a socket of its own,
            # so each datagram is known to have come by multicast or not.
            unicast.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_MULTICAST_ALL", 49), 0)
            unicast.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(multicast_interface)
            )
        unicast.bind((host, port))
        if multicast:
            assert multicast_interface is not None
            group = _udp_socket(reuse=True)
            group.bind((MULTICAST_GROUP, unicast.getsockname()[1]))
            membership = socket.inet_aton(MULTICAST_GROUP) + socket.inet_aton(multicast_interface)
            group.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    except OSError:
        unicast.close()
        if group is not None:
            group.close()
        raise
    _, server._unicast = await loop.create_datagram_endpoint(
        lambda: _Receiver(server, multicast=False), sock=unicast
    )
    if group is not None:
        _, server._group = await loop.create_datagram_endpoint(
            lambda: _Receiver(server, multicast=True), sock=group
        )
    server.host, server.port = unicast.getsockname()[:2]
    return server


# --- discover client ----------------------------------------------------------------------


async def discover_onvif(
    target: str = MULTICAST_GROUP,
    port: int = WSD_PORT,
    timeout: float = 2.0,
    interface: str | None = None,
    *,
    scopes: tuple[str, ...] = (),
    limit: int | None = None,
) -> list[dict[str, str]]:
    """Send one Probe for ONVIF devices and collect ProbeMatches until `timeout` (or `limit`).

    Each result: `address` (endpoint reference), `xaddrs`, `scopes` (space
    separated, as on the wire), `name`, `hardware`, `mac`, `location` (from the
    scopes) and `peer`; one per endpoint.
    """
    message_id = new_message_id()

    def read(reply: Reply) -> tuple[str, dict[str, str]] | None:
        data, addr = reply
        try:
            match = decode_announcement(data)
        except WsdDecodeError:
            return None
        if match.kind != "ProbeMatches" or match.relates_to != message_id:  # not to our Probe
            return None
        return match.address, _describe(match.address, match, addr)

    probe = build_probe(message_id, scopes=scopes)
    return await ask(probe, target, port, timeout, interface, read=read, limit=limit)


def _describe(address: str, match: Announcement, peer: tuple[str, int]) -> dict[str, str]:
    described = {
        "address": address,
        "xaddrs": " ".join(match.xaddrs),
        "scopes": " ".join(match.scopes),
        "peer": f"{peer[0]}:{peer[1]}",
    }
    for key, category in (("name", "name"), ("hardware", "hardware"), ("mac", "mac")):
        described[key] = scope_value(match.scopes, category)
    described["location"] = scope_value(match.scopes, "location", last_only=False)
    return described


def scope_value(scopes: tuple[str, ...], category: str, *, last_only: bool = True) -> str:
    """What an onvif://www.onvif.org/<category>/… scope says; categories match any case."""
    prefix = f"onvif://www.onvif.org/{category}/".lower()
    for scope in scopes:
        if scope.lower().startswith(prefix):
            rest = unquote(scope[len(prefix) :])
            return rest.rsplit("/", 1)[-1] if last_only else rest
    return "-"


_TABLE_COLUMNS = (
    ("XAddr", "xaddrs"),
    ("Name", "name"),
    ("Hardware", "hardware"),
    ("MAC", "mac"),
    ("Location", "location"),
    ("Endpoint", "address"),
)


def format_onvif_table(results: list[dict[str, str]]) -> str:
    """Discover results as an aligned text table, sorted by XAddr."""
    if not results:
        return "No ONVIF device answered."
    rows = [[title for title, _ in _TABLE_COLUMNS]]
    rows += [
        [r.get(key, "-") for _, key in _TABLE_COLUMNS]
        for r in sorted(results, key=lambda r: r["xaddrs"])
    ]
    return text_table(rows, rule=True)
