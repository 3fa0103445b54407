"""Devices' listening sockets, accepted on the event loop without an asyncio.Server each.

Every device listens on its own address (HTTP, RTSP): 20,000 sockets for 10,000
cameras. `loop.create_server` makes a Server for each, with its bookkeeping and a turn
of the event loop, and even a bare `loop.add_reader` a handle and a selector key each:
together a third of a large fleet's start. Here the listening sockets of one event loop
are watched by one epoll of their own, itself a single reader on the loop; a `Listener`
is the socket and the protocol factory each accepted connection gets, as asyncio's own
server gives it (`loop.connect_accepted_socket`). Where there is no epoll (not Linux),
each socket is a reader on the loop.

Choices where asyncio's server is the model: up to `backlog` connections are taken per
wake-up; when the process runs out of descriptors (or buffers) that socket's accepting
pauses for a second instead of spinning, and the error is logged once a pause.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import select
import socket
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # as asyncio's server, after EMFILE and the like
_OUT_OF = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Listener:
    """Serve `factory`'s protocol on `sock` (bound, not yet listening) until `close`."""

    __slots__ = ("_backlog", "_connecting", "_factory", "_fd", "_loop", "_watch", "sock")

    def __init__(
        self, sock: socket.socket, factory: Callable[[], asyncio.Protocol], backlog: int = 128
    ) -> None:
        self.sock, self._fd, self._factory, self._backlog = sock, sock.fileno(), factory, backlog
        self._loop = asyncio.get_running_loop()
        self._watch = _watch_of(self._loop)
        self._connecting: set[asyncio.Task[object]] | None = None  # made on first accept
        sock.listen(backlog)
        self._watch.add(self._fd, self)

    def accept(self) -> None:
        """Take the connections waiting (the watch calls this when there are some)."""
        for _ in range(self._backlog):
            try:
                conn, _peer = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF:
                    raise
                log.warning("%s: cannot accept (%s); pausing", self.sock.getsockname(), exc)
                self._watch.remove(self._fd)
                self._loop.call_later(RETRY_SECONDS, self._resume)
                return
            conn.setblocking(False)
            if self._connecting is None:
                self._connecting = set()
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the client left before its transport was made
            conn.close()

    def _resume(self) -> None:
        if self.sock.fileno() != -1:  # not closed meanwhile
            self._watch.add(self._fd, self)

    def close(self) -> None:
        """Stop listening; connections already made are the protocol's to end."""
        if self.sock.fileno() == -1:
            return
        self._watch.remove(self._fd)
        self.sock.close()
        for task in self._connecting or ():
            task.cancel()


class _Epoll:
    """One event loop's listening sockets in an epoll of their own, read as one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._epoll = select.epoll()
        self._by_fd: dict[int, Listener] = {}
        loop.add_reader(self._epoll.fileno(), self._ready)

    def add(self, fd: int, listener: Listener) -> None:
        self._epoll.register(fd, select.EPOLLIN)
        self._by_fd[fd] = listener

    def remove(self, fd: int) -> None:
        if self._by_fd.pop(fd, None) is not None:
            self._epoll.unregister(fd)

    def _ready(self) -> None:
        for fd, _events in self._epoll.poll(0):
            listener = self._by_fd.get(fd)
            if listener is not None:
                listener.accept()


class _Readers:
    """Without epoll: each listening socket a reader on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._fds: set[int] = set()

    def add(self, fd: int, listener: Listener) -> None:
        self._loop.add_reader(fd, listener.accept)
        self._fds.add(fd)

    def remove(self, fd: int) -> None:
        if fd in self._fds:
            self._fds.discard(fd)
            self._loop.remove_reader(fd)


_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Epoll | _Readers] = (
    weakref.WeakKeyDictionary()
)


def _watch_of(loop: asyncio.AbstractEventLoop) -> _Epoll | _Readers:
    watch = _WATCHES.get(loop)
    if watch is None:
        watch = _WATCHES[loop] = _Epoll(loop) if hasattr(select, "epoll") else _Readers(loop)
    return watch
