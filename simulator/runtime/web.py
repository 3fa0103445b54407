"""Each device's own web server: its vendor's API, plus what every device serves.

A vendor API (ISAPI for Hikvision, NIPCA for D-Link) owns the server and its catch-all error
page; protocols that devices of every vendor speak (ONVIF) are mounted on the
same server under their own path prefix, as real firmware serves them on the
same port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from simulator.core.clock import Clock
from simulator.core.device import Device
from simulator.core.restart import Restart
from simulator.dahua.http import CHANGED, dahua_app
from simulator.dlink.nipca import nipca_app
from simulator.hikvision.isapi import isapi_app
from simulator.onvif.http import onvif_mount
from simulator.runtime.journal import ExchangeHook

# Requests that cannot change a device: not worth comparing its state after them.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebOptions:
    heartbeat_interval: float = 10.0  # seconds between ISAPI alertStream keep-alives
    on_exchange: ExchangeHook | None = None  # told of every request answered
    reboot: Restart | None = None  # how the simulator restarts a device


Mounted = tuple[str, web.Application]  # (path prefix, app)

# A protocol every device may serve beside its vendor's API, or None for this device.
Mount = Callable[[Device, Clock], Mounted | None]
MOUNTS: list[Mount] = [onvif_mount]

# The vendor API a device serves, by the capability that grants it.
VendorApp = Callable[[Device, Clock, WebOptions, Sequence[Mounted]], web.Application]
VENDOR_APPS: dict[str, VendorApp] = {
    "isapi": lambda device, clock, options, mounts: isapi_app(
        device,
        clock,
        heartbeat_interval=options.heartbeat_interval,
        mounts=mounts,
        reboot=options.reboot,
    ),
    "nipca": lambda device, clock, options, mounts: nipca_app(
        device, clock, mounts=mounts, reboot=options.reboot
    ),
    "dahua_http": lambda device, clock, options, mounts: dahua_app(device, clock, mounts),
}


def device_app(device: Device, clock: Clock, options: WebOptions) -> web.Application | None:
    """The device's web server, or None for a device without one."""
    make = next((app for cap, app in VENDOR_APPS.items() if device.can(cap)), None)
    if make is None:
        return None
    mounts = [mount for offer in MOUNTS if (mount := offer(device, clock)) is not None]
    app = make(device, clock, options, mounts)
    app.middlewares.insert(0, _observed(device, options.on_exchange))
    return app


def _observed(device: Device, on_exchange: ExchangeHook | None):
    """The outermost middleware: the slow-HTTP fault, then the exchange reported."""

    @web.middleware
    async def observed(request: web.Request, handler) -> web.StreamResponse:
        delay = device.faults.http_delay
        if delay:
            await asyncio.sleep(delay)
        response = await handler(request)
        if on_exchange is not None:
            on_exchange(
                device,
                "http",
                request.remote or "",
                f"{request.method} {request.path}",
                str(response.status),
                # A Dahua CGI setConfig is a GET that writes.
                may_change=request.method not in _READS or request.get(CHANGED, False),
            )
        return response

    return observed
