"""ONVIF over HTTP: a thin aiohttp app mounted at /onvif on each vendor's web server.

One app serves every device of the server it is mounted on (simulator.core.residents);
a device's responder, event service and snapshot authenticator are made on its first
request and closed when it stops listening (its subscriptions end). On a device that
does not speak ONVIF the path is not found, answered by the vendor's own catch-all.

SOAP POSTs to /onvif/device_service and /onvif/media_service go to the pure
`OnvifResponder`; GET /onvif/snapshot serves a JPEG behind HTTP Digest (the
same login rule and lockout). Whatever else arrives (another path or method,
a body over the size cap, a bug) is answered with a SOAP fault, never with
aiohttp's error page, and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from nvrsim.protocols import onvif
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.residents import RESIDENTS, PerDevice, Residents, serving
from nvrsim.simulator.onvif.events import EventService
from nvrsim.simulator.onvif.service import OnvifResponder, Service, SoapReply, profile_channel
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, device_realm
from nvrsim.simulator.runtime.http_login import challenged, check_login
from nvrsim.simulator.runtime.testcard import snapshot

log = logging.getLogger(__name__)

PREFIX = "/onvif"


@dataclass
class OnvifContext:
    """One device's ONVIF services."""

    responder: OnvifResponder
    events: EventService
    snapshot_auth: HttpAuthenticator

    @classmethod
    def of(cls, device: Device, clock: Clock) -> OnvifContext:
        responder = OnvifResponder(device, clock)
        return cls(responder, EventService(responder), HttpAuthenticator(device_realm(device)))

    async def close(self) -> None:
        await self.events.close()  # else a long PullMessages holds the server up


CONTEXT = web.AppKey("onvif", PerDevice[OnvifContext])


def onvif_mount(residents: Residents, clock: Clock) -> tuple[str, web.Application]:
    """For a vendor record's mounts: the ONVIF app of the vendor's devices."""
    app = web.Application(middlewares=[_soap_errors])
    app[CONTEXT] = PerDevice(residents, lambda d: OnvifContext.of(d, clock), OnvifContext.close)
    app.router.add_post("/device_service", _soap("device"))
    app.router.add_post("/media_service", _soap("media"))
    app.router.add_post("/media2_service", _soap("media2"))
    app.router.add_post("/ptz_service", _soap("ptz"))
    app.router.add_post("/imaging_service", _soap("imaging"))
    app.router.add_get("/snapshot", _snapshot)
    app.router.add_post("/events_service", _events)
    app.router.add_post("/subscription/{key}", _events)
    app.router.add_route("*", "/{tail:.*}", _not_here)
    return PREFIX, serving(app, residents)


def _reply(reply: SoapReply) -> web.Response:
    return web.Response(
        status=reply.status, body=reply.body, content_type="application/soap+xml", charset="utf-8"
    )


def _fault(fault: onvif.Fault, status: int = 400) -> web.Response:
    return _reply(SoapReply(status, onvif.fault(fault)))


def _soap(service: Service):
    async def handle(request: web.Request) -> web.Response:
        responder = request.app[CONTEXT].of(request).responder  # before the device may go
        body = await request.read()
        return _reply(responder.handle(service, body, request.remote or ""))

    return handle


async def _events(request: web.Request) -> web.Response:
    events = request.app[CONTEXT].of(request).events  # before the device may go
    body = await request.read()
    key = request.match_info.get("key")
    where = "events" if key is None else "subscription"
    return _reply(await events.handle(where, key, body, request.remote or ""))


async def _not_here(request: web.Request) -> web.Response:
    return _fault(onvif.ACTION_NOT_SUPPORTED)


async def _snapshot(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT].of(request)
    responder, auth = ctx.responder, ctx.snapshot_auth
    device, now = responder.device, responder.clock.now()
    channel = profile_channel(device, request.query_string)
    if channel is None:
        return _fault(onvif.NO_PROFILE)
    check = check_login(auth, device, request, now)
    if check.granted:
        video = device.stream_format(VideoStream(channel, False))
        head = device.ptz if channel == 1 else None  # the head moves the first channel
        body = snapshot(video.width, video.height, now, head)  # the main stream's card, now
        return web.Response(body=body, content_type="image/jpeg")
    return challenged(_fault(onvif.NOT_AUTHORIZED, 401), auth, device, now, check)


@web.middleware
async def _soap_errors(request: web.Request, handler) -> web.StreamResponse:
    """A body too large or a bug still gets a SOAP fault, not aiohttp's page."""
    device = request.app[RESIDENTS].find(request)
    if device is None or not device.can("onvif"):
        raise web.HTTPNotFound()  # the vendor's catch-all answers, as without ONVIF
    try:
        return await handler(request)
    except web.HTTPException:  # e.g. a body over the server's size cap
        return _fault(onvif.INVALID_ARG)
    except Exception:
        log.exception("ONVIF %s %s failed", request.method, request.path)
        return _fault(onvif.DEVICE_ERROR, 500)
