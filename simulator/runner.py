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

from .clock import Clock, RealClock
from .device import Device
from .fleet import Fleet
from .sadp import SadpResponder, serve_sadp
from .web import WebOptions, device_app
from .wsd import WsdResponder, serve_wsd

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A service could not start; the message names it and its address."""


@dataclass
class ServiceConfig:
    """Where the fleet-wide services listen. Loopback unless an interface is named."""

    sadp_host: str = "127.0.0.1"
    sadp_port: int = 37020
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


class FleetService(Protocol):
    """A fleet-wide listener: one socket answering a discovery protocol for every device."""

    host: str
    port: int

    async def close(self) -> None: ...


class Announcer(Protocol):
    """A service that tells the network when a device comes and goes (WS-Discovery Hello/Bye)."""

    def device_up(self, device: Device) -> None: ...

    def device_down(self, device: Device) -> None: ...


# Starts one fleet service for a simulator; ServiceError names its address if it cannot.
ServiceStarter = Callable[["Simulator"], Awaitable[FleetService]]


def cannot_listen(name: str, where: str, exc: OSError) -> ServiceError:
    return ServiceError(f"{name}: cannot listen on {where}: {exc.strerror or exc}")


async def _start_sadp(sim: Simulator) -> FleetService:
    responder = SadpResponder(sim.fleet, sim.clock, on_network_change=sim.network_changed)
    host = "0.0.0.0" if sim.config.interface else sim.config.sadp_host
    try:
        return await serve_sadp(
            responder, host, sim.config.sadp_port, multicast_interface=sim.config.interface
        )
    except OSError as exc:
        raise cannot_listen("SADP", f"udp {host}:{sim.config.sadp_port}", exc) from None


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
FLEET_SERVICES: dict[str, tuple[str, ServiceStarter]] = {
    "sadp": ("udp", _start_sadp),
    "wsd": ("udp", _start_wsd),
}


@dataclass
class Simulator:
    fleet: Fleet
    clock: Clock = field(default_factory=RealClock)
    config: ServiceConfig = field(default_factory=ServiceConfig)

    def __post_init__(self) -> None:
        self.services: dict[str, FleetService] = {}
        self._http: dict[str, web.AppRunner] = {}  # by serial
        self._moves: set[asyncio.Task] = set()
        self._web = WebOptions(heartbeat_interval=self.config.heartbeat_interval)

    @property
    def sadp(self) -> FleetService | None:
        return self.services.get("sadp")

    async def start(self) -> None:
        """Listen everywhere, or, if one address cannot be had, nowhere: ServiceError says which."""
        try:
            for name, (_scheme, starter) in FLEET_SERVICES.items():
                self.services[name] = await starter(self)
            for device in self.fleet:
                try:
                    await self._serve_http(device)
                except OSError as exc:
                    net = device.network
                    raise ServiceError(
                        f"{device.label or device.serial}: cannot listen on http "
                        f"{net.ip}:{net.http_port}: {exc.strerror or exc}"
                    ) from None
                self._announce("device_up", device)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for task in list(self._moves):
            task.cancel()
        for device in self.fleet:
            self._announce("device_down", device)
        for name in list(self.services):
            await self.services.pop(name).close()
        for serial in list(self._http):
            await self._http.pop(serial).cleanup()

    def _announce(self, event: str, device: Device) -> None:
        for service in self.services.values():
            hook = getattr(service, event, None)
            if hook is not None:
                hook(device)

    async def settled(self) -> None:
        """Wait until every device that SADP moved listens at its new address."""
        await asyncio.gather(*self._moves, return_exceptions=True)

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
        self._moves.add(task)
        task.add_done_callback(self._moves.discard)

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
            "online": device.hik_connect.online,
            "bound_account": device.hik_connect.bound_account,
            "verification_code": device.hik_connect.verification_code,
        },
    }


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
        cloud = "disabled" if not hc.enabled else ("online" if hc.online else "offline")
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
                hc.bound_account or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
