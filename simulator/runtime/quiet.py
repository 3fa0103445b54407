"""Hostile load stays quiet: aiohttp logs every malformed HTTP request with a traceback
at ERROR (244 lines for 600 junk requests); we log one short line each instead, at most
`per_minute` a minute, say so on the minute's last line, and say how many were left out
on the next line shown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError


class QuietBadRequests(logging.Filter):
    def __init__(self, per_minute: int = 10, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.per_minute, self.clock = per_minute, clock
        self._window, self._shown, self._left_out = -1.0, 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True  # a real fault in a handler keeps its traceback
        now = self.clock()
        if now - self._window >= 60:
            self._window, self._shown = now, 0
        if self._shown >= self.per_minute:
            self._left_out += 1
            return False
        self._shown += 1
        reason = (exc.message or type(exc).__name__).strip().splitlines()[0].rstrip(":")
        left_out, self._left_out = self._left_out, 0
        last = self._shown == self.per_minute  # said, so a flood's end does not hide the rest
        record.msg = (
            "malformed HTTP request from %s: %s"
            + (f" ({left_out} more left out)" if left_out else "")
            + (" (more this minute will be left out)" if last else "")
        )
        record.args = (*(record.args or ("?",))[:1], reason)
        record.exc_info, record.exc_text = None, None
        if record.levelno > logging.WARNING:  # a client's fault, not the simulator's
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


QUIET = QuietBadRequests()


def quiet_bad_requests() -> None:
    """Filter aiohttp's server log (adding the one filter twice is a no-op)."""
    logging.getLogger("aiohttp.server").addFilter(QUIET)
