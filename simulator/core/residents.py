"""Which device a request to a shared web application is for, and that device's state.

One aiohttp application serves every device of a vendor (ISAPI, Dahua's RPC2 and CGI,
NIPCA, each with ONVIF mounted under /onvif), listening on every device's own socket;
a request is for the device listening on the address the client connected to (the
connection's local address). What a protocol keeps per device (its authenticator's
nonces and replay memory, its sessions, its open streams and subscriptions) is made
on the device's first request and dropped, closed, when the device stops listening
(a reboot, an SADP move, its removal), so that its streams end as on real firmware.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from nvrsim.simulator.core.device import Device

T = TypeVar("T")

Address = tuple[str, int]  # (ip, port) as the listening socket reports it


def bind(ip: str, port: int) -> socket.socket:
    """A TCP socket bound to a device's (ip, port), not yet listening: the cheapest way to
    a listening socket (given a host, asyncio would resolve it and try each address first)."""
    sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class Residents:
    """The devices some shared web apps serve, by listening address, and their
    per-device protocol state. `only`: the one device every request is for (an app
    serving a single device, as tests and embedders build it)."""

    def __init__(self, only: Device | None = None) -> None:
        self.only = only
        self._at: dict[Address, Device] = {}
        self._state: dict[str, dict[PerDevice[Any], Any]] = {}  # by serial

    def find(self, request: web.BaseRequest) -> Device | None:
        """The device listening where the request arrived; None when it has gone."""
        if self.only is not None:
            return self.only
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        return self._at.get(sockname[:2]) if sockname else None

    def seat(self, address: Address, device: Device) -> None:
        self._at[address[:2]] = device

    def unseat(self, address: Address) -> None:
        self._at.pop(address[:2], None)

    def __len__(self) -> int:
        return len(self._at)

    def state(self, device: Device, kind: PerDevice[T]) -> T:
        """The device's state of this kind, made on first use."""
        states = self._state.setdefault(device.serial, {})
        value = states.get(kind)
        if value is None:
            value = states[kind] = kind.make(device)
        return value

    async def drop(self, device: Device) -> None:
        """Close and forget everything kept for the device: its streams end."""
        await self._drop(device.serial)

    async def drop_all(self) -> None:
        for serial in list(self._state):
            await self._drop(serial)

    async def _drop(self, serial: str) -> None:
        for kind, value in self._state.pop(serial, {}).items():
            if kind.close is not None and inspect.isawaitable(done := kind.close(value)):
                await done


@dataclass(frozen=True, eq=False)  # a registry key: compared and hashed by identity
class PerDevice(Generic[T]):
    """One protocol's per-device state in a shared app: how it is made and closed."""

    residents: Residents
    make: Callable[[Device], T]
    close: Callable[[T], Awaitable[None] | None] | None = None

    def of(self, request: web.BaseRequest) -> T:
        """The state of the device the request is for (one the gate let in)."""
        device = self.residents.find(request)
        if device is None:  # the outermost middleware refuses these first
            raise LookupError("no device listens here")
        return self.residents.state(device, self)


async def _drop_all(app: web.Application) -> None:
    await app[RESIDENTS].drop_all()


RESIDENTS = web.AppKey("residents", Residents)


def serving(app: web.Application, residents: Residents) -> web.Application:
    """Record who `app` serves; an app for one device drops its state when it shuts
    down (a shared app's owner drops each device's as it goes)."""
    app[RESIDENTS] = residents
    if residents.only is not None:
        app.on_shutdown.append(_drop_all)
    return app
