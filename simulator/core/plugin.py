"""What a vendor adds to nvrsim: one `Vendor` record its package exports.

Core, runtime, control and cli know vendors only through these records and the one
list in `simulator/vendors.py`; a fourth vendor is one new folder and one line there.
A record names the vendor's device class (its state), the sections its fixtures add,
how it makes identities, and what it serves: fleet-wide services, the device's web API,
web mounts for protocols every device speaks, and the recorder menu.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.residents import Residents
from nvrsim.simulator.core.restart import Restart

if TYPE_CHECKING:
    from nvrsim.simulator.core.clock import Clock
    from nvrsim.simulator.core.fleet import Fleet


@dataclass(frozen=True)
class BuildContext:
    """What a section's builder may use beside its own fixture table."""

    seed: str  # the fleet's seed: generated values are the same for the same file
    serial: str  # the device's serial, already chosen


@dataclass(frozen=True)
class Section:
    """Fields a vendor (or a protocol family, ONVIF) adds to its devices.

    `name` is both the fixture's table (or field) and the device's attribute. The
    pydantic `annotation` is the one description of its shape: fixtures and `--state`
    are validated with it, the control API's schema shows it, and its PATCH body is
    derived from it (every field optional; see `clearable`).
    """

    name: str
    annotation: Any  # a pydantic model, or a plain annotated type for a single field
    default: Callable[[], Any]  # the fixture value when the table is left out
    build: Callable[[Any, BuildContext], Any] = lambda spec, _ctx: spec  # spec -> state
    entry: Callable[[Any], Any] = lambda value: value  # state -> what fixtures write
    # The PATCH body's fields that null clears (bound accounts); other nulls are ignored.
    clearable: frozenset[str] = frozenset()
    changeable: bool = True  # offered by PATCH /api/devices/{serial}


def record_entry(state: Any) -> dict[str, Any]:
    """A section's state (a record of plain values) as fixtures write it, sequences as
    lists: `dataclasses.asdict` for such records, without its deep copy of every value,
    which was most of a device's journal entry (a tenth of its start-up)."""
    record: type = type(state)
    entry = {name: getattr(state, name) for name in _field_names(record)}
    for name, value in entry.items():
        if isinstance(value, list | tuple):
            entry[name] = list(value)
    return entry


@cache
def _field_names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


class ServiceError(RuntimeError):
    """A service could not start; the message names it and its address."""


class CannotListen(ServiceError):
    """An address a service or device needs is not to be had (taken, or not ours)."""


def cannot_listen(name: str, where: str, exc: OSError) -> CannotListen:
    return CannotListen(f"{name}: cannot listen on {where}: {exc.strerror or exc}")


