"""The one unbind rule (seed 001): every front end that unbinds calls `unbind`.

Preconditions, checked in this order so each failing one has its own verdict:
the request comes from the device's LAN (where the front end knows the origin),
the device is activated, bound to an account, has Hik-Connect enabled and is
online on its platform server; then the admin password, with the lockout.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from nvrsim.simulator.core.auth import LoginOutcome, Proof
from nvrsim.simulator.core.device import LOCAL_CONSOLE, Device


class UnbindVerdict(Enum):
    OK = "ok"
    NOT_SAME_LAN = "not_same_lan"
    NOT_ACTIVATED = "not_activated"
    NOT_BOUND = "not_bound"
    HC_DISABLED = "hik_connect_disabled"
    OFFLINE = "offline"
    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"


@dataclass(frozen=True)
class UnbindOutcome:
    verdict: UnbindVerdict
    login: LoginOutcome | None = None  # set once the password was looked at

    @property
    def done(self) -> bool:
        return self.verdict is UnbindVerdict.OK


def unbind_status(device: Device) -> UnbindVerdict:
    """Whether an unbind could go ahead now, password aside (SADP `getUnbindStatus`)."""
    hc = device.hik_connect
    if not device.activated:
        return UnbindVerdict.NOT_ACTIVATED
    if not hc.bound:
        return UnbindVerdict.NOT_BOUND
    if not hc.enabled:
        return UnbindVerdict.HC_DISABLED
    if not device.cloud_online:
        return UnbindVerdict.OFFLINE
    return UnbindVerdict.OK


def unbind(
    device: Device, *, client: str | None, proof: Proof, now: float, user: str = "admin"
) -> UnbindOutcome:
    """Unbind `device` from its account.

    `client` is None for the recorder's own menu: no LAN to check, and the
    password goes through the local GUI's lockout.
    """
    if client is not None and not device.same_lan(client):
        return UnbindOutcome(UnbindVerdict.NOT_SAME_LAN)
    status = unbind_status(device)
    if status is not UnbindVerdict.OK:
        return UnbindOutcome(status)
    login = device.login(client or LOCAL_CONSOLE, proof, now, user)
    if not login.granted:
        verdict = UnbindVerdict.LOCKED if login.unlock_in else UnbindVerdict.WRONG_PASSWORD
        return UnbindOutcome(verdict, login)
    device.hik_connect.bound_account = None
    return UnbindOutcome(UnbindVerdict.OK, login)
