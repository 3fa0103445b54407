"""Start a fleet's services on real sockets, and describe where each listens."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiohttp import web

from simulator.clouds.dlink_portal.app import portal_app
from simulator.clouds.dlink_portal.fixture import load_portal
from simulator.core.clock import Clock, RealClock
from simulator.core.device import Device
from simulator.core.fleet import Fleet
from simulator.core.text import text_table
from simulator.dahua.dhip import DhipResponder, serve_dhip
from simulator.dlink.discovery import DldpsResponder, SsdpResponder, serve_dldps, serve_ssdp
from simulator.hikvision.sadp import SadpResponder, serve_sadp
from simulator.onvif.wsd import WsdResponder, serve_wsd
from simulator.runtime.fixtures import build_devices
from simulator.runtime.journal import Journal, durable
from simulator.runtime.web import WebOptions, device_app

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A service could not start; the message names it and its address."""


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


class FleetService(Protocol):
    """A fleet-wide listener: one socket answering a discovery protocol for every device."""

    host: str
    port: int

    async def close(self) -> None: ...


class Announcer(Protocol):
    """A service that tells the network when a device comes and goes (WS-Discovery Hello/Bye)."""

    def device_up(self, device: Device) -> None: ...

    def device_down(self, device: Device) -> None: ...


# Starts one fleet service for a simulator, or None when the fleet has no use for it;
# ServiceError names its address if it cannot.
ServiceStarter = Callable[["Simulator"], Awaitable[FleetService | None]]


def cannot_listen(name: str, where: str, exc: OSError) -> ServiceError:
    return ServiceError(f"{name}: cannot listen on {where}: {exc.strerror or exc}")


async def _start_sadp(sim: Simulator) -> FleetService:
    responder = SadpResponder(
        sim.fleet,
        sim.clock,
        on_network_change=sim.network_changed,
        on_exchange=sim.journal.exchange,
    )
    host = "0.0.0.0" if sim.config.interface else sim.config.sadp_host
    try:
        return await serve_sadp(
            responder, host, sim.config.sadp_port, multicast_interface=sim.config.interface
        )
    except OSError as exc:
        raise cannot_listen("SADP", f"udp {host}:{sim.config.sadp_port}", exc) from None


async def _start_control(sim: Simulator) -> FleetService | None:
    from simulator.control.app import start_control  # the control API is built on this module

    return await start_control(sim)


async def _start_hikconnect(sim: Simulator, part: str) -> FleetService | None:
    from simulator.clouds.hikconnect import service  # the link and cloud are built on this module

    return await getattr(service, f"start_{part}")(sim)


def _has_dlink(sim: Simulator) -> bool:
    return any(True for _ in sim.fleet.of_vendor("dlink"))


async def _start_dldps(sim: Simulator) -> FleetService | None:
    if not _has_dlink(sim):
        return None
    host = "0.0.0.0" if sim.config.interface else sim.config.dlink_host
    try:
        return await serve_dldps(
            DldpsResponder(sim.fleet), host, sim.config.dlink_port, sim.config.interface
        )
    except OSError as exc:
        raise cannot_listen("D-Link", f"udp {host}:{sim.config.dlink_port}", exc) from None


async def _start_ssdp(sim: Simulator) -> FleetService | None:
    if not _has_dlink(sim):
        return None
    host = "0.0.0.0" if sim.config.interface else sim.config.dlink_host
    try:
        return await serve_ssdp(
            SsdpResponder(sim.fleet), host, sim.config.ssdp_port, sim.config.interface
        )
    except OSError as exc:
        raise cannot_listen("SSDP", f"udp {host}:{sim.config.ssdp_port}", exc) from None


def _has_dahua(sim: Simulator) -> bool:
    return any(True for _ in sim.fleet.of_vendor("dahua"))


async def _start_dhip(sim: Simulator) -> FleetService | None:
    if not _has_dahua(sim):
        return None
    host = "0.0.0.0" if sim.config.interface else sim.config.dhip_host
    responder = DhipResponder(
        sim.fleet,
        sim.clock,
        on_exchange=sim.journal.exchange,
        on_network_change=sim.network_changed,
    )
    try:
        return await serve_dhip(responder, host, sim.config.dhip_port, sim.config.interface)
    except OSError as exc:
        raise cannot_listen("DHIP", f"udp {host}:{sim.config.dhip_port}", exc) from None


