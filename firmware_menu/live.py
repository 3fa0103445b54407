"""One menu session on a live device, over a WebSocket of the control API.

`nvrsim menu` attached to a running `nvrsim run` is a thin terminal: it sends
the bytes the user types and draws the bytes it gets. The session itself (the
`MenuModel` and its prompt_toolkit app) runs here, in the simulator's process,
on the very device SADP, ISAPI and the clouds serve, so an unbind in the menu
is what they answer next. This copies how prompt_toolkit serves telnet: a pipe
input fed from the socket and a VT100 output written to it.

The wire: binary frames carry terminal bytes both ways; a text frame from the
client is JSON `{"columns": C, "rows": R}` when its window changes size, or
`{"lang": "fr"}` to switch the session's language (the dashboard's terminal follows
the page's). The first text frame to the client names the session, `{"session": ID}`.

A session can be watched read-only (`MenuSession.watch`): a watcher gets every frame
the owner gets, drawn at the owner's size (a text frame `{"columns": C, "rows": R}`
on joining and whenever the owner resizes); what it sends is dropped. On joining it
gets a full redraw, the one prompt_toolkit makes after a resize, so it need not have
seen the session from its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web
from prompt_toolkit.application import Application, create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from nvrsim.firmware_menu import i18n
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
    doc = _json_object(text)
    return terminal_size(doc.get("columns"), doc.get("rows"))


def parse_language(text: str) -> str | None:
    lang = _json_object(text).get("lang")
    return lang if isinstance(lang, str) and lang in i18n.LANGUAGES else None


def _json_object(text: str) -> dict:
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclass(eq=False)
class MenuSession:
    """One open menu session as others see it: its device, its size and its watchers."""

    serial: str
    model: MenuModel
    size: Size = DEFAULT_SIZE
    id: str = field(default_factory=lambda: secrets.token_urlsafe(6))
    # each watcher's frames still to send: a watcher never holds up the session's owner
    watchers: dict[web.WebSocketResponse, asyncio.Queue[bytes | str | None]] = field(
        default_factory=dict
    )
    redraw: Callable[[], None] = lambda: None  # a full redraw, set while it runs
    ended: bool = False

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "serial": self.serial,
            "lang": self.model.lang,
            "columns": self.size.columns,
            "rows": self.size.rows,
            "watchers": len(self.watchers),
        }

    def broadcast(self, frame: bytes | str | None) -> None:
        """Queue `frame` for every watcher (None: the session has ended). A watcher too
        far behind is dropped, as the event stream drops a slow listener: watching
        again gets it a whole screen."""
        self.ended = self.ended or frame is None
        for queue in list(self.watchers.values()):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                queue.get_nowait()  # room for the end, which closes its socket
                queue.put_nowait(None)

    def size_message(self) -> str:
        return json.dumps({"columns": self.size.columns, "rows": self.size.rows})

    async def watch(self, ws: web.WebSocketResponse) -> None:
        """Show `ws` this session until it leaves or the session ends; drop what it sends."""
        queue: asyncio.Queue[bytes | str | None] = asyncio.Queue(WATCHER_BACKLOG)
        queue.put_nowait(None if self.ended else self.size_message())
        self.watchers[ws] = queue
        self.redraw()
        sending = asyncio.ensure_future(_send_queued(ws, queue))
        try:
            async for _message in ws:
                pass  # read-only: a watcher's keys and clicks go nowhere
        finally:
            self.watchers.pop(ws, None)
            sending.cancel()


WATCHER_BACKLOG = 1000  # frames a watcher may lag behind before it is dropped


async def _send_queued(ws: web.WebSocketResponse, queue: asyncio.Queue[bytes | str | None]) -> None:
    with contextlib.suppress(ConnectionError):
        while (frame := await queue.get()) is not None:
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        await ws.close(message=b"the session has ended")


async def serve_menu(
    ws: web.WebSocketResponse,
    model: MenuModel,
    size: Size = DEFAULT_SIZE,
    after_input: Callable[[], object] = lambda: None,
    session: MenuSession | None = None,
) -> None:
    """Run `model`'s app on `ws` until either side ends it; `after_input` runs after
    each key press or click has been handled (the caller records what it changed).
    With a `session`, its watchers see what `ws` sees."""
    stdout = _SocketStdout()
    session = session or MenuSession("", model, size)
    session.size = size

    async def send_frames() -> None:
        await ws.send_str(json.dumps({"session": session.id}))
        while (frame := await stdout.frames.get()) is not None:
            await ws.send_bytes(frame)
            session.broadcast(frame)

    async def receive(keys: PipeInput, app: Application[None]) -> None:
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                keys.send_bytes(message.data)
            elif message.type is not WSMsgType.TEXT:
                continue
            elif resized := parse_resize(message.data):
                session.size = resized
                session.broadcast(session.size_message())
                app._on_resize()  # what prompt_toolkit's telnet server calls on NAWS
            elif lang := parse_language(message.data):
                model.lang = lang
                app._on_resize()  # nearly every word changes: draw the screen anew

    with create_pipe_input() as keys:
        output = Vt100_Output(stdout, lambda: session.size, term="xterm-256color", enable_cpr=False)
        app = build_app(model, input=keys, output=output)
        session.redraw = app._on_resize
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
            session.redraw = lambda: None
            session.broadcast(None)
            await ws.close()
