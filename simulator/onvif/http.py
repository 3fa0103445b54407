"""ONVIF over HTTP: a thin aiohttp app mounted at /onvif on each device's own web server.

SOAP POSTs to /onvif/device_service and /onvif/media_service go to the pure
`OnvifResponder`; GET /onvif/snapshot serves a JPEG behind HTTP Digest (the
same login rule and lockout). Whatever else arrives (another path or method,
a body over the size cap, a bug) is answered with a SOAP fault, never with
aiohttp's error page, and changes nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web

from nvrsim.protocols import onvif
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.onvif.events import EventService
from nvrsim.simulator.onvif.service import OnvifResponder, Service, SoapReply, profile_channel
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, device_realm
from nvrsim.simulator.runtime.http_login import challenged, check_login
from nvrsim.simulator.runtime.testcard import snapshot

log = logging.getLogger(__name__)

PREFIX = "/onvif"
RESPONDER = web.AppKey("onvif", OnvifResponder)
SNAPSHOT_AUTH = web.AppKey("onvif_snapshot_auth", HttpAuthenticator)
EVENTS = web.AppKey("onvif_events", EventService)


def onvif_mount(device: Device, clock: Clock) -> tuple[str, web.Application] | None:
    """For web.MOUNTS: the ONVIF app of a device that speaks ONVIF."""
    if not device.can("onvif"):
        return None
    app = web.Application(middlewares=[_soap_errors])
    app[RESPONDER] = responder = OnvifResponder(device, clock)
    app[EVENTS] = EventService(responder)
    app[SNAPSHOT_AUTH] = HttpAuthenticator(device_realm(device))
    app.router.add_post("/device_service", _soap("device"))
    app.router.add_post("/media_service", _soap("media"))
    app.router.add_post("/media2_service", _soap("media2"))
    app.router.add_post("/ptz_service", _soap("ptz"))
    app.router.add_post("/imaging_service", _soap("imaging"))
    app.router.add_get("/snapshot", _snapshot)
    app.router.add_post("/events_service", _events)
    app.router.add_post("/subscription/{key}", _events)
    app.on_shutdown.append(_end_subscriptions)  # else a long PullMessages holds it up
    app.router.add_route("*", "/{tail:.*}", _not_here)
    return PREFIX, app


def _reply(reply: SoapReply) -> web.Response:
    return web.Response(
        status=reply.status, body=reply.body, content_type="application/soap+xml", charset="utf-8"
    )


def _fault(fault: onvif.Fault, status: int = 400) -> web.Response:
    return _reply(SoapReply(status, onvif.fault(fault)))


def _soap(service: Service):
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        reply = request.app[RESPONDER].handle(service, body, request.remote or "")
        return _reply(reply)

    return handle


async def _events(request: web.Request) -> web.Response:
    body = await request.read()
    key = request.match_info.get("key")
    where = "events" if key is None else "subscription"
    return _reply(await request.app[EVENTS].handle(where, key, body, request.remote or ""))


async def _end_subscriptions(app: web.Application) -> None:
    await app[EVENTS].close()


async def _not_here(request: web.Request) -> web.Response:
    return _fault(onvif.ACTION_NOT_SUPPORTED)


async def _snapshot(request: web.Request) -> web.Response:
    responder, auth = request.app[RESPONDER], request.app[SNAPSHOT_AUTH]
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
    try:
        return await handler(request)
    except web.HTTPException:  # e.g. a body over the server's size cap
        return _fault(onvif.INVALID_ARG)
    except Exception:
        log.exception("ONVIF %s %s failed", request.method, request.path)
        return _fault(onvif.DEVICE_ERROR, 500)
