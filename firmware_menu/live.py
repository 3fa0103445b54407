"""One menu session on a live device, over a WebSocket of the control API.

`nvrsim menu` attached to a running `nvrsim run` is a thin terminal: it sends
the bytes the user types and draws the bytes it gets. The session itself (the
`MenuModel` and its prompt_toolkit app) runs here, in the simulator's process,
on the very device SADP, ISAPI and the clouds serve, so an unbind in the menu
is what they answer next. This copies how prompt_toolkit serves telnet: a pipe
input fed from the socket and a VT100 output written to it.

The wire: binary frames carry terminal bytes both ways; a text frame from the
client is JSON `{"columns": C, "rows": R}` when its window changes size.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from aiohttp import WSMsgType, web
from prompt_toolkit.application import Application, create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from nvrsim.firmware_menu.model import MenuModel
from nvrsim.firmware_menu.view import build_app

DEFAULT_SIZE = Size(rows=40, columns=120)
MAX_SIZE = 1000  # rows or columns a client may ask for


class _SocketStdout:
    """The file a Vt100_Output writes to: each flush becomes one binary frame, in order."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._buffer: list[str] = []

    def write(self, data: str) -> None:
        self._buffer.append(data.replace("\n", "\r\n"))

    def flush(self) -> None:
        if self._buffer:
            self.frames.put_nowait("".join(self._buffer).encode())
            self._buffer.clear()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("a WebSocket has no file descriptor")


def terminal_size(columns: object, rows: object) -> Size | None:
    """The size a client asked for, or None when it makes no sense (it is then ignored)."""
    try:
        size = Size(rows=int(rows), columns=int(columns))  # type: ignore[call-overload]
    except (ValueError, TypeError):
        return None
    return size if 0 < size.columns <= MAX_SIZE and 0 < size.rows <= MAX_SIZE else None


def parse_resize(text: str) -> Size | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return terminal_size(doc.get("columns"), doc.get("rows")) if isinstance(doc, dict) else None


async def serve_menu(
    ws: web.WebSocketResponse,
    model: MenuModel,
    size: Size = DEFAULT_SIZE,
    after_input: Callable[[], object] = lambda: None,
) -> None:
    """Run `model`'s app on `ws` until either side ends it; `after_input` runs after
    each key press or click has been handled (the caller records what it changed)."""
    stdout = _SocketStdout()
    window = [size]  # the client's terminal size, changed by its resize messages

    async def send_frames() -> None:
        while (frame := await stdout.frames.get()) is not None:
            await ws.send_bytes(frame)

    async def receive(keys: PipeInput, app: Application[None]) -> None:
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                keys.send_bytes(message.data)
            elif message.type is WSMsgType.TEXT and (resized := parse_resize(message.data)):
                window[0] = resized
                app._on_resize()  # what prompt_toolkit's telnet server calls on NAWS

    with create_pipe_input() as keys:
        output = Vt100_Output(stdout, lambda: window[0], term="xterm-256color", enable_cpr=False)
        app = build_app(model, input=keys, output=output)
        app.key_processor.after_key_press += lambda _processor: after_input()
        with create_app_session(input=keys, output=output):
            # The simulator owns Ctrl-C and the loop's exception handler, not this session.
            running = asyncio.ensure_future(
                app.run_async(handle_sigint=False, set_exception_handler=False)
            )
        sender = asyncio.ensure_future(send_frames())
        reader = asyncio.ensure_future(receive(keys, app))
        try:
            await asyncio.wait({running, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not running.done():
                app.exit()
                with contextlib.suppress(Exception):
                    await running
            reader.cancel()
            stdout.flush()  # the app's last words: leave the alternate screen, show the cursor
            stdout.frames.put_nowait(None)
            with contextlib.suppress(ConnectionError):
                await sender
            await ws.close()
