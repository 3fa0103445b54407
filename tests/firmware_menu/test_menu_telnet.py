"""The menu over telnet: each connection its own session on one shared device.

The client is a raw asyncio TCP connection that answers the server's telnet
negotiation just enough (terminal type and window size) and keeps reading what
the server draws. The checks look at the server's session models; waiting for a
session to reach a state polls the model between reads, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib

from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.firmware_menu.telnet import MenuTelnetServer
from tests.conftest import PASSWORD, hik_entry, make_fleet

IAC, SB, SE, WILL = 255, 250, 240, 251
TTYPE, NAWS, IS = 24, 31, 0
DOWN, UP, ENTER = "\x1b[B", "\x1b[A", "\r"


class TelnetClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = 0
        self._drain = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, host: str, port: int, columns: int = 120, rows: int = 40):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            bytes([IAC, WILL, TTYPE, IAC, SB, TTYPE, IS])
            + b"xterm"
            + bytes([IAC, SE, IAC, WILL, NAWS, IAC, SB, NAWS, 0, columns, 0, rows, IAC, SE])
        )
        await writer.drain()
        return cls(reader, writer)

    async def _read(self) -> None:
        while chunk := await self.reader.read(65536):
            self.received += len(chunk)

    async def send(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        with contextlib.suppress(ConnectionError):
            await self._drain


async def until(condition, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)  # yields to the server's reads; bounded below

    await asyncio.wait_for(poll(), timeout)


async def test_two_telnet_sessions_log_in_separately_on_one_device(clock):
    device = make_fleet(hik_entry(), clock=clock).devices[0]
    async with MenuTelnetServer(device, clock, "127.0.0.1", 0) as server:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        a = await TelnetClient.connect(host, port)
        await until(lambda: len(server.sessions) == 1)
        b = await TelnetClient.connect(host, port)
        await until(lambda: len(server.sessions) == 2)
        session_a, session_b = server.sessions
        assert session_a is not session_b and session_a.device is session_b.device is device
        await until(lambda: a.received > 0 and b.received > 0)  # both were drawn

        await a.send(PASSWORD + ENTER)
        await until(lambda: session_a.screen is Screen.MENU)
        assert session_b.screen is Screen.LOGIN

        await b.send("wrong" + ENTER)
        await until(lambda: "attempt(s) left" in session_b.notice)
        assert session_a.screen is Screen.MENU
        await b.send(PASSWORD + ENTER)
        await until(lambda: session_b.screen is Screen.MENU)

        # A unbinds from Platform Access; B, on the same device, sees it on its own page.
        await a.send((DOWN + ENTER) * 3 + UP + ENTER)
        await until(lambda: session_a.dialog is not None)
        await a.send(PASSWORD + ENTER)
        await until(lambda: device.hik_connect.bound_account is None)
        await b.send((DOWN + ENTER) * 3)
        await until(lambda: session_b.page().title == "Platform Access")
        assert session_b.item("Bind Status").value == "Not bound"
        assert session_b.dialog is None and session_a.dialog is not None

        await a.close()
        await until(lambda: len(server.sessions) == 1)
        assert server.sessions == [session_b]
        await b.close()
        await until(lambda: not server.sessions)


async def test_a_telnet_session_that_is_left_open_ends_with_the_server(clock):
    device = make_fleet(hik_entry(), clock=clock).devices[0]
    server = MenuTelnetServer(device, clock)
    await server.start()
    client = await TelnetClient.connect(*server.address)
    await until(lambda: len(server.sessions) == 1)
    assert isinstance(server.sessions[0], MenuModel)
    await server.stop()
    assert not server.sessions
    await client.close()


async def test_telnet_sessions_start_in_the_servers_language(clock):
    device = make_fleet(hik_entry(), clock=clock).devices[0]
    async with MenuTelnetServer(device, clock, "127.0.0.1", 0, lang="es") as server:
        client = await TelnetClient.connect(*server.address)
        await until(lambda: len(server.sessions) == 1)
        (session,) = server.sessions
        await client.send(PASSWORD + ENTER)
        await until(lambda: session.screen is Screen.MENU)
        assert session.lang == "es" and session.page().title == "Menú principal"
        await client.close()
