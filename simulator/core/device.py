"""One simulated device, described once and shared by every protocol.

Everything here is vendor-neutral: identity, network, the user accounts (admin
first, simulator.core.users) and their lockouts, the device's own clock, power,
faults, firmware and its capabilities. Each vendor's state is a
section its own device class adds (simulator/<vendor>/device.py), beside the
hooks below that it overrides (restore defaults, factory reset, the cloud it shows).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from typing import ClassVar
from uuid import UUID

from nvrsim.protocols.hikconnect import Region
from nvrsim.simulator.core.auth import (
    ActivationResult,
    Lockout,
    LockoutPolicy,
    LoginOutcome,
    LoginResult,
    Proof,
    is_risky_password,
)
from nvrsim.simulator.core.events import EventBus
from nvrsim.simulator.core.faults import NO_FAULTS, Faults
from nvrsim.simulator.core.firmware import (
    CapabilityRow,
    FirmwareVersion,
    ModelRow,
    capabilities,
    model_capabilities,
)
from nvrsim.simulator.core.imaging import ImagingStore
from nvrsim.simulator.core.ptz import PtzHead, PtzNode
from nvrsim.simulator.core.users import (
    ADMIN_ID,
    Accounts,
    User,
    UserError,
    UserLevel,
    UserProblem,
    check_password,
)

# The client address of the recorder's own screen, mouse and keyboard.
LOCAL_CONSOLE = "local"
# The local GUI locks for a minute, not half an hour (DS-73xxHUI-K4 manual).
LOCAL_LOCKOUT = LockoutPolicy(max_failures=7, lock_seconds=60)


@dataclass(slots=True)
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
    # `ip`, and the address it was written from: it is read on every request, reply and
    # ready file, and writing it anew took 8 µs.
    _ip: str = field(default="", init=False, repr=False, compare=False)
    _ip_of: IPv4Interface | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ip(self) -> str:
        if self._ip_of is not self.address:
            self._ip, self._ip_of = str(self.address.ip), self.address
        return self._ip

    @property
    def netmask(self) -> str:
        return str(self.address.netmask)


@dataclass(frozen=True)
class CloudStatus:
    """A device's vendor cloud as tables show it: which, its state, connected, bound to whom."""

    name: str  # Hik-Connect, P2P, mydlink
    state: str  # online, offline, disabled, p2p, p2p off, mydlink, -
    online: bool
    bound_account: str | None


