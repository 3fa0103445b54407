"""Discovery answers never leak across inquiries: once, right after a hostile burst,
`nvrsim discover sadp` reported 2006 devices for a 6-device fleet (issue 17).

The server side: the fleet's answer to a large inquiry is paced (runtime/udp.py), so it
can outlive the socket that asked; the kernel then gives that port to the next program
that asks, which heard the rest of the old answer as well as its own. The client side:
each discover client counts only answers to its own request, each device once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid

import pytest

from nvrsim.protocols.sadp import (
    ProbeType,
    build_device_match,
    build_inquiry,
    decode_probe,
    decode_probe_match,
)
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.hikvision.sadp import (
    SadpResponder,
    device_info,
    discover_sadp,
    serve_sadp,
)
from nvrsim.simulator.runtime.udp import DiscoveryProtocol, DiscoveryServer, ask
from tests.conftest import hik_entry, make_fleet

FLEET = 200  # more than one burst (32), so the answer is paced

Heard = dict[str, int]  # datagrams by the Uuid they echo


@pytest.fixture
async def sadp(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch):
    # A long breather stretches a paced answer to about a second, so that the next asker
    # certainly comes while it is under way, however loaded the machine.
    monkeypatch.setattr(DiscoveryProtocol, "BREATHER", 0.15)
    cam = hik_entry("cam", count=FLEET, kind="ipc", model="DS-2CD2385G1-I")
    fleet = make_fleet(cam, clock=clock)
    server = await serve_sadp(SadpResponder(fleet, clock), "127.0.0.1", 0)
    yield server
    await server.close()


def asker(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def inquire(sock: socket.socket, server: DiscoveryServer) -> str:
    inquiry_id = str(uuid.uuid4()).upper()
    await asyncio.get_running_loop().sock_sendto(
        sock, build_inquiry(inquiry_id), (server.host, server.port)
    )
    return inquiry_id


async def listen(
    sock: socket.socket, heard: Heard, until_all_of: str, deadline: float = 30
) -> None:
    """Count every datagram the socket gets, as a tool that counts what arrives, until the
    fleet's whole answer to `until_all_of` is in (the deadline bounds a broken run)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while heard.get(until_all_of, 0) < FLEET and loop.time() < end:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), end - loop.time())
        except TimeoutError:
            break
        echoed = decode_probe_match(data).uuid
        heard[echoed] = heard.get(echoed, 0) + 1


def drain(sock: socket.socket, heard: Heard) -> None:
    """What has arrived and not been read yet."""
    while True:
        try:
            echoed = decode_probe_match(sock.recv(65535)).uuid
        except BlockingIOError:
            return
        heard[echoed] = heard.get(echoed, 0) + 1


NEAR_VALID = b"<Probe><Uuid>junk</Uuid><Types>Inquiry</Types></Probe>"  # no prolog, odd case


@pytest.mark.parametrize("first_asks", ["an inquiry", "a near-valid inquiry in junk"])
async def test_the_next_holder_of_a_port_hears_only_the_answer_to_its_own_inquiry(sadp, first_asks):
    loop = asyncio.get_running_loop()
    first = asker()
    port = first.getsockname()[1]
    if first_asks == "an inquiry":
        await inquire(first, sadp)
    else:
        await loop.sock_sendto(first, NEAR_VALID, (sadp.host, sadp.port))
    await loop.sock_recv(first, 65535)  # the fleet has begun answering
    first.close()  # the tool quit; the kernel may give its port to the next one
    second = asker(port)
    heard: Heard = {}
    mine = await inquire(second, sadp)
    await listen(second, heard, until_all_of=mine)
    drain(second, heard)
    second.close()
    # Before the fix: about 370 datagrams, the fleet's answer plus most of the old one
    # (the 2006 of issue 17 for a bigger burst).
    assert heard == {mine: FLEET}


