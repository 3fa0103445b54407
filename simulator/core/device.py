"""One simulated device, described once and shared by every protocol."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from uuid import UUID

from simulator.core.auth import (
    ActivationResult,
    Lockout,
    LockoutPolicy,
    LoginOutcome,
    LoginResult,
    Proof,
    is_risky_password,
)
from simulator.core.faults import NO_FAULTS, Faults
from simulator.core.firmware import FirmwareVersion, capabilities

HIK_CONNECT_DEFAULT_SERVER = "litedev.hik-connect.com"

# The client address of the recorder's own screen, mouse and keyboard.
LOCAL_CONSOLE = "local"
# The local GUI locks for a minute, not half an hour (DS-73xxHUI-K4 manual).
LOCAL_LOCKOUT = LockoutPolicy(max_failures=7, lock_seconds=60)


@dataclass
class Network:
    address: IPv4Interface  # address and subnet, e.g. 127.77.0.5/24
    gateway: IPv4Address
    dhcp: bool = False
    ipv6_address: str = "::"
    ipv6_gateway: str = "::"
    ipv6_prefix: int = 64
    http_port: int = 80
    https_port: int = 443
    command_port: int = 8000  # the SDK port SADP reports as CommandPort
    sdk_tls_port: int = 8443
    rtsp_port: int = 554

    @property
    def ip(self) -> str:
        return str(self.address.ip)

    @property
    def netmask(self) -> str:
        return str(self.address.netmask)


def is_valid_verification_code(code: str) -> bool:
    """Hik-Connect's device verification code: 6 to 12 ASCII letters or digits."""
    return 6 <= len(code) <= 12 and code.isascii() and code.isalnum()


@dataclass
class HikConnect:
    """Platform access (Hik-Connect/EZVIZ) as the device sees it."""

    enabled: bool = False
    server: str = HIK_CONNECT_DEFAULT_SERVER
    verification_code: str = ""
    # Registered with its server right now. With the Hik-Connect link running
    # (simulator/hikconnect/link.py) the link writes it; without (unit tests), a
    # fixture or test sets it. Read it through Device.cloud_online (faults apply).
    online: bool = False
    bound_account: str | None = None
    stream_encryption: bool = False

    @property
    def bound(self) -> bool:
        return self.bound_account is not None


@dataclass
class MyDlink:
    """mydlink cloud registration as a D-Link device sees it (protocols/onvif-dlink.md §3.3).

    Registration lives on the device: a factory reset forgets it, and the owner
    must register the device again (D-Link FAQ, DCS-6004L).
    """

    pin_code: str = ""  # the 6-digit PIN on the label
    account: str | None = None  # the mydlink account it is registered to
    # The admin password a factory reset leaves: "" on older DCS (admin, blank), or
    # None on models whose password is chosen at first setup [I] (§3.2).
    reset_password: str | None = ""

    @property
    def registered(self) -> bool:
        return self.account is not None


@dataclass
class DahuaSettings:
    """What a Dahua device keeps beyond the common model (protocols/dahua.md §1.4, §2.3, §2.4).

    `General.LockLoginTimes`/`LoginFailLockTime` are the policy of the device's one
    `Lockout` (`Device.sync_lockout`), so RPC2, CGI and DHIP share one counter.
    """

    lock_login_enable: bool = True  # General.LockLoginEnable
    lock_login_times: int = 5  # General.LockLoginTimes
    login_fail_lock_time: int = 1800  # General.LoginFailLockTime, seconds
    max_online_time: int = 3600  # General.MaxOnlineTime
    t2u_enable: bool = True  # T2UServer.Enable: the P2P (DMSS) switch
    # The device's registration with the DMSS P2P server: what the MQTT link achieved
    # (simulator/hikconnect/link.py); without a broker, what fixtures and the control
    # API set. Read it through Device.p2p_online.
    p2p_link: bool = True
    dmss_account: str | None = None  # the DMSS account the device is bound to
    vendor_name: str = "Dahua"  # magicBox getVendor, DHIP Vendor
    init_bits: int = 0  # DHIP `Init` beyond its two low bits (2 initialised, 1 factory) [I]
    find: str = "AB"  # DHIP `Find`: password recovery by phone (A) and e-mail (B)
    # How DHDiscover.setConfig proves the password (unknown on real devices, §1.5):
    # "ha1" MD5(user:realm:password) in hex, "plain", or "none" (no check).
    discovery_password: str = "ha1"
    session_timeout: float = 60.0  # seconds an idle RPC2 session lives

    def lockout_policy(self) -> LockoutPolicy:
        if not self.lock_login_enable:
            return LockoutPolicy(max_failures=1 << 30, lock_seconds=0)
        return LockoutPolicy(self.lock_login_times, float(self.login_fail_lock_time))

    def restore_factory(self) -> None:
        """Settings a reset puts back; the DMSS binding lives on the cloud and stays."""
        fresh = DahuaSettings()
        for name in ("lock_login_enable", "lock_login_times", "login_fail_lock_time"):
            setattr(self, name, getattr(fresh, name))
        self.max_online_time, self.t2u_enable = fresh.max_online_time, fresh.t2u_enable


