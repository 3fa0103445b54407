"""Plumbing shared by the ISAPI app and its handlers: per-app state, routes, replies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import hdrs, web

from nvrsim.protocols import isapi
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.restart import Restart
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator

# Real firmware caps request bodies far lower than aiohttp's 1 MiB default; ISAPI
# request documents are a few KiB. [I] 64 KiB.
MAX_BODY = 64 * 1024


class ActivationChallenges:
    """The random string each client got from POST /ISAPI/Security/challenge.

    Bounded and expiring: a flood of challenges cannot grow memory, and a stale
    challenge cannot activate a device much later. [I] 300 s, 256 clients.
    """

    LIFETIME = 300.0
    MAX_CLIENTS = 256

    def __init__(self) -> None:
        self._issued: dict[str, tuple[str, float]] = {}

    def remember(self, client: str, random_hex: str, now: float) -> None:
        self._issued.pop(client, None)
        if len(self._issued) >= self.MAX_CLIENTS:
            del self._issued[next(iter(self._issued))]  # the oldest
        self._issued[client] = (random_hex, now)

    def current(self, client: str, now: float) -> str | None:
        random_hex, issued = self._issued.get(client, ("", 0.0))
        return random_hex if random_hex and 0 <= now - issued <= self.LIFETIME else None

    def forget(self, client: str) -> None:
        self._issued.pop(client, None)


@dataclass
class IsapiContext:
    """Everything one device's ISAPI app works with."""

    device: Device
    clock: Clock
    auth: HttpAuthenticator
    heartbeat_interval: float
    challenges: ActivationChallenges = field(default_factory=ActivationChallenges)
    closing: asyncio.Event = field(default_factory=asyncio.Event)  # app shutdown ends streams
    # Restarts the device (the simulator takes it down and up); None: restart in place.
    reboot: Restart | None = None

    @property
    def namespace(self) -> str:
        return self.device.quirks.isapi_namespace

    def now(self) -> float:
        return self.clock.now()


Handler = Callable[[IsapiContext, web.Request, re.Match[str]], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One resource. Paths match without regard to case, as clients disagree on it (§2.1)."""

    path: str  # a regular expression over the decoded path
    methods: Mapping[str, Handler]
    public: bool = False  # answered without authentication (activation)
    capability: str | None = None  # answered only by devices with this capability
    administrator: bool = False  # only an Administrator may change it (GET is anyone's)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.path, re.IGNORECASE | re.ASCII))


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body, status=status, headers={hdrs.CONTENT_TYPE: isapi.XML_CONTENT_TYPE}
    )


def status_response(
    ctx: IsapiContext, request: web.Request, status: isapi.IsapiStatus
) -> web.Response:
    """The vendor's ResponseStatus document, as JSON when the client asked `?format=json`."""
    url = request.rel_url.raw_path
    if request.rel_url.query.get("format", "").lower() == "json":
        return web.Response(
            body=isapi.response_status_json(status, url),
            status=status.http_status,
            headers={hdrs.CONTENT_TYPE: isapi.JSON_CONTENT_TYPE},
        )
    return xml_response(isapi.response_status(status, url, ctx.namespace), status.http_status)


async def read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise isapi.IsapiRequestError("body too large", isapi.BODY_TOO_LARGE) from None
