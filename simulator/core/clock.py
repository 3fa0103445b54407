"""The one source of time for every rule.

Rules never read the system clock: they get `now` from a Clock, so a test or a
trainer can fast-forward lockouts and review periods with a VirtualClock.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class RealClock:
    def now(self) -> float:
        return time.time()


class VirtualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds

    def set(self, epoch: float) -> None:
        self._now = float(epoch)


class ScaledClock:
    """The running simulator's clock: real time that a tester may jump forward or speed up.

    `advance(48 * 3600)` ends a 48-hour review at once; `speed = 60` makes each real
    second a minute. Elapsed time is measured on the monotonic clock, so a change
    of the host's clock does not move it.
    """

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        self._check_speed(speed)
        self._base = time.time() if start is None else float(start)
        self._since = time.monotonic()
        self._speed = float(speed)

    def now(self) -> float:
        return self._base + (time.monotonic() - self._since) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        self._check_speed(speed)
        self._rebase(self.now())
        self._speed = float(speed)

    @property
    def offset(self) -> float:
        """How far ahead of the host's clock this one is, in seconds."""
        return self.now() - time.time()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._rebase(self.now() + seconds)

    def set(self, epoch: float) -> None:
        self._rebase(float(epoch))

    def _rebase(self, now: float) -> None:
        self._base, self._since = now, time.monotonic()

    @staticmethod
    def _check_speed(speed: float) -> None:
        if not 0 <= speed <= 1_000_000:
            raise ValueError("speed must be from 0 (stopped) to 1000000")
