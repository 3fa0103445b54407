"""Hikvision ISAPI over HTTP: one aiohttp application for every simulated device.

A thin transport. Every request goes through one dispatcher, in this order:

1. path: matched without regard to case against the resources devices have;
   an unknown path is 404 notSupport without asking for credentials (so a
   client's fallback to an older URL sees 404, as pyhik expects, §2.5);
2. method: a known path with another method is 400 methodNotAllowed;
3. activation: a device without an admin password answers every
   authenticated resource with 403 notActivated [I: HTTP code];
4. authentication: Digest, plus Basic where web_auth is "digest/basic"; the
   credential goes through the device's one login rule and its lockout, and
   every failure is the 401 userCheck document of §2.1; a change to a
   resource only administrators manage (users, time) by another account is
   403 lowPrivilege;
5. the handler; a body it cannot accept is 400 badXmlFormat/badXmlContent
   (413 past 64 KiB) and changes nothing.

The app serves whichever device listens where the request arrived
(simulator.core.residents); each device's IsapiContext (its nonces, activation
challenges, open alertStreams) is made on its first request and closed when it stops
listening, which ends its streams.

Replies carry `Server: Webs` and `X-Frame-Options: SAMEORIGIN` like the real web
server. Nothing here answers 500 unless the simulator itself has a bug, and then
with the vendor's deviceError document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from aiohttp import hdrs, web

from nvrsim.protocols import isapi
from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.residents import PerDevice, Residents, serving
from nvrsim.simulator.core.restart import Restart
from nvrsim.simulator.hikvision.isapi_breadth import LOW_PRIVILEGE
from nvrsim.simulator.hikvision.isapi_handlers import ROUTES
from nvrsim.simulator.hikvision.isapi_http import (
    MAX_BODY,
    IsapiContext,
    Route,
    status_response,
    xml_response,
)
from nvrsim.simulator.hikvision.isapi_ptz import PTZ_ROUTES
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, device_realm
from nvrsim.simulator.runtime.http_login import challenged, check_login

log = logging.getLogger(__name__)

CONTEXT = web.AppKey("isapi", PerDevice[IsapiContext])
USER = web.RequestKey("isapi_user", str)  # who the request's credential named


def isapi_app(
    device: Device,
    clock: Clock,
    *,
    heartbeat_interval: float = 10.0,
    mounts: Sequence[tuple[str, web.Application]] = (),
    reboot: Restart | None = None,
) -> web.Application:
    """One device's web server (see `isapi_web`)."""
    return isapi_web(
        Residents(only=device),
        clock,
        heartbeat_interval=heartbeat_interval,
        mounts=mounts,
        reboot=reboot,
    )


def isapi_web(
    residents: Residents,
    clock: Clock,
    *,
    heartbeat_interval: float = 10.0,
    mounts: Sequence[tuple[str, web.Application]] = (),
    reboot: Restart | None = None,
) -> web.Application:
    """The web server of every device in `residents`. `heartbeat_interval`: seconds
    between alertStream keep-alives; `mounts`: other protocols' apps by path prefix,
    matched before ISAPI's catch-all; `reboot`: how the simulator restarts a device
    (default: in place, never down)."""
    if heartbeat_interval <= 0:
        raise ValueError("heartbeat_interval must be positive")

    def context(device: Device) -> IsapiContext:
        auth = HttpAuthenticator(device_realm(device))
        return IsapiContext(device, clock, auth, heartbeat_interval, reboot=reboot)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_vendor_errors])
    app[CONTEXT] = PerDevice(residents, context, _end_streams)
    for prefix, sub_app in mounts:
        app.add_subapp(prefix, sub_app)
    app.router.add_route("*", "/{path:.*}", _dispatch)
    app.on_response_prepare.append(_webs_headers)
    return serving(app, residents)


def find_route(path: str) -> tuple[Route, re.Match[str]] | tuple[None, None]:
    for route in (*ROUTES, *PTZ_ROUTES):
        match = route.pattern.fullmatch(path)
        if match:
            return route, match
    return None, None


async def _dispatch(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT].of(request)
    route, match = find_route(request.path)
    if route is None or (route.capability and not ctx.device.can(route.capability)):
        return status_response(ctx, request, isapi.NOT_SUPPORT)
    assert match is not None
    handler = route.methods.get(request.method)
    if handler is None:
        return status_response(ctx, request, isapi.METHOD_NOT_ALLOWED)
    if not route.public:
        if not ctx.device.activated:
            return status_response(ctx, request, isapi.NOT_ACTIVATED)
        refusal = _authenticate(ctx, request)
        if refusal is not None:
            return refusal
        if (
            route.administrator
            and request.method != "GET"
            and not ctx.device.administers(request[USER])
        ):
            return status_response(ctx, request, LOW_PRIVILEGE)
    try:
        return await handler(ctx, request, match)
    except isapi.IsapiRequestError as exc:
        return status_response(ctx, request, exc.status)


def _authenticate(ctx: IsapiContext, request: web.Request) -> web.Response | None:
    """None when the request may proceed, else the 401 (or notActivated) reply."""
    device, now = ctx.device, ctx.now()
    check = check_login(ctx.auth, device, request, now)
    if check.granted:
        request[USER] = check.user
        return None
    if (outcome := check.outcome) is not None:
        if outcome.result is LoginResult.NOT_ACTIVATED:
            return status_response(ctx, request, isapi.NOT_ACTIVATED)
        unlock_in, retries_left = outcome.unlock_in, outcome.retries_left
    else:
        # Refused unseen: report the lock as it stands, without counting a failure.
        client = request.remote or ""
        unlock_in = device.lockout.unlock_in(client, now)
        retries_left = device.lockout.retries_left(client, now)
    body = isapi.user_check_unauthorized(
        locked=unlock_in > 0, unlock_in=unlock_in, retries_left=retries_left
    )
    return challenged(xml_response(body, 401), ctx.auth, device, now, check)


_AIOHTTP_ERRORS = {
    404: isapi.NOT_SUPPORT,
    405: isapi.METHOD_NOT_ALLOWED,
    413: isapi.BODY_TOO_LARGE,
}


@web.middleware
async def _vendor_errors(request: web.Request, handler) -> web.StreamResponse:
    """Whatever goes wrong, the client gets the vendor's document, never aiohttp's page."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        status = _AIOHTTP_ERRORS.get(exc.status, isapi.BAD_XML_CONTENT)
        return status_response(request.app[CONTEXT].of(request), request, status)
    except Exception:
        log.exception("ISAPI %s %s failed", request.method, request.path)
        return status_response(request.app[CONTEXT].of(request), request, isapi.DEVICE_ERROR)


async def _webs_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[hdrs.SERVER] = "Webs"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"


def _end_streams(ctx: IsapiContext) -> None:
    ctx.closing.set()
