"""Hik-Connect's rules, pure: accounts, adding a device, captchas, and what a device does
when its cloud asks it something. Time comes in as `now`; no sockets here.

The binding lives on the device (`HikConnect.bound_account`), as SADP, ISAPI
and the menu read it; the cloud learns it from the device's status and asks
the device to change it (`device_operation`), so every front end agrees.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
from dataclasses import dataclass, field

from nvrsim.protocols import hikconnect as hc
from nvrsim.protocols.hikconnect import Region
from nvrsim.simulator.core.auth import plain
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.hikvision.unbind import UnbindVerdict, unbind

# ---------------------------------------------------------------- the device's side


def home_region(device: Device) -> Region | None:
    """The region whose cloud knows the device, online or not (its vendor says which)."""
    return device.home_region()


def link_region(device: Device) -> Region | None:
    """The region whose server the device registers with now, or None: it stays off the cloud.

    A device connects when it is powered, its link is not cut by the `cloud_offline`
    fault, and its platform is switched on: Hik-Connect enabled with a server address
    that names a region; Dahua's T2UServer enabled on an initialised device.
    """
    if not device.powered or device.faults.cloud_offline or not device.link_switched_on():
        return None
    return device.home_region()


def link_online(device: Device) -> bool:
    """What the link last achieved for `device`, where its vendor keeps it."""
    return device.link_online


def set_link_online(device: Device, online: bool) -> None:
    device.link_online = online


def device_status(device: Device, link_id: str, online: bool) -> hc.DeviceStatus:
    verification_code, bound_account = device.link_binding()
    return hc.DeviceStatus(
        serial=device.serial,
        device_serial=hc.short_serial(device.serial),
        model=device.model,
        name=device.name,
        firmware=device.firmware.text,
        verification_code=verification_code,
        bound_account=bound_account,
        online=online,
        link=link_id,
        address=device.network.ip,
    )


def device_operation(device: Device, request: hc.Request, now: float) -> hc.Reply:
    """Carry out what the cloud asks, by the device's own rules, and say how it went."""
    args = request.args
    h = device.hik_connect
    if request.op == hc.OP_BIND:
        account = args.get("account")
        if not isinstance(account, str) or not account:
            return hc.Reply(request.id, "bad_request")
        if h.bound_account not in (None, account):
            return hc.Reply(request.id, "bound_to_other")
        h.bound_account = account
        return hc.Reply(request.id, "ok")
    if request.op == hc.OP_RELEASE:
        if h.bound_account is None or h.bound_account != args.get("account"):
            return hc.Reply(request.id, "not_owner")
        h.bound_account = None
        return hc.Reply(request.id, "ok")
    # OP_UNBIND: the one unbind rule, with the app's address for the same-LAN check
    user, password, client = args.get("user"), args.get("password"), args.get("client")
    if not all(isinstance(v, str) for v in (user, password, client)):
        return hc.Reply(request.id, "bad_request")
    outcome = unbind(device, client=client, proof=plain(password), now=now, user=user)
    login = outcome.login
    return hc.Reply(
        request.id,
        outcome.verdict.value,
        retries_left=login.retries_left if login else 0,
        unlock_in=login.unlock_in if login else 0,
    )


# What the app sees for each refusal of the device's unbind rule.
UNBIND_CODES: dict[str, int] = {
    UnbindVerdict.OK.value: hc.OK,
    UnbindVerdict.NOT_SAME_LAN.value: hc.UNBIND_NOT_SAME_LAN,
    UnbindVerdict.NOT_ACTIVATED.value: hc.UNBIND_PASSWORD_WRONG,
    UnbindVerdict.NOT_BOUND.value: hc.UNBIND_NOT_BOUND,
    UnbindVerdict.HC_DISABLED.value: hc.OFFLINE_ADDED_BY_OTHER,
    UnbindVerdict.OFFLINE.value: hc.OFFLINE_ADDED_BY_OTHER,
    UnbindVerdict.WRONG_PASSWORD.value: hc.UNBIND_PASSWORD_WRONG,
    UnbindVerdict.LOCKED.value: hc.UNBIND_LOCKED,
}


# ---------------------------------------------------------------- the cloud's side


@dataclass
class DeviceRecord:
    """What the cloud knows of a device: its last status, and where it said it."""

    region: str
    status: hc.DeviceStatus


def add_device_code(
    record: DeviceRecord | None, *, online: bool, user: str, verification_code: str | None
) -> int:
    """The answer to searching (`verification_code` None) or adding a device.

    `online` is whether it is online in the region the user is logged in to: a
    device registered with another region's server is offline here.
    """
    if record is None:
        return hc.DEVICE_NOT_EXIST
    owner = record.status.bound_account
    if not online:
        if owner is None:
            return hc.OFFLINE_NOT_ADDED
        return hc.OFFLINE_ADDED_BY_YOU if owner == user else hc.OFFLINE_ADDED_BY_OTHER
    if owner is not None:
        return hc.ADDED_BY_YOU if owner == user else hc.ADDED_BY_OTHER
    if verification_code is None:
        return hc.ONLINE_NOT_ADDED
    if verification_code != record.status.verification_code:
        return hc.DEVICE_CODE_WRONG
    return hc.OK


def valid_device_serial(serial: str) -> bool:
    """The 9-character serial (digits on real labels; we accept letters and digits)."""
    return len(serial) == 9 and serial.isascii() and serial.isalnum()


