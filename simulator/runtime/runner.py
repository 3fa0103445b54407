"""Start a fleet's services on real sockets, and describe where each listens."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson

from nvrsim.simulator.clouds.services import SERVICES as CLOUD_SERVICES
from nvrsim.simulator.control.app import CONTROL
from nvrsim.simulator.core.clock import Clock, RealClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import keep_time
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.plugin import (
    FleetService,
    Service,
    ServiceError,
    cannot_listen,
    parse_address,
)
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.onvif.settings import OnvifDevice, stream_docs
from nvrsim.simulator.runtime.clips import ClipLibrary
from nvrsim.simulator.runtime.fixtures import build_devices
from nvrsim.simulator.runtime.journal import Journal, durable
from nvrsim.simulator.runtime.limits import make_room
from nvrsim.simulator.runtime.quiet import quiet_bad_requests
from nvrsim.simulator.runtime.rtsp import FramePacer, RtspServer
from nvrsim.simulator.runtime.web import WebApps, WebOptions
from nvrsim.simulator.vendors import vendor_of, vendors

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["ServiceConfig", "ServiceError", "Simulator", "cannot_listen", "parse_address"]


@dataclass
class ServiceConfig:
    """Where the fleet-wide services listen. Loopback unless an interface is named."""

    sadp_host: str = "127.0.0.1"
    sadp_port: int = 37020
    # D-Link discovery (UDP 5978) and SSDP, started when the fleet has D-Link devices.
    dlink_host: str = "127.0.0.1"
    dlink_port: int = 5978
    ssdp_port: int = 1900
    # The D-Link support portal (HTTP), started when the fleet has D-Link devices.
    portal_host: str = "127.0.0.1"
    portal_port: int = 8090
    portal_fixture: str | None = None  # default: fixtures/dlink_portal.toml
    # Dahua DHIP discovery (UDP 37810), started when the fleet has Dahua devices.
    dhip_host: str = "127.0.0.1"
    dhip_port: int = 37810
    # The DMSS cloud (HTTP JSON), started when the fleet has Dahua devices.
    dmss_host: str = "127.0.0.1"
    dmss_port: int = 8092
    dmss_review_seconds: float = 48 * 3600.0  # an appeal's review (seed 000: 48 h)
    smtp_server: str | None = None  # "host:port" the DMSS cloud mails through; None: outbox only
    wsd_host: str = "127.0.0.1"
    wsd_port: int = 3702
    # Where WS-Discovery Hello/Bye go on loopback ("host:port"); with an interface, its group.
    wsd_announce: str | None = None
    # Replies to multicast probes wait up to this long (WS-Discovery's APP_MAX_DELAY).
    wsd_jitter: float = 0.5
    # An interface address to join SADP's and WS-Discovery's multicast groups on
    # (they bind 0.0.0.0 then).
    interface: str | None = None
    # A port below 1024 that we may not bind is moved up by this much (80 → 8080).
    privileged_port_offset: int = 8000
    heartbeat_interval: float = 10.0
    # The control API: loopback by default; on any other address it requires `token`.
    control_host: str = "127.0.0.1"
    control_port: int | None = None  # None: no control API (`nvrsim run` asks for 8321)
    token: str | None = None
    reboot_seconds: float = 3.0  # how long a rebooting device is gone (real seconds)
    # What still has not stopped this many seconds after it was told is named and left
    # behind, so that one stuck close (a broker, a client that never lets go) cannot hold
    # the whole shutdown up.
    stop_seconds: float = 5.0
    # Hik-Connect (simulator/hikconnect): "embedded" starts an MQTT broker on
    # broker_host:broker_port, "mqtt://host:port" uses that one, None: no cloud link.
    broker: str | None = None
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    cloud_host: str = "127.0.0.1"
    cloud_port: int | None = 8088  # the cloud's app API; None: this process serves no cloud
    mqtt_keepalive: int = 60  # seconds; the broker declares a silent link dead after 1.5x
    mqtt_per_device: bool = False  # one MQTT connection per device instead of one shared
    cloud_test_mode: bool = False  # captcha answers readable through the control API
    # The fleet services to start, by name (None: every one); a worker of `nvrsim run
    # --workers` leaves the fleet-wide ones (clouds, broker, WS-Discovery) to its supervisor.
    services: frozenset[str] | None = None

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> ServiceConfig:
        """Every fleet-wide service on a port the system picks (the control API too): what
        tests, the pytest plugin and benches run beside whatever else the machine runs."""
        return cls(**({name: 0 for name in _FLEET_PORTS} | overrides))


_FLEET_PORTS = (
    *("sadp_port", "dlink_port", "ssdp_port", "portal_port", "dhip_port", "dmss_port"),
    *("wsd_port", "control_port", "broker_port", "cloud_port"),
)


class Announcer(Protocol):
    """A service that tells the network when a device comes and goes (WS-Discovery Hello/Bye)."""

    def device_up(self, device: Device) -> None: ...

    def device_down(self, device: Device) -> None: ...


def fleet_services() -> dict[str, Service]:
    """Every fleet-wide service by name, in the order they start: each vendor's (shared
    ones such as WS-Discovery once), the clouds', then the control API."""
    services: dict[str, Service] = {}
    for service in (*(s for v in vendors() for s in v.services), *CLOUD_SERVICES, CONTROL):
        services.setdefault(service.name, service)
    return services


