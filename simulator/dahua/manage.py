"""Dahua device management past first contact: users, clock, network, storage, upgrader.

The same rules for RPC2 (`RPC_METHODS`, called by rpc.py with the method's params)
and the CGI (`user_manager_cgi`, `global`'s setCurrentTime in cgi.py). Accounts
are the device's one store (simulator.core.users), so a user added here logs in
through ONVIF, ISAPI and RTSP; the clock is `Device.local_now`, shared with ONVIF
and ISAPI. A request that is refused raises `MethodFailed` before any change.

Choices where the public record is silent:
- Groups: Administrator accounts are "admin", Operator and User are "user"; an
  account added to "user" is an Operator. AuthorityList is the group's, fixed.
- Adding and deleting users, another's password and the clock are an
  Administrator's: others get 268894209 "Invalid request!" over RPC2 and 403
  `Authority:check failure.` over the CGI.
- Refusals are 268894211 "Invalid param!" (a taken name, a weak password, an
  unknown user, a wrong old password, deleting admin), as firmware words most.
- Passwords are taken in plain text (the newer firmware's RPAC envelope around
  addUser is not served).
- upgrader.getState: "Inexistence" with no upgrade waiting, "Succeeded" once an
  image waits for the reboot; Progress 0 or 100.
- storageDevice.getDeviceAllInfo: each disk of the model is /dev/sd<a..> of
  4 TB, full (recorders overwrite); `disk_failure` makes the first "Error".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.users import User, UserError, UserLevel
from nvrsim.simulator.dahua.errors import INVALID_PARAM, RpcError

DISK_BYTES = 4_000_787_030_016
_ADMIN_AUTHORITIES = ["AuthUserMag", "AuthSysCfg", "AuthSysInfo", "AuthManuCtr", "AuthBackup"]
_USER_AUTHORITIES = ["AuthSysInfo", "AuthManuCtr", "AuthBackup"]


class MethodFailed(Exception):
    def __init__(self, error: RpcError = INVALID_PARAM) -> None:
        super().__init__(error.message)
        self.error = error


def local_time(when: float) -> str:
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_time(text: object) -> float:
    """`2024-01-02 03:04:05`, the device's own format, in its (UTC) time zone."""
    if not isinstance(text, str):
        raise MethodFailed()
    try:
        when = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise MethodFailed() from None
    if not 2000 <= when.year <= 2037:
        raise MethodFailed()
    return when.timestamp()


# --- users ------------------------------------------------------------------------------------


def group(user: User) -> str:
    return "admin" if user.level is UserLevel.ADMINISTRATOR else "user"


def user_info(user: User) -> dict[str, Any]:
    admin = group(user) == "admin"
    return {
        "AuthorityList": _ADMIN_AUTHORITIES if admin else _USER_AUTHORITIES,
        "Group": group(user),
        "Id": user.id,
        "Memo": f"{user.name} 's account",
        "Name": user.name,
        "Reserved": user.id == 1,
        "Sharable": True,
    }


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise MethodFailed()
    return value


def add_user(device: Device, name: object, password: object, group_name: object) -> None:
    if group_name not in ("admin", "user"):
        raise MethodFailed()
    level = UserLevel.ADMINISTRATOR if group_name == "admin" else UserLevel.OPERATOR
    try:
        device.add_users([(_text(name), _text(password), level)])
    except UserError:
        raise MethodFailed() from None


def delete_user(device: Device, name: object) -> None:
    try:
        device.delete_users([_text(name)])
    except UserError:
        raise MethodFailed() from None


def modify_password(device: Device, name: object, new: object, old: object) -> None:
    user = device.user(_text(name))
    if user is None or not isinstance(old, str) or old != user.password:
        raise MethodFailed()
    try:
        device.change_user(user.name, password=_text(new))
    except UserError:
        raise MethodFailed() from None


# --- RPC2 ---------------------------------------------------------------------------------------

Method = Callable[[Device, dict[str, Any], float], Any]


def _user_info_all(device: Device, params: dict[str, Any], now: float) -> Any:
    return {"users": [user_info(u) for u in device.users()]}


