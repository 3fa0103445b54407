"""The control API: read and change a running fleet over HTTP, and the dashboard it serves.

A thin transport over the Simulator: every change goes through a device rule
or a Simulator method, is recorded by the journal (event stream, protocol log,
`--state`), and is acknowledged only once the journal has it on disk.

It listens on 127.0.0.1 by default. On any other address it requires a token
(`Authorization: Bearer …`, or `?token=` for the dashboard's EventSource); one is
made up and printed when none is given.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp_sse import sse_response
from pydantic import BaseModel, ValidationError

from firmware_menu.live import DEFAULT_SIZE, serve_menu, terminal_size
from firmware_menu.model import MenuModel, Screen
from simulator.control.schema import (
    CaptchaAnswer,
    ClockAdvance,
    ClockChange,
    CloudAccount,
    CloudDevice,
    DeviceModels,
    DmssAccount,
    DmssAccountNew,
    DmssAppeal,
    DmssMail,
    Event,
    FaultsChange,
    FleetInfo,
    Operation,
    Reboot,
    Upgrade,
    device_models,
    openapi,
)
from simulator.control.schema import Clock as ClockDoc
from simulator.core.clock import ScaledClock
from simulator.core.device import Device
from simulator.core.firmware import FirmwareVersion
from simulator.core.fixture import FixtureError
from simulator.core.plugin import Service, ServiceError, SimulatorApi, cannot_listen
from simulator.runtime.fixtures import FaultsSpec, sections
from simulator.runtime.journal import durable
from simulator.runtime.state import device_entry
from simulator.vendors import vendor_of, vendors

if TYPE_CHECKING:
    from simulator.core.faults import Faults

SIM = web.AppKey("simulator", SimulatorApi)
MAX_ADD = 1000  # devices one request may add: each gets its own web server
TOKEN = web.AppKey("token", str)
MENUS = web.AppKey("menus", set)  # the open menu sessions' sockets


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: list[str] | None = None) -> None:
        self.status, self.error, self.detail = status, error, detail or []


# --- documents -----------------------------------------------------------------------------


def device_state(device: Device, now: float) -> dict[str, Any]:
    cloud = device.cloud
    return device_entry(device) | {
        "cloud": asdict(cloud) if cloud is not None else None,
        "status": {
            "powered": device.powered,
            "cloud_online": cloud is not None and cloud.online,
            "bound": cloud is not None and cloud.bound_account is not None,
            "rebooting": not device.powered,
            "locked_clients": device.lockout.locked(now),
            "effective_faults": device.faults.as_dict(),
        }
        | vendor_of(device).status(device),
    }


def _models() -> DeviceModels:
    return device_models(vendors())


def clock_doc(sim: SimulatorApi) -> dict[str, Any]:
    now = sim.clock.now()
    speed = sim.clock.speed if isinstance(sim.clock, ScaledClock) else None
    iso = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
    return {"now": now, "speed": speed, "iso": iso}


# --- handlers ------------------------------------------------------------------------------


def _sim(request: web.Request) -> SimulatorApi:
    return request.app[SIM]


def _device(request: web.Request) -> Device:
    serial = request.match_info["serial"]
    device = _sim(request).fleet.find(serial)
    if device is None:
        raise ApiError(404, f"no device {serial!r} in the fleet")
    return device


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        raw = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, "the body does not validate", _problems(exc)) from None


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    ]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def get_fleet(request: web.Request) -> web.Response:
    sim = _sim(request)
    return _json(
        {
            "name": sim.fleet.name,
            "devices": len(sim.fleet),
            "faults": sim.fleet.faults.as_dict(),
            "clock": clock_doc(sim),
            "services": sim.describe()["services"],
        }
    )


async def list_devices(request: web.Request) -> web.Response:
    sim = _sim(request)
    now = sim.clock.now()
    return _json([device_state(d, now) for d in sim.fleet])


async def get_device(request: web.Request) -> web.Response:
    return _json(device_state(_device(request), _sim(request).clock.now()))


async def add_devices(request: web.Request) -> web.Response:
    """Body: one fixture `[[device]]` entry (with `count` for several)."""
    sim = _sim(request)
    try:
        raw = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    count = raw.get("count", 1) if isinstance(raw, dict) else 1
    if isinstance(count, int) and count > MAX_ADD:
        raise ApiError(400, "too many at once", [f"count: at most {MAX_ADD} devices a request"])
    try:
        devices = await sim.add_devices([raw], source="request")
    except FixtureError as exc:
        status = 409 if "already" in str(exc) or "has a device" in str(exc) else 400
        raise ApiError(status, "the device cannot be added", str(exc).splitlines()) from None
    except ServiceError as exc:
        raise ApiError(409, "the device cannot listen", [str(exc)]) from None
    now = sim.clock.now()
    return _json([device_state(d, now) for d in devices], 201)


async def change_device(request: web.Request) -> web.Response:
    sim, device = _sim(request), _device(request)
    change = await _body(request, _models().change)
    given = change.model_fields_set
    if "admin_password" in given and change.admin_password is not None:
        device.admin_password = change.admin_password
    if change.firmware is not None:
        device.firmware = FirmwareVersion.parse(change.firmware)
    if change.device_name is not None:
        device.name = change.device_name
    own = {s.name for s in vendor_of(device).sections}
    for name, section in sections(vendors()).items():
        part = getattr(change, name, None)
        if part is None:
            continue
        if name not in own:
            owners = " and ".join(v.title for v in vendors() if section in v.sections)
            problem = f"{name}: only {owners} devices have it"
            raise ApiError(400, "the body does not validate", [problem])
        target = getattr(device, name)
        for field in part.model_fields_set:
            value = getattr(part, field)
            if value is not None or field in section.clearable:
                setattr(target, field, value)
    device.sync_lockout()
    await durable(sim.journal.commit(device))
    return _json(device_state(device, sim.clock.now()))


async def remove_device(request: web.Request) -> web.Response:
    await _sim(request).remove_device(_device(request))
    return web.Response(status=204)


async def reboot_device(request: web.Request) -> web.Response:
    sim, device = _sim(request), _device(request)
    reboot: Reboot = await _body(request, Reboot)
    if not sim.reboot(device, reboot.downtime):
        raise ApiError(409, f"{device.serial} is already rebooting")
    return _json(device_state(device, sim.clock.now()), 202)


async def upgrade_device(request: web.Request) -> web.Response:
    """The upgrade flow without the upload: the version is staged, then the device reboots."""
    sim, device = _sim(request), _device(request)
    upgrade: Upgrade = await _body(request, Upgrade)
    if not device.powered:
        raise ApiError(409, f"{device.serial} is rebooting")
    device.pending_firmware = FirmwareVersion.parse(upgrade.version)
    await durable(sim.journal.commit(device))
    sim.reboot(device)
    return _json(device_state(device, sim.clock.now()), 202)


async def factory_reset(request: web.Request) -> web.Response:
    sim, device = _sim(request), _device(request)
    device.factory_reset(sim.clock.now())
    await durable(sim.journal.commit(device))
    return _json(device_state(device, sim.clock.now()))


async def menu_session(request: web.Request) -> web.StreamResponse:
    """A recorder's local menu on the live device, for `nvrsim menu` (firmware_menu/live.py)."""
    sim, device = _sim(request), _device(request)
    model = MenuModel(device, sim.clock, restart=sim.reboot)
    if model.screen is Screen.NO_MENU:
        raise ApiError(409, f"{device.serial} is a {device.model} ({device.kind}): no local menu")
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "the menu is a WebSocket: connect with `nvrsim menu --device SERIAL`")
    await ws.prepare(request)
    size = terminal_size(request.query.get("columns"), request.query.get("rows"))
    request.app[MENUS].add(ws)
    try:
        await serve_menu(ws, model, size or DEFAULT_SIZE, lambda: sim.journal.commit(device))
    finally:
        request.app[MENUS].discard(ws)
    return ws