@dataclass
class Simulator:
    fleet: Fleet
    clock: Clock = field(default_factory=RealClock)
    config: ServiceConfig = field(default_factory=ServiceConfig)
    journal: Journal | None = None  # given one with a StateDir, every change is kept there
    # The training scenario the fleet was built for (simulator.control.scenarios.Scenario),
    # whose brief and goals the dashboard shows; None for a plain fleet.
    scenario: Any = None

    def __post_init__(self) -> None:
        self.services: dict[str, FleetService] = {}
        self._rtsp: dict[str, RtspServer] = {}  # by serial
        self.clips = ClipLibrary()  # the live video every device's RTSP server shares
        self.pacer = FramePacer()  # and the one timer a frame rate that sends it
        self._tasks: set[asyncio.Task] = set()  # moves and reboots under way
        self._event_timers: asyncio.Task | None = None  # events' timers on the clock
        self._armed: dict[str, Device] = {}  # the devices with event timers to run, by serial
        self.stuck: list[str] = []  # what did not stop in time at the last stop()
        self.serving = False  # every device listens: start() done, stop() not begun
        if self.journal is None:
            self.journal = Journal(self.clock)
        web_options = WebOptions(
            heartbeat_interval=self.config.heartbeat_interval,
            on_exchange=self.journal.exchange,
            reboot=self.reboot,
        )
        # Every device's web API: one app per vendor, the device found by local address.
        self._http = WebApps(self.clock, web_options)

    @property
    def sadp(self) -> FleetService | None:
        return self.services.get("sadp")

    async def start(self) -> None:
        """Listen everywhere, or, if one address cannot be had, nowhere: ServiceError says which."""
        quiet_bad_requests()
        make_room(self.fleet.devices)
        try:
            for name, definition in fleet_services().items():
                if self.config.services is not None and name not in self.config.services:
                    continue
                service = await definition.start(self)
                if service is not None:
                    self.services[name] = service
            for device in self.fleet:
                await self._bring_up(device)
                self.journal.watch(device)  # as it listens: its port is known now
            self._event_timers = asyncio.create_task(keep_time(self._armed, self.clock))
        except BaseException:
            await self.stop()
            raise
        self.serving = True

    async def stop(self) -> None:
        """Stop everything, each part within `config.stop_seconds`; what has not stopped
        by then is named in `stuck` and left behind."""
        self.serving = False
        timers = [self._event_timers] if self._event_timers is not None else []
        for task in [*timers, *self._tasks]:
            task.cancel()
        await self._within(
            "moves and reboots", asyncio.gather(*timers, *self._tasks, return_exceptions=True)
        )
        for device in self.fleet:
            if device.powered:
                self._announce("device_down", device)
        for name in reversed(list(self.services)):  # last started, first stopped
            await self._within(name, self.services.pop(name).close())
        await self._within("device web servers", self._http.close_all())
        streams = [self._rtsp.pop(serial) for serial in list(self._rtsp)]
        await self._within("device RTSP servers", asyncio.gather(*(s.close() for s in streams)))

    async def _within(self, what: str, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.config.stop_seconds)
        if not done:
            self.stuck.append(what)
            log.warning(
                "%s: still stopping after %g s; left behind", what, self.config.stop_seconds
            )
        elif not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def _bring_up(self, device: Device) -> None:
        net = device.network
        device.events.observe(self.journal, self._journal_event(device))
        device.events.on_armed = lambda: self._armed.setdefault(device.serial, device)
        if device.events.armed:
            self._armed[device.serial] = device  # schedules from its fixture, to start
        try:
            await self._serve_http(device)
        except OSError as exc:
            where = f"http {net.ip}:{net.http_port}"
            raise cannot_listen(device.label or device.serial, where, exc) from None
        try:
            await self._serve_rtsp(device)
        except OSError as exc:
            await self._stop_serving(device)
            where = f"rtsp {net.ip}:{net.rtsp_port}"
            raise cannot_listen(device.label or device.serial, where, exc) from None
        self._announce("device_up", device)

    def _journal_event(self, device: Device):
        def record(event, fate: str) -> None:
            self.journal.publish("device.event", device.serial, **event.as_dict(), fate=fate)

        return record

    async def _take_down(self, device: Device) -> None:
        self._announce("device_down", device)
        await self._stop_serving(device)

    async def _stop_serving(self, device: Device) -> None:
        """Its web and RTSP servers closed; a reboot or a move ends every stream."""
        await self._http.close(device)
        rtsp = self._rtsp.pop(device.serial, None)
        if rtsp is not None:
            await rtsp.close()

    # --- what the control API does at run time -------------------------------------

    async def add_devices(self, entries: list, source: str = "<request>") -> list[Device]:
        """Build devices from fixture entries, add them and bring them up; FixtureError or
        ServiceError (an address taken) leaves the fleet as it was."""
        devices = build_devices(entries, self.fleet, source=source, now=self.clock.now())
        started: list[Device] = []
        try:
            for device in devices:
                await self._bring_up(device)
                started.append(device)
        except BaseException:
            for device in started:
                await self._take_down(device)
            raise
        for device in devices:
            self.fleet.add(device)
            await durable(self.journal.added(device, self.fleet))
        return devices

    async def remove_device(self, device: Device) -> None:
        if device.powered:
            await self._take_down(device)
        device.events.close()  # whoever still listens hears the end
        self._armed.pop(device.serial, None)
        self.fleet.remove(device)
        await durable(self.journal.removed(device, self.fleet))

    def reboot(self, device: Device, downtime: float | None = None) -> bool:
        """Restart `device`: gone (Bye) for `downtime` seconds, then back (Hello) with any
        uploaded firmware. False when it is already rebooting."""
        if not device.powered:
            return False
        device.powered = False
        task = asyncio.get_running_loop().create_task(
            self._reboot(device, self.config.reboot_seconds if downtime is None else downtime)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _reboot(self, device: Device, downtime: float) -> None:
        await self._take_down(device)
        self.journal.publish("device.down", device.serial)
        await asyncio.sleep(downtime)
        if device not in self.fleet:
            return  # removed while it was down
        device.reboot(self.clock.now())
        device.powered = True
        try:
            await self._bring_up(device)
        except ServiceError as exc:
            log.warning("%s", exc)
        self.journal.publish("device.up", device.serial)
        self.journal.commit(device)

    def _announce(self, event: str, device: Device) -> None:
        for service in self.services.values():
            hook = getattr(service, event, None)
            if hook is not None:
                hook(device)

    async def settled(self) -> None:
        """Wait until every device that SADP moved, or that reboots, listens again."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve_http(self, device: Device) -> None:
        """Serve the device's web API on its own address; the port it gets is the one it reports."""
        if self._http.serves(device):
            port = device.network.http_port
            bound = await self._on_device_port(device, port, lambda p: self._http.listen(device, p))
            device.network.http_port = bound

    async def _serve_rtsp(self, device: Device) -> None:
        """Serve the device's live video on its own address; the port it gets is the one
        it reports (GetStreamUri, the ready file)."""
        if not isinstance(device, OnvifDevice):
            return  # a vendor without stream paths has no video
        server = RtspServer(device, self.clock, self.clips, self.journal.exchange, self.pacer)
        try:
            port = await self._on_device_port(device, device.network.rtsp_port, server.listen)
        except OSError:
            await server.close()
            raise
        device.network.rtsp_port = port
        self._rtsp[device.serial] = server

    async def _on_device_port(
        self, device: Device, port: int, listen: Callable[[int], Awaitable[T]]
    ) -> T:
        """`listen(port)`, or, where a port below 1024 is not permitted to us (not root),
        `listen` on it moved up by the configured offset (80 → 8080, 554 → 8554)."""
        try:
            return await listen(port)
        except PermissionError:
            offset = self.config.privileged_port_offset
            if not 0 < port < 1024 or not offset:
                raise
            log.info("%s: port %d is privileged, using %d", device.serial, port, port + offset)
            return await listen(port + offset)

    def device_changed(self, device: Device, change: dict[str, Any]) -> None:
        self.journal.commit(device)  # the device is this process's own: as it is now

    def network_changed(self, device: Device) -> None:
        """SADP `update` moved the device: move its web server too, as a real device would."""
        task = asyncio.get_running_loop().create_task(self._move(device))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _move(self, device: Device) -> None:
        await self._stop_serving(device)
        try:
            await self._serve_http(device)
            await self._serve_rtsp(device)
        except OSError as exc:
            # A real device moved to an address outside this host is unreachable too.
            reason = errno.errorcode.get(exc.errno or 0, str(exc))
            log.warning(
                "%s: cannot listen on %s:%d (%s); its web API is unreachable",
                device.serial,
                device.network.ip,
                device.network.http_port,
                reason,
            )

    def describe(self) -> dict:
        """What `--ready-file` writes: every device and every service address."""
        return {
            "pid": os.getpid(),
            "services": describe_services(self.services),
            "devices": [_describe_device(d) for d in self.fleet],
        }

    def write_ready_file(self, path: str | Path) -> None:
        write_ready_file(path, self.describe())


def describe_services(services: Mapping[str, FleetService]) -> dict[str, dict[str, Any]]:
    """Where each service listens, as the ready file says it (with its token, if any)."""
    return {
        name: {"host": service.host, "port": service.port}
        | ({"token": token} if (token := getattr(service, "token", "")) else {})
        for name, service in services.items()
    }


def write_ready_file(path: str | Path, document: dict) -> None:
    """Written atomically, so a script polling for it never reads half a file; on one line,
    by orjson (10,000 devices: 0.02 s, where json took 0.2 s indented or not)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))
    os.replace(tmp, path)


def _describe_device(device: Device) -> dict:
    net = device.network
    return {
        "name": device.label,
        "serial": device.serial,
        "vendor": device.vendor,
        "kind": device.kind,
        "model": device.model,
        "firmware": device.firmware.text,
        "mac": device.mac,
        "uuid": str(device.uuid),
        "address": net.ip,
        "ports": {
            "http": net.http_port,
            "command": net.command_port,
            "https": net.https_port,
            "sdk_tls": net.sdk_tls_port,
            "rtsp": net.rtsp_port,
        },
        "admin_user": device.admin_user,
        "admin_password": device.admin_password,
        "activated": device.activated,
        "streams": stream_docs(device),
    } | vendor_of(device).describe(device)


FLEET_TABLE_DEVICES = 200  # a larger fleet is in the ready file and `nvrsim ctl devices`


def fleet_table(fleet: Fleet) -> str:
    """The table `nvrsim run` prints: one row a device, the first 200 of a larger fleet
    (10,000 rows were a tenth of a second on the way to ready, and nobody reads them)."""
    header = (
        "NAME",
        "SERIAL",
        "MODEL",
        "FIRMWARE",
        "ADDRESS",
        "HTTP",
        "ACTIVATED",
        "CLOUD",
        "BOUND",
    )
    rows = [header]
    for d in fleet.devices[:FLEET_TABLE_DEVICES]:
        cloud = d.cloud
        rows.append(
            (
                d.label,
                d.serial,
                d.model,
                d.firmware.text,
                d.network.ip,
                str(d.network.http_port),
                "yes" if d.activated else "no",
                cloud.state if cloud else "-",
                (cloud and cloud.bound_account) or "-",
            )
        )
    table = text_table(rows)
    if len(fleet) > FLEET_TABLE_DEVICES:
        more = len(fleet) - FLEET_TABLE_DEVICES
        table += f"\n… and {more} more devices: `nvrsim ctl devices`, or the ready file"
    return table
