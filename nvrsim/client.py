"""A typed client of the control API (docs/control-api.md): `Client` and `AsyncClient`.

Answers are the API's own pydantic models (simulator/control/schema.py): the documents the
OpenAPI description is generated from are the ones this client validates with, so the
client cannot drift from the server. A refusal raises `ApiError` with the API's message
and detail lines; an API that cannot be reached raises `Unreachable`. Both are
`ClientError`s.

Each call is described once (`Call`: method, path, body, how to read the answer) and both
clients only carry it: `Client` over urllib, `AsyncClient` over aiohttp.

Choices where the public record is silent:
- The synchronous client speaks urllib rather than running the async one on a loop
  thread: it needs no thread and no loop, so it behaves the same from a script, a plain
  test, a CLI, and code already inside a running loop (where `run_until_complete` fails).
- A device's state is checked part by part (its fixture entry, its cloud, its status)
  by the shared models, then put together as the API's `DeviceState`: the entry model
  alone refuses fields it does not know as sections.
- `DeviceState` is typed here as a Protocol of the fields every device has, so a
  user's type checker sees them; the object is the API's model, with each vendor's
  sections beside them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast
from urllib.parse import quote

from pydantic import TypeAdapter

from nvrsim.simulator.control.schema import (
    CaptchaAnswer,
    Clock,
    CloudAccount,
    CloudDevice,
    CloudDoc,
    DeviceStatus,
    DmssAccount,
    DmssAppeal,
    DmssMail,
    Event,
    EventRaised,
    FleetInfo,
    ScenarioDoc,
    StreamDoc,
    device_models,
)
from nvrsim.simulator.runtime.fixtures import FaultsSpec
from nvrsim.simulator.vendors import vendors

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "Clock",
    "DeviceState",
    "Event",
    "FaultsSpec",
    "FleetInfo",
    "Unreachable",
]

T = TypeVar("T")
DEFAULT_API = "http://127.0.0.1:8321"
_TIMEOUT = 30.0


class ClientError(Exception):
    """Anything that kept a call from being answered; str() is a message for a person."""


class ApiError(ClientError):
    """The API refused: `status` (400, 401, 404, 409), `error` and `detail` as it sent them."""

    def __init__(self, status: int, error: str, detail: list[str] | None = None) -> None:
        self.status, self.error, self.detail = status, error, list(detail or [])
        super().__init__(error + "".join(f"\n  {line}" for line in self.detail))


class Unreachable(ClientError):
    """Nothing answered at the API's address."""


class DeviceState(Protocol):
    """What every device's state has (`GET /api/devices/{serial}`); each vendor's
    sections (`hik_connect`, `dahua`, `mydlink`, `onvif`) are attributes beside these."""

    name: str
    serial: str
    vendor: str
    kind: str
    model: str
    firmware: str
    pending_firmware: str | None
    admin_password: str | None
    mac: str
    uuid: str | None
    address: Any  # ipaddress.IPv4Interface
    device_name: str | None
    cloud: CloudDoc | None
    streams: list[StreamDoc]
    status: DeviceStatus

    @property
    def ports(self) -> Any: ...  # PortsSpec: http, https, command, sdk_tls, rtsp

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


def device_state(doc: Any) -> DeviceState:
    """A device document as the API sends it, checked by the API's own models: its fixture
    entry, then each field the state shows beside it (cloud, streams, status)."""
    models = device_models(vendors())
    if not isinstance(doc, dict):
        raise ClientError(f"the control API sent {type(doc).__name__}, not a device")
    shown = models.state.model_fields.keys() - models.spec.model_fields.keys()
    entry = models.spec.model_validate({k: v for k, v in doc.items() if k not in shown})
    fields = dict(entry)
    for name in shown:
        field = models.state.model_fields[name]
        value = doc.get(name, None if field.is_required() else field.get_default())
        fields[name] = TypeAdapter(cast(Any, field.annotation)).validate_python(value)
    state = models.state.model_construct(entry.model_fields_set | shown, **fields)
    return state  # type: ignore[return-value]


def _one(model: type[T]) -> Callable[[Any], T]:
    adapter = TypeAdapter(model)
    return adapter.validate_python


def _many(model: type[T]) -> Callable[[Any], list[T]]:
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter.validate_python


def _devices(doc: Any) -> list[DeviceState]:
    return [device_state(d) for d in doc]


def _nothing(doc: Any) -> None:
    return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer."""

    method: str
    path: str
    read: Callable[[Any], T]
    body: Any = None


def _device(serial: str) -> str:
    return f"/api/devices/{quote(serial, safe='')}"


def _faults(serial: str | None) -> str:
    return "/api/faults" if serial is None else _device(serial) + "/faults"


def _given(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _event_body(type: str, event: dict[str, Any]) -> dict[str, Any]:
    """The API's event document: `duration` is its `for`, a Python keyword."""
    duration = event.pop("duration", None)
    return _given(type=type, **event) | _given(**{"for": duration})


