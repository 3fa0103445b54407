"""Dahua HTTP JSON-RPC: `/RPC2_Login`, `/RPC2` and `/OutsideCmd` (docs/protocols/dahua.md
§2.3, §1.6).

Pure: `DahuaRpc.login/call/outside(document, client, now) -> document`, no
sockets. Every password goes through `Device.login`, the one rule with the
device's one lockout (policy from General.LockLoginTimes/LoginFailLockTime).

Choices [I], also in docs/dahua.md:
- Sessions are 32 hex digits (newer firmware); a step-1 challenge is good for
  one step 2; an authorised session expires after `dahua.session_timeout`
  seconds (60) without a call, `global.keepAlive` included; at most 64 a
  device; a reboot or reset ends them all.
- Step 1 for a client that is locked answers 268632081 with `remainLockSecond`
  and no challenge (a test fixture's "User locked!"); a device not initialised
  answers 268632086 at step 1.
- Step 2 accepts `encryption` Default (the §2.3 hash), and the OldDigest
  8-character hash and Plain when the client names them in `passwordType`.
- `Nat.getTurnStatus` statuses: "Online", "Offline", "Disable" (P2P switched
  off); `IsTurnChannel` false; `Detail` says why.
- `/OutsideCmd` serves `Security.getEncryptInfo`, `DevInit.getStatus`,
  `DevInit.setProtocolAgree`, `DevInit.getProtocolAgree`, `DevInit.account` and
  `DevInit.access` (NetAccess 0 switches P2P off), with params in plaintext or
  in the RPAC envelope (`rpac.py`); a password under 8 characters is refused.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.config import ConfigError, get_config, set_config
from nvrsim.simulator.dahua.errors import (
    ALREADY_INITIALISED,
    INVALID_PARAM,
    INVALID_REQUEST,
    INVALID_SESSION,
    LOCKED,
    LOGIN_CHALLENGE,
    METHOD_NOT_FOUND,
    NOT_INITIALISED,
    PASSWORD_NOT_VALID,
    RpcError,
)
from nvrsim.simulator.dahua.events import RpcEvents
from nvrsim.simulator.dahua.info import build_date, device_class, software_version, system_info
from nvrsim.simulator.dahua.manage import (
    MethodFailed,
    group,
    local_time,
    offered,
    permitted,
)
from nvrsim.simulator.dahua.ptz import PTZ_METHODS
from nvrsim.simulator.dahua.rpac import DeviceKey, EnvelopeError

KEEP_ALIVE_INTERVAL = 60


@dataclass
class Session:
    id: str
    user: str
    random: str
    client: str
    last_used: float
    authorised: bool = False
    login_time: float = 0.0  # on the device's clock, once authorised


class Sessions:
    MAX = 64

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def open(self, user: str, client: str, now: float) -> Session:
        session = Session(secrets.token_hex(16), user, str(secrets.randbelow(10**10)), client, now)
        self._by_id[session.id] = session
        while len(self._by_id) > self.MAX:
            self._by_id.popitem(last=False)
        return session

    def get(self, session_id: object, now: float, timeout: float) -> Session | None:
        session = self._by_id.get(str(session_id)) if session_id is not None else None
        if session is None:
            return None
        if now - session.last_used > timeout:
            del self._by_id[session.id]
            return None
        return session

    def close(self, session: Session) -> None:
        self._by_id.pop(session.id, None)

    def clear(self) -> None:
        self._by_id.clear()

    def active(self) -> list[Session]:
        return [s for s in self._by_id.values() if s.authorised]

    def __len__(self) -> int:
        return len(self._by_id)


def _fail(error: RpcError, ident: Any, session: Any = None, params: Any = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "error": {"code": error.code, "message": error.message},
        "id": ident,
        "params": params,
        "result": False,
    }
    if session is not None:
        document["session"] = session
    return document


def _ok(ident: Any, session: Any, params: Any = None, result: Any = True) -> dict[str, Any]:
    return {"id": ident, "params": params, "result": result, "session": session}


class DahuaRpc:
    """One device's JSON-RPC endpoints."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.sessions = Sessions()
        self._boot_time = device.boot_time
        self._key: DeviceKey | None = None  # made when a client first asks for it
        self.events = RpcEvents(device)  # eventManager.attach's subscriptions

    @property
    def key(self) -> DeviceKey:
        if self._key is None:
            self._key = DeviceKey()
        return self._key

    def _opened(self, params: dict[str, Any]) -> dict[str, Any]:
        """Params as sent, or opened from an RPAC envelope (EnvelopeError)."""
        if isinstance(params.get("cipher"), str) and params["cipher"].startswith("RPAC"):
            return self.key.open(params)
        return params

    def _fresh(self) -> None:
        if self._boot_time != self.device.boot_time:  # rebooted or reset: sessions end
            self.sessions.clear()
            self.events.detach_all()
            self._boot_time = self.device.boot_time

    # --- /RPC2_Login ----------------------------------------------------------------

    def login(self, document: Any, client: str, now: float) -> dict[str, Any]:
        self._fresh()
        if not isinstance(document, dict) or document.get("method") != "global.login":
            return _fail(INVALID_REQUEST, _ident(document))
        ident, params = document.get("id"), document.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("userName"), str):
            return _fail(INVALID_PARAM, ident)
        device = self.device
        user = params["userName"]
        pending = self.sessions.get(document.get("session"), now, device.dahua.session_timeout)
        if pending is None or pending.authorised or not params.get("password"):
            return self._challenge(ident, user, client, now)
        sent = params["password"]
        if not isinstance(sent, str):
            self.sessions.close(pending)
            return _fail(INVALID_PARAM, ident, pending.id)
        kind = str(params.get("passwordType") or params.get("encryption") or "Default")
        realm = hashes.realm(device)

        def proof(password: str) -> bool:
            if kind == "Plain":
                return secrets.compare_digest(sent.encode(), password.encode())
            if kind == "OldDigest":
                return secrets.compare_digest(sent.encode(), hashes.gen1_hash(password).encode())
            expected = hashes.default_login_hash(pending.user, password, realm, pending.random)
            return secrets.compare_digest(sent.upper().encode(), expected.encode())

        outcome = device.login(client, proof, now, user=pending.user)
        if outcome.granted:
            pending.authorised, pending.last_used = True, now
            pending.login_time = device.local_now(now)
            return _ok(ident, pending.id, {"keepAliveInterval": KEEP_ALIVE_INTERVAL})
        self.sessions.close(pending)  # a challenge answers one step 2
        if outcome.result is LoginResult.NOT_ACTIVATED:
            return _fail(NOT_INITIALISED, ident, pending.id)
        error = LOCKED if outcome.result is LoginResult.LOCKED else PASSWORD_NOT_VALID
        remain = {"remainLockSecond": outcome.unlock_in, "remainLoginTimes": outcome.retries_left}
        return _fail(error, ident, pending.id, remain)

    def _challenge(self, ident: Any, user: str, client: str, now: float) -> dict[str, Any]:
        device = self.device
        if not device.activated:
            return _fail(NOT_INITIALISED, ident)
        locked_for = device.lockout.unlock_in(client, now)
        if locked_for:
            return _fail(LOCKED, ident, params={"remainLockSecond": locked_for})
        session = self.sessions.open(user, client, now)
        params = {
            "authorization": secrets.token_hex(20),
            "encryption": "Default",
            "mac": device.mac.replace(":", "").upper(),
            "random": session.random,
            "realm": hashes.realm(device),
        }
        return _fail(LOGIN_CHALLENGE, ident, session.id, params)

    # --- /RPC2 --------------------------------------------------------------------------

    def call(self, document: Any, client: str, now: float) -> dict[str, Any]:
        self._fresh()
        if not isinstance(document, dict) or not isinstance(document.get("method"), str):
            return _fail(INVALID_REQUEST, _ident(document))
        ident, method = document.get("id"), document["method"]
        params = document.get("params")
        params = params if isinstance(params, dict) else {}
        if method == "Security.getEncryptInfo":  # needs no login (§1.6)
            return _ok(ident, document.get("session", 0), self.key.encrypt_info())
        timeout = self.device.dahua.session_timeout
        session = self.sessions.get(document.get("session"), now, timeout)
        if session is None or not session.authorised:
            return _fail(INVALID_SESSION, ident, document.get("session"))
        session.last_used = now
        if method == "global.logout":
            self.sessions.close(session)
            self.events.detach(session.id)
            return _ok(ident, session.id)
        if method == "global.keepAlive":
            asked = params.get("timeout", KEEP_ALIVE_INTERVAL)
            valid = isinstance(asked, int) and not isinstance(asked, bool) and 0 < asked <= 300
            granted = asked if valid else KEEP_ALIVE_INTERVAL
            return _ok(ident, session.id, {"timeout": granted})
        if method.startswith("eventManager."):
            return self.events.call(method, ident, session.id, params)
        if method in (methods := offered(self.device)):
            if not permitted(self.device, session.user, method, params):
                return _fail(INVALID_REQUEST, ident, session.id)
            try:
                return _ok(ident, session.id, methods[method](self.device, params, now))
            except MethodFailed as exc:
                return _fail(exc.error, ident, session.id)
        if method == "userManager.getActiveUserInfoAll":
            return _ok(ident, session.id, {"users": self._active_users()})
        if method in (listing := self.listing()):
            return _ok(ident, session.id, listing[method])
        handler = _methods(self.device).get(method)
        if handler is None:
            return _fail(METHOD_NOT_FOUND, ident, session.id)
        try:
            return handler(self.device, ident, session.id, params, now)
        except ConfigError:
            return _fail(INVALID_PARAM, ident, session.id)

    def answered(self) -> list[str]:
        """Every /RPC2 method this device answers, the listings included."""
        methods = {*SESSION_METHODS, *_methods(self.device), *offered(self.device)}
        services = {m.partition(".")[0] for m in methods} | {"system"}
        methods |= {f"{s}.listMethod" for s in services} | {"system.listService"}
        return sorted(methods)

    def listing(self) -> dict[str, dict[str, list[str]]]:
        """`<service>.listMethod` (system's: all), `system.listService`."""
        methods = self.answered()
        services = sorted({m.partition(".")[0] for m in methods})
        lists = {
            f"{s}.listMethod": {"method": [m for m in methods if m.startswith(f"{s}.")]}
            for s in services
        }
        return lists | {
            "system.listMethod": {"method": methods},
            "system.listService": {"service": services},
        }

    def _active_users(self) -> list[dict[str, Any]]:
        users = {u.name: u for u in self.device.users()}
        return [
            {
                "ClientAddress": s.client,
                "ClientType": "RPC2",
                "Group": group(users[s.user]) if s.user in users else "user",
                "Id": n,
                "LoginTime": local_time(s.login_time),
                "Name": s.user,
            }
            for n, s in enumerate(self.sessions.active(), 1)
        ]

    # --- /OutsideCmd --------------------------------------------------------------------

    def outside(self, document: Any, client: str, now: float) -> dict[str, Any]:
        """Before initialisation, without a session (§1.6)."""
        self._fresh()
        if not isinstance(document, dict) or not isinstance(document.get("method"), str):
            return _fail(INVALID_REQUEST, _ident(document))
        ident, method = document.get("id"), document["method"]
        params = document.get("params")
        params = params if isinstance(params, dict) else {}
        device = self.device
        if method == "Security.getEncryptInfo":
            return _ok(ident, 0, self.key.encrypt_info())
        try:
            params = self._opened(params)
        except EnvelopeError:
            return _fail(INVALID_PARAM, ident)
        if method == "DevInit.getStatus":
            status = 2 if device.activated else 1
            return {"id": ident, "params": {"Find": device.dahua.find, "Init": status}}
        if method == "DevInit.getProtocolAgree":
            return _ok(ident, 0, {"ProtocolEnable": True})
        if method in ("DevInit.setProtocolAgree", "DevInit.setCurrentTime"):
            return _ok(ident, 0)
        if method == "global.getCurrentTime":
            return _ok(ident, 0, {"time": local_time(device.local_now(now))})
        if method == "DevInit.account":
            if device.activated:
                return _fail(ALREADY_INITIALISED, ident)
            name, password = params.get("name"), params.get("pwd")
            if name != device.admin_user or not isinstance(password, str) or len(password) < 8:
                return _fail(INVALID_PARAM, ident)
            device.set_password(password)
            return _ok(ident, 0)
        if method == "DevInit.access":
            access = params.get("NetAccess")
            if isinstance(access, int) and not isinstance(access, bool):
                device.dahua.t2u_enable = access != 0
            return _ok(ident, 0)
        return _fail(METHOD_NOT_FOUND, ident)


