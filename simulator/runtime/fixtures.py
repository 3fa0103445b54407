"""Fleets from TOML fixtures, validated with errors that name file, device and field.

A `[[device]]` entry describes one device, or with `count = N` a template of N
devices whose serials, MACs, UUIDs and addresses are generated from the fleet
seed, the entry's name and the index: the same file always gives the same fleet.
A template is validated and worked out once (`_Template`); each of its devices makes
only its identity and its own mutable state, so 10,000 cost 10 times 1,000.

Choices where the public record is silent:
- Addresses come from the pool in order, skipping the gateway (its first host) and
  every address an entry fixes; a /31 or /32 pool has no network or broadcast address
  to skip.
- An error found on a built device (an event schedule it cannot raise) names the
  template's first device (`#1`), once.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Iterator
from importlib import resources
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from nvrsim.simulator.core import identity
from nvrsim.simulator.core.auth import Lockout, LockoutPolicy
from nvrsim.simulator.core.device import LOCAL_LOCKOUT, Device, Network
from nvrsim.simulator.core.events import EventSchedule, EventType, channels_of, event_types
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.firmware import FirmwareError, FirmwareVersion
from nvrsim.simulator.core.fixture import FixtureError, read_toml
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.plugin import BuildContext, Section, Vendor
from nvrsim.simulator.core.users import ADMIN_ID, Accounts, User, UserLevel
from nvrsim.simulator.vendors import VENDORS, vendors


def _address_text(value: object) -> object:
    # ipaddress also takes ints and tuples, and fails on some of those with errors
    # pydantic does not catch; fixtures and the control API write addresses as strings.
    if not isinstance(value, str):
        raise ValueError("expected an address as a string, e.g. '127.77.0.5/24'")
    return value


# Addresses are written as strings in TOML, so they alone are parsed leniently.
Network4 = Annotated[IPv4Network, BeforeValidator(_address_text), Strict(False)]
Interface4 = Annotated[IPv4Interface, BeforeValidator(_address_text), Strict(False)]
Address4 = Annotated[IPv4Address, BeforeValidator(_address_text), Strict(False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FleetSpec(_Strict):
    name: str = "fleet"
    seed: str = "nvrsim"
    # Addresses for devices that name none; the first host is the gateway.
    address_pool: Network4 = IPv4Network("127.77.0.0/16")
    # Networks counted as the devices' LAN besides their own subnet (unbind's same-LAN rule).
    client_networks: list[Network4] = Field(default_factory=list)
    faults: FaultsSpec = Field(default_factory=lambda: FaultsSpec())  # on every device


Seconds = Annotated[float, Field(ge=0, le=3600)]


class FaultsSpec(_Strict):
    """simulator.core.faults.Faults as a fixture (and the control API) writes it."""

    discovery_drop: Annotated[float, Field(ge=0, le=100)] = 0.0
    discovery_delay: Seconds = 0.0
    discovery_malformed: bool = False
    auth_fail: bool = False
    cloud_offline: bool = False
    http_delay: Seconds = 0.0
    event_drop: Annotated[float, Field(ge=0, le=100)] = 0.0
    event_delay: Seconds = 0.0
    rtsp_refuse: bool = False
    rtsp_packet_loss: Annotated[float, Field(ge=0, le=100)] = 0.0
    rtsp_stall: Seconds = 0.0
    disk_failure: bool = False

    def faults(self) -> Faults:
        return Faults.of(**self.model_dump())


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _duration_text(value: object) -> object:
    """ "30s", "5m", "1h", "500ms" or a number of seconds."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('expected a duration such as "30s", "5m" or a number of seconds')
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if not m:
            raise ValueError(f'not a duration: {value!r} (e.g. "30s", "5m", "1h")')
        return float(m[1]) * _DURATION_UNITS[m[2]]
    return float(value)


Duration = Annotated[float, BeforeValidator(_duration_text), Strict(False)]


