"""A device's listening socket: connections accepted, accepting paused when out of
descriptors, nothing accepted after close."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import weakref

import pytest

from nvrsim.simulator.core.residents import bind
from nvrsim.simulator.runtime import listener as listener_module
from nvrsim.simulator.runtime.listener import Listener


class Hello(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"hello")
        transport.close()


class OutOfDescriptorsOnce(socket.socket):
    """A listening socket whose first accept fails as a process without descriptors does."""

    failed = False

    def accept(self):  # type: ignore[override]
        if not OutOfDescriptorsOnce.failed:
            OutOfDescriptorsOnce.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


@pytest.fixture(autouse=True, params=["epoll", "readers"])
def watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test with the listening sockets in one epoll, and as readers on the loop (where
    there is no epoll)."""
    if request.param == "readers":
        monkeypatch.setattr(listener_module, "_WATCHES", weakref.WeakKeyDictionary())
        monkeypatch.delattr(listener_module.select, "epoll")


async def greeting(address: tuple[str, int]) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    try:
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


async def test_each_connection_gets_the_factorys_protocol():
    listener = Listener(bind("127.0.0.1", 0), Hello)
    try:
        address = listener.sock.getsockname()
        assert await asyncio.gather(*(greeting(address) for _ in range(5))) == [b"hello"] * 5
    finally:
        listener.close()


async def test_out_of_descriptors_pauses_accepting_then_serves_the_waiting_client(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(listener_module, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(OutOfDescriptorsOnce, "failed", False)
    plain = bind("127.0.0.1", 0)
    sock = OutOfDescriptorsOnce(fileno=plain.detach())
    sock.setblocking(False)
    listener = Listener(sock, Hello)
    try:
        with caplog.at_level(logging.WARNING):
            assert await greeting(sock.getsockname()) == b"hello"
        assert OutOfDescriptorsOnce.failed
        assert "cannot accept" in caplog.text and "pausing" in caplog.text
    finally:
        listener.close()


async def test_a_closed_listener_refuses_connections():
    listener = Listener(bind("127.0.0.1", 0), Hello)
    address = listener.sock.getsockname()
    listener.close()
    listener.close()  # twice is harmless
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(*address)