async def _start_dmss(sim: Simulator) -> FleetService | None:
    if not _has_dahua(sim):
        return None
    from simulator.clouds.dmss.service import start_dmss  # the cloud's photo checks need pillow

    return await start_dmss(sim)


class PortalService:
    """The D-Link support portal on its own HTTP port."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner
        self.host, self.port = runner.addresses[0][:2]

    async def close(self) -> None:
        await self._runner.cleanup()


async def _start_portal(sim: Simulator) -> FleetService | None:
    if not _has_dlink(sim):
        return None
    portal = load_portal(sim.config.portal_fixture, now=sim.clock.now())
    runner = web.AppRunner(portal_app(portal, sim.clock), access_log=None, handle_signals=False)
    await runner.setup()
    host, port = sim.config.portal_host, sim.config.portal_port
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as exc:
        await runner.cleanup()
        raise cannot_listen("Portal", f"http {host}:{port}", exc) from None
    return PortalService(runner)


async def _start_wsd(sim: Simulator) -> FleetService:
    config = sim.config
    host = "0.0.0.0" if config.interface else config.wsd_host
    try:
        return await serve_wsd(
            WsdResponder(sim.fleet, sim.clock),
            host,
            config.wsd_port,
            multicast_interface=config.interface,
            announce_to=parse_address(config.wsd_announce) if config.wsd_announce else None,
            jitter=config.wsd_jitter,
        )
    except OSError as exc:
        raise cannot_listen("WSD", f"udp {host}:{config.wsd_port}", exc) from None


def parse_address(text: str) -> tuple[str, int]:
    """`host:port` as given on the command line; ValueError when it is not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not host:port: {text!r}")
    return host, int(port)


# Every fleet-wide service, by the name it is described under, with its URL scheme.
# A starter may return None: that service is switched off.
FLEET_SERVICES: dict[str, tuple[str, ServiceStarter]] = {
    "sadp": ("udp", _start_sadp),
    "control": ("http", _start_control),
    "dlink": ("udp", _start_dldps),
    "ssdp": ("udp", _start_ssdp),
    "portal": ("http", _start_portal),
    "dhip": ("udp", _start_dhip),
    "dmss": ("http", _start_dmss),
    "wsd": ("udp", _start_wsd),
    "mqtt": ("mqtt", lambda sim: _start_hikconnect(sim, "broker")),
    "hikconnect": ("http", lambda sim: _start_hikconnect(sim, "cloud")),
    "hiklink": ("mqtt", lambda sim: _start_hikconnect(sim, "link")),
}