class _Calls:
    """Every call of the API once; the two clients below only carry them."""

    fleet = Call("GET", "/api/fleet", _one(FleetInfo))
    devices = Call("GET", "/api/devices", _devices)
    clock = Call("GET", "/api/clock", _one(Clock))
    cloud_accounts = Call("GET", "/api/cloud/accounts", _many(CloudAccount))
    cloud_devices = Call("GET", "/api/cloud/devices", _many(CloudDevice))
    dmss_accounts = Call("GET", "/api/dmss/accounts", _many(DmssAccount))
    dmss_appeals = Call("GET", "/api/dmss/appeals", _many(DmssAppeal))
    dmss_outbox = Call("GET", "/api/dmss/outbox", _many(DmssMail))
    scenario = Call("GET", "/api/scenario", _one(ScenarioDoc))

    @staticmethod
    def device(serial: str) -> Call[DeviceState]:
        return Call("GET", _device(serial), device_state)

    @staticmethod
    def add_devices(entry: dict[str, Any]) -> Call[list[DeviceState]]:
        return Call("POST", "/api/devices", _devices, entry)

    @staticmethod
    def change_device(serial: str, change: dict[str, Any]) -> Call[DeviceState]:
        return Call("PATCH", _device(serial), device_state, change)

    @staticmethod
    def remove_device(serial: str) -> Call[None]:
        return Call("DELETE", _device(serial), _nothing)

    @staticmethod
    def reboot(serial: str, downtime: float | None) -> Call[DeviceState]:
        return Call("POST", _device(serial) + "/reboot", device_state, _given(downtime=downtime))

    @staticmethod
    def upgrade(serial: str, version: str) -> Call[DeviceState]:
        return Call("POST", _device(serial) + "/upgrade", device_state, {"version": version})

    @staticmethod
    def factory_reset(serial: str) -> Call[DeviceState]:
        return Call("POST", _device(serial) + "/factory-reset", device_state)

    @staticmethod
    def log(serial: str) -> Call[list[Event]]:
        return Call("GET", _device(serial) + "/log", _many(Event))

    @staticmethod
    def active_events(serial: str) -> Call[EventRaised]:
        return Call("GET", _device(serial) + "/events", _one(EventRaised))

    @staticmethod
    def raise_event(serial: str, event: dict[str, Any]) -> Call[EventRaised]:
        return Call("POST", _device(serial) + "/events", _one(EventRaised), event)

    @staticmethod
    def faults(serial: str | None) -> Call[FaultsSpec]:
        return Call("GET", _faults(serial), _one(FaultsSpec))

    @staticmethod
    def set_faults(serial: str | None, faults: dict[str, Any]) -> Call[FaultsSpec]:
        return Call("PUT", _faults(serial), _one(FaultsSpec), faults)

    @staticmethod
    def set_clock(now: float | None, speed: float | None) -> Call[Clock]:
        return Call("PUT", "/api/clock", _one(Clock), _given(now=now, speed=speed))

    @staticmethod
    def advance_clock(seconds: float) -> Call[Clock]:
        return Call("POST", "/api/clock/advance", _one(Clock), {"seconds": seconds})

    @staticmethod
    def captcha(captcha_id: str) -> Call[CaptchaAnswer]:
        path = f"/api/cloud/captchas/{quote(captcha_id, safe='')}"
        return Call("GET", path, _one(CaptchaAnswer))

    @staticmethod
    def add_dmss_account(email: str, password: str) -> Call[DmssAccount]:
        body = {"email": email, "password": password}
        return Call("POST", "/api/dmss/accounts", _one(DmssAccount), body)


def _refusal(status: int, reason: str, text: bytes) -> ApiError:
    try:
        problem = json.loads(text or b"{}")
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = problem.get("detail")
    return ApiError(
        status,
        str(problem.get("error") or reason),
        [str(line) for line in detail] if isinstance(detail, list) else [],
    )


def _unreachable(base: str, reason: object) -> Unreachable:
    return Unreachable(
        f"cannot reach the control API at {base}: {reason} "
        "(is `nvrsim run` running? --api or NVRSIM_API names another)"
    )


def _event(line: bytes) -> Event | None:
    if not line.startswith(b"data: "):
        return None
    return Event.model_validate_json(line[6:])


class _Base:
    def __init__(self, base: str = DEFAULT_API, token: str | None = None) -> None:
        self.base, self.token = base.rstrip("/"), token

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _stream_headers(self, since: int | None) -> dict[str, str]:
        # Last-Event-ID is how an SSE client resumes: the API replays what followed it.
        return self._headers() | ({"Last-Event-ID": str(since)} if since is not None else {})

    @staticmethod
    def device_path(serial: str) -> str:
        """The path of a device's resource, for `call`."""
        return _device(serial)


