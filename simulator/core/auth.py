"""Login, lockout and activation rules shared by every front end.

A front end never sees the stored password. It hands the rule a `Proof`: a
function that, given the true password, says whether the client's credential
matches it. Plain passwords, HTTP Digest responses and SADP's encrypted
passwords are all checked this way, by one rule with one lockout.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

Proof = Callable[[str], bool]


def plain(password: str) -> Proof:
    return lambda true_password: true_password == password


@dataclass(frozen=True)
class LockoutPolicy:
    """Hikvision: 7 failed admin logins lock the client address for 30 minutes."""

    max_failures: int = 7
    lock_seconds: float = 1800.0


class LoginResult(Enum):
    OK = "ok"
    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"
    NOT_ACTIVATED = "not_activated"


@dataclass(frozen=True)
class LoginOutcome:
    result: LoginResult
    retries_left: int
    unlock_in: int  # whole seconds until the lock lifts, 0 when not locked

    @property
    def granted(self) -> bool:
        return self.result is LoginResult.OK

    @property
    def unlock_in_minutes(self) -> int:
        return math.ceil(self.unlock_in / 60)


@dataclass(slots=True)
class _Attempts:
    failures: int = 0
    locked_until: float = 0.0


class Lockout:
    """Failed logins counted per client address, as the devices do.

    A device has two (network and local console) and most never see a failed login, so
    the count is kept in a table made at the first failure.
    """

    __slots__ = ("_clients", "policy")

    # A flood of spoofed addresses must not grow memory without bound.
    MAX_TRACKED = 4096

    def __init__(self, policy: LockoutPolicy | None = None) -> None:
        self.policy = policy or LockoutPolicy()
        self._clients: dict[str, _Attempts] | None = None

    def _attempts(self, client: str, now: float) -> _Attempts:
        clients = self._clients or {}
        attempts = clients.get(client)
        if attempts is None:
            return _Attempts()
        if attempts.locked_until and now >= attempts.locked_until:
            del clients[client]  # the lock expired: a clean slate
            return _Attempts()
        return attempts

    def unlock_in(self, client: str, now: float) -> int:
        attempts = self._attempts(client, now)
        return math.ceil(attempts.locked_until - now) if attempts.locked_until else 0

    def retries_left(self, client: str, now: float) -> int:
        return max(0, self.policy.max_failures - self._attempts(client, now).failures)

    def locked(self, now: float) -> dict[str, int]:
        """Every client locked out now, with the seconds until its lock lifts."""
        return {c: s for c in list(self._clients or ()) if (s := self.unlock_in(c, now))}

    def attempt(self, client: str, now: float, proof: Proof, password: str) -> LoginOutcome:
        if self._clients and self.unlock_in(client, now):  # no table: no failure, no lock
            return self._outcome(LoginResult.LOCKED, client, now)
        if proof(password):
            if self._clients:
                self._clients.pop(client, None)
            return _granted(self.policy.max_failures)  # a clean slate for the client
        if self._clients is None:
            self._clients = {}
        attempts = self._clients.get(client)
        if attempts is None:
            if len(self._clients) >= self.MAX_TRACKED:
                self._forget_one(now)
            attempts = self._clients[client] = _Attempts()
        attempts.failures += 1
        if attempts.failures >= self.policy.max_failures:
            attempts.locked_until = now + self.policy.lock_seconds
            return self._outcome(LoginResult.LOCKED, client, now)
        return self._outcome(LoginResult.WRONG_PASSWORD, client, now)

    def _outcome(self, result: LoginResult, client: str, now: float) -> LoginOutcome:
        return LoginOutcome(result, self.retries_left(client, now), self.unlock_in(client, now))

    def _forget_one(self, now: float) -> None:
        assert self._clients
        unlocked = [c for c, a in self._clients.items() if a.locked_until <= now]
        del self._clients[(unlocked or list(self._clients))[0]]

    def clear(self) -> None:
        self._clients = None


@lru_cache(maxsize=16)
def _granted(retries: int) -> LoginOutcome:
    """A granted login: the client's failures are forgotten, so its outcome is always this
    frozen value, made once per policy rather than per login."""
    return LoginOutcome(LoginResult.OK, retries, 0)


class ActivationResult(Enum):
    OK = "ok"
    ALREADY_ACTIVATED = "already_activated"
    RISKY_PASSWORD = "risky_password"


def is_risky_password(password: str, user: str = "admin") -> bool:
    """Hikvision's rule: 8 to 16 characters of at least two kinds, not containing the user name."""
    kinds = [string.digits, string.ascii_lowercase, string.ascii_uppercase]
    used = sum(any(c in k for c in password) for k in kinds)
    used += any(not c.isalnum() for c in password)
    return not (8 <= len(password) <= 16) or used < 2 or user.lower() in password.lower()