class EventScheduleSpec(_Strict):
    """One line of a device's `[device.events]`: `motion = { every = "30s", for = "5s" }`
    raises motion every 30 s of the simulation clock, each lasting 5 s."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    every: Annotated[Duration, Field(gt=0, le=86400)]
    duration: Annotated[Duration, Field(ge=0, le=86400)] = Field(0.0, alias="for")
    channel: Annotated[int, Field(ge=1, le=256)] = 1

    @model_validator(mode="after")
    def _ends_before_the_next(self) -> EventScheduleSpec:
        if self.duration >= self.every:
            raise ValueError("`for` must be shorter than `every`")
        return self


# simulator.core.events.EventType's values, as fixtures and the control API write them.
EventTypeName = Literal[
    "motion",
    "line_crossing",
    "intrusion",
    "tamper",
    "digital_input",
    "video_loss",
    "storage_failure",
]


class Ipv6Spec(_Strict):
    address: str = "::"
    gateway: str = "::"
    prefix: Annotated[int, Field(ge=0, le=128)] = 64


class PortsSpec(_Strict):
    http: Annotated[int, Field(ge=0, le=65535)] = 80
    https: Annotated[int, Field(ge=0, le=65535)] = 443
    command: Annotated[int, Field(ge=0, le=65535)] = 8000
    sdk_tls: Annotated[int, Field(ge=0, le=65535)] = 8443
    rtsp: Annotated[int, Field(ge=0, le=65535)] = 554


class LockoutSpec(_Strict):
    max_failures: Annotated[int, Field(ge=1)] = 7
    lock_seconds: Annotated[float, Field(ge=0)] = 1800.0


class UserSpec(_Strict):
    """An account besides the built-in admin; the password is taken as is (a tester may
    want a weak one)."""

    name: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
    password: str
    level: Literal["Administrator", "Operator", "User"] = "User"
    enabled: bool = True
    id: Annotated[int, Field(ge=2)] | None = None  # ISAPI's id; absent: the next free one


class DeviceClockSpec(_Strict):
    offset: Annotated[float, Strict(False)] = 0.0  # seconds ahead of the simulation clock
    mode: Literal["Manual", "NTP"] = "Manual"
    ntp_servers: list[str] = Field(default_factory=list)


class CommonDeviceSpec(_Strict):
    """What every `[[device]]` entry has; each vendor's sections are added beside it
    (`device_spec`), so one model validates fixtures, `--state` and the control API."""

    name: str
    vendor: str
    kind: Literal["nvr", "dvr", "ipc"]
    model: str
    firmware: str
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    admin_password: str | None = None  # absent: the device is not activated
    serial: str | None = None
    mac: str | None = None
    uuid: str | None = None
    address: Interface4 | None = None
    gateway: Address4 | None = None
    device_name: str | None = None
    device_type_code: int | None = None
    dsp_version: str = "V7.3 build 190626"
    analog_channels: Annotated[int, Field(ge=0, le=256)] = 0
    ip_channels: Annotated[int, Field(ge=0, le=256)] = 1
    disks: Annotated[int, Field(ge=0, le=64)] = 0
    web_auth: Literal["digest", "digest/basic"] = "digest"
    ports: PortsSpec = Field(default_factory=PortsSpec)
    lockout: LockoutSpec = Field(default_factory=LockoutSpec)
    local_lockout: LockoutSpec = Field(
        default_factory=lambda: LockoutSpec(
            max_failures=LOCAL_LOCKOUT.max_failures, lock_seconds=LOCAL_LOCKOUT.lock_seconds
        )
    )
    capabilities: dict[str, bool] = Field(default_factory=dict)
    faults: FaultsSpec = Field(default_factory=FaultsSpec)
    dhcp: bool = False
    ipv6: Ipv6Spec = Field(default_factory=Ipv6Spec)
    motion_detection: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    pending_firmware: str | None = None  # uploaded, runs after the next reboot
    # Events raised on the simulation clock (simulator.core.events), by type.
    events: dict[EventTypeName, EventScheduleSpec] = Field(default_factory=dict)
    # channel (as text, as TOML and JSON keys are) → sensitivityLevel
    motion_sensitivity: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    users: list[UserSpec] = Field(default_factory=list)  # besides the built-in admin
    clock: DeviceClockSpec = Field(default_factory=DeviceClockSpec)

    @field_validator("motion_sensitivity")
    @classmethod
    def _channel_keys(cls, levels: dict[str, int]) -> dict[str, int]:
        for channel in levels:
            if not (channel.isascii() and channel.isdigit() and 1 <= int(channel) <= 512):
                raise ValueError(f"{channel!r} is not a channel number")
        return levels

    @field_validator("users")
    @classmethod
    def _distinct_users(cls, users: list[UserSpec]) -> list[UserSpec]:
        names = [u.name for u in users]
        for name in names:
            if name == "admin" or names.count(name) > 1:
                raise ValueError(f"user {name!r} is named twice (admin is built in)")
        ids = [u.id for u in users if u.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("two users have the same id")
        return users

    @field_validator("vendor")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in VENDORS:
            raise ValueError(f"unknown vendor {name!r}; known: {', '.join(VENDORS)}")
        return name

    @field_validator("kind")
    @classmethod
    def _made_by_vendor(cls, kind: str, info: ValidationInfo) -> str:
        vendor = VENDORS.get(info.data.get("vendor", ""))
        if vendor is not None and kind not in vendor.kinds:
            made = vendor.kinds_text or ", ".join(sorted(vendor.kinds))
            raise ValueError(f"{vendor.title} devices are {made}, not {kind!r}")
        return kind

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, caps: dict[str, bool], info: ValidationInfo) -> dict[str, bool]:
        vendor = VENDORS.get(info.data.get("vendor", ""))
        known = vendor.capabilities if vendor is not None else frozenset()
        unknown = sorted(set(caps) - known)
        if unknown:
            raise ValueError(f"unknown capability {unknown[0]!r}; known: {sorted(known)}")
        return caps

    @model_validator(mode="after")
    def _own_sections(self) -> CommonDeviceSpec:
        """A device has only its own vendor's sections (and the families it speaks)."""
        vendor = VENDORS[self.vendor]
        own = {section.name for section in vendor.sections}
        for name in sorted(self.model_fields_set - set(CommonDeviceSpec.model_fields) - own):
            owners = [v.title for v in VENDORS.values() if name in {s.name for s in v.sections}]
            raise ValueError(
                f"{name}: only {' and '.join(owners)} devices have it, not {vendor.title}"
            )
        return self

    @field_validator("firmware", "pending_firmware")
    @classmethod
    def _firmware(cls, text: str | None) -> str | None:
        if text is not None:
            FirmwareVersion.parse(text)
        return text

    @field_validator("address")
    @classmethod
    def _host_address(cls, address: IPv4Interface | None) -> IPv4Interface | None:
        # The device's web server binds it: 0.0.0.0 would listen on every interface.
        if address is not None and (
            address.ip.is_unspecified or address.ip.is_multicast or address.ip.is_reserved
        ):
            raise ValueError(f"{address.ip} cannot be a device's address")
        return address

    @field_validator("mac")
    @classmethod
    def _mac(cls, text: str | None) -> str | None:
        return None if text is None else identity.normalise_mac(text)


