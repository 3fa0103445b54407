"""The discovery transport: a large answer is written a burst at a time, as it is sent."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from nvrsim.simulator.core.faults import DiscoveryReply
from nvrsim.simulator.runtime.udp import DiscoveryProtocol, bind_discovery

REPLIES = 100  # three full bursts of 32 and a bit


async def ask(server) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_sendto(sock, b"who is there", (server.host, server.port))
    return sock


async def test_a_paced_answer_is_written_a_burst_at_a_time(monkeypatch: pytest.MonkeyPatch):
    """The first reply leaves before the rest are written: 100,000 devices' replies took
    seconds to write before the first went out. A breather far longer than the test
    keeps the second burst from coming, however loaded the machine."""
    monkeypatch.setattr(DiscoveryProtocol, "BREATHER", 600.0)
    written: list[int] = []

    def respond(_data: bytes, _peer: tuple[str, int]):
        for number in range(REPLIES):
            written.append(number)
            yield DiscoveryReply(b"reply %d" % number)

    server = await bind_discovery("TEST", respond, "127.0.0.1", 0)
    try:
        with await ask(server) as sock:
            first = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 100), 30)
            assert first == b"reply 0"
            assert written == list(range(DiscoveryProtocol.BURST))
    finally:
        await server.close()


async def test_a_responder_failing_halfway_ends_that_answer_and_not_the_socket(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(DiscoveryProtocol, "BREATHER", 0.0)
    calls = 0

    def respond(_data: bytes, _peer: tuple[str, int]):
        nonlocal calls
        calls += 1
        yield DiscoveryReply(b"before")
        if calls == 1:
            raise RuntimeError("a responder bug")
        yield DiscoveryReply(b"after")

    server = await bind_discovery("TEST", respond, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    try:
        with caplog.at_level(logging.ERROR), await ask(server) as sock:
            assert await asyncio.wait_for(loop.sock_recv(sock, 100), 30) == b"before"
            await loop.sock_sendto(sock, b"again", (server.host, server.port))
            heard = [await asyncio.wait_for(loop.sock_recv(sock, 100), 30) for _ in range(2)]
        assert heard == [b"before", b"after"]
        assert "TEST: the responder failed" in caplog.text
    finally:
        await server.close()
