"""A simulated fleet running beside a test: `running_fleet()` and what it returns.

The simulator runs on a thread of its own with its own event loop, so a plain test, a
pytest-asyncio test and an anyio test all use it the same way, and none of them hands it
a loop. Everything a test changes goes through the control API (`RunningFleet.client`),
as it would against `nvrsim run`; the records in `devices` are read through it too.

Choices where the public record is silent:
- Every listener is on a port the system picks (devices' web and RTSP servers, SADP,
  WS-Discovery, DHIP, the clouds, the embedded MQTT broker, the control API), and the
  fleet's address pool moves to a loopback range of its own: 127.W.C.0/24, W from the
  pytest-xdist worker (gw0 is 100, gw1 101, …; 99 without xdist), C counting the
  fleets this process started. A device whose fixture names its address keeps it; a
  fixture whose pool held 127.0.0.1 gets it as a client network, so that tests' clients
  stay on the devices' LAN.
- The clock is virtual by default: it moves only when the test says
  (`advance_clock`), so lockouts and review periods are exact. `clock="real"` gives
  the running simulator's clock (real time, which the API can speed up).
- A reboot takes the device away for `reboot_seconds` (0.2 s by default, 3 s in
  `nvrsim run`): long enough to be seen gone, short enough for a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import tomllib
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Literal, TypeVar

from nvrsim.client import AsyncClient, Client, CloudDoc, DeviceState
from nvrsim.simulator.control import scenarios
from nvrsim.simulator.core.clock import ScaledClock, VirtualClock
from nvrsim.simulator.core.fixture import FixtureError, read_toml
from nvrsim.simulator.runtime.fixtures import build_fleet, default_fixture
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator, fleet_services

__all__ = ["DeviceRecord", "FleetSource", "RunningFleet", "loopback_range", "running_fleet"]

T = TypeVar("T")
FleetSource = str | Path | Mapping[str, Any] | None
"""None: the bundled demo; a bundled scenario's name; a TOML file; TOML text; a dict."""

_START_SECONDS = 30.0
_fleets_started = itertools.count()