def sections(vendors: tuple[Vendor, ...]) -> dict[str, Section]:
    """Every vendor's sections by name (ONVIF's, shared, once)."""
    return {s.name: s for vendor in vendors for s in vendor.sections}


@functools.cache
def device_spec(vendors: tuple[Vendor, ...]) -> type[CommonDeviceSpec]:
    """The `[[device]]` model for these vendors: the common fields and every section."""
    fields: dict[str, Any] = {
        name: (s.annotation, Field(default_factory=s.default))
        for name, s in sections(vendors).items()
    }
    names = tuple(v.name for v in vendors)
    return create_model(
        "DeviceSpec", __base__=CommonDeviceSpec, vendor=(Literal[names], ...), **fields
    )


@functools.cache
def fleet_file(vendors: tuple[Vendor, ...]) -> type[BaseModel]:
    return create_model(
        "FleetFile",
        __base__=_Strict,
        fleet=(FleetSpec, Field(default_factory=FleetSpec)),
        device=(list[device_spec(vendors)], Field(default_factory=list)),  # type: ignore[valid-type]
        scenario=(ScenarioSpec | None, None),  # the training scenarios (control/scenarios.py)
    )


class GoalSpec(_Strict):
    """One thing a training scenario's trainee must reach, on one device's state as the
    control API shows it (dotted paths such as `hik_connect.enabled`, `status.bound`)."""

    device: str  # its fixture name or serial
    says: str  # the goal in words, for the trainee
    expect: dict[str, str | bool | int] = Field(default_factory=dict)  # path = value
    matches: dict[str, str] = Field(default_factory=dict)  # path = regular expression
    # TOML has no null: these say a path must be empty (null or "") or must not be.
    absent: list[str] = Field(default_factory=list)
    present: list[str] = Field(default_factory=list)

    @field_validator("matches")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        for path, pattern in patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{path}: not a regular expression: {exc}") from None
        return patterns


