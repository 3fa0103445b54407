"""D-Link NIPCA over HTTP: one aiohttp application for every simulated DCS camera and DNR
recorder; a request is for the device listening where it arrived
(simulator.core.residents), whose NipcaContext is made on its first request and closed
(its streams ended) when it stops listening.

A thin transport; every request goes through one dispatcher, in this order:

1. path: exact (case-sensitive, as lighttpd on the cameras); unknown → 404;
   mounted protocols (ONVIF) are matched before this catch-all;
2. method: a known path with another method → 405;
3. setup: a device with no admin password yet (a "setup" model after a factory
   reset) answers 403 `admin password not set`, except user.cgi, where the
   first password is chosen without credentials;
4. authentication: HTTP Digest, plus Basic where `web_auth` is "digest/basic",
   or the challenge login session of newer cameras (capability
   `nipca_challenge`); the credential goes through `Device.login`, the one rule
   with the shared per-client lockout;
5. settings: from the query, and for POST the body too (`protocols.nipca`); a
   request that does not parse or names an unknown setting → 400 and nothing
   changes.

Choices where the public record is silent [I], documented in docs/dlink.md:
errors are one `error=<reason>` line with the status above; the Digest and
Basic realm is the model name; replies carry `Server: dcs-lig-httpd`; challenge
sessions last 30 minutes idle, at most 64 per device; a signed request's `ts` is
not checked for freshness (clients disagree on clocks), only its signature.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import hdrs, web

from nvrsim.protocols import nipca
from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import end_all
from nvrsim.simulator.core.residents import PerDevice, Residents, serving
from nvrsim.simulator.core.restart import Restart
from nvrsim.simulator.dlink import events
from nvrsim.simulator.dlink.nipca_handlers import ROUTES, Call, NipcaRequestError, text_response
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator
from nvrsim.simulator.runtime.http_login import challenged, check_login

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024  # [I] NIPCA settings are a few lines
CHALLENGE_PATH = "/common/authentication.cgi"


def dlink_digest_challenge(realm: str, nonce: str, stale: bool) -> str:
    stale_part = ', stale="TRUE"' if stale else ""
    return f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm=MD5{stale_part}'


@dataclass
class ChallengeSession:
    username: str
    public_key: str
    challenge: str
    last_used: float
    key: str | None = None  # set once the login succeeded


class ChallengeSessions:
    """Challenge-login sessions by their `uid` cookie; bounded and expiring."""

    IDLE = 1800.0
    MAX = 64

    def __init__(self) -> None:
        self._by_uid: OrderedDict[str, ChallengeSession] = OrderedDict()

    def open(self, username: str, now: float) -> tuple[str, ChallengeSession]:
        uid = secrets.token_hex(8).upper()
        session = ChallengeSession(
            username, secrets.token_hex(10).upper(), secrets.token_hex(10).upper(), now
        )
        self._by_uid[uid] = session
        while len(self._by_uid) > self.MAX:
            self._by_uid.popitem(last=False)
        return uid, session

    def get(self, uid: str | None, now: float) -> ChallengeSession | None:
        session = self._by_uid.get(uid or "")
        if session is None or now - session.last_used > self.IDLE:
            return None
        session.last_used = now
        self._by_uid.move_to_end(uid or "")
        return session

    def clear(self) -> None:
        self._by_uid.clear()


@dataclass
class NipcaContext:
    device: Device
    clock: Clock
    auth: HttpAuthenticator
    sessions: ChallengeSessions = field(default_factory=ChallengeSessions)
    boot_time: float = 0.0  # sessions end when the device reboots or is reset
    reboot: Restart | None = None  # how the simulator restarts the device (None: in place)
    streams: set = field(default_factory=set)  # open notify_streams' subscribers

    def close(self) -> None:
        end_all(self.streams)


CONTEXT = web.AppKey("nipca", PerDevice[NipcaContext])


def nipca_app(
    device: Device,
    clock: Clock,
    *,
    mounts: Sequence[tuple[str, web.Application]] = (),
    reboot: Restart | None = None,
) -> web.Application:
    """One device's web server (see `nipca_web`)."""
    return nipca_web(Residents(only=device), clock, mounts=mounts, reboot=reboot)


def nipca_web(
    residents: Residents,
    clock: Clock,
    *,
    mounts: Sequence[tuple[str, web.Application]] = (),
    reboot: Restart | None = None,
) -> web.Application:
    """The web server of every device in `residents`; `mounts` (path prefix, app) are
    matched before NIPCA's catch-all."""

    def context(device: Device) -> NipcaContext:
        auth = HttpAuthenticator(device.model, digest_challenge=dlink_digest_challenge)
        return NipcaContext(device, clock, auth, boot_time=device.boot_time, reboot=reboot)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_vendor_errors])
    app[CONTEXT] = PerDevice(residents, context, NipcaContext.close)
    for prefix, sub_app in mounts:
        app.add_subapp(prefix, sub_app)
    app.router.add_route("*", "/{path:.*}", _dispatch)
    app.on_response_prepare.append(_server_header)
    return serving(app, residents)


def error_response(error: nipca.NipcaError) -> web.Response:
    return web.Response(
        body=error.encode(), status=error.http_status, content_type=nipca.TEXT_CONTENT_TYPE
    )


