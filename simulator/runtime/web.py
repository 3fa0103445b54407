"""Each device's own web server: its vendor's API, plus what every device serves.

A vendor's web API (ISAPI, Dahua's RPC2/CGI, NIPCA) owns the server and its catch-all
error page; protocols that devices of every vendor speak (ONVIF) are mounted on the
same server under their own path prefix, as real firmware serves them on the
same port.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.plugin import CHANGED, ExchangeHook, WebOptions
from nvrsim.simulator.vendors import vendor_of

__all__ = ["WebOptions", "device_app"]

# Requests that cannot change a device: not worth comparing its state after them.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def device_app(device: Device, clock: Clock, options: WebOptions) -> web.Application | None:
    """The device's web server, or None for a device without one."""
    vendor = vendor_of(device)
    if vendor.web is None:
        return None
    mounts = [mount for offer in vendor.mounts if (mount := offer(device, clock)) is not None]
    app = vendor.web(device, clock, options, mounts)
    if app is None:
        return None
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