def md5_hex(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


@dataclass
class Account:
    name: str  # the e-mail address or phone number the user logs in with
    password_md5: str
    region: str


class AccountError(Exception):
    def __init__(self, code: int, region: Region | None = None) -> None:
        super().__init__(hc.MESSAGES.get(code, str(code)))
        self.code, self.region = code, region


LOGIN_FAILURES_BEFORE_CAPTCHA = 5  # [I]


@dataclass
class Accounts:
    """Every account of every region: one store, as Hik-Connect's regions share a user base
    only to tell a user which region to go to (1100)."""

    accounts: dict[str, Account] = field(default_factory=dict)
    # Wrong passwords in a row, by account: past the limit a login needs the image code
    # (1015), as the real cloud asks (the hikconnect library's note).
    failures: dict[str, int] = field(default_factory=dict)

    def register(self, name: str, password_md5: str, region: Region) -> Account:
        key = name.strip().lower()
        if not key or not _is_md5(password_md5):
            raise AccountError(hc.PARAM_ERROR)
        if key in self.accounts:
            raise AccountError(hc.ACCOUNT_EXISTS)
        account = self.accounts[key] = Account(key, password_md5.lower(), region.id)
        return account

    def captcha_required(self, name: str) -> bool:
        return self.failures.get(name.strip().lower(), 0) >= LOGIN_FAILURES_BEFORE_CAPTCHA

    def login(
        self, name: str, password_md5: str, region: Region, *, captcha_passed: bool = False
    ) -> Account:
        """The account, or AccountError: 1013 none, 1015 the image code is needed (or was
        wrong), 1014 wrong password, 1100 another region's (with that region)."""
        account = self.accounts.get(name.strip().lower())
        if account is None:
            raise AccountError(hc.NO_ACCOUNT)
        if self.captcha_required(account.name) and not captcha_passed:
            raise AccountError(hc.CAPTCHA_WRONG)
        # bytes: compare_digest refuses non-ASCII str, and hostile input has plenty
        if not secrets.compare_digest(account.password_md5.encode(), password_md5.lower().encode()):
            self.failures[account.name] = self.failures.get(account.name, 0) + 1
            raise AccountError(hc.WRONG_PASSWORD)
        self.failures.pop(account.name, None)
        if account.region != region.id:
            raise AccountError(hc.WRONG_REGION, hc.region(account.region))
        return account


def _is_md5(text: str) -> bool:
    return len(text) == 32 and all(c in string.hexdigits for c in text)


# ---------------------------------------------------------------- sessions


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class _Session:
    account: str
    expires: float
    refresh: str


@dataclass
class Sessions:
    """Logged-in sessions. A session id is JWT-shaped, as the real one is (clients read its
    `exp` claim to know when to refresh): header, claims, and a random third part that
    makes it unguessable; the cloud looks it up, it never trusts the claims."""

    ttl: float = 7 * 86400.0  # [I]
    limit: int = 100_000  # open sessions kept; the oldest go first
    _by_id: dict[str, _Session] = field(default_factory=dict)
    _by_refresh: dict[str, str] = field(default_factory=dict)

    def open(self, account: str, now: float) -> tuple[str, str]:
        """(session id, refresh id) for a login."""
        if len(self._by_id) >= self.limit:
            self.close(next(iter(self._by_id)))
        expires = now + self.ttl
        header = _b64(json.dumps({"alg": "HS384", "typ": "JWT"}).encode())
        claims = {"aud": account, "exp": int(expires), "jti": secrets.token_hex(8)}
        session_id = f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"
        refresh = secrets.token_hex(24)
        self._by_id[session_id] = _Session(account, expires, refresh)
        self._by_refresh[refresh] = session_id
        return session_id, refresh

    def account(self, session_id: str | None, now: float) -> str | None:
        session = self._by_id.get(session_id or "")
        if session is None or now >= session.expires:
            return None
        return session.account

    def refresh(self, refresh: str, now: float) -> tuple[str, str] | None:
        """A new session for a refresh id (one use); None for an unknown one."""
        session_id = self._by_refresh.get(refresh)
        if session_id is None:
            return None
        account = self._by_id[session_id].account
        self.close(session_id)
        return self.open(account, now)

    def close(self, session_id: str) -> None:
        session = self._by_id.pop(session_id, None)
        if session is not None:
            self._by_refresh.pop(session.refresh, None)


# ---------------------------------------------------------------- captchas

CAPTCHA_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to confuse


@dataclass
class Captcha:
    id: str
    answer: str
    expires: float


@dataclass
class Captchas:
    """One-time image codes: each is good for one try, for `ttl` seconds."""

    ttl: float = 300.0
    length: int = 4
    limit: int = 10_000  # unanswered ones kept; the oldest go first
    _issued: dict[str, Captcha] = field(default_factory=dict)

    def issue(self, now: float, captcha_id: str | None = None) -> Captcha:
        """A new captcha, under a random id or the one given (a login's: account and
        featureCode), which replaces any earlier one of that id."""
        self._issued.pop(captcha_id or "", None)
        if len(self._issued) >= self.limit:
            del self._issued[next(iter(self._issued))]
        answer = "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(self.length))
        captcha = Captcha(captcha_id or secrets.token_hex(16), answer, now + self.ttl)
        self._issued[captcha.id] = captcha
        return captcha

    def peek(self, captcha_id: str, now: float) -> Captcha | None:
        captcha = self._issued.get(captcha_id)
        return captcha if captcha is not None and now < captcha.expires else None

    def check(self, captcha_id: str, answer: str, now: float) -> bool:
        """Right answer, in time; a captcha is spent by any try, right or wrong."""
        captcha = self._issued.pop(captcha_id, None)
        if captcha is None or now >= captcha.expires:
            return False
        return secrets.compare_digest(captcha.answer.encode(), answer.strip().upper().encode())


def login_captcha_id(account: str, feature_code: str) -> str:
    """The login captcha's id: the real cloud keys it by account and the client's featureCode."""
    key = f"{account.strip().lower()}|{feature_code}".encode()
    return f"login-{hashlib.sha256(key).hexdigest()[:32]}"