async def device_log(request: web.Request) -> web.Response:
    device = _device(request)
    return _json([e.as_dict() for e in _sim(request).journal.log(device.serial)])


def _changed_faults(current: Faults, change: FaultsChange) -> Faults:
    return current.update(
        {k: getattr(change, k) for k in change.model_fields_set if getattr(change, k) is not None}
    )


async def get_device_faults(request: web.Request) -> web.Response:
    return _json(_device(request).own_faults.as_dict())


async def set_device_faults(request: web.Request) -> web.Response:
    sim, device = _sim(request), _device(request)
    change: FaultsChange = await _body(request, FaultsChange)
    device.own_faults = _changed_faults(device.own_faults, change)
    await durable(sim.journal.commit(device))
    return _json(device.own_faults.as_dict())


async def get_fleet_faults(request: web.Request) -> web.Response:
    return _json(_sim(request).fleet.faults.as_dict())


async def set_fleet_faults(request: web.Request) -> web.Response:
    sim = _sim(request)
    change: FaultsChange = await _body(request, FaultsChange)
    sim.fleet.set_faults(_changed_faults(sim.fleet.faults, change))
    sim.journal.publish("fleet.faults", None, faults=sim.fleet.faults.as_dict())
    if sim.journal.store is not None:
        await durable(sim.journal.save(sim.journal.store.save_fleet, sim.fleet))
    return _json(sim.fleet.faults.as_dict())


