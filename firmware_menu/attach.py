"""`nvrsim menu` attached to a running `nvrsim run`: a thin terminal for `live.py`.

The menu runs in the simulator, on the live device; this side only puts the
terminal in raw mode, sends what is typed and the window's size, and writes
what comes back. `bridge_telnet` does the same for each telnet client, so a
class can share one live recorder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import termios
import tty
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, urlencode

import aiohttp
from prompt_toolkit.contrib.telnet.protocol import (
    DO,
    ECHO,
    IAC,
    LINEMODE,
    NAWS,
    SB,
    SE,
    SUPPRESS_GO_AHEAD,
    WILL,
    TelnetProtocolParser,
)

from nvrsim.simulator.cli.ctl import Api, CtlError
from nvrsim.simulator.core.firmware import RECORDERS


def pick_device(api: Api, wanted: str | None) -> dict:
    """The device's document from the control API: by serial or name, else the first
    recorder. CtlError says what is wrong (not reachable, no such device, a camera)."""
    if wanted is None:
        recorders = [d for d in api.call("GET", "/api/devices") if d["kind"] in RECORDERS]
        if not recorders:
            raise CtlError("the running fleet has no recorder (NVR or DVR)")
        return recorders[0]
    device = api.call("GET", api.device_path(wanted))
    if device["kind"] not in RECORDERS:
        raise CtlError(
            f"{device['name']} is a {device['model']} ({device['kind']}) and has no local menu: "
            "only recorders (NVR, DVR) have one. Cameras are set up through their web page, "
            "SADP or the app."
        )
    return device


def menu_url(api: Api, serial: str, columns: int, rows: int, lang: str | None = None) -> str:
    base = api.base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    query = {"columns": columns, "rows": rows} | ({"lang": lang} if lang else {})
    return f"{base}/api/devices/{quote(serial, safe='')}/menu?{urlencode(query)}"


def resize_message(columns: int, rows: int) -> str:
    return json.dumps({"columns": columns, "rows": rows})


async def relay(
    api: Api,
    serial: str,
    size: tuple[int, int],
    draw: Callable[[bytes], object],
    on_ready: Callable[[Callable[[bytes | str], None]], Awaitable[None]],
    lang: str | None = None,
) -> str:
    """Hold one menu session open: `on_ready(send)` gets a function that queues typed
    bytes (or a resize message) for the simulator and returns when the user is done;
    `draw` gets the screen's bytes. Returns why the session ended."""
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    outbox: asyncio.Queue[bytes | str] = asyncio.Queue()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(
                menu_url(api, serial, *size, lang), headers=headers, heartbeat=30
            ) as ws,
        ):

            async def send() -> None:
                while True:
                    item = await outbox.get()
                    await (ws.send_bytes(item) if isinstance(item, bytes) else ws.send_str(item))

            async def receive() -> str:
                while (message := await ws.receive()).type is not aiohttp.WSMsgType.CLOSED:
                    if message.type is aiohttp.WSMsgType.BINARY:
                        draw(message.data)
                    elif message.type is aiohttp.WSMsgType.CLOSE:
                        return message.extra or ""  # why the simulator ended it
                return ""

            sending = asyncio.ensure_future(send())
            receiving = asyncio.ensure_future(receive())
            user = asyncio.ensure_future(on_ready(outbox.put_nowait))
            await asyncio.wait([receiving, user], return_when=asyncio.FIRST_COMPLETED)
            sending.cancel()
            user.cancel()
            if not receiving.done():  # the user left first
                await ws.close()
            return await receiving
    except aiohttp.WSServerHandshakeError as exc:
        raise CtlError(f"the control API refused the menu: {exc.status} {exc.message}") from None
    except aiohttp.ClientError as exc:
        raise CtlError(
            f"cannot reach the control API at {api.base}: {exc} "
            "(is `nvrsim run` running? --api or NVRSIM_API names another)"
        ) from None