class ScenarioSpec(_Strict):
    """A training scenario: the fleet of the file, set up for one procedure of a seed."""

    title: str
    seed: str  # the article it follows: 000 (Dahua), 001 (Hikvision), 002 (D-Link) or another
    procedure: str
    brief: str  # what the trainee is told
    hints: list[str] = Field(default_factory=list)
    goal: list[GoalSpec] = Field(min_length=1)


def default_fixture() -> Path:
    return Path(str(resources.files("nvrsim.fixtures") / "demo.toml"))


def load_fleet(
    path: str | Path | None = None, *, now: float = 0.0, shard: tuple[int, int] | None = None
) -> Fleet:
    return read_fixture(path, now=now).build(shard)


def read_fixture(path: str | Path | None = None, *, now: float = 0.0) -> Fixture:
    """The fixture at `path` (default: the demo fleet), read and checked, not yet built."""
    path = Path(path) if path is not None else default_fixture()
    return Fixture(read_toml(path), source=str(path), now=now)


def build_fleet(
    raw: dict,
    *,
    source: str = "<fixture>",
    now: float = 0.0,
    shard: tuple[int, int] | None = None,
) -> Fleet:
    return Fixture(raw, source=source, now=now).build(shard)


class Fixture:
    """A fixture checked once, then built whole, shard by shard, or in outline."""

    def __init__(self, raw: dict, *, source: str = "<fixture>", now: float = 0.0) -> None:
        self.spec, self.source, self.now = _validate(raw, source), source, now
        self._placed: list[_Placed] | None = None

    def placed(self) -> list[_Placed]:
        """Every device's template, number in it and identity, in the fleet's order.
        Identities are taken in turn (a serial or MAC taken already is made again), so
        they are worked out for the whole fleet, once: a supervisor does it before it
        forks, and its workers build their shares on it."""
        if self._placed is None:
            self._placed = _Builder(self.spec, self.source, self.now, Fleet()).placed()
        return self._placed

    def build(self, shard: tuple[int, int] | None = None) -> Fleet:
        """The fleet; with `shard` (index, count), only `Fleet.shard`'s devices of it, the
        same ones with the same identities, without building the others."""
        spec = self.spec
        fleet = Fleet(name=spec.fleet.name, settings=spec.fleet.model_dump(mode="json"))
        fleet.set_faults(spec.fleet.faults.faults())
        _Builder(spec, self.source, self.now, fleet).add(self.placed(), shard)
        return fleet

    def outline(self) -> list[Device]:
        """The fleet in outline: for each of its devices in order, one like it (its
        entry's first, built once per entry). Every device of an entry listens on the
        same sockets, so a large fleet's processes are planned (runtime/limits.py)
        before, and without, building it."""
        builder = _Builder(self.spec, self.source, self.now, Fleet())
        devices: list[Device] = []
        for template, index, own in self.placed():
            if index == 0:
                first = builder.device(template, index, own)
            devices.append(first)
        return devices


def build_devices(
    entries: list, fleet: Fleet, *, source: str = "<request>", now: float = 0.0
) -> list[Device]:
    """Devices for `entries` (fixture `[[device]]` tables) that can join `fleet`: their
    names, serials, MACs and addresses differ from every device it has. Not added yet."""
    spec = _validate({"fleet": fleet.settings, "device": entries}, source)
    staging = Fleet(settings=fleet.settings)
    _Builder(spec, source, now, staging, existing=fleet).add_all()
    return staging.devices