async def get_clock(request: web.Request) -> web.Response:
    return _json(clock_doc(_sim(request)))


async def set_clock(request: web.Request) -> web.Response:
    sim = _sim(request)
    change: ClockChange = await _body(request, ClockChange)
    if change.speed is not None:
        if not isinstance(sim.clock, ScaledClock):
            raise ApiError(409, "this simulator's clock has no speed: it moves only when told")
        sim.clock.speed = change.speed
    if change.now is not None:
        sim.clock.set(change.now)
    return await _clock_changed(sim)


async def advance_clock(request: web.Request) -> web.Response:
    sim = _sim(request)
    advance: ClockAdvance = await _body(request, ClockAdvance)
    sim.clock.advance(advance.seconds)
    return await _clock_changed(sim)


async def _clock_changed(sim: SimulatorApi) -> web.Response:
    doc = clock_doc(sim)
    sim.journal.publish("clock", None, **doc)
    if sim.journal.store is not None and isinstance(sim.clock, ScaledClock):
        state = {"offset": sim.clock.offset, "speed": sim.clock.speed}
        await durable(sim.journal.save(sim.journal.store.save_clock, state))
    return _json(doc)


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every change and exchange, replayed from Last-Event-ID."""
    journal = _sim(request).journal
    serial = request.query.get("serial") or None
    subscription = journal.subscribe(serial)
    try:
        async with sse_response(request, ping_interval=10) as stream:
            last = stream.last_event_id
            if last is not None and last.isdigit():
                for event in journal.since(int(last), serial):
                    await _send(stream, event)
            async for event in subscription:
                await _send(stream, event)
    except ConnectionError:
        pass
    finally:
        subscription.close()
    return stream


async def _send(stream, event) -> None:
    await stream.send(json.dumps(event.as_dict()), id=str(event.id), event=event.kind)


# --- the Hik-Connect cloud, when this simulator serves it --------------------------------------


def _cloud(request: web.Request):
    server = _sim(request).services.get("hikconnect")
    if server is None:
        raise ApiError(404, "this simulator serves no Hik-Connect cloud (see --broker)")
    return server.cloud  # type: ignore[attr-defined]


async def cloud_accounts(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    return _json(
        [
            {
                "name": a.name,
                "region": a.region,
                "devices": sorted(r.status.device_serial for r in cloud.registry.owned_by(a.name)),
            }
            for a in cloud.accounts.accounts.values()
        ]
    )


async def cloud_devices(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    return _json(
        [
            {
                "device_serial": r.status.device_serial,
                "serial": r.status.serial,
                "model": r.status.model,
                "region": r.region,
                "online": cloud.registry.online(r),
                "bound_account": r.status.bound_account,
                "link": r.status.link,
            }
            for r in cloud.registry.records.values()
        ]
    )


async def cloud_captcha(request: web.Request) -> web.Response:
    """A captcha's answer, for tests: only when the run was started with --cloud-test-mode."""
    cloud = _cloud(request)
    if not cloud.test_mode:
        raise ApiError(404, "captcha answers are readable only in test mode (--cloud-test-mode)")
    captcha = cloud.captchas.peek(request.match_info["id"], cloud.clock.now())
    if captcha is None:
        raise ApiError(404, "no such captcha, or it expired or was used")
    return _json({"id": captcha.id, "answer": captcha.answer})


