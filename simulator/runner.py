"""Start a fleet's services on real sockets, and describe where each listens."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from .clock import Clock, RealClock
from .device import Device
from .fleet import Fleet
from .isapi import isapi_app
from .sadp import SadpResponder, SadpServer, serve_sadp

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A service could not start; the message names it and its address."""


@dataclass
class ServiceConfig:
    """Where the fleet-wide services listen. Loopback unless an interface is named."""

    sadp_host: str = "127.0.0.1"
    sadp_port: int = 37020
    # An interface address to join SADP's multicast group on (binds 0.0.0.0 then).
    interface: str | None = None
    # A port below 1024 that we may not bind is moved up by this much (80 → 8080).
    privileged_port_offset: int = 8000
    heartbeat_interval: float = 10.0


@dataclass
class Simulator:
    fleet: Fleet
    clock: Clock = field(default_factory=RealClock)
    config: ServiceConfig = field(default_factory=ServiceConfig)

    def __post_init__(self) -> None:
        self.sadp: SadpServer | None = None
        self._http: dict[str, web.AppRunner] = {}  # by serial
        self._moves: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Listen everywhere, or, if one address cannot be had, nowhere: ServiceError says which."""
        responder = SadpResponder(self.fleet, self.clock, on_network_change=self._network_changed)
        host = "0.0.0.0" if self.config.interface else self.config.sadp_host
        try:
            try:
                self.sadp = await serve_sadp(
                    responder,
                    host,
                    self.config.sadp_port,
                    multicast_interface=self.config.interface,
                )
            except OSError as exc:
                raise ServiceError(
                    f"SADP: cannot listen on udp {host}:{self.config.sadp_port}: "
                    f"{exc.strerror or exc}"
                ) from None
            for device in self.fleet:
                try:
                    await self._serve_http(device)
                except OSError as exc:
                    net = device.network
                    raise ServiceError(
                        f"{device.label or device.serial}: cannot listen on http "
                        f"{net.ip}:{net.http_port}: {exc.strerror or exc}"
                    ) from None
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for task in list(self._moves):
            task.cancel()
        if self.sadp:
            await self.sadp.close()
            self.sadp = None
        for serial in list(self._http):
            await self._http.pop(serial).cleanup()

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
        if not device.can("isapi"):
            return
        runner = web.AppRunner(
            isapi_app(device, self.clock, heartbeat_interval=self.config.heartbeat_interval),
            access_log=None,
            handle_signals=False,
        )
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

    def _network_changed(self, device: Device) -> None:
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
                "sadp": {"host": self.sadp.host, "port": self.sadp.port} if self.sadp else None,
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
