"""A device's listening socket, accepted on the event loop without an asyncio.Server.

Every device listens on its own address (HTTP, RTSP): 20,000 sockets for 10,000
cameras. `loop.create_server` makes a Server for each, with its bookkeeping and a turn
of the event loop, which was a third of a large fleet's start; a `Listener` is the
socket, one reader on the loop, and the protocol factory each accepted connection gets,
as asyncio's own server gives it (`loop.connect_accepted_socket`).

Choices where asyncio's server is the model: up to `backlog` connections are taken per
wake-up; when the process runs out of descriptors (or buffers) accepting pauses for a
second instead of spinning, and the error is logged once a pause.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # as asyncio's server, after EMFILE and the like
_OUT_OF = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Listener:
    """Serve `factory`'s protocol on `sock` (bound, not yet listening) until `close`."""

    __slots__ = ("_backlog", "_closed", "_connecting", "_factory", "_loop", "sock")

    def __init__(
        self, sock: socket.socket, factory: Callable[[], asyncio.Protocol], backlog: int = 128
    ) -> None:
        self.sock, self._factory, self._backlog = sock, factory, backlog
        self._loop = asyncio.get_running_loop()
        self._connecting: set[asyncio.Task[object]] = set()
        self._closed = False
        sock.listen(backlog)
        self._loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(self._backlog):
            try:
                conn, _peer = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF:
                    raise
                log.warning("%s: cannot accept (%s); pausing", self.sock.getsockname(), exc)
                self._loop.remove_reader(self.sock.fileno())
                self._loop.call_later(RETRY_SECONDS, self._resume)
                return
            conn.setblocking(False)
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the client left before its transport was made
            conn.close()

    def _resume(self) -> None:
        if not self._closed:
            self._loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop listening; connections already made are the protocol's to end."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for task in self._connecting:
            task.cancel()