@dataclass
class Onvif:
    """How the device speaks ONVIF (WS-Discovery and the device/media services)."""

    discoverable: bool = True  # non-discoverable devices neither answer probes nor announce
    clock_skew: float = 0.0  # seconds the device clock runs ahead (negative: behind)
    location: str = "city/hangzhou"  # the path after onvif://www.onvif.org/location/
    extra_scopes: tuple[str, ...] = ()
    hardware_id: str = "88"
    # "time": only GetSystemDateAndTime without credentials, as most firmware does;
    # "spec": ONVIF's whole PRE_AUTH class (GetServices, GetCapabilities, …).
    pre_auth: str = "time"
    password_text: bool = False  # accept #PasswordText tokens as well as digests
    freshness: float = 300.0  # seconds a token's Created may differ from the device clock


@dataclass
class Quirks:
    """Wire details that differ between real firmware builds."""

    flase: bool = True  # SADP spells false as "flase", as real cameras do
    isapi_namespace: str = "http://www.hikvision.com/ver20/XMLSchema"


@dataclass
class Device:
    vendor: str
    kind: str  # nvr, dvr or ipc
    model: str
    serial: str
    mac: str  # lower case, colon separated
    uuid: UUID
    firmware: FirmwareVersion
    network: Network
    name: str
    admin_password: str | None  # None: not activated yet
    admin_user: str = "admin"
    device_type_code: int = 0  # SADP's numeric DeviceType
    dsp_version: str = "V7.3 build 190626"
    analog_channels: int = 0
    ip_channels: int = 1
    disks: int = 0
    web_auth: str = "digest"  # or "digest/basic"
    boot_time: float = 0.0
    lockout: Lockout = field(default_factory=Lockout)  # network logins, per client address
    local_lockout: Lockout = field(default_factory=lambda: Lockout(LOCAL_LOCKOUT))
    hik_connect: HikConnect = field(default_factory=HikConnect)
    mydlink: MyDlink = field(default_factory=MyDlink)
    dahua: DahuaSettings = field(default_factory=DahuaSettings)
    hardware_version: str = ""  # D-Link's label revision: A1, B1…
    onvif: Onvif = field(default_factory=Onvif)
    quirks: Quirks = field(default_factory=Quirks)
    client_networks: tuple[IPv4Network, ...] = ()
    capability_overrides: dict[str, bool] = field(default_factory=dict)
    motion_detection: set[int] = field(default_factory=set)  # channels where it is on
    label: str = ""  # the fixture's name for it, e.g. nvr-4x-bound-online or cam-007
    source: str = ""  # fixture file and entry, for messages
    own_faults: Faults = NO_FAULTS  # set on this device
    fleet_faults: Faults = NO_FAULTS  # set on its whole fleet (Fleet.set_faults)
    powered: bool = True  # False while it reboots: it answers nothing
    pending_firmware: FirmwareVersion | None = None  # uploaded, runs after the next reboot

    @property
    def faults(self) -> Faults:
        return self.own_faults.combine(self.fleet_faults)

    @property
    def cloud_online(self) -> bool:
        """Online on its platform server right now, unless a fault cut the link."""
        return self.hik_connect.online and not self.faults.cloud_offline

    @property
    def p2p_online(self) -> bool:
        """Dahua: registered with the DMSS P2P server right now (T2UServer on, link up),
        unless a fault cut the link. The one place DMSS, RPC2 and CGI read it from."""
        d = self.dahua
        return d.t2u_enable and d.p2p_link and self.activated and not self.faults.cloud_offline

    def sync_lockout(self) -> None:
        """Dahua: the lockout follows General.LockLoginTimes/LoginFailLockTime."""
        if self.vendor == "dahua":
            self.lockout.policy = self.dahua.lockout_policy()

    @property
    def cloud_registered(self) -> bool:
        """ISAPI `registerStatus`: platform access enabled and connected right now."""
        return self.hik_connect.enabled and self.cloud_online

    @property
    def activated(self) -> bool:
        return self.admin_password is not None

    @property
    def capabilities(self) -> frozenset[str]:
        caps = set(capabilities(self.vendor, self.kind, self.firmware))
        for name, granted in self.capability_overrides.items():
            (caps.add if granted else caps.discard)(name)
        return frozenset(caps)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def salt(self) -> str:
        """SADP's per-device `Salt`: 64 hex digits, stable for a serial."""
        return hashlib.sha256(f"salt:{self.serial}".encode()).hexdigest()

    @property
    def channels(self) -> int:
        return self.analog_channels + self.ip_channels

    def login(self, client: str, proof: Proof, now: float, user: str = "admin") -> LoginOutcome:
        """The one admin login rule: activation, lockout per client address, password.

        `client` is an IP address, or LOCAL_CONSOLE for the recorder's own screen,
        which has its own, shorter lockout.
        """
        lockout = self.local_lockout if client == LOCAL_CONSOLE else self.lockout
        if not self.activated:
            return LoginOutcome(LoginResult.NOT_ACTIVATED, lockout.policy.max_failures, 0)
        if user != self.admin_user or self.faults.auth_fail:
            proof = _refuse
        return lockout.attempt(client, now, proof, self.admin_password or "")

    def activate(self, password: str) -> ActivationResult:
        if self.activated:
            return ActivationResult.ALREADY_ACTIVATED
        if is_risky_password(password, self.admin_user):
            return ActivationResult.RISKY_PASSWORD
        self.admin_password = password
        self.lockout.clear()
        self.local_lockout.clear()
        return ActivationResult.OK

    def set_password(self, password: str) -> None:
        """D-Link's user.cgi and first setup: any password, blank included, as old DCS
        firmware allows [I]; Hikvision's `activate` has the complexity rule."""
        self.admin_password = password
        self.lockout.clear()
        self.local_lockout.clear()

    def reboot(self, now: float) -> None:
        """Restart: local sessions end (they watch boot_time); failed-login counts are lost;
        an uploaded firmware becomes the running one."""
        # Keep boot_time moving even on a frozen virtual clock, so sessions notice.
        self.boot_time = now if now > self.boot_time else math.nextafter(self.boot_time, math.inf)
        self.lockout.clear()
        self.local_lockout.clear()
        if self.pending_firmware is not None:
            self.firmware, self.pending_firmware = self.pending_firmware, None

    def restore_defaults(self, now: float) -> None:
        """Hikvision's "Restore Defaults" (not "Factory Defaults"), then a reboot.

        Network settings and user accounts stay, so the device stays activated
        at its address. The cloud binding stays too: it lives on the cloud,
        which is why a reset never frees a device and the unbind procedures
        exist. The verification code stays (we keep no separate label code).
        """
        hc = self.hik_connect
        hc.enabled = False
        hc.server = HIK_CONNECT_DEFAULT_SERVER
        hc.stream_encryption = False
        self.motion_detection.clear()
        self.reboot(now)

    def factory_reset(self, now: float) -> None:
        """The reset button (D-Link: 10 s, or system_reset.cgi; Hikvision: Factory
        Defaults): the admin password goes back to the model's default (None: not
        activated), the mydlink registration is forgotten, platform access is off,
        then a reboot.

        The address stays, so the simulated device remains reachable where it was
        (a real one falls back to 192.168.0.20/192.168.1.64 or DHCP). A Hik-Connect
        binding stays too: it lives on the cloud, so a reset never frees a device.
        """
        # Hikvision devices leave the factory not activated; D-Link's default varies by model.
        self.admin_password = self.mydlink.reset_password if self.vendor == "dlink" else None
        self.mydlink.account = None
        if self.vendor == "dahua":  # back to "not initialised" (DevInit) with default General
            self.dahua.restore_factory()
            self.sync_lockout()
        self.restore_defaults(now)

    def same_lan(self, client: str) -> bool:
        """Same LAN: the client is in the device's own subnet or a declared client network."""
        try:
            addr = ip_address(client)
        except ValueError:
            return False
        return addr in self.network.address.network or any(
            addr in net for net in self.client_networks
        )


def _refuse(_password: str) -> bool:
    return False