def loopback_range(prefix: int = 24) -> IPv4Network:
    """A loopback range no other fleet of this test run has: per xdist worker, per fleet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    second = 100 + int(worker[2:]) % 150 if worker.startswith("gw") else 99
    if prefix < 24:  # a fleet larger than a /24 gets the worker's whole /16
        return IPv4Network(f"127.{second}.0.0/16")
    return IPv4Network(f"127.{second}.{next(_fleets_started) % 256}.0/24")


def fixture_of(source: FleetSource) -> tuple[dict[str, Any], scenarios.Scenario | None]:
    """The fixture `source` names, as raw TOML data, and its scenario if it is one."""
    if source is None:
        return read_toml(default_fixture()), None
    if isinstance(source, Mapping):
        return dict(source), None
    text = str(source)
    if isinstance(source, str) and ("\n" in text or "[" in text):
        try:
            return tomllib.loads(text), None
        except tomllib.TOMLDecodeError as exc:
            raise FixtureError(f"<TOML text>: not valid TOML: {exc}") from None
    if isinstance(source, str) and source in scenarios.bundled():
        scenario = scenarios.load(source)
        return read_toml(scenario.path), scenario
    path = Path(text)
    if not path.is_file():
        shipped = ", ".join(scenarios.bundled())
        raise FixtureError(
            f"no fixture file {text!r} and no bundled scenario of that name (bundled: {shipped})"
        )
    raw = read_toml(path)
    return raw, (scenarios.load(text) if "scenario" in raw else None)


@dataclass(frozen=True)
class DeviceRecord:
    """One device as a test sees it: who it is, where it listens, how to log in, and its
    cloud and binding state when it was read."""

    name: str
    serial: str
    vendor: str
    kind: str
    model: str
    firmware: str
    mac: str
    address: str  # its own loopback address
    ports: Mapping[str, int]  # http, https, command, sdk_tls, rtsp
    admin_user: str
    admin_password: str | None  # None: not activated
    powered: bool
    cloud: CloudDoc | None  # its vendor's cloud (Hik-Connect, P2P, mydlink)
    cloud_online: bool
    bound: bool
    locked_clients: Mapping[str, int]  # client address -> seconds until its lock lifts
    state: DeviceState  # everything the control API says of it

    @property
    def activated(self) -> bool:
        return self.admin_password is not None

    @property
    def url(self) -> str:
        """Its web server: ISAPI, RPC2/CGI or NIPCA, and ONVIF beside it."""
        return f"http://{self.address}:{self.ports['http']}"

    @classmethod
    def of(cls, state: DeviceState, admin_user: str = "admin") -> DeviceRecord:
        return cls(
            name=state.name,
            serial=state.serial,
            vendor=state.vendor,
            kind=state.kind,
            model=state.model,
            firmware=state.firmware,
            mac=state.mac,
            address=str(state.address.ip),
            ports=state.ports.model_dump(),
            admin_user=admin_user,
            admin_password=state.admin_password,
            powered=state.status.powered,
            cloud=state.cloud,
            cloud_online=state.status.cloud_online,
            bound=state.status.bound,
            locked_clients=dict(state.status.locked_clients),
            state=state,
        )


class RunningFleet:
    """A fleet serving on loopback from its own thread; `running_fleet()` makes one."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator  # lives on its own loop: read it, change it through `client`
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nvrsim-fleet")
        self.client: Client
        self.services: dict[str, str] = {}  # name -> URL, e.g. "sadp": "udp://127.0.0.1:40001"
        self._admin_users: dict[str, str] = {}

    # --- life
    def start(self) -> None:
        self._thread.start()
        try:
            self._on_loop(self.simulator.start(), _START_SECONDS)
        except BaseException:
            self._end_loop()
            raise
        schemes = fleet_services()
        self.services = {
            name: f"{schemes[name].scheme}://{service.host}:{service.port}"
            for name, service in self.simulator.services.items()
        }
        control = self.simulator.services["control"]
        self.client = Client(f"http://{control.host}:{control.port}")
        self._admin_users = {d.serial: d.admin_user for d in self.simulator.fleet}

    def stop(self) -> None:
        try:
            self._on_loop(self.simulator.stop(), _START_SECONDS)
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_START_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    def _on_loop(self, work: Coroutine[Any, Any, T], timeout: float = _START_SECONDS) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    # --- what a test reads
    @property
    def api(self) -> str:
        """The control API's URL."""
        return self.client.base

    @property
    def devices(self) -> list[DeviceRecord]:
        """Every device as it is now."""
        return [self._record(s) for s in self.client.devices()]

    def device(self, name_or_serial: str) -> DeviceRecord:
        """One device as it is now; `nvrsim.client.ApiError` (404) when there is none."""
        return self._record(self.client.device(name_or_serial))

    def _record(self, state: DeviceState) -> DeviceRecord:
        return DeviceRecord.of(state, self._admin_users.get(state.serial, "admin"))

    def async_client(self) -> AsyncClient:
        """A client for async tests: `async with fleet.async_client() as api: ...`."""
        return AsyncClient(self.client.base, self.client.token)

    # --- what a test changes
    def advance_clock(self, seconds: float) -> float:
        """Move the simulator's clock forward; returns its time after."""
        return self.client.advance_clock(seconds).now

    def set_fault(self, target: str | None = None, **faults: Any) -> None:
        """Faults on one device (by name or serial) or, with no target, the whole fleet:
        discovery_drop=PERCENT, discovery_delay=S, discovery_malformed, auth_fail,
        cloud_offline, http_delay=S."""
        self.client.set_faults(target, **faults)

    def raise_event(self, name_or_serial: str, type: str = "motion", **event: Any) -> None:
        """Raise a device event (motion, line_crossing, intrusion, tamper, digital_input,
        video_loss, storage_failure): channel=N, state="start"|"stop"|"pulse",
        duration=S for a start that stops by itself on the simulation clock."""
        self.client.raise_event(name_or_serial, type, **event)

    def reboot(self, name_or_serial: str, *, wait: bool = True) -> DeviceRecord:
        """Reboot a device; with `wait`, return once it is back and listening."""
        self.client.reboot(name_or_serial)
        if wait:
            self.settled()
        return self.device(name_or_serial)

    def settled(self) -> None:
        """Wait until every reboot and every move (SADP re-addressing) is done."""
        self._on_loop(self.simulator.settled())

    def set_password(self, name_or_serial: str, password: str | None) -> None:
        self.client.change_device(name_or_serial, admin_password=password)

    def lock_out(self, name_or_serial: str, client: str = "127.0.0.1") -> int:
        """Lock `client` out of the device as that many wrong passwords would, through
        the device's one login rule; returns the seconds until the lock lifts."""
        return self._on_loop(self._lock_out(name_or_serial, client))

    async def _lock_out(self, name_or_serial: str, client: str) -> int:
        device = self.simulator.fleet.find(name_or_serial)
        if device is None:
            raise LookupError(f"no device {name_or_serial!r} in the fleet")
        now = self.simulator.clock.now()
        for _ in range(device.lockout.policy.max_failures):
            device.login(client, lambda password: False, now)
        return device.lockout.unlock_in(client, now)


@contextlib.contextmanager
def running_fleet(
    source: FleetSource = None,
    *,
    clock: Literal["virtual", "real"] = "virtual",
    reboot_seconds: float = 0.2,
    cloud: bool = True,
) -> Iterator[RunningFleet]:
    """A fleet serving on free loopback ports for the `with` block, then stopped.

    `source`: None for the bundled demo, a bundled scenario's name, a fixture file,
    TOML text, or a dict as the TOML would read. `cloud=False` starts no MQTT broker
    and no Hik-Connect cloud (devices keep their cloud state, nothing rides a link).
    """
    raw, scenario = fixture_of(source)
    raw = dict(raw)
    fleet_table = dict(raw.get("fleet") or {})
    pool = IPv4Network(str(fleet_table.get("address_pool", "127.77.0.0/16")))
    fleet_table["address_pool"] = str(loopback_range(pool.prefixlen))
    if IPv4Address("127.0.0.1") in pool:  # tests' clients were on the devices' LAN: still are
        fleet_table["client_networks"] = [*fleet_table.get("client_networks", []), "127.0.0.1/32"]
    raw["fleet"] = fleet_table
    the_clock = VirtualClock() if clock == "virtual" else ScaledClock()
    fleet = build_fleet(raw, source=str(source or "the demo fleet"), now=the_clock.now())
    for device in fleet:
        device.network.http_port = device.network.rtsp_port = 0
    if scenario is not None:
        scenario = scenarios.Scenario(scenario.name, scenario.path, scenario.spec, fleet)
    config = ServiceConfig.on_free_ports(
        broker="embedded" if cloud else None,
        cloud_port=0 if cloud else None,
        reboot_seconds=reboot_seconds,
    )
    running = RunningFleet(Simulator(fleet, the_clock, config, scenario=scenario))
    running.start()
    try:
        yield running
    finally:
        running.stop()