def parse_address(text: str) -> tuple[str, int]:
    """`host:port` as given on the command line; ValueError when it is not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not host:port: {text!r}")
    return host, int(port)


class ExchangeHook(Protocol):
    """How a front end reports one request answered (`Journal.exchange`)."""

    def __call__(
        self,
        device: Device | None,
        protocol: str,
        client: str,
        request: str,
        reply: str,
        *,
        may_change: bool = True,
    ) -> None: ...


class ServiceContext(Protocol):
    """What a fleet service gets from the runner, instead of the runner itself."""

    fleet: Fleet
    clock: Clock
    config: Any  # simulator.runtime.runner.ServiceConfig: each service reads its own options
    journal: Any  # simulator.runtime.journal.Journal: exchange, publish, commit, save, store
    services: Mapping[str, Any]

    def network_changed(self, device: Device) -> None: ...

    def device_changed(self, device: Device, change: dict[str, Any]) -> None:
        """A service changed `device` (`change` says how, as PATCH /api/devices/{serial}
        takes it): the runner records it."""

    def reboot(self, device: Device, downtime: float | None = None) -> bool: ...


class SimulatorApi(ServiceContext, Protocol):
    """What the control API changes at run time, beyond what every service gets."""

    scenario: Any  # the training scenario the fleet runs, or None
    serving: bool  # every device listens (what the control API's health check reports)

    async def add_devices(self, entries: list, source: str = ...) -> list[Device]: ...

    async def remove_device(self, device: Device) -> None: ...

    def describe(self) -> dict: ...


class FleetService(Protocol):
    """A fleet-wide listener: one socket answering a protocol for every device."""

    host: str
    port: int

    async def close(self) -> None: ...


# Starts one fleet service, or returns None when the fleet has no use for it.
ServiceStarter = Callable[[ServiceContext], Awaitable[FleetService | None]]


@dataclass(frozen=True)
class Service:
    name: str  # as the banner, the ready file and the control API name it
    scheme: str  # udp, http, mqtt
    start: ServiceStarter


# Set on a request whose handler changed the device although its method is a read
# (a Dahua CGI setConfig is a GET), so the journal compares the device's state after it.
CHANGED = web.RequestKey("nvrsim_changed", bool)


@dataclass(frozen=True)
class WebOptions:
    heartbeat_interval: float = 10.0  # seconds between ISAPI alertStream keep-alives
    on_exchange: ExchangeHook | None = None  # told of every request answered
    reboot: Restart | None = None  # how the simulator restarts a device


Mounted = tuple[str, web.Application]  # (path prefix, app)
# The vendor's web API: one app for all its devices, `Residents` telling which device a
# request is for, with what other families mount on the same server.
WebApp = Callable[[Residents, "Clock", WebOptions, Sequence[Mounted]], web.Application]
# A protocol every device may serve beside its vendor's API: (path prefix, its app). A
# device that does not speak it gets the vendor's not-found answer there.
Mount = Callable[[Residents, "Clock"], Mounted]


@dataclass(frozen=True)
class Discovery:
    """`nvrsim discover NAME`: a discovery client, searching as the vendor's own tools do."""

    name: str  # the subcommand: sadp, dhip, dlink, onvif
    title: str  # what it sends, e.g. "Hikvision SADP inquiry"
    message: str  # its request's name: inquiry, search, probe
    port: int | None  # the default port; None: the client picks by its options
    search: Callable[[argparse.Namespace], Awaitable[list[dict[str, Any]]]]
    table: Callable[[list[dict[str, Any]]], str]  # the answers, one row each
    options: Callable[[argparse.ArgumentParser], None] = lambda _parser: None  # its own flags


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a registry entry
class Vendor:
    name: str  # as fixtures write it: vendor = "hikvision"
    title: str  # as people write it: Hikvision
    device: type[Device]
    kinds: frozenset[str] = frozenset({"nvr", "dvr", "ipc"})
    kinds_text: str = ""  # the kinds in the vendor's own words, for errors
    sections: tuple[Section, ...] = ()
    serial_number: Callable[[str, str, str, int, int], str] | None = None  # model, seed, ...
    ouis: tuple[str, ...] = ()  # MAC prefixes its devices get
    default_name: Callable[[str, str], str] = lambda _kind, model: model  # (kind, model)
    default_ports: Mapping[str, int] = field(default_factory=dict)  # beside the common ones
    web: WebApp | None = None
    has_web: Callable[[Device], bool] = lambda _device: True  # which devices `web` serves
    mounts: tuple[Mount, ...] = ()  # offered to every device's web server
    services: tuple[Service, ...] = ()
    discovery: tuple[Discovery, ...] = ()  # `nvrsim discover` clients
    # What its web server offers, for `nvrsim run`'s banner: (name, path), e.g. ISAPI.
    web_api: tuple[tuple[str, str], ...] = ()
    # Ready-file and control-API fields beyond the sections' (live values such as P2P).
    describe: Callable[[Device], dict[str, Any]] = lambda _device: {}
    status: Callable[[Device], dict[str, Any]] = lambda _device: {}
    menu: Callable[[], Any] | None = None  # firmware_menu.tree.MenuTree for its recorders

    @property
    def capabilities(self) -> frozenset[str]:
        """Every capability its firmware table can grant (what fixtures may override)."""
        table = self.device.capability_table
        return frozenset().union(
            *(row.grants for row in table), *(row.grants for row in self.device.model_table)
        )