# --- the DMSS cloud (when the fleet has Dahua devices) -----------------------------------------


def _dmss(request: web.Request):
    service = _sim(request).services.get("dmss")
    if service is None:
        raise ApiError(409, "no DMSS cloud runs: the fleet has no Dahua devices")
    service.settle()  # reviews the clock has ended are decided before anything is read
    return service.cloud


def _account_doc(cloud, account) -> dict[str, Any]:
    return {"email": account.email, "devices": [d.serial for d in cloud.devices_of(account)]}


async def dmss_accounts(request: web.Request) -> web.Response:
    cloud = _dmss(request)
    return _json([_account_doc(cloud, a) for a in cloud.accounts.values()])


async def dmss_add_account(request: web.Request) -> web.Response:
    from simulator.clouds.dmss.rules import DmssError

    cloud = _dmss(request)
    new: DmssAccountNew = await _body(request, DmssAccountNew)
    try:
        account = cloud.register(new.email, new.password, _sim(request).clock.now())
    except DmssError as exc:
        raise ApiError(exc.status if exc.status == 409 else 400, exc.message) from None
    return _json(_account_doc(cloud, account), 201)


async def dmss_appeals(request: web.Request) -> web.Response:
    return _json([a.as_dict() for a in _dmss(request).appeals.values()])


async def dmss_outbox(request: web.Request) -> web.Response:
    return _json([m.as_dict() for m in _dmss(request).outbox])


async def openapi_document(request: web.Request) -> web.Response:
    return _json(openapi(operations(), token=bool(request.app[TOKEN])))


# --- the app ----------------------------------------------------------------------------------

_SERIAL = "/api/devices/{serial}"


def operations() -> tuple[Operation, ...]:
    """Every route, with the device documents of the vendors registered now."""
    models = _models()
    return (
        Operation(
            "GET",
            "/api/fleet",
            "The fleet: size, faults, clock, services",
            get_fleet,
            returns=FleetInfo,
        ),
        Operation(
            "GET",
            "/api/devices",
            "Every device with its full state",
            list_devices,
            returns=[models.state],
        ),
        Operation(
            "POST",
            "/api/devices",
            "Add devices: one fixture [[device]] entry",
            add_devices,
            body=models.spec,
            ok=201,
            returns=[models.state],
            errors=(409,),
        ),
        Operation(
            "GET",
            _SERIAL,
            "One device (by serial or fixture name)",
            get_device,
            returns=models.state,
        ),
        Operation(
            "PATCH",
            _SERIAL,
            "Change a device's state",
            change_device,
            body=models.change,
            returns=models.state,
        ),
        Operation("DELETE", _SERIAL, "Remove a device", remove_device, ok=204),
        Operation(
            "POST",
            _SERIAL + "/reboot",
            "Reboot: gone (Bye), then back (Hello)",
            reboot_device,
            body=Reboot,
            ok=202,
            returns=models.state,
            errors=(409,),
        ),
        Operation(
            "POST",
            _SERIAL + "/upgrade",
            "Upgrade the firmware: staged, then a reboot",
            upgrade_device,
            body=Upgrade,
            ok=202,
            returns=models.state,
            errors=(409,),
        ),
        Operation(
            "POST",
            _SERIAL + "/factory-reset",
            "Back to factory: not activated",
            factory_reset,
            returns=models.state,
        ),
        Operation(
            "GET",
            _SERIAL + "/log",
            "The device's recent protocol exchanges",
            device_log,
            returns=[Event],
        ),
        Operation(
            "GET",
            _SERIAL + "/faults",
            "The faults set on this device",
            get_device_faults,
            returns=FaultsSpec,
        ),
        Operation(
            "PUT",
            _SERIAL + "/faults",
            "Set faults on this device",
            set_device_faults,
            body=FaultsChange,
            returns=FaultsSpec,
        ),
        Operation(
            "GET",
            "/api/faults",
            "The faults set on the whole fleet",
            get_fleet_faults,
            returns=FaultsSpec,
        ),
        Operation(
            "PUT",
            "/api/faults",
            "Set faults on the whole fleet",
            set_fleet_faults,
            body=FaultsChange,
            returns=FaultsSpec,
        ),
        Operation("GET", "/api/clock", "The simulator's clock", get_clock, returns=ClockDoc),
        Operation(
            "GET",
            "/api/dmss/accounts",
            "DMSS cloud accounts and the devices bound to each",
            dmss_accounts,
            returns=[DmssAccount],
            errors=(409,),
        ),
        Operation(
            "POST",
            "/api/dmss/accounts",
            "Create a DMSS cloud account",
            dmss_add_account,
            body=DmssAccountNew,
            ok=201,
            returns=DmssAccount,
            errors=(409,),
        ),
        Operation(
            "GET",
            "/api/dmss/appeals",
            "Every DMSS appeal (advance the clock 48 h to end a review)",
            dmss_appeals,
            returns=[DmssAppeal],
            errors=(409,),
        ),
        Operation(
            "GET",
            "/api/dmss/outbox",
            "Every e-mail the DMSS cloud sent",
            dmss_outbox,
            returns=[DmssMail],
            errors=(409,),
        ),
        Operation(
            "PUT",
            "/api/clock",
            "Set the clock's time or speed",
            set_clock,
            body=ClockChange,
            returns=ClockDoc,
            errors=(409,),
        ),
        Operation(
            "POST",
            "/api/clock/advance",
            "Move the clock forward",
            advance_clock,
            body=ClockAdvance,
            returns=ClockDoc,
        ),
        Operation(
            "GET",
            "/api/cloud/accounts",
            "Hik-Connect cloud accounts and the devices bound to each",
            cloud_accounts,
            returns=[CloudAccount],
            errors=(404,),
        ),
        Operation(
            "GET",
            "/api/cloud/devices",
            "Every device the Hik-Connect cloud knows, online or not",
            cloud_devices,
            returns=[CloudDevice],
            errors=(404,),
        ),
        Operation(
            "GET",
            "/api/cloud/captchas/{id}",
            "A captcha's answer (test mode only)",
            cloud_captcha,
            returns=CaptchaAnswer,
        ),
    )