def _ident(document: Any) -> Any:
    return document.get("id") if isinstance(document, dict) else None


def _magic(key: str, value) -> Any:
    def handler(device: Device, ident: Any, session: str, params: dict, now: float):
        return _ok(ident, session, {key: value(device)})

    return handler


def _software_version(device: Device, ident: Any, session: str, params: dict, now: float):
    version = {"Version": software_version(device), "BuildDate": build_date(device)}
    return _ok(ident, session, {"version": version})


def _system_info(device: Device, ident: Any, session: str, params: dict, now: float):
    return _ok(ident, session, system_info(device))


def _product_definition(device: Device, ident: Any, session: str, params: dict, now: float):
    name = params.get("name")
    definitions = {"MaxExtraStream": 2 if device.kind == "ipc" else 1}
    if name not in definitions:
        raise ConfigError(str(name))
    return _ok(ident, session, {"definition": definitions[name]})


def _get_config(device: Device, ident: Any, session: str, params: dict, now: float):
    name = params.get("name")
    if not isinstance(name, str):
        raise ConfigError("name")
    return _ok(ident, session, {"table": get_config(device, name)})


def _set_config(device: Device, ident: Any, session: str, params: dict, now: float):
    name, table = params.get("name"), params.get("table")
    if not isinstance(name, str) or not isinstance(table, dict):
        raise ConfigError("table")
    set_config(device, name, table)
    return _ok(ident, session, {"options": []})


