"""The control API: read and change a running fleet over HTTP, and the dashboard it serves.

A thin transport over the Simulator: every change goes through a device rule
or a Simulator method, is recorded by the journal (event stream, protocol log,
`--state`), and is acknowledged only once the journal has it on disk.

It listens on 127.0.0.1 by default. On any other address it requires a token
(`Authorization: Bearer …`, or `?token=` for the dashboard's EventSource) and refuses
to start without one: a fleet's passwords and bindings are not the LAN's to change.
A token works on loopback too. `GET /api/health` and `/api/openapi.json` need none, so
that a container's health check holds no secret.

The handlers live by resource beside this module (devices, faults, clock, clouds, events,
menu); this one assembles their routes into one table, which both the app and its OpenAPI
document are built from.
"""

from __future__ import annotations

import hmac
import ipaddress
from importlib import resources

from aiohttp import web

from nvrsim.simulator.control import clock, clouds, devices, events, faults, scenarios
from nvrsim.simulator.control.common import (
    MENUS,
    SIM,
    TOKEN,
    ApiError,
    json_reply,
    simulator_of,
)
from nvrsim.simulator.control.devices import device_state
from nvrsim.simulator.control.menu import add_dashboard_routes, menu_session
from nvrsim.simulator.control.schema import Health, Operation, openapi
from nvrsim.simulator.core.plugin import Service, ServiceError, SimulatorApi
from nvrsim.simulator.runtime.http_service import HttpService, listen

# what the runner and the tests import from here (device_state lives in devices)
__all__ = [
    "CONTROL",
    "control_app",
    "control_token",
    "device_state",
    "operations",
    "start_control",
]


async def health(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    if not sim.serving:
        raise ApiError(503, "not serving: the fleet is starting or stopping")
    return json_reply({"status": "serving", "devices": len(sim.fleet)})


HEALTH = Operation(
    "GET",
    "/api/health",
    "Whether every device listens (for health checks; needs no token)",
    health,
    returns=Health,
    errors=(503,),
    public=True,
)


def operations() -> tuple[Operation, ...]:
    """Every route, with the device documents of the vendors registered now."""
    return (
        HEALTH,
        *devices.operations(),
        *faults.OPERATIONS,
        *clock.OPERATIONS,
        *clouds.OPERATIONS,
        *scenarios.OPERATIONS,
        *events.OPERATIONS,
    )


async def openapi_document(request: web.Request) -> web.Response:
    return json_reply(openapi(operations(), token=bool(request.app[TOKEN])))


# --- the app ----------------------------------------------------------------------------------


def api_application(token: str) -> web.Application:
    """An application that answers as the control API does: its error documents, and its
    token asked of every route but the public ones (the face in front of several is one)."""
    public = {"/api/openapi.json", *(op.path for op in operations() if op.public)}
    app = web.Application(middlewares=[_errors, _authorised(public)], client_max_size=1 << 20)
    app[TOKEN] = token
    return app


def control_app(sim: SimulatorApi, token: str = "") -> web.Application:
    app = api_application(token)
    app[SIM], app[MENUS] = sim, set()
    for op in operations():
        app.router.add_route(op.method, op.path, op.handler)
    app.router.add_get("/api/openapi.json", openapi_document)
    app.router.add_get("/api/events", events.events)
    app.router.add_get("/api/devices/{serial}/menu", menu_session)
    add_dashboard_routes(app)
    dashboard = resources.files("nvrsim.simulator.control") / "dashboard"
    app.router.add_get("/", _dashboard_page)
    app.router.add_static("/static", str(dashboard))
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    app[SIM].journal.end_streams()  # else each open stream holds the shutdown up
    for ws in list(app[MENUS]):
        await ws.close(message=b"the simulator is stopping")


async def _dashboard_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        str(resources.files("nvrsim.simulator.control") / "dashboard" / "index.html")
    )


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_reply({"error": exc.error, "detail": exc.detail}, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = json_reply({"error": exc.reason, "detail": []}, exc.status)
        if "Allow" in exc.headers:  # a 405 says what the resource does allow
            response.headers["Allow"] = exc.headers["Allow"]
        return response


def _authorised(public: set[str]):
    @web.middleware
    async def authorised(request: web.Request, handler) -> web.StreamResponse:
        token = request.app[TOKEN]
        if token and request.path.startswith("/api/") and request.path not in public:
            scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer":  # RFC 6750: the scheme is not optional
                sent = request.query.get("token", "")
            if not hmac.compare_digest(sent.strip().encode(), token.encode()):
                raise ApiError(401, "a token is required: Authorization: Bearer <token>")
        return await handler(request)

    return authorised


def control_token(host: str, token: str | None) -> str:
    """The token the control API on `host` requires ("" for none): refused (ServiceError)
    beyond loopback without one. A host name other than localhost counts as beyond."""
    if token:
        return token
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ServiceError(
            f"control API: will not listen on {host} without a token "
            "(give --control-token TOKEN or set NVRSIM_CONTROL_TOKEN)"
        )
    return ""


# --- as one of the simulator's services --------------------------------------------------------


class ControlServer(HttpService):
    def __init__(self, runner: web.AppRunner, token: str) -> None:
        super().__init__(runner)
        self.token = token


async def start_control(sim: SimulatorApi) -> ControlServer | None:
    config = sim.config
    if config.control_port is None:
        return None
    token = control_token(config.control_host, config.token)
    app = control_app(sim, token)
    where = (config.control_host, config.control_port)
    return ControlServer(await listen(app, "control API", *where, reuse_address=False), token)


CONTROL = Service("control", "http", start_control)