async def _params(request: web.Request) -> dict[str, str]:
    """Query and (POST) body settings; NipcaRequestError when either does not parse."""
    try:
        fields = nipca.parse_request(request.rel_url.raw_query_string)
        if request.method == "POST":
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise NipcaRequestError(nipca.BODY_TOO_LARGE) from None
            for key, value in nipca.parse_request(body).items():
                if key in fields:
                    raise NipcaRequestError()
                fields[key] = value
    except nipca.NipcaDecodeError:
        raise NipcaRequestError() from None
    return fields


async def _dispatch(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT].of(request)
    request[events.STREAMS] = ctx.streams
    device = ctx.device
    if ctx.boot_time != device.boot_time:  # rebooted or reset: every session ends
        ctx.sessions.clear()
        ctx.boot_time = device.boot_time
    if request.path == CHALLENGE_PATH and device.can("nipca_challenge"):
        return await _challenge_login(ctx, request)
    route = ROUTES.get(request.path)
    if route is None:
        return error_response(nipca.NOT_FOUND)
    handler = route.methods.get(request.method)
    if handler is None:
        return error_response(nipca.METHOD_NOT_ALLOWED)
    signed = False
    if not route.public:
        if not device.activated:
            if not route.before_setup:
                return error_response(nipca.NOT_SET_UP)
        else:
            signed = _signed_session(ctx, request)
            if not signed and (refusal := _authenticate(ctx, request)) is not None:
                return refusal
    try:
        params = await _params(request)
        if signed:  # the signature is not a setting
            for key in ("sid", "ts"):
                params.pop(key, None)
        host = request.host or f"{device.network.ip}:{device.network.http_port}"
        call = Call(
            device, ctx.clock, params, request.method, f"http://{host}", ctx.reboot, request
        )
        return await handler(call)
    except NipcaRequestError as exc:
        return error_response(exc.error)


def _authenticate(ctx: NipcaContext, request: web.Request) -> web.Response | None:
    """None when Basic/Digest credentials pass the device's login rule, else the 401."""
    device, now = ctx.device, ctx.clock.now()
    check = check_login(ctx.auth, device, request, now)
    if check.granted:
        return None
    if check.outcome is not None and check.outcome.result is LoginResult.NOT_ACTIVATED:
        return error_response(nipca.NOT_SET_UP)
    return challenged(error_response(nipca.UNAUTHORIZED), ctx.auth, device, now, check)


def _signed_session(ctx: NipcaContext, request: web.Request) -> bool:
    """A request signed by a challenge-login session: cookie uid, query sid and ts."""
    if not ctx.device.can("nipca_challenge"):
        return False
    session = ctx.sessions.get(request.cookies.get("uid"), ctx.clock.now())
    sid, ts = request.rel_url.query.get("sid", ""), request.rel_url.query.get("ts", "")
    if session is None or session.key is None or not sid or not ts.isdigit():
        return False
    expected = nipca.request_signature(session.key, ts, request.path)
    return hmac.compare_digest(expected, sid.upper())


async def _challenge_login(ctx: NipcaContext, request: web.Request) -> web.Response:
    """act=request opens a session and hands out its challenge; act=login proves the password."""
    device, now = ctx.device, ctx.clock.now()
    if request.method not in ("GET", "POST"):
        return error_response(nipca.METHOD_NOT_ALLOWED)
    try:
        params = await _params(request)
    except NipcaRequestError as exc:
        return error_response(exc.error)
    if not device.activated:
        return error_response(nipca.NOT_SET_UP)
    act = params.get("act")
    if act == "request" and params.get("username"):
        uid, session = ctx.sessions.open(params["username"], now)
        challenge = nipca.Challenge(uid, session.public_key, session.challenge)
        response = web.Response(body=challenge.encode(), content_type=nipca.TEXT_CONTENT_TYPE)
        response.set_cookie("uid", uid, path="/")
        return response
    if act != "login" or "loginpassword" not in params:
        return error_response(nipca.BAD_PARAMETER)
    uid = request.cookies.get("uid") or params.get("uid")
    session = ctx.sessions.get(uid, now)
    if session is None:
        return error_response(nipca.UNAUTHORIZED)
    sent = params["loginpassword"].upper()

    def proof(password: str) -> bool:
        expected = nipca.login_password(session.public_key, password, session.challenge)
        return hmac.compare_digest(expected, sent)

    outcome = device.login(request.remote or "", proof, now, user=session.username)
    if not outcome.granted:
        return error_response(nipca.UNAUTHORIZED)
    # The device derives the session key from its own password, as the client did.
    session.key = nipca.private_key(
        session.public_key, device.admin_password or "", session.challenge
    )
    return text_response({"LoginResult": "success"})


@web.middleware
async def _vendor_errors(request: web.Request, handler) -> web.StreamResponse:
    """Whatever goes wrong, the client gets an `error=` document, never aiohttp's page."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        errors = {404: nipca.NOT_FOUND, 405: nipca.METHOD_NOT_ALLOWED, 413: nipca.BODY_TOO_LARGE}
        return error_response(errors.get(exc.status, nipca.BAD_PARAMETER))
    except Exception:
        log.exception("NIPCA %s %s failed", request.method, request.path)
        return error_response(nipca.DEVICE_ERROR)


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[hdrs.SERVER] = "dcs-lig-httpd"