# --- this terminal ------------------------------------------------------------------------


async def run_in_terminal(
    api: Api, serial: str, stdin: int = 0, stdout: int = 1, lang: str | None = None
) -> str:
    """The menu in this terminal, raw, until the app quits or the simulator stops."""
    loop = asyncio.get_running_loop()
    saved = termios.tcgetattr(stdin)

    async def typing(send: Callable[[bytes | str], None]) -> None:
        done = asyncio.Event()

        def typed() -> None:
            data = os.read(stdin, 4096)
            if data:
                send(data)
            else:  # end of input
                done.set()

        def resized() -> None:
            columns, rows = shutil.get_terminal_size()
            send(resize_message(columns, rows))

        loop.add_reader(stdin, typed)
        loop.add_signal_handler(signal.SIGWINCH, resized)
        try:
            await done.wait()
        finally:
            loop.remove_reader(stdin)
            loop.remove_signal_handler(signal.SIGWINCH)

    tty.setraw(stdin)
    try:
        return await relay(
            api,
            serial,
            tuple(shutil.get_terminal_size()),
            lambda b: os.write(stdout, b),
            typing,
            lang,
        )
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)


# --- telnet clients -----------------------------------------------------------------------

# The server echoes and sends characters one by one; the client reports its window size.
TELNET_HELLO = b"".join(
    (
        IAC + WILL + ECHO,
        IAC + WILL + SUPPRESS_GO_AHEAD,
        IAC + DO + LINEMODE,
        IAC + SB + LINEMODE + b"\x01\x00" + IAC + SE,  # LINEMODE MODE 0: not line by line
        IAC + DO + NAWS,
    )
)


async def bridge_telnet(
    api: Api,
    serial: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    lang: str | None = None,
) -> None:
    """One telnet connection, one menu session on the live device."""
    window: list[tuple[int, int]] = []  # the client's size, once it told it (NAWS)
    typed: list[bytes] = []
    sized = asyncio.Event()
    forward: Callable[[bytes | str], None] | None = None

    def data(chunk: bytes) -> None:
        if forward is None:
            typed.append(chunk)  # before the session opens
        else:
            forward(chunk)

    def size(rows: int, columns: int) -> None:
        window[:] = [(columns, rows)]
        sized.set()
        if forward is not None:
            forward(resize_message(columns, rows))

    parser = TelnetProtocolParser(data, size, lambda _ttype: None)
    writer.write(TELNET_HELLO)

    async def read_until_closed() -> None:
        while chunk := await reader.read(4096):
            parser.feed(chunk)

    reading = asyncio.ensure_future(read_until_closed())
    with contextlib.suppress(TimeoutError):  # a client that never tells gets 80x24
        await asyncio.wait_for(sized.wait(), 2.0)

    async def until_closed(send: Callable[[bytes | str], None]) -> None:
        nonlocal forward
        forward = send
        for chunk in typed:
            send(chunk)
        await reading

    def draw(screen: bytes) -> None:
        writer.write(screen.replace(b"\xff", b"\xff\xff"))  # IAC in data is doubled

    try:
        await relay(api, serial, window[0] if window else (80, 24), draw, until_closed, lang)
    except CtlError as exc:
        writer.write(f"\r\n{exc}\r\n".encode())
    finally:
        reading.cancel()
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def telnet_bridge(
    api: Api, serial: str, host: str, port: int, lang: str | None = None
) -> AsyncIterator[tuple[str, int]]:
    """Listen for telnet clients, each bridged to its own session; yields the address."""
    connections: set[asyncio.StreamWriter] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        try:
            await bridge_telnet(api, serial, reader, writer, lang)
        finally:
            connections.discard(writer)

    server = await asyncio.start_server(connected, host, port)
    try:
        yield server.sockets[0].getsockname()[:2]
    finally:
        server.close()
        for writer in connections:
            writer.close()
        await server.wait_closed()
