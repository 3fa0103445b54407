"""The Dahua device's web server: RPC2, /OutsideCmd and the CGI over HTTP Digest. Thin.

- `POST /RPC2_Login`, `/RPC2`, `/OutsideCmd`: JSON in, JSON out, always HTTP 200
  (errors are JSON-RPC error codes); a body that is not JSON gets 268894209.
- `/cgi-bin/<name>.cgi`: HTTP Digest (and Basic where `web_auth` allows it, else
  a Basic try is refused without counting, as amcrest tries Basic first), with
  the challenge `Digest realm="Login to <serial>",qop="auth",nonce="<digits>",
  opaque="<40 hex>"`. A device not initialised answers every CGI with 401
  `Invalid Authority!`; a wrong password 401 `Invalid Authority!` with a new
  challenge; a locked client 403
  `{"ErrorCode":268632081,"Result":false,"RmLock":…,"RmLogin":0}`; an account
  that is not an Administrator changing users or the clock 403
  `Authority:check failure.`.
- Anything else: 501 `Error\\r\\nNot Implemented!`; nothing ever answers 500.

One app serves every Dahua device (simulator.core.residents): a device's DahuaContext
(its authenticator, RPC2 sessions, open attaches) is made on its first request and
closed when it stops listening, which ends its streams.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import end_all
from nvrsim.simulator.core.plugin import CHANGED
from nvrsim.simulator.core.residents import PerDevice, Residents, serving
from nvrsim.simulator.dahua import events, hashes
from nvrsim.simulator.dahua.cgi import (
    BAD_REQUEST,
    CGIS,
    INVALID_AUTHORITY,
    NOT_IMPLEMENTED,
    TEXT,
    CgiReply,
    handle_cgi,
)
from nvrsim.simulator.dahua.errors import LOCKED
from nvrsim.simulator.dahua.manage import permitted
from nvrsim.simulator.dahua.rpc import DahuaRpc
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, NonceState
from nvrsim.simulator.runtime.http_login import challenged, check_login

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# Set on a request whose GET changed the device (a CGI setConfig), for the journal.


class NumericNonces:
    """Dahua's nonces are decimal numbers (`nonce="211955164"`); remembered, bounded."""

    MEMORY = 1024

    def __init__(self, lifetime: float = 300.0) -> None:
        self.lifetime = lifetime
        self._issued: OrderedDict[str, float] = OrderedDict()

    def issue(self, now: float) -> str:
        nonce = str(100_000_000 + secrets.randbelow(1_900_000_000))
        self._issued[nonce] = now
        while len(self._issued) > self.MEMORY:
            self._issued.popitem(last=False)
        return nonce

    def check(self, nonce: str, now: float) -> NonceState:
        issued = self._issued.get(nonce)
        if issued is None:
            return NonceState.FORGED
        return NonceState.FRESH if 0 <= now - issued <= self.lifetime else NonceState.STALE


def dahua_digest_challenge(opaque: str):
    def challenge(realm: str, nonce: str, stale: bool) -> str:
        tail = ",stale=TRUE" if stale else ""
        return f'Digest realm="{realm}",qop="auth",nonce="{nonce}",opaque="{opaque}"{tail}'

    return challenge


@dataclass
class DahuaContext:
    device: Device
    clock: Clock
    auth: HttpAuthenticator
    rpc: DahuaRpc
    streams: set = field(default_factory=set)  # open attaches' subscribers

    @classmethod
    def of(cls, device: Device, clock: Clock) -> DahuaContext:
        opaque = hashlib.sha1(f"opaque:{device.serial}".encode()).hexdigest()
        auth = HttpAuthenticator(
            hashes.realm(device),
            nonces=NumericNonces(),
            digest_challenge=dahua_digest_challenge(opaque),
        )
        return cls(device, clock, auth, DahuaRpc(device))

    def close(self) -> None:
        """Every attach and SubscribeNotify stream ends."""
        end_all(self.streams)
        self.rpc.events.detach_all()


CONTEXT = web.AppKey("dahua", PerDevice[DahuaContext])
USER = web.RequestKey("dahua_user", str)  # who the CGI request's credential named
NO_PERMISSION = "Authority:check failure.\r\n"


def dahua_app(
    device: Device, clock: Clock, mounts: Sequence[tuple[str, web.Application]] = ()
) -> web.Application:
    """One device's web server (see `dahua_web`)."""
    return dahua_web(Residents(only=device), clock, mounts)