async def test_a_new_inquiry_from_the_same_socket_ends_the_rest_of_the_old_answer(sadp):
    loop = asyncio.get_running_loop()
    sock = asker()
    old = await inquire(sock, sadp)
    await loop.sock_recv(sock, 65535)
    heard: Heard = {old: 1}
    new = await inquire(sock, sadp)
    await listen(sock, heard, until_all_of=new)
    drain(sock, heard)
    sock.close()
    assert heard[new] == FLEET
    assert heard[old] < FLEET  # cut short: the tool asked again, the old answer is stale


async def test_a_flood_of_askers_queues_bounded_work_the_oldest_answer_dropped_first(
    sadp, monkeypatch
):
    monkeypatch.setattr(DiscoveryProtocol, "ASKERS", 2)
    # Answers long enough that all three askers are heard while the first is under way.
    monkeypatch.setattr(DiscoveryProtocol, "BREATHER", 0.4)
    askers = [asker() for _ in range(3)]
    ids = [await inquire(sock, sadp) for sock in askers]
    heard: Heard = {}
    await listen(askers[-1], heard, until_all_of=ids[-1])
    assert heard == {ids[-1]: FLEET}
    oldest: Heard = {}
    drain(askers[0], oldest)
    for sock in askers:
        sock.close()
    assert oldest.get(ids[0], 0) < FLEET  # dropped once a third asker came


# --- the client: only answers to its own request, each device once ----------------------


STALE = 400  # all fit in the client's receive buffer
ASKED = "00000000-0000-4000-8000-000000000000"  # stands for the inquiry's Uuid until it comes


INFO = device_info(make_fleet().devices[0], "127.0.0.1", 0.0)


def answer(number: int, inquiry: str = ASKED) -> bytes:
    """A whole, valid answer to `inquiry`: a fleet device's, under a MAC of its own."""
    mac = f"58-50-ed-00-{number >> 8:02x}-{number & 0xFF:02x}"
    return build_device_match(inquiry, ProbeType.INQUIRY, dataclasses.replace(INFO, mac=mac))


class Crowd(asyncio.DatagramProtocol):
    """A fake LAN: answers an inquiry with six devices' true answers, each twice, and junk,
    then with the answers of `STALE` other devices to another inquiry (another Uuid).
    Built beforehand: the client waits on the same loop."""

    TRUE = [answer(number) for number in range(6)]
    OTHERS = [answer(number + 100, str(uuid.uuid4()).upper()) for number in range(STALE)]

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        asked = decode_probe(data).uuid.encode()
        for match in self.TRUE:
            match = match.replace(ASKED.encode(), asked)
            self.transport.sendto(match, addr)
            self.transport.sendto(match, addr)
            self.transport.sendto(b"<ProbeMatch><Uuid>" + asked, addr)
        for match in self.OTHERS:
            self.transport.sendto(match, addr)


async def test_discover_sadp_counts_only_answers_echoing_its_uuid_each_device_once():
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    sock.bind(("127.0.0.1", 0))
    transport, _ = await loop.create_datagram_endpoint(Crowd, sock=sock)
    try:
        found = await discover_sadp("127.0.0.1", sock.getsockname()[1], timeout=1.0)
    finally:
        transport.close()
    assert sorted(f["MAC"] for f in found) == [f"58-50-ed-00-00-{n:02x}" for n in range(6)]


class Echoes(asyncio.DatagramProtocol):
    """A fake LAN for `ask` itself: to request `Q:<id>`, devices a and b answer twice
    each, device c answers another request's id, and junk comes between."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        asked = data.removeprefix(b"Q:")
        for answer in (b"c:other", b"\xff", b"a:", b"b:", b"a:", b"b:"):
            self.transport.sendto(answer + (asked if answer.endswith(b":") else b""), addr)


def read_echo(request_id: bytes):
    def read(reply):
        device, _, answered = reply[0].partition(b":")
        return (device, device.decode()) if answered == request_id else None

    return read


@pytest.mark.parametrize(("limit", "expected"), [(None, ["a", "b"]), (1, ["a"])])
async def test_ask_keeps_only_answers_to_its_request_each_device_once(limit, expected):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Echoes, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        found = await ask(b"Q:7", "127.0.0.1", port, 1.0, read=read_echo(b"7"), limit=limit)
    finally:
        transport.close()
    assert found == expected
