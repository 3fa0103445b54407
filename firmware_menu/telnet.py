"""`nvrsim menu --telnet PORT`: the local menu of one device for every telnet client.

Each connection gets its own `MenuModel` (its own login, page and dialog) on the
same shared device, so two trainees can log in side by side and see each
other's changes on their next redraw. A session's failed logins count on the
device's local-console lockout, as they would at the one physical screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from prompt_toolkit.application import Application
from prompt_toolkit.contrib.telnet.server import TelnetConnection, TelnetServer

from nvrsim.firmware_menu.i18n import DEFAULT
from nvrsim.firmware_menu.model import MenuModel
from nvrsim.firmware_menu.view import build_app
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device

log = logging.getLogger(__name__)


class _Server(TelnetServer):
    """prompt_toolkit's server, remembering the port it bound (port 0 picks a free one)."""

    bound: tuple[str, int] | None = None

    def _create_socket(self, host: str, port: int) -> socket.socket:  # type: ignore[override]
        sock = super()._create_socket(host, port)
        self.bound = sock.getsockname()[:2]
        return sock


class MenuTelnetServer:
    """Serve `device`'s menu on `host:port` until `stop()` (or the `async with` ends)."""

    def __init__(
        self,
        device: Device,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lang: str = DEFAULT,
    ):
        self.device = device
        self.clock = clock
        self.lang = lang  # each new session's language; a session may change its own
        self.sessions: list[MenuModel] = []  # the models of the connections open now
        self._server = _Server(host=host, port=port, interact=self._interact, enable_cpr=False)
        self._task: asyncio.Task[None] | None = None
        self._apps: set[Application[None]] = set()
        self._no_sessions = asyncio.Event()

    @property
    def address(self) -> tuple[str, int]:
        if self._server.bound is None:
            raise RuntimeError("the telnet server is not listening yet")
        return self._server.bound

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._server.run(ready_cb=ready.set))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():  # run() ended before listening: bind failed
            waiter.cancel()
            await self._task

    async def stop(self, grace: float = 2.0) -> None:
        """Close every session (its client gets its terminal back), then stop listening."""
        for app in list(self._apps):
            if app.is_running and not app.future.done():
                app.exit()
        if self._apps:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_sessions.wait(), grace)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def serve_forever(self) -> None:
        if self._task is None:
            await self.start()
        assert self._task is not None
        await self._task

    async def __aenter__(self) -> MenuTelnetServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _interact(self, connection: TelnetConnection) -> None:
        model = MenuModel(self.device, self.clock, lang=self.lang)
        app = build_app(model)
        self.sessions.append(model)
        self._apps.add(app)
        self._no_sessions.clear()
        log.info("menu session from %s:%s", *connection.addr[:2])
        try:
            await app.run_async()
        except EOFError:
            pass  # the client hung up
        finally:
            self.sessions.remove(model)
            self._apps.discard(app)
            if not self._apps:
                self._no_sessions.set()
