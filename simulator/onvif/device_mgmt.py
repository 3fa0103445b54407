"""ONVIF device management beyond first contact: users, DNS, NTP, protocols, clock, reboot.

Registered in the device service's operation table (`DEVICE_MANAGEMENT`, used by
simulator.onvif.service). The accounts are the device's one store
(simulator.core.users), so a user made here logs in through ISAPI, Dahua RPC2,
CGI and RTSP; the clock is the device's own (`Device.local_now`), which ISAPI
/System/time and Dahua global.getCurrentTime read too.

A request that cannot be honoured raises its fault (answered with HTTP 400 by the
responder) before anything changes: a CreateUsers, SetUser or DeleteUsers with
one bad entry changes none.

Choices where the public record is silent:
- Managing users, NTP, the clock and rebooting need an Administrator (ONVIF's
  WRITE_SYSTEM and READ_SYSTEM_SECRET classes); others get ter:NotAuthorized.
- The built-in admin is ter:FixedUser: it cannot be deleted, demoted or
  disabled, which is how "the last administrator" is protected.
- Passwords follow core.users (8+ characters of two kinds, at most 64).
- The DNS server is the gateway; NTP servers are those set (none at first), and
  DateTimeType NTP makes the clock follow the simulation clock (the NTP time).
- The time zone sent with SetSystemDateAndTime is checked (printable, at most
  64 characters) but not kept: the device stays on UTC, which is what
  GetSystemDateAndTime reports.
- SystemReboot restarts the device in place (sessions end, lockouts clear); the
  web server stays up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import IPv4Address

from nvrsim.protocols import onvif
from nvrsim.protocols.onvif import Fault, OnvifDecodeError, SoapRequest
from nvrsim.protocols.xmlsafe import XmlNode
from nvrsim.protocols.xmlwrite import Element, el, write
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.restart import restart_after_reply
from nvrsim.simulator.core.users import (
    MAX_NAME,
    UserError,
    UserLevel,
    UserProblem,
    check_password,
)

Handler = Callable[[Device, SoapRequest, float], str]

USERNAME_CLASH = Fault(
    "Sender", ("OperationProhibited", "UsernameClash"), "Username already exists"
)
USERNAME_TOO_LONG = Fault("Sender", ("OperationProhibited", "UsernameTooLong"), "Username too long")
USERNAME_TOO_SHORT = Fault("Sender", ("InvalidArgVal", "UsernameTooShort"), "Username too short")
USERNAME_MISSING = Fault("Sender", ("InvalidArgVal", "UsernameMissing"), "Username not recognized")
PASSWORD_TOO_LONG = Fault("Sender", ("OperationProhibited", "PasswordTooLong"), "Password too long")
WEAK_PASSWORD = Fault("Sender", ("OperationProhibited", "Password"), "Too weak password")
ANONYMOUS = Fault(
    "Sender", ("OperationProhibited", "AnonymousNotAllowed"), "User level anonymous not allowed"
)
DELETE_FIXED = Fault("Sender", ("InvalidArgVal", "FixedUser"), "Username may not be deleted")
CHANGE_FIXED = Fault("Sender", ("OperationProhibited", "FixedUser"), "Username may not be changed")
TOO_MANY_USERS = Fault(
    "Receiver", ("Action", "TooManyUsers"), "Maximum number of supported users exceeded"
)
INVALID_DATE_TIME = Fault("Sender", ("InvalidArgVal", "InvalidDateTime"), "Invalid date and time")
INVALID_TIME_ZONE = Fault("Sender", ("InvalidArgVal", "InvalidTimeZone"), "Invalid time zone")
INVALID_IPV4 = Fault("Sender", ("InvalidArgVal", "InvalidIPv4Address"), "Invalid IPv4 address")
INVALID_DNS_NAME = Fault("Sender", ("InvalidArgVal", "InvalidDnsName"), "Invalid DNS name")


def _refuse(fault: Fault) -> OnvifDecodeError:
    """The responder answers it with the fault and HTTP 400, as any request it cannot take."""
    return OnvifDecodeError(fault)


def _reply(tag: str, *content: Element) -> str:
    return write(el(tag, *content))


def _administrator(device: Device, request: SoapRequest) -> None:
    if request.token is None or not device.administers(request.token.username):
        raise _refuse(onvif.NOT_AUTHORIZED)


# --- users ------------------------------------------------------------------------------------

_USER_FAULTS = {
    UserProblem.DUPLICATE: USERNAME_CLASH,
    UserProblem.UNKNOWN: USERNAME_MISSING,
    UserProblem.FIXED: CHANGE_FIXED,
    UserProblem.WEAK_PASSWORD: WEAK_PASSWORD,
    UserProblem.PASSWORD_TOO_LONG: PASSWORD_TOO_LONG,
    UserProblem.TOO_MANY: TOO_MANY_USERS,
    UserProblem.BAD_NAME: onvif.INVALID_ARG,
}


def _user_fault(exc: UserError) -> OnvifDecodeError:
    return _refuse(_USER_FAULTS[exc.problem])


def _level(text: str | None) -> UserLevel:
    if text == "Anonymous":
        raise _refuse(ANONYMOUS)
    try:
        return UserLevel(text)
    except ValueError:  # Extended, or nothing ONVIF defines
        raise _refuse(onvif.INVALID_ARG) from None


def _username(node: XmlNode) -> str:
    name = node.child_text("Username")
    if not name:
        raise _refuse(USERNAME_TOO_SHORT)
    if len(name) > MAX_NAME:
        raise _refuse(USERNAME_TOO_LONG)
    return name


def _users_sent(request: SoapRequest) -> list[XmlNode]:
    users = [c for c in request.params.children if c.is_named("User")]
    if not users:
        raise _refuse(onvif.INVALID_ARG)
    return users


def get_users(device: Device, request: SoapRequest, _now: float) -> str:
    _administrator(device, request)
    return _reply(
        "tds:GetUsersResponse",
        *(
            el("tds:User", el("tt:Username", u.name), el("tt:UserLevel", u.level.value))
            for u in device.users()
        ),
    )


def create_users(device: Device, request: SoapRequest, _now: float) -> str:
    _administrator(device, request)
    users = [
        (_username(u), u.child_text("Password") or "", _level(u.child_text("UserLevel")))
        for u in _users_sent(request)
    ]
    try:
        device.add_users(users)
    except UserError as exc:
        raise _user_fault(exc) from None
    return _reply("tds:CreateUsersResponse")


def set_user(device: Device, request: SoapRequest, _now: float) -> str:
    _administrator(device, request)
    changes = []
    for node in _users_sent(request):
        name = _username(node)
        if device.user(name) is None:
            raise _refuse(USERNAME_MISSING)
        level = _level(node.child_text("UserLevel"))
        if name == device.admin_user and level is not UserLevel.ADMINISTRATOR:
            raise _refuse(CHANGE_FIXED)
        changes.append((name, node.child_text("Password"), level))
    try:  # check every password before the first change
        for name, password, _ in changes:
            if password is not None:
                check_password(name, password)
        for name, password, level in changes:
            device.change_user(name, password=password, level=level)
    except UserError as exc:
        raise _user_fault(exc) from None
    return _reply("tds:SetUserResponse")


def delete_users(device: Device, request: SoapRequest, _now: float) -> str:
    _administrator(device, request)
    names = [(c.text or "").strip() for c in request.params.children if c.is_named("Username")]
    if not names:
        raise _refuse(USERNAME_MISSING)
    try:
        device.delete_users(names)
    except UserError as exc:
        raise _refuse(
            DELETE_FIXED if exc.problem is UserProblem.FIXED else USERNAME_MISSING
        ) from exc
    return _reply("tds:DeleteUsersResponse")


# --- network ------------------------------------------------------------------------------------


def get_dns(device: Device, _request: SoapRequest, _now: float) -> str:
    return _reply(
        "tds:GetDNSResponse",
        el(
            "tds:DNSInformation",
            el("tt:FromDHCP", device.network.dhcp),
            el(
                "tt:DNSManual",
                el("tt:Type", "IPv4"),
                el("tt:IPv4Address", str(device.network.gateway)),
            ),
        ),
    )


def _ntp_host(server: str) -> Element:
    try:
        IPv4Address(server)
    except ValueError:
        return el("tt:NTPManual", el("tt:Type", "DNS"), el("tt:DNSname", server))
    return el("tt:NTPManual", el("tt:Type", "IPv4"), el("tt:IPv4Address", server))


def get_ntp(device: Device, _request: SoapRequest, _now: float) -> str:
    return _reply(
        "tds:GetNTPResponse",
        el(
            "tds:NTPInformation",
            el("tt:FromDHCP", False),
            *(_ntp_host(server) for server in device.ntp_servers),
        ),
    )


_DNS_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+")
MAX_NTP_SERVERS = 4


def _ntp_server(node: XmlNode) -> str:
    kind = node.child_text("Type")
    if kind == "IPv4":
        address = node.child_text("IPv4Address") or ""
        try:
            return str(IPv4Address(address))
        except ValueError:
            raise _refuse(INVALID_IPV4) from None
    if kind == "DNS":
        name = node.child_text("DNSname") or ""
        if not _DNS_NAME.fullmatch(name):
            raise _refuse(INVALID_DNS_NAME)
        return name
    raise _refuse(onvif.INVALID_ARG)  # IPv6: the device has no IPv6 (GetCapabilities)


def set_ntp(device: Device, request: SoapRequest, _now: float) -> str:
    _administrator(device, request)
    if request.params.child_text("FromDHCP") not in ("false", "0", "true", "1"):
        raise _refuse(onvif.INVALID_ARG)
    manual = [c for c in request.params.children if c.is_named("NTPManual")]
    if len(manual) > MAX_NTP_SERVERS:
        raise _refuse(onvif.INVALID_ARG)
    device.ntp_servers = tuple(_ntp_server(node) for node in manual)
    return _reply("tds:SetNTPResponse")


def get_network_protocols(device: Device, _request: SoapRequest, _now: float) -> str:
    net = device.network
    protocols = (("HTTP", True, net.http_port), ("HTTPS", False, net.https_port))
    protocols += (("RTSP", True, net.rtsp_port),)
    return _reply(
        "tds:GetNetworkProtocolsResponse",
        *(
            el("tds:NetworkProtocols", el("tt:Name", n), el("tt:Enabled", on), el("tt:Port", p))
            for n, on, p in protocols
        ),
    )


def get_discovery_mode(device: Device, _request: SoapRequest, _now: float) -> str:
    mode = "Discoverable" if device.onvif.discoverable else "NonDiscoverable"
    return _reply("tds:GetDiscoveryModeResponse", el("tds:DiscoveryMode", mode))


# --- system -------------------------------------------------------------------------------------


def _number(node: XmlNode | None, name: str) -> int:
    text = node.child_text(name) if node is not None else None
    if not text or not text.isascii() or not text.isdigit() or len(text) > 4:
        raise _refuse(INVALID_DATE_TIME)
    return int(text)


def _utc_sent(node: XmlNode) -> float:
    date, time = node.child("Date"), node.child("Time")
    try:
        when = datetime(
            _number(date, "Year"),
            _number(date, "Month"),
            _number(date, "Day"),
            _number(time, "Hour"),
            _number(time, "Minute"),
            _number(time, "Second"),
            tzinfo=UTC,
        )
    except ValueError:
        raise _refuse(INVALID_DATE_TIME) from None
    if not 1970 <= when.year <= 2037:  # the 32-bit time_t firmware keeps
        raise _refuse(INVALID_DATE_TIME)
    return when.timestamp()


def set_system_date_and_time(device: Device, request: SoapRequest, now: float) -> str:
    _administrator(device, request)
    params = request.params
    kind = params.child_text("DateTimeType")
    if kind not in ("Manual", "NTP") or params.child_text("DaylightSavings") not in (
        "true",
        "false",
        "1",
        "0",
    ):
        raise _refuse(onvif.INVALID_ARG)
    zone = params.child("TimeZone")
    tz = zone.child_text("TZ") if zone is not None else ""
    if tz is None or len(tz) > 64 or not tz.isprintable():
        raise _refuse(INVALID_TIME_ZONE)
    if kind == "NTP":
        device.sync_time()
        return _reply("tds:SetSystemDateAndTimeResponse")
    utc = params.child("UTCDateTime")
    if utc is None:
        raise _refuse(INVALID_DATE_TIME)
    device.set_local_time(_utc_sent(utc), now)
    return _reply("tds:SetSystemDateAndTimeResponse")


def system_reboot(device: Device, request: SoapRequest, now: float) -> str:
    _administrator(device, request)
    simulation_now = now - (device.local_now(0.0))  # `now` is the device's clock
    restart_after_reply(device, None, simulation_now)
    return _reply("tds:SystemRebootResponse", el("tds:Message", "Rebooting"))


DEVICE_MANAGEMENT: dict[str, Handler] = {
    "GetUsers": get_users,
    "CreateUsers": create_users,
    "SetUser": set_user,
    "DeleteUsers": delete_users,
    "GetDNS": get_dns,
    "GetNTP": get_ntp,
    "SetNTP": set_ntp,
    "GetNetworkProtocols": get_network_protocols,
    "GetDiscoveryMode": get_discovery_mode,
    "SetSystemDateAndTime": set_system_date_and_time,
    "SystemReboot": system_reboot,
}