def _add_user(device: Device, params: dict[str, Any], now: float) -> Any:
    user = params.get("user")
    if not isinstance(user, dict):
        raise MethodFailed()
    add_user(device, user.get("Name"), user.get("Password"), user.get("Group"))
    return None


def _delete_user(device: Device, params: dict[str, Any], now: float) -> Any:
    delete_user(device, params.get("name"))
    return None


def _modify_password(device: Device, params: dict[str, Any], now: float) -> Any:
    modify_password(device, params.get("name"), params.get("pwd"), params.get("pwdOld"))
    return None


def _current_time(device: Device, params: dict[str, Any], now: float) -> Any:
    return {"time": local_time(device.local_now(now))}


def _set_current_time(device: Device, params: dict[str, Any], now: float) -> Any:
    device.set_local_time(parse_time(params.get("time")), device.local_now(now))
    return None


def upgrader_state(device: Device) -> dict[str, Any]:
    waiting = device.pending_firmware is not None
    return {"Progress": 100 if waiting else 0, "State": "Succeeded" if waiting else "Inexistence"}


def _upgrader_state(device: Device, params: dict[str, Any], now: float) -> Any:
    return upgrader_state(device)


def _net_interfaces(device: Device, params: dict[str, Any], now: float) -> Any:
    interface = {
        "ConnStatus": "Connect",
        "Name": "eth0",
        "NetCardName": "eth0",
        "PhysicalAddress": device.mac,
        "Speed": 1000,
        "SupportLongPoE": False,
        "Type": "Normal",
        "Valid": True,
    }
    return {"netInterface": [interface]}


def disks(device: Device) -> list[dict[str, Any]]:
    info = []
    for n in range(device.disks):
        failed = n == 0 and device.faults.disk_failure
        name = f"/dev/sd{chr(ord('a') + n % 26)}"
        part = {
            "IsError": failed,
            "Path": f"{name}1",
            "TotalBytes": DISK_BYTES,
            "Type": "ReadWrite",
            "UsedBytes": DISK_BYTES,
        }
        info.append({"Detail": [part], "Name": name, "State": "Error" if failed else "Success"})
    return info


def _storage_all(device: Device, params: dict[str, Any], now: float) -> Any:
    return {"info": disks(device)}


RPC_METHODS: dict[str, Method] = {
    "userManager.getUserInfoAll": _user_info_all,
    "userManager.addUser": _add_user,
    "userManager.deleteUser": _delete_user,
    "userManager.modifyPassword": _modify_password,
    "global.getCurrentTime": _current_time,
    "global.setCurrentTime": _set_current_time,
    "upgrader.getState": _upgrader_state,
    "netApp.getNetInterfaces": _net_interfaces,
    "storageDevice.getDeviceAllInfo": _storage_all,
}
# Only an Administrator calls these; anyone may change their own password.
ADMIN_ONLY = frozenset(
    {
        "userManager.addUser",
        "userManager.deleteUser",
        "userManager.modifyPassword",
        "global.setCurrentTime",
    }
)
ADMIN_ONLY_CGI = {
    "userManager.cgi": {"addUser", "deleteUser", "modifyPassword"},
    "global.cgi": {"setCurrentTime"},
}


def permitted(device: Device, user: str, method: str, params: dict[str, Any]) -> bool:
    """May `user` call `method` (RPC2, or CGI as `name.cgi?action`) with these params?"""
    if method.endswith("modifyPassword") and params.get("name") == user:
        return True
    cgi, _, action = method.partition("?")
    admin_only = method in ADMIN_ONLY or action in ADMIN_ONLY_CGI.get(cgi, ())
    return not admin_only or device.administers(user)


RECORDER_ONLY = frozenset({"storageDevice.getDeviceAllInfo"})  # a camera's SD card is not


def offered(device: Device) -> dict[str, Method]:
    """The methods above this device answers."""
    recorder = device.kind != "ipc"
    return {m: f for m, f in RPC_METHODS.items() if recorder or m not in RECORDER_ONLY}