def dahua_web(
    residents: Residents, clock: Clock, mounts: Sequence[tuple[str, web.Application]] = ()
) -> web.Application:
    """The web server of every device in `residents`; `mounts` (path prefix, app: ONVIF)
    come before the catch-all."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_vendor_errors])
    app[CONTEXT] = PerDevice(residents, lambda d: DahuaContext.of(d, clock), DahuaContext.close)
    for prefix, sub_app in mounts:
        app.add_subapp(prefix, sub_app)
    app.router.add_route("*", "/RPC2_Login", _rpc)
    app.router.add_route("*", "/RPC2", _rpc)
    app.router.add_route("*", "/OutsideCmd", _rpc)
    app.router.add_route("*", "/cgi-bin/{name}", _cgi)
    app.router.add_get(events.NOTIFY_PATH, _subscribe_notify)
    app.router.add_route("*", "/{path:.*}", _not_implemented)
    return serving(app, residents)


def text(reply: CgiReply) -> web.Response:
    if reply.image is not None:
        return web.Response(body=reply.image, status=reply.status, content_type="image/jpeg")
    return web.Response(text=reply.body, status=reply.status, content_type=TEXT)


async def _not_implemented(request: web.Request) -> web.Response:
    return text(NOT_IMPLEMENTED)


async def _rpc(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT].of(request)
    if request.method != "POST":
        return text(BAD_REQUEST)
    try:
        document = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        document = None
    client, now = request.remote or "", ctx.clock.now()
    endpoint = {"/RPC2_Login": ctx.rpc.login, "/RPC2": ctx.rpc.call, "/OutsideCmd": ctx.rpc.outside}
    reply = endpoint[request.path](document, client, now)
    return web.json_response(reply, dumps=lambda d: json.dumps(d, separators=(",", ":")))


async def _cgi(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT].of(request)
    device, now = ctx.device, ctx.clock.now()
    known = request.match_info["name"] in CGIS or request.match_info["name"] == EVENT_MANAGER
    if not known:  # before any authentication, as ISAPI's 404
        return text(NOT_IMPLEMENTED)
    if request.method not in ("GET", "POST"):
        return text(BAD_REQUEST)
    if not device.activated:
        return web.Response(text=INVALID_AUTHORITY, status=401, content_type=TEXT)
    refusal = _authenticate(ctx, request)
    if refusal is not None:
        return refusal
    query = {k: v for k, v in request.rel_url.query.items()}
    method = f"{request.match_info['name']}?{query.get('action', '')}"
    if not permitted(device, request[USER], method, query):
        return web.Response(text=NO_PERMISSION, status=403, content_type=TEXT)
    if request.match_info["name"] == EVENT_MANAGER:
        request[events.STREAMS] = ctx.streams
        return await _event_manager(request, device, query)
    reply = handle_cgi(device, request.match_info["name"], query, now)
    if reply.changed:
        request[CHANGED] = True
    return text(reply)


EVENT_MANAGER = "eventManager.cgi"


async def _subscribe_notify(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT].of(request)
    rpc = ctx.rpc

    def alive(session: str) -> bool:
        now = ctx.clock.now()
        return rpc.sessions.get(session, now, ctx.device.dahua.session_timeout) is not None

    request[events.STREAMS] = ctx.streams
    return await events.subscribe_notify(request, rpc.events, alive)


async def _event_manager(
    request: web.Request, device: Device, query: dict[str, str]
) -> web.StreamResponse:
    action = query.get("action")
    if action == "getEventIndexes":
        status, body = events.event_indexes(device, query.get("code"))
        return web.Response(text=body, status=status, content_type=TEXT)
    if action != "attach":
        return text(BAD_REQUEST)
    try:
        wanted = events.parse_codes(query.get("codes"))
        beat = query.get("heartbeat")
        heartbeat = max(1.0, float(int(beat))) if beat is not None else None
    except (events.CodesError, ValueError):
        return text(BAD_REQUEST)
    return await events.attach(request, device, wanted, heartbeat)


def _authenticate(ctx: DahuaContext, request: web.Request) -> web.Response | None:
    device, now = ctx.device, ctx.clock.now()
    check = check_login(ctx.auth, device, request, now)
    if check.granted:
        request[USER] = check.user
        return None
    if check.outcome is not None and check.outcome.result is LoginResult.LOCKED:
        body = {
            "ErrorCode": LOCKED.code,
            "Result": False,
            "RmLock": check.outcome.unlock_in,
            "RmLogin": 0,
        }
        return web.Response(
            text=json.dumps(body, separators=(",", ":")), status=403, content_type=TEXT
        )
    response = web.Response(text=INVALID_AUTHORITY, status=401, content_type=TEXT)
    return challenged(response, ctx.auth, device, now, check)


@web.middleware
async def _vendor_errors(request: web.Request, handler) -> web.StreamResponse:
    """Whatever goes wrong, a Dahua error document, never aiohttp's page or a 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 413:
            return text(BAD_REQUEST)
        return text(NOT_IMPLEMENTED if exc.status in (404, 405) else BAD_REQUEST)
    except Exception:
        log.exception("Dahua %s %s failed", request.method, request.path)
        return text(BAD_REQUEST)