def turn_status(device: Device) -> dict[str, Any]:
    """`Nat.getTurnStatus`: the P2P registration with the DMSS server, from p2p_online."""
    if not device.dahua.t2u_enable:
        status, detail = "Disable", "P2P is switched off"
    elif device.p2p_online:
        status, detail = "Online", "registered with the P2P server"
    else:
        status, detail = "Offline", "cannot reach the P2P server"
    return {"Status": {"Detail": detail, "IsTurnChannel": False, "Status": status}}


def _turn_status(device: Device, ident: Any, session: str, params: dict, now: float):
    return _ok(ident, session, turn_status(device))


_METHODS = {
    "magicBox.getSerialNo": _magic("sn", lambda d: d.serial),
    "magicBox.getDeviceType": _magic("type", lambda d: d.model),
    "magicBox.getMachineName": _magic("name", lambda d: d.name),
    "magicBox.getVendor": _magic("Vendor", lambda d: d.dahua.vendor_name),
    "magicBox.getDeviceClass": _magic("type", device_class),
    "magicBox.getHardwareVersion": _magic("version", lambda d: "1.00"),
    "magicBox.getSoftwareVersion": _software_version,
    "magicBox.getSystemInfo": _system_info,
    "magicBox.getProductDefinition": _product_definition,
    "configManager.getConfig": _get_config,
    "configManager.setConfig": _set_config,
    "Nat.getTurnStatus": _turn_status,
}


def _methods(device: Device) -> dict[str, Any]:
    """The table's methods this device answers: `ptz.*` only where the model has a head."""
    return _METHODS | PTZ_METHODS if device.ptz is not None else _METHODS


# Answered by `DahuaRpc.call` itself, before the tables.
SESSION_METHODS = (
    "Security.getEncryptInfo",
    "global.logout",
    "global.keepAlive",
    "userManager.getActiveUserInfoAll",
)
