"""The devices' web servers: one aiohttp application per vendor, listening on every
device's own socket, the device chosen by the address the client connected to.

A vendor's web API (ISAPI, Dahua's RPC2/CGI, NIPCA) owns the server and its catch-all
error page; protocols that devices of every vendor speak (ONVIF) are mounted on the
same server under their own path prefix, as real firmware serves them on the same port.

Why one app per vendor: building an Application and its router per device (50,000
routes for 10,000 cameras) and an AppRunner each was most of a large fleet's start-up.
Now a device costs a bound socket, a `Listener` on it sharing the vendor's protocol
factory, and its protocol state, made on its first request
(simulator.core.residents). Each vendor's app is built on first need.

Choices where the public record is silent:
- Per vendor, not per (vendor, kind): a recorder and a camera differ only in the
  capabilities each request consults, never in the routes.
- A request arriving on a connection whose device has just stopped listening (it
  reboots, moves, is removed) gets no reply: the connection is closed, as a device
  going down closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.plugin import CHANGED, ExchangeHook, Mounted, Vendor, WebOptions
from nvrsim.simulator.core.residents import Address, Residents, bind
from nvrsim.simulator.runtime.listener import Listener
from nvrsim.simulator.vendors import vendor_of

__all__ = ["WebApps", "WebOptions", "bind", "device_app"]

# A request being answered when its device goes down may finish within this long (its
# streams have ended by then); then its connection is closed anyway.
FINISH_SECONDS = 2.0

# Requests that cannot change a device: not worth comparing its state after them.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def device_app(device: Device, clock: Clock, options: WebOptions) -> web.Application | None:
    """One device's web server on its own (for tests and embedders), or None for a
    device without one."""
    vendor = vendor_of(device)
    if vendor.web is None or not vendor.has_web(device):
        return None
    return _vendor_app(vendor, Residents(only=device), clock, options)


def _vendor_app(
    vendor: Vendor, residents: Residents, clock: Clock, options: WebOptions
) -> web.Application:
    assert vendor.web is not None
    mounts: Sequence[Mounted] = [offer(residents, clock) for offer in vendor.mounts]
    app = vendor.web(residents, clock, options, mounts)
    app.middlewares.insert(0, _observed(residents, options.on_exchange))
    return app


class WebApps:
    """The fleet's device web servers: each vendor's app, its one runner, and a listening
    socket per device."""

    def __init__(self, clock: Clock, options: WebOptions) -> None:
        self.clock = clock
        self.options = options
        self.residents = Residents()
        self.runners: dict[Vendor, web.AppRunner] = {}  # built on first need
        self._building = asyncio.Lock()  # devices brought up at once build one runner
        self._servers: dict[str, tuple[Address, Listener, web.AppRunner]] = {}  # serial

    def __len__(self) -> int:
        """How many devices listen."""
        return len(self._servers)

    def app_of(self, device: Device) -> web.Application | None:
        """The app answering the device's requests, while it listens."""
        entry = self._servers.get(device.serial)
        return entry[2].app if entry is not None else None

    def serves(self, device: Device) -> bool:
        vendor = vendor_of(device)
        return vendor.web is not None and vendor.has_web(device)

    async def listen(self, device: Device, port: int) -> int:
        """Serve the device's web API on `port` of its address; the port it got.
        OSError (PermissionError for a privileged port) when the address is not ours."""
        runner = await self._runner(vendor_of(device))
        sock = bind(device.network.ip, port)
        assert runner.server is not None
        try:
            listener = Listener(sock, runner.server)
        except BaseException:
            sock.close()
            raise
        address: Address = sock.getsockname()[:2]
        self._servers[device.serial] = (address, listener, runner)
        self.residents.seat(address, device)
        return address[1]

    async def close(self, device: Device) -> None:
        """The device stops listening: its streams end, its connections close, and its
        protocol state is dropped (a reboot starts afresh)."""
        entry = self._servers.pop(device.serial, None)
        if entry is None:
            return
        address, listener, runner = entry
        self.residents.unseat(address)
        listener.close()
        await self.residents.drop(device)
        assert runner.server is not None
        await asyncio.gather(
            *(
                handler.shutdown(FINISH_SECONDS)
                for handler in runner.server.connections
                if (transport := handler.transport) is not None
                and transport.get_extra_info("sockname")[:2] == address
            )
        )

    async def close_all(self) -> None:
        for _address, listener, _runner in self._servers.values():
            listener.close()
        self._servers.clear()
        await self.residents.drop_all()
        runners, self.runners = list(self.runners.values()), {}
        await asyncio.gather(*(runner.cleanup() for runner in runners))

    async def _runner(self, vendor: Vendor) -> web.AppRunner:
        if (runner := self.runners.get(vendor)) is not None:
            return runner
        async with self._building:
            if (runner := self.runners.get(vendor)) is not None:
                return runner
            app = _vendor_app(vendor, self.residents, self.clock, self.options)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            self.runners[vendor] = runner
        return runner


def _observed(residents: Residents, on_exchange: ExchangeHook | None):
    """The outermost middleware: the device the request is for (or, when it has gone, the
    connection closed), the slow-HTTP fault, then the exchange reported."""

    @web.middleware
    async def observed(request: web.Request, handler) -> web.StreamResponse:
        device = residents.find(request)
        if device is not None and (delay := device.faults.http_delay):
            await asyncio.sleep(delay)
            device = residents.find(request)  # it may have gone meanwhile
        if device is None:
            request.protocol.force_close()
            return web.Response(status=503)  # never written: the connection is closed
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