@dataclass(kw_only=True, slots=True)
class Device:
    vendor: ClassVar[str] = ""  # set by each vendor's device class
    # Which features each firmware line of the vendor offers (simulator.core.firmware).
    capability_table: ClassVar[tuple[CapabilityRow, ...]] = ()
    # What each model's hardware has (a PTZ head: "ptz", "ptz_zoom"), by model name.
    model_table: ClassVar[tuple[ModelRow, ...]] = ()
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
    client_networks: tuple[IPv4Network, ...] = ()
    capability_overrides: dict[str, bool] = field(default_factory=dict)
    motion_detection: set[int] = field(default_factory=set)  # channels where it is on
    motion_sensitivity: dict[int, int] = field(default_factory=dict)  # channel: 0 to 100
    label: str = ""  # the fixture's name for it, e.g. nvr-4x-bound-online or cam-007
    source: str = ""  # fixture file and entry, for messages
    own_faults: Faults = NO_FAULTS  # set on this device
    fleet_faults: Faults = NO_FAULTS  # set on its whole fleet (Fleet.set_faults)
    powered: bool = True  # False while it reboots: it answers nothing
    pending_firmware: FirmwareVersion | None = None  # uploaded, runs after the next reboot
    # What it raises (motion, tamper...) and who listens (simulator.core.events).
    events: EventBus = field(default_factory=EventBus, compare=False, repr=False)
    accounts: Accounts = field(default_factory=Accounts)  # every user but the built-in admin
    # The device's clock as its users set it: seconds ahead of the simulation clock.
    clock_offset: float = 0.0
    time_mode: str = "Manual"  # or "NTP": then the clock follows the simulation clock
    ntp_servers: tuple[str, ...] = ()
    imaging: ImagingStore = field(default_factory=ImagingStore, repr=False, compare=False)
    # Made on first use. A factory, not default=None: a slotted dataclass's __init__
    # leaves an init=False field with a plain default unset (Python 3.11).
    _ptz: PtzHead | None = field(
        default_factory=lambda: None, init=False, repr=False, compare=False
    )

    @property
    def faults(self) -> Faults:
        return self.own_faults.combine(self.fleet_faults)

    @property
    def cloud(self) -> CloudStatus | None:
        """Its vendor cloud as tables show it; None for a vendor without one."""
        return None

    # The MQTT cloud link (simulator/clouds/mqtt) asks every device these; a vendor whose
    # devices register with a cloud over it overrides them.
    def home_region(self) -> Region | None:
        """The region whose cloud knows the device, online or not; None: no cloud link."""
        return None

    def link_switched_on(self) -> bool:
        """Its platform is switched on, so it connects when powered and not faulted."""
        return False

    @property
    def link_online(self) -> bool:
        """What the link last achieved for it, where its vendor keeps it."""
        return False

    @link_online.setter
    def link_online(self, online: bool) -> None:
        pass

    def link_binding(self) -> tuple[str, str | None]:
        """The verification code and the bound account it reports to its cloud."""
        return "", None

    def sync_lockout(self) -> None:
        """Make the lockout policy follow the vendor's own settings, where it has them."""

    @property
    def activated(self) -> bool:
        return self.admin_password is not None

    @property
    def capabilities(self) -> frozenset[str]:
        # Asked by every request and SADP reply: looked up by everything that decides it,
        # so an upgrade or an override changed in any way is seen at the next question.
        overrides = tuple(self.capability_overrides.items())
        device = type(self)  # hashable as every class is (mypy sees the instances' __hash__)
        return _capabilities(device, self.kind, self.model, self.firmware, overrides)  # type: ignore[arg-type]

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def ptz(self) -> PtzHead | None:
        """Its pan/tilt/zoom head, or None for a model without one."""
        if not self.can("ptz"):
            return None
        if self._ptz is None:
            self._ptz = PtzHead(PtzNode(zoom=self.can("ptz_zoom")))
        return self._ptz

    @property
    def channels(self) -> int:
        return self.analog_channels + self.ip_channels

    def login(self, client: str, proof: Proof, now: float, user: str = "admin") -> LoginOutcome:
        """The one login rule: activation, lockout per client address, the user's password.

        `client` is an IP address, or LOCAL_CONSOLE for the recorder's own screen,
        which has its own, shorter lockout. An unknown or disabled user fails like a
        wrong password, and counts like one.
        """
        lockout = self.local_lockout if client == LOCAL_CONSOLE else self.lockout
        if not self.activated:
            return LoginOutcome(LoginResult.NOT_ACTIVATED, lockout.policy.max_failures, 0)
        account = self.user(user)
        if account is None or not account.enabled or self.faults.auth_fail:
            proof = _refuse
        return lockout.attempt(client, now, proof, account.password if account else "")

    # --- user accounts (rules in simulator.core.users) ------------------------------------

    @property
    def admin(self) -> User:
        return _admin(self.admin_user, self.admin_password or "")

    def users(self) -> list[User]:
        """Every account, the built-in admin first."""
        return [self.admin, *self.accounts]

    def user(self, name: str) -> User | None:
        return self.admin if name == self.admin_user else self.accounts.get(name)

    def administers(self, name: str) -> bool:
        """Whether `name` may manage accounts, the clock and the device (an Administrator)."""
        user = self.user(name)
        return user is not None and user.level is UserLevel.ADMINISTRATOR

    def add_users(self, users: list[tuple[str, str, UserLevel]]) -> list[User]:
        """Add all or none (UserError names the first that cannot be added)."""
        names = [name for name, _, _ in users]
        for name in names:
            if name == self.admin_user or names.count(name) > 1:
                raise UserError(UserProblem.DUPLICATE, name)
        scratch = Accounts(tuple(self.accounts))
        for name, password, level in users:
            scratch.add(name, password, level, True, taken=1)
        return [self.accounts.add(n, p, lv, True, taken=1) for n, p, lv in users]

    def change_user(
        self,
        name: str,
        *,
        password: str | None = None,
        level: UserLevel | None = None,
        enabled: bool | None = None,
    ) -> User:
        if name != self.admin_user:
            return self.accounts.change(name, password=password, level=level, enabled=enabled)
        if level not in (None, UserLevel.ADMINISTRATOR) or enabled is False:
            raise UserError(UserProblem.FIXED, name)
        if password is not None:
            check_password(name, password)
            self.set_password(password)
        return self.admin

    def delete_users(self, names: list[str]) -> None:
        """Delete all or none; the built-in admin never."""
        for name in names:
            if name == self.admin_user:
                raise UserError(UserProblem.FIXED, name)
            if self.accounts.get(name) is None:
                raise UserError(UserProblem.UNKNOWN, name)
        for name in dict.fromkeys(names):
            self.accounts.delete(name)

    # --- the device's own clock ------------------------------------------------------------

    def clock_skew(self) -> float:
        """How far the fixture sets the clock off; vendors with ONVIF settings say."""
        return 0.0

    def local_now(self, now: float) -> float:
        """The device's idea of `now` (the simulation clock's)."""
        return now + self.clock_offset + self.clock_skew()

    def set_local_time(self, when: float, local_now: float) -> None:
        """Set the clock by hand to `when`, when it reads `local_now`."""
        self.time_mode = "Manual"
        self.clock_offset += when - local_now

    def sync_time(self, servers: tuple[str, ...] | None = None) -> None:
        """NTP: the clock follows the simulation clock, the time every NTP server agrees on."""
        self.time_mode = "NTP"
        self.clock_offset = -self.clock_skew()
        if servers is not None:
            self.ntp_servers = servers

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
        """ "Restore Defaults" (not "Factory Defaults"), then a reboot.

        Network settings and user accounts stay, so the device stays activated at its
        address. A cloud binding stays too: it lives on the cloud, which is why a reset
        never frees a device and the unbind procedures exist. Vendors put back their
        own settings first.
        """
        self.motion_detection.clear()
        self.motion_sensitivity.clear()
        self.imaging.clear()
        self.reboot(now)

    @property
    def factory_password(self) -> str | None:
        """The admin password after a factory reset: None, not activated (Hikvision, Dahua)."""
        return None

    def factory_reset(self, now: float) -> None:
        """The reset button (or the vendor's reset call): the admin password goes back to
        the model's default (None: not activated) and the other accounts go, then as
        `restore_defaults`.

        The address stays, so the simulated device remains reachable where it was
        (a real one falls back to 192.168.0.20/192.168.1.64 or DHCP).
        """
        self.admin_password = self.factory_password
        self.accounts.clear()
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


@functools.lru_cache(maxsize=4096)  # a fleet has a few (model, firmware) pairs, not one a device
def _capabilities(
    device: type[Device],
    kind: str,
    model: str,
    firmware: FirmwareVersion,
    overrides: tuple[tuple[str, bool], ...],
) -> frozenset[str]:
    """What a `device` class's tables grant `kind`, `model` on `firmware`, then `overrides`."""
    caps = set(capabilities(device.capability_table, kind, firmware))
    caps |= model_capabilities(device.model_table, model)
    for name, granted in overrides:
        (caps.add if granted else caps.discard)(name)
    return frozenset(caps)


@functools.lru_cache(maxsize=1 << 14)
def _admin(name: str, password: str) -> User:
    """The built-in administrator, a value made once per name and password (a login asks
    for it on every request)."""
    return User(ADMIN_ID, name, password, UserLevel.ADMINISTRATOR)
