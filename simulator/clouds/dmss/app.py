"""The DMSS cloud's JSON API (aiohttp). Thin: every decision is `rules.DmssCloud`'s.

    POST   /api/v1/accounts                 {email, password}                  → 201
    POST   /api/v1/session                  {email, password, app}             → {token}
    GET    /api/v1/devices                  the account's devices (online from P2P)
    POST   /api/v1/devices                  {serial, password}   → 201 | 409 already_bound
    DELETE /api/v1/devices/{serial}
    POST   /api/v1/appeals                  multipart: serial, device_photo, [purchase_proof]
    GET    /api/v1/appeals[/{id}]           the appellant's appeals
    GET    /api/v1/notifications            the owner's unbind requests
    POST   /api/v1/appeals/{id}/answer      {accept: true|false} (the current owner)
    GET    /api/v1/outbox                   every e-mail the cloud sent (for testers)

Calls after the session carry `Authorization: Bearer <token>`; the app named at
login (DMSS, iDMSS, gDMSS…) decides whether the Appeal is offered. Errors are
`{"code": …, "message": …}` with a 4xx status; never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from nvrsim.simulator.clouds.dmss.mailer import Mailer
from nvrsim.simulator.clouds.dmss.rules import KNOWN_APPS, Account, DmssCloud, DmssError
from nvrsim.simulator.core.clock import Clock

log = logging.getLogger(__name__)

MAX_UPLOAD = 20 * 1024 * 1024


@dataclass
class Session:
    account: Account
    app: str


@dataclass
class DmssContext:
    cloud: DmssCloud
    clock: Clock
    mailer: Mailer
    sessions: dict[str, Session]
    tasks: set[asyncio.Task[None]]

    def now(self) -> float:
        return self.clock.now()

    def settled(self) -> None:
        """End due reviews, then hand new mail to SMTP in the background."""
        self.cloud.ensure_fleet_accounts(self.now())  # devices added since, bound to someone
        self.cloud.settle(self.now())
        pending = [m for m in self.cloud.outbox if not m.delivered]
        if pending and self.mailer.settings is not None:
            task = asyncio.get_running_loop().create_task(self.mailer.deliver(pending))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


CONTEXT = web.AppKey("dmss", DmssContext)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dmss_app(cloud: DmssCloud, clock: Clock, mailer: Mailer | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[_errors])
    app[CONTEXT] = DmssContext(cloud, clock, mailer or Mailer(None), {}, set())
    r = app.router
    r.add_post("/api/v1/accounts", register)
    r.add_post("/api/v1/session", open_session)
    r.add_get("/api/v1/devices", list_devices)
    r.add_post("/api/v1/devices", add_device)
    r.add_delete("/api/v1/devices/{serial}", remove_device)
    r.add_post("/api/v1/appeals", submit_appeal)
    r.add_get("/api/v1/appeals", list_appeals)
    r.add_get("/api/v1/appeals/{id}", get_appeal)
    r.add_post("/api/v1/appeals/{id}/answer", answer_appeal)
    r.add_get("/api/v1/notifications", notifications)
    r.add_get("/api/v1/outbox", outbox)
    app.on_cleanup.append(_finish_deliveries)
    return app


async def _finish_deliveries(app: web.Application) -> None:
    await asyncio.gather(*app[CONTEXT].tasks, return_exceptions=True)


def _ctx(request: web.Request) -> DmssContext:
    ctx = request.app[CONTEXT]
    ctx.settled()
    return ctx


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise DmssError(400, "bad_request", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise DmssError(400, "bad_request", "the body is not a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise DmssError(400, "bad_request", f"{key} is required")
    return value


def _session(request: web.Request) -> Session:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    session = request.app[CONTEXT].sessions.get(token)
    if session is None:
        raise DmssError(401, "not_logged_in", "log in first")
    return session


async def register(request: web.Request) -> web.Response:
    ctx, body = _ctx(request), await _json(request)
    account = ctx.cloud.register(_text(body, "email"), _text(body, "password"), ctx.now())
    return web.json_response({"email": account.email}, status=201)


async def open_session(request: web.Request) -> web.Response:
    ctx, body = _ctx(request), await _json(request)
    account = ctx.cloud.authenticate(_text(body, "email"), _text(body, "password"))
    app = body.get("app", "DMSS")
    if not isinstance(app, str) or app not in KNOWN_APPS:
        raise DmssError(400, "unknown_app", f"app is one of {sorted(KNOWN_APPS)}")
    token = secrets.token_urlsafe(24)
    ctx.sessions[token] = Session(account, app)
    return web.json_response({"token": token, "email": account.email, "app": app})


def _device_doc(device) -> dict[str, Any]:
    return {
        "serial": device.serial,
        "model": device.model,
        "name": device.name,
        "class": device.kind,
        "online": device.p2p_online,
    }


async def list_devices(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    return web.json_response([_device_doc(d) for d in ctx.cloud.devices_of(session.account)])


async def add_device(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    body = await _json(request)
    device = ctx.cloud.add_device(
        session.account,
        session.app,
        _text(body, "serial"),
        _text(body, "password"),
        request.remote or "",
        ctx.now(),
    )
    return web.json_response(_device_doc(device), status=201)


async def remove_device(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    ctx.cloud.remove_device(session.account, request.match_info["serial"])
    return web.Response(status=204)


async def submit_appeal(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    if not request.content_type.startswith("multipart/"):
        raise DmssError(400, "bad_request", "send the photos as multipart/form-data")
    try:
        form = await request.post()
    except ValueError:
        raise DmssError(400, "bad_request", "the form does not parse") from None
    serial = form.get("serial")
    if not isinstance(serial, str) or not serial:
        raise DmssError(400, "bad_request", "serial is required")
    cloud = ctx.cloud
    cloud.check_appeal(session.account, session.app, serial, ctx.now())
    photo, proof = _file(form.get("device_photo")), _file(form.get("purchase_proof"))
    if not photo:
        raise DmssError(400, "photo_required", "a photo of the device's label is required")
    # Decoding and measuring a phone's photo takes a while: not on the event loop.
    judged = await asyncio.to_thread(cloud.judge, photo)
    judged_proof = await asyncio.to_thread(cloud.judge, proof) if proof else None
    appeal = cloud.submit_appeal(
        session.account, session.app, serial, judged, judged_proof, ctx.now()
    )
    ctx.settled()  # the owner's notification mail goes out now
    return web.json_response(appeal.as_dict(), status=201)


def _file(field: Any) -> bytes | None:
    if isinstance(field, web.FileField):
        return field.file.read()
    if isinstance(field, (bytes, bytearray)):
        return bytes(field)
    return None


def _appeal(request: web.Request, ctx: DmssContext, session: Session):
    try:
        appeal_id = int(request.match_info["id"])
    except ValueError:
        raise DmssError(404, "appeal_not_found", "no such appeal") from None
    appeal = ctx.cloud.appeals.get(appeal_id)
    if appeal is None or session.account.email not in (appeal.appellant, appeal.owner):
        raise DmssError(404, "appeal_not_found", "no such appeal")
    return appeal


async def list_appeals(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    mine = [a for a in ctx.cloud.appeals.values() if a.appellant == session.account.email]
    return web.json_response([a.as_dict() for a in mine])


async def get_appeal(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    return web.json_response(_appeal(request, ctx, session).as_dict())


async def answer_appeal(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    body = await _json(request)
    accept = body.get("accept")
    if not isinstance(accept, bool):
        raise DmssError(400, "bad_request", "accept is true or false")
    appeal = _appeal(request, ctx, session)
    done = ctx.cloud.answer(session.account, appeal.id, accept, ctx.now())
    return web.json_response(done.as_dict())


async def notifications(request: web.Request) -> web.Response:
    ctx, session = _ctx(request), _session(request)
    mine = [n.as_dict() for n in ctx.cloud.notifications if n.account == session.account.email]
    return web.json_response(mine)


async def outbox(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    to = request.query.get("to")
    return web.json_response([m.as_dict() for m in ctx.cloud.outbox if to in (None, m.to)])


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DmssError as exc:
        body = {"code": exc.code, "message": exc.message} | exc.extra
        return web.json_response(body, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"code": "http_error", "message": exc.reason}, status=exc.status)
    except Exception:
        log.exception("DMSS %s %s failed", request.method, request.path)
        return web.json_response({"code": "bad_request", "message": "cannot process"}, status=400)
