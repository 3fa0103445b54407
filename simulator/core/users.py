"""A device's user accounts: one store that every protocol reads and writes.

Everything that decides whether an account may be added, changed or deleted
lives here; it does not know which protocol asks. ONVIF CreateUsers, ISAPI
/Security/users and Dahua userManager all call these rules, and `Device.login`
looks passwords up here, so an account added through one protocol logs in
through every other one.

The built-in admin is one of the accounts (id 1, Administrator, always
enabled), but its password stays `Device.admin_password`, which activation,
password changes and factory resets have always set: `Accounts` holds the
others, and `Device.users()` lists admin first.

Choices where the public record is silent:
- Names: 1 to 32 characters, printable ASCII without spaces, `:` or quotes (a
  `:` would break HTTP Basic and Digest's A1); compared exactly, as devices do.
- Passwords: at most 64 characters (ter:PasswordTooLong); weaker than 8
  characters of at least two kinds (digits, lower, upper, other) is refused
  (ter:Password, Hikvision badPassword, Dahua "Invalid param").
- At most 32 accounts, admin included (Hikvision NVRs allow 31 others).
- The admin cannot be deleted, renamed, disabled or given another level.
- Ids count up from 2 and are never reused while the device runs, as ISAPI's
  /Security/users/<id> paths must stay stable.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from enum import Enum, StrEnum


class UserLevel(StrEnum):
    """ONVIF's levels; ISAPI calls User "Viewer", Dahua groups both others as "user"."""

    ADMINISTRATOR = "Administrator"
    OPERATOR = "Operator"
    USER = "User"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    password: str
    level: UserLevel = UserLevel.USER
    enabled: bool = True


class UserProblem(Enum):
    DUPLICATE = "duplicate"  # the name is taken
    UNKNOWN = "unknown"  # no such account
    FIXED = "fixed"  # the built-in admin cannot be deleted, demoted or disabled
    BAD_NAME = "bad_name"
    WEAK_PASSWORD = "weak_password"
    PASSWORD_TOO_LONG = "password_too_long"
    TOO_MANY = "too_many"


class UserError(Exception):
    def __init__(self, problem: UserProblem, name: str) -> None:
        super().__init__(f"{name!r}: {problem.value}")
        self.problem = problem
        self.name = name


ADMIN_ID = 1
MAX_USERS = 32
MAX_NAME = 32
MAX_PASSWORD = 64
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&()*+,-./;<=>?@[]^_`{|}~")


def check_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_NAME or not set(name) <= _NAME_CHARS:
        raise UserError(UserProblem.BAD_NAME, name)


def check_password(name: str, password: str) -> None:
    if len(password) > MAX_PASSWORD:
        raise UserError(UserProblem.PASSWORD_TOO_LONG, name)
    kinds = [string.digits, string.ascii_lowercase, string.ascii_uppercase]
    used = sum(any(c in k for c in password) for k in kinds)
    used += any(not c.isalnum() for c in password)
    if len(password) < 8 or used < 2:
        raise UserError(UserProblem.WEAK_PASSWORD, name)


class Accounts:
    """The accounts besides the built-in admin, in the order they were added."""

    __slots__ = ("_next_id", "_users")

    def __init__(self, users: tuple[User, ...] = ()) -> None:
        self._users: dict[str, User] = {u.name: u for u in users}
        self._next_id = max((u.id for u in users), default=ADMIN_ID) + 1

    def __iter__(self):
        return iter(list(self._users.values()))

    def __len__(self) -> int:
        return len(self._users)

    def get(self, name: str) -> User | None:
        return self._users.get(name)

    def add(self, name: str, password: str, level: UserLevel, enabled: bool, taken: int) -> User:
        """`taken`: how many accounts the device has besides these (its admin)."""
        check_name(name)
        if name in self._users:
            raise UserError(UserProblem.DUPLICATE, name)
        check_password(name, password)
        if len(self._users) + taken >= MAX_USERS:
            raise UserError(UserProblem.TOO_MANY, name)
        user = self._users[name] = User(self._next_id, name, password, level, enabled)
        self._next_id += 1
        return user

    def change(
        self,
        name: str,
        *,
        password: str | None = None,
        level: UserLevel | None = None,
        enabled: bool | None = None,
    ) -> User:
        user = self._users.get(name)
        if user is None:
            raise UserError(UserProblem.UNKNOWN, name)
        if password is not None:
            check_password(name, password)
        changed = replace(
            user,
            password=user.password if password is None else password,
            level=user.level if level is None else level,
            enabled=user.enabled if enabled is None else enabled,
        )
        self._users[name] = changed
        return changed

    def delete(self, name: str) -> None:
        if self._users.pop(name, None) is None:
            raise UserError(UserProblem.UNKNOWN, name)

    def clear(self) -> None:
        self._users.clear()