def control_app(sim: SimulatorApi, token: str = "") -> web.Application:
    app = web.Application(middlewares=[_errors, _authorised], client_max_size=1 << 20)
    app[SIM], app[TOKEN], app[MENUS] = sim, token, set()
    for op in operations():
        app.router.add_route(op.method, op.path, op.handler)
    app.router.add_get("/api/openapi.json", openapi_document)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/devices/{serial}/menu", menu_session)
    dashboard = resources.files("simulator.control") / "dashboard"
    app.router.add_get("/", _dashboard_page)
    app.router.add_static("/static", str(dashboard))
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    app[SIM].journal.end_streams()  # else each open stream holds the shutdown up
    for ws in list(app[MENUS]):
        await ws.close(message=b"the simulator is stopping")


async def _dashboard_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(str(resources.files("simulator.control") / "dashboard" / "index.html"))


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _json({"error": exc.error, "detail": exc.detail}, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _json({"error": exc.reason, "detail": []}, exc.status)
        if "Allow" in exc.headers:  # a 405 says what the resource does allow
            response.headers["Allow"] = exc.headers["Allow"]
        return response


@web.middleware
async def _authorised(request: web.Request, handler) -> web.StreamResponse:
    token = request.app[TOKEN]
    if token and request.path.startswith("/api/") and request.path != "/api/openapi.json":
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        sent = sent or request.query.get("token", "")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise ApiError(401, "a token is required: Authorization: Bearer <token>")
    return await handler(request)


# --- as one of the simulator's services --------------------------------------------------------


class ControlServer:
    def __init__(self, runner: web.AppRunner, token: str) -> None:
        self._runner = runner
        self.host, self.port = runner.addresses[0][:2]
        self.token = token

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_control(sim: SimulatorApi) -> ControlServer | None:
    config = sim.config
    if config.control_port is None:
        return None
    token = config.token or ""
    if not token and not ipaddress.ip_address(config.control_host).is_loopback:
        token = secrets.token_urlsafe(16)
    runner = web.AppRunner(control_app(sim, token), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.control_host, config.control_port).start()
    except OSError as exc:
        await runner.cleanup()
        where = f"http {config.control_host}:{config.control_port}"
        raise cannot_listen("control API", where, exc) from None
    return ControlServer(runner, token)


CONTROL = Service("control", "http", start_control)