@dataclass
class Simulator:
    fleet: Fleet
    clock: Clock = field(default_factory=RealClock)
    config: ServiceConfig = field(default_factory=ServiceConfig)
    journal: Journal | None = None  # given one with a StateDir, every change is kept there

    def __post_init__(self) -> None:
        self.services: dict[str, FleetService] = {}
        self._http: dict[str, web.AppRunner] = {}  # by serial
        self._tasks: set[asyncio.Task] = set()  # moves and reboots under way
        if self.journal is None:
            self.journal = Journal(self.clock)
        self._web = WebOptions(
            heartbeat_interval=self.config.heartbeat_interval,
            on_exchange=self.journal.exchange,
            reboot=self.reboot,
        )

    @property
    def sadp(self) -> FleetService | None:
        return self.services.get("sadp")

    async def start(self) -> None:
        """Listen everywhere, or, if one address cannot be had, nowhere: ServiceError says which."""
        try:
            for name, (_scheme, starter) in FLEET_SERVICES.items():
                service = await starter(self)
                if service is not None:
                    self.services[name] = service
            for device in self.fleet:
                await self._bring_up(device)
                self.journal.watch(device)  # as it listens: its port is known now
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for device in self.fleet:
            if device.powered:
                self._announce("device_down", device)
        for name in reversed(list(self.services)):  # last started, first stopped
            await self.services.pop(name).close()
        for serial in list(self._http):
            await self._http.pop(serial).cleanup()

    async def _bring_up(self, device: Device) -> None:
        try:
            await self._serve_http(device)
        except OSError as exc:
            net = device.network
            raise ServiceError(
                f"{device.label or device.serial}: cannot listen on http "
                f"{net.ip}:{net.http_port}: {exc.strerror or exc}"
            ) from None
        self._announce("device_up", device)

    async def _take_down(self, device: Device) -> None:
        self._announce("device_down", device)
        runner = self._http.pop(device.serial, None)
        if runner is not None:
            await runner.cleanup()

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
        app = device_app(device, self.clock, self._web)
        if app is None:
            return
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        port = device.network.http_port
        try:
            try:
                await web.TCPSite(runner, device.network.ip, port, reuse_address=True).start()
            except PermissionError:
                offset = self.config.privileged_port_offset
                if not 0 < port < 1024 or not offset:
                    raise
                log.info("%s: port %d is privileged, using %d", device.serial, port, port + offset)
                await web.TCPSite(
                    runner, device.network.ip, port + offset, reuse_address=True
                ).start()
        except OSError:
            await runner.cleanup()
            raise
        device.network.http_port = runner.addresses[0][1]
        self._http[device.serial] = runner

    def network_changed(self, device: Device) -> None:
        """SADP `update` moved the device: move its web server too, as a real device would."""
        task = asyncio.get_running_loop().create_task(self._move(device))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _move(self, device: Device) -> None:
        old = self._http.pop(device.serial, None)
        if old:
            await old.cleanup()
        try:
            await self._serve_http(device)
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
            "services": {
                name: {"host": service.host, "port": service.port}
                | ({"token": token} if (token := getattr(service, "token", "")) else {})
                for name, service in self.services.items()
            },
            "devices": [_describe_device(d) for d in self.fleet],
        }

    def write_ready_file(self, path: str | Path) -> None:
        """Written atomically, so a script polling for it never reads half a file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2) + "\n", encoding="utf-8")
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
        "hik_connect": {
            "enabled": device.hik_connect.enabled,
            "server": device.hik_connect.server,
            "online": device.cloud_online,
            "bound_account": device.hik_connect.bound_account,
            "verification_code": device.hik_connect.verification_code,
        },
    } | _VENDOR_DESCRIPTIONS.get(device.vendor, lambda _d: {})(device)


def _describe_dlink(device: Device) -> dict:
    return {
        "hardware_version": device.hardware_version,
        "mydlink": {"account": device.mydlink.account, "pin_code": device.mydlink.pin_code},
    }


def _describe_dahua(device: Device) -> dict:
    return {
        "dahua": {
            "p2p_online": device.p2p_online,
            "dmss_account": device.dahua.dmss_account,
            "lock_login_times": device.dahua.lock_login_times,
            "login_fail_lock_time": device.dahua.login_fail_lock_time,
        }
    }


_VENDOR_DESCRIPTIONS = {"dlink": _describe_dlink, "dahua": _describe_dahua}


def fleet_table(fleet: Fleet) -> str:
    """The table `nvrsim run` prints: one row a device."""
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
    for d in fleet:
        hc = d.hik_connect
        cloud = "disabled" if not hc.enabled else ("online" if d.cloud_online else "offline")
        bound = hc.bound_account
        if d.vendor == "dlink":  # mydlink registration is D-Link's cloud binding
            cloud = "mydlink" if d.mydlink.registered else "-"
            bound = d.mydlink.account
        if d.vendor == "dahua":  # P2P registration and the DMSS binding
            cloud = "p2p" if d.p2p_online else ("p2p off" if not d.dahua.t2u_enable else "offline")
            bound = d.dahua.dmss_account
        rows.append(
            (
                d.label,
                d.serial,
                d.model,
                d.firmware.text,
                d.network.ip,
                str(d.network.http_port),
                "yes" if d.activated else "no",
                cloud,
                bound or "-",
            )
        )
    return text_table(rows)