def _validate(raw: dict, source: str) -> Any:
    try:
        return fleet_file(vendors()).model_validate(raw)
    except ValidationError as exc:
        raise FixtureError(_describe(exc, raw, source)) from None


def _describe(exc: ValidationError, raw: dict, source: str) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = source
        if loc[:1] == ["device"] and len(loc) > 1 and isinstance(loc[1], int):
            index = loc[1]
            entry = raw.get("device", [])[index]
            name = entry.get("name") if isinstance(entry, dict) else None
            name = name if isinstance(name, str) else None
            where += (
                f": device {name!r} (entry {index + 1})" if name else f": device entry {index + 1}"
            )
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(entry)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {field}: {message}")
    return "\n".join(lines)


class _Builder:
    """Turns a validated fixture into devices, generating what the file leaves out."""

    def __init__(
        self, spec: Any, source: str, now: float, fleet: Fleet, existing: Fleet | None = None
    ) -> None:
        self.spec, self.source, self.now, self.target = spec, source, now, fleet
        pool = self.pool = spec.fleet.address_pool
        # The pool's hosts in order, as integers: an address object is made only for
        # the ones handed out (a /16 has 65,534). /31 and /32 pools have no network or
        # broadcast address to leave out. The first host is the gateway.
        ends = 1 if pool.num_addresses > 2 else 0
        hosts = range(int(pool.network_address) + ends, int(pool.broadcast_address) + 1 - ends)
        self.gateway = IPv4Address(hosts[0])
        old = list(existing or ())
        taken = {int(d.address.ip) for d in spec.device if d.address is not None}
        taken |= {int(d.network.address.ip) for d in old}
        taken.add(hosts[0])
        self._free = (ip for ip in hosts if ip not in taken)
        # Who has each serial and MAC (its source), this fixture's devices and the fleet's.
        self._serials: dict[str, str] = {d.serial: d.source or d.serial for d in old}
        self._macs: dict[str, str] = {d.mac: d.source or d.serial for d in old}
        self._existing = existing

    def add_all(self) -> None:
        self.add(self.placed())

    def placed(self) -> list[_Placed]:
        """Each device's template, number in it and identity, in order."""
        with _collector_paused():
            return [
                _Placed(template, index, self.identity(template, index))
                for template in self.templates()
                for index in range(template.entry.count)
            ]

    def add(self, placed: list[_Placed], shard: tuple[int, int] | None = None) -> None:
        """Build the `placed` devices, or with `shard` (index, count) those whose place in
        the whole fleet is index, index + count, ... (`Fleet.shard`'s)."""
        fleet = self.target
        mine_from, shards = shard or (0, 1)
        with _collector_paused():
            for place, (template, index, own) in enumerate(placed):
                mine = place % shards == mine_from
                # The entry's first device is built in every shard: its schedules are
                # checked on it.
                if mine or (index == 0 and template.entry.events):
                    device = self.device(template, index, own)
                    if mine:
                        fleet.add(device)

    def templates(self) -> Iterator[_Template]:
        """Each entry's template, in order, once the entry is checked against the others."""
        names: set[str] = set()
        for number, entry in enumerate(self.spec.device, 1):
            where = f"{self.source}: device {entry.name!r} (entry {number})"
            if entry.name in names:
                raise FixtureError(f"{where}: name: another entry is already named {entry.name!r}")
            if self._existing is not None and self._existing.find(entry.name):
                raise FixtureError(f"{where}: name: the fleet has a device named {entry.name!r}")
            names.add(entry.name)
            if entry.count > 1:
                for field in ("serial", "mac", "uuid", "address"):
                    if getattr(entry, field) is not None:
                        raise FixtureError(
                            f"{where}: {field}: cannot be fixed for a template of "
                            f"{entry.count} devices; leave it out to have one "
                            "generated per device"
                        )
            yield _Template(entry, where, self.spec.fleet, self.now)

    def identity(self, template: _Template, index: int) -> _Identity:
        """Device `index`'s serial, MAC and address: taken in turn, whether or not the
        device is built, so that every shard gives each device the same."""
        entry, seed = template.entry, template.seed
        source = template.source(index)
        serial = entry.serial or self._unique(
            self._serials, lambda a: template.make_serial(entry.model, seed, entry.name, index, a)
        )
        mac = entry.mac or self._unique(
            self._macs, lambda a: identity.mac_address(seed, entry.name, index, a, template.ouis)
        )
        address = entry.address
        if address is None:
            try:
                address = next(self._free)
            except StopIteration:
                raise FixtureError(
                    f"{source}: address: the pool {self.pool} has no free address left"
                ) from None
        try:
            fixed_uuid = identity.uuid.UUID(entry.uuid) if entry.uuid else None
        except ValueError:
            raise FixtureError(f"{source}: uuid: not a UUID: {entry.uuid!r}") from None
        for owners, key, what in ((self._macs, mac, "MAC"), (self._serials, serial, "serial")):
            if key in owners:
                raise FixtureError(f"{source}: {what} {key} is already used by {owners[key]}")
        self._serials[serial] = self._macs[mac] = source
        return _Identity(source, serial, mac, address, fixed_uuid)

    def device(self, template: _Template, index: int, own: _Identity) -> Device:
        """One device of `template`: only what differs from its siblings is made here."""
        entry, source = template.entry, own.source
        address = own.address
        if isinstance(address, int):
            address, in_pool = IPv4Interface((address, self.pool.prefixlen)), True
        else:
            in_pool = address.ip in self.pool
        gateway = entry.gateway or (self.gateway if in_pool else _first_other_host(address))
        ctx = BuildContext(template.seed, own.serial)
        device = template.vendor.device(
            serial=own.serial,
            mac=own.mac,
            uuid=own.uuid or identity.device_uuid(own.serial),
            network=Network(address=address, gateway=gateway, **template.network),
            lockout=Lockout(template.lockout),
            local_lockout=Lockout(template.local_lockout),
            # Mutable state each device changes on its own: a copy each.
            capability_overrides=dict(entry.capabilities),
            motion_detection=set(entry.motion_detection),
            motion_sensitivity=dict(template.motion_sensitivity),
            accounts=Accounts(template.users),
            label=template.label(index),
            source=source,
            **template.shared,
            **{s.name: s.build(getattr(entry, s.name), ctx) for s in template.vendor.sections},
        )
        device.sync_lockout()  # vendors whose own settings set the lockout policy (Dahua)
        device.events.schedules.extend(template.schedules(device, source))
        return device

    @staticmethod
    def _unique(taken: dict[str, str], make) -> str:
        for attempt in range(100):
            value = make(attempt)
            if value not in taken:
                return value
        raise FixtureError("could not generate a unique identity")  # pragma: no cover