class Client(_Base):
    """The control API, synchronously: `Client("http://127.0.0.1:8321").devices()`."""

    def send(self, call: Call[T]) -> T:
        return call.read(self.call(call.method, call.path, call.body))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Any route, its answer as plain JSON: for what the typed methods do not cover."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=self._headers()
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as reply:
                text = reply.read()
        except urllib.error.HTTPError as exc:
            raise _refusal(exc.code, str(exc.reason), exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            raise _unreachable(self.base, getattr(exc, "reason", exc)) from None
        return json.loads(text) if text else None

    def events(self, serial: str | None = None, since: int | None = None) -> Iterator[Event]:
        """The event stream until the caller stops reading: from now on, or first every
        event the simulator still holds after the one whose id is `since` (0: all)."""
        path = "/api/events" + (f"?serial={quote(serial)}" if serial else "")
        request = urllib.request.Request(self.base + path, headers=self._stream_headers(since))
        try:
            with urllib.request.urlopen(request) as stream:
                for line in stream:
                    if (event := _event(line)) is not None:
                        yield event
        except urllib.error.HTTPError as exc:
            raise _refusal(exc.code, str(exc.reason), exc.read()) from None
        except urllib.error.URLError as exc:
            raise _unreachable(self.base, exc.reason) from None

    # --- the fleet and its devices
    def fleet(self) -> FleetInfo:
        return self.send(_Calls.fleet)

    def devices(self) -> list[DeviceState]:
        return self.send(_Calls.devices)

    def device(self, serial: str) -> DeviceState:
        """One device, by serial or fixture name."""
        return self.send(_Calls.device(serial))

    def add_devices(self, entry: dict[str, Any]) -> list[DeviceState]:
        """One fixture `[[device]]` entry (with `count` for several)."""
        return self.send(_Calls.add_devices(entry))

    def change_device(self, serial: str, **change: Any) -> DeviceState:
        """PATCH: `admin_password=`, `firmware=`, `device_name=`, or a vendor's section as a
        dict (`hik_connect={"online": False}`); the fields not named stay."""
        return self.send(_Calls.change_device(serial, change))

    def remove_device(self, serial: str) -> None:
        return self.send(_Calls.remove_device(serial))

    def reboot(self, serial: str, downtime: float | None = None) -> DeviceState:
        return self.send(_Calls.reboot(serial, downtime))

    def upgrade(self, serial: str, version: str) -> DeviceState:
        return self.send(_Calls.upgrade(serial, version))

    def factory_reset(self, serial: str) -> DeviceState:
        return self.send(_Calls.factory_reset(serial))

    def log(self, serial: str) -> list[Event]:
        return self.send(_Calls.log(serial))

    # --- device events (motion, tamper...): `type`, `channel`, `state`, `duration` seconds
    def active_events(self, serial: str) -> EventRaised:
        return self.send(_Calls.active_events(serial))

    def raise_event(self, serial: str, type: str, **event: Any) -> EventRaised:
        return self.send(_Calls.raise_event(serial, _event_body(type, event)))

    # --- faults: a device's own (serial) or the whole fleet's (None)
    def faults(self, serial: str | None = None) -> FaultsSpec:
        return self.send(_Calls.faults(serial))

    def set_faults(self, serial: str | None = None, **faults: Any) -> FaultsSpec:
        return self.send(_Calls.set_faults(serial, faults))

    # --- the clock
    def clock(self) -> Clock:
        return self.send(_Calls.clock)

    def set_clock(self, now: float | None = None, speed: float | None = None) -> Clock:
        return self.send(_Calls.set_clock(now, speed))

    def advance_clock(self, seconds: float) -> Clock:
        return self.send(_Calls.advance_clock(seconds))

    # --- the clouds
    def cloud_accounts(self) -> list[CloudAccount]:
        return self.send(_Calls.cloud_accounts)

    def cloud_devices(self) -> list[CloudDevice]:
        return self.send(_Calls.cloud_devices)

    def captcha(self, captcha_id: str) -> CaptchaAnswer:
        return self.send(_Calls.captcha(captcha_id))

    def dmss_accounts(self) -> list[DmssAccount]:
        return self.send(_Calls.dmss_accounts)

    def add_dmss_account(self, email: str, password: str) -> DmssAccount:
        return self.send(_Calls.add_dmss_account(email, password))

    def dmss_appeals(self) -> list[DmssAppeal]:
        return self.send(_Calls.dmss_appeals)

    def dmss_outbox(self) -> list[DmssMail]:
        return self.send(_Calls.dmss_outbox)

    def scenario(self) -> ScenarioDoc:
        return self.send(_Calls.scenario)


class AsyncClient(_Base):
    """The control API from asyncio: `async with AsyncClient(url) as api: await api.devices()`.

    It opens its own aiohttp session on entry, or uses `session` when given one.
    """

    def __init__(
        self,
        base: str = DEFAULT_API,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(base, token)
        self._session, self._own = session, session is None

    async def __aenter__(self) -> AsyncClient:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_TIMEOUT))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own and self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise ClientError("use the AsyncClient in `async with`, or give it a session")
        return self._session

    async def send(self, call: Call[T]) -> T:
        return call.read(await self.call(call.method, call.path, call.body))

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        import aiohttp

        data = None if body is None else json.dumps(body)
        try:
            async with self._open().request(
                method, self.base + path, data=data, headers=self._headers()
            ) as reply:
                text = await reply.read()
                if reply.status >= 400:
                    raise _refusal(reply.status, reply.reason or "", text)
        except aiohttp.ClientConnectionError as exc:
            raise _unreachable(self.base, exc) from None
        return json.loads(text) if text else None

    async def events(
        self, serial: str | None = None, since: int | None = None
    ) -> AsyncIterator[Event]:
        """As `Client.events`."""
        import aiohttp

        path = "/api/events" + (f"?serial={quote(serial)}" if serial else "")
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        try:
            async with self._open().get(
                self.base + path, headers=self._stream_headers(since), timeout=timeout
            ) as stream:
                if stream.status >= 400:
                    raise _refusal(stream.status, stream.reason or "", await stream.read())
                async for line in stream.content:
                    if (event := _event(line)) is not None:
                        yield event
        except aiohttp.ClientConnectionError as exc:
            raise _unreachable(self.base, exc) from None

    # --- the fleet and its devices
    async def fleet(self) -> FleetInfo:
        return await self.send(_Calls.fleet)

    async def devices(self) -> list[DeviceState]:
        return await self.send(_Calls.devices)

    async def device(self, serial: str) -> DeviceState:
        return await self.send(_Calls.device(serial))

    async def add_devices(self, entry: dict[str, Any]) -> list[DeviceState]:
        return await self.send(_Calls.add_devices(entry))

    async def change_device(self, serial: str, **change: Any) -> DeviceState:
        return await self.send(_Calls.change_device(serial, change))

    async def remove_device(self, serial: str) -> None:
        return await self.send(_Calls.remove_device(serial))

    async def reboot(self, serial: str, downtime: float | None = None) -> DeviceState:
        return await self.send(_Calls.reboot(serial, downtime))

    async def upgrade(self, serial: str, version: str) -> DeviceState:
        return await self.send(_Calls.upgrade(serial, version))

    async def factory_reset(self, serial: str) -> DeviceState:
        return await self.send(_Calls.factory_reset(serial))

    async def log(self, serial: str) -> list[Event]:
        return await self.send(_Calls.log(serial))

    # --- device events
    async def active_events(self, serial: str) -> EventRaised:
        return await self.send(_Calls.active_events(serial))

    async def raise_event(self, serial: str, type: str, **event: Any) -> EventRaised:
        return await self.send(_Calls.raise_event(serial, _event_body(type, event)))

    # --- faults
    async def faults(self, serial: str | None = None) -> FaultsSpec:
        return await self.send(_Calls.faults(serial))

    async def set_faults(self, serial: str | None = None, **faults: Any) -> FaultsSpec:
        return await self.send(_Calls.set_faults(serial, faults))

    # --- the clock
    async def clock(self) -> Clock:
        return await self.send(_Calls.clock)

    async def set_clock(self, now: float | None = None, speed: float | None = None) -> Clock:
        return await self.send(_Calls.set_clock(now, speed))

    async def advance_clock(self, seconds: float) -> Clock:
        return await self.send(_Calls.advance_clock(seconds))

    # --- the clouds
    async def cloud_accounts(self) -> list[CloudAccount]:
        return await self.send(_Calls.cloud_accounts)

    async def cloud_devices(self) -> list[CloudDevice]:
        return await self.send(_Calls.cloud_devices)

    async def captcha(self, captcha_id: str) -> CaptchaAnswer:
        return await self.send(_Calls.captcha(captcha_id))

    async def dmss_accounts(self) -> list[DmssAccount]:
        return await self.send(_Calls.dmss_accounts)

    async def add_dmss_account(self, email: str, password: str) -> DmssAccount:
        return await self.send(_Calls.add_dmss_account(email, password))

    async def dmss_appeals(self) -> list[DmssAppeal]:
        return await self.send(_Calls.dmss_appeals)

    async def dmss_outbox(self) -> list[DmssMail]:
        return await self.send(_Calls.dmss_outbox)

    async def scenario(self) -> ScenarioDoc:
        return await self.send(_Calls.scenario)