class _Placed(NamedTuple):
    template: _Template
    index: int  # in its entry
    own: _Identity


class _Identity(NamedTuple):
    """What sets one device apart from its template's others."""

    source: str  # fixture file, entry and number, for messages
    serial: str
    mac: str
    address: IPv4Interface | int  # the entry's own, or the pool's host (made when built)
    uuid: UUID | None  # the entry's own; None: from the serial


class _Template:
    """What every device of one `[[device]]` entry shares, worked out once per entry:
    the vendor's lookups, the parsed firmware, defaults and frozen values (faults,
    lockout policies, users). A template of 10,000 costs this once, not 10,000 times."""

    def __init__(self, entry: Any, where: str, fleet: FleetSpec, now: float) -> None:
        vendor = self.vendor = VENDORS[entry.vendor]
        self.entry, self.where, self.seed = entry, where, fleet.seed
        self.make_serial = vendor.serial_number or _no_serial(vendor)
        self.ouis = vendor.ouis or ("02:00:00",)  # a locally administered prefix
        self._width = len(str(entry.count))
        # A port the entry leaves out is the vendor's default, else the common one.
        ports = entry.ports.model_dump() | {
            name: port
            for name, port in vendor.default_ports.items()
            if name not in entry.ports.model_fields_set
        }
        self.network = {
            "dhcp": entry.dhcp,
            "ipv6_address": entry.ipv6.address,
            "ipv6_gateway": entry.ipv6.gateway,
            "ipv6_prefix": entry.ipv6.prefix,
            "http_port": ports["http"],
            "https_port": ports["https"],
            "command_port": ports["command"],
            "sdk_tls_port": ports["sdk_tls"],
            "rtsp_port": ports["rtsp"],
        }
        self.lockout = _policy(entry.lockout)
        self.local_lockout = _policy(entry.local_lockout)
        self.motion_sensitivity = {int(c): v for c, v in entry.motion_sensitivity.items()}
        self.users = _users(entry.users)
        # Immutable values every device of the entry may hold at once.
        self.shared = {
            "kind": entry.kind,
            "model": entry.model,
            "firmware": FirmwareVersion.parse(entry.firmware),
            "name": entry.device_name or vendor.default_name(entry.kind, entry.model),
            "admin_password": entry.admin_password,
            "device_type_code": entry.device_type_code or identity.device_type_code(entry.model),
            "dsp_version": entry.dsp_version,
            "analog_channels": entry.analog_channels,
            "ip_channels": entry.ip_channels,
            "disks": entry.disks,
            "web_auth": entry.web_auth,
            "boot_time": now,
            "client_networks": tuple(fleet.client_networks),
            "clock_offset": entry.clock.offset,
            "time_mode": entry.clock.mode,
            "ntp_servers": tuple(entry.clock.ntp_servers),
            "own_faults": entry.faults.faults(),
            "pending_firmware": (
                FirmwareVersion.parse(entry.pending_firmware) if entry.pending_firmware else None
            ),
        }
        self._schedules: list[EventSchedule] | None = None

    def label(self, index: int) -> str:
        """The fixture's name for device `index`: the entry's, numbered in a template."""
        entry = self.entry
        return entry.name if entry.count == 1 else f"{entry.name}-{index + 1:0{self._width}d}"

    def source(self, index: int) -> str:
        return self.where if self.entry.count == 1 else f"{self.where} #{index + 1}"

    def schedules(self, device: Device, source: str) -> list[EventSchedule]:
        """The entry's event schedules, checked once against its first device (every
        device of an entry has the same kind, channels and disks)."""
        if self._schedules is None:
            self._schedules = _schedules(device, self.entry.events, source)
        return self._schedules


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fleet is built. Building allocates
    hundreds of thousands of containers and frees none, so each collection finds
    nothing, and the full ones walk the whole growing fleet: the build time grows faster
    than the fleet without this. Whatever cycles the build leaves are collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _schedules(
    device: Device, specs: dict[str, EventScheduleSpec], source: str
) -> list[EventSchedule]:
    """The device's event schedules; a type or channel it does not have is a FixtureError."""
    found = []
    for name, spec in specs.items():
        type_ = EventType(name)
        where = f"{source}: events.{name}"
        if type_ not in event_types(device):
            raise FixtureError(f"{where}: {device.kind.upper()} devices do not raise it")
        if spec.channel > channels_of(device, type_):
            have = channels_of(device, type_)
            raise FixtureError(f"{where}.channel: {spec.channel}, but the device has {have}")
        found.append(EventSchedule(type_, spec.every, spec.duration, spec.channel))
    return found


def _policy(spec: LockoutSpec) -> LockoutPolicy:
    return LockoutPolicy(spec.max_failures, spec.lock_seconds)


def _first_other_host(address: IPv4Interface) -> IPv4Address:
    """A gateway for a device outside the pool: the subnet's first host that is not the device."""
    return next((h for h in address.network.hosts() if h != address.ip), address.ip)


def _no_serial(vendor: Vendor):
    def serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
        d = identity.digest(vendor.name, seed, model, name, index, attempt)
        return f"{vendor.name[:3].upper()}{int.from_bytes(d[:6], 'big') % 10**12:012d}"

    return serial_number


__all__ = [
    "FirmwareError",
    "FixtureError",
    "build_fleet",
    "default_fixture",
    "load_fleet",
    "read_toml",
]


def _users(users: list[UserSpec]) -> tuple[User, ...]:
    """The entry's accounts, ids given (frozen: every device of the entry holds the same)."""
    next_id = max((u.id or 0 for u in users), default=0)
    made = []
    for user in users:
        if user.id is None:
            next_id = max(next_id, ADMIN_ID) + 1
        made.append(
            User(user.id or next_id, user.name, user.password, UserLevel(user.level), user.enabled)
        )
    return tuple(made)
