"""The control API's documents, and its OpenAPI description built from the one route table.

Request bodies are strict pydantic models: a field that does not validate is
a 400 that names it, and nothing changes. Responses are described by the same
models the fixtures use (`DeviceSpec`), since a device's state is written as a
fixture entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic.json_schema import models_json_schema

from nvrsim.simulator.core.firmware import FirmwareVersion
from nvrsim.simulator.core.plugin import Vendor
from nvrsim.simulator.runtime.fixtures import (
    EventTypeName,
    FaultsSpec,
    Seconds,
    device_spec,
    sections,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Text = Annotated[str, Field(min_length=1, max_length=128)]


class CommonChange(_Body):
    """PATCH /api/devices/{serial}: the fields to change; the others stay. Each vendor's
    changeable sections are added beside these (`device_models`), every field optional."""

    admin_password: Text | None = None  # set as is: a tester may want a weak one
    firmware: Text | None = None  # the running firmware, at once (no upgrade flow)
    device_name: Text | None = None

    @field_validator("firmware")
    @classmethod
    def _firmware(cls, text: str | None) -> str | None:
        if text is not None:
            FirmwareVersion.parse(text)
        return text


def optional(annotation: Any, name: str | None = None) -> Any:
    """A section's shape with every field optional: what a PATCH body may give of it."""
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return annotation | None
    fields: dict[str, Any] = {
        name: (
            (Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)
            | None,
            None,
        )
        for name, info in annotation.model_fields.items()
    }
    return create_model(name or f"{annotation.__name__}Change", __base__=annotation, **fields)


# PUT …/faults: the faults to set; the others stay as they are (the fixture's fields, one
# place for every fault).
FaultsChange = optional(FaultsSpec, "FaultsChange")


class EventRaise(_Body):
    """POST …/events: raise one event on the device (simulator.core.events)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    type: EventTypeName
    channel: Annotated[int, Field(ge=1, le=256)] = 1
    # None: a pulse for line_crossing, else a start
    state: Literal["start", "stop", "pulse"] | None = None
    duration: Seconds | None = Field(None, alias="for")  # a start that stops by itself


class DeviceEventDoc(BaseModel):
    id: int  # per device, in the order raised
    type: EventTypeName
    channel: int
    state: Literal["start", "stop", "pulse"]
    time: float  # when it happened, on the simulation clock


class EventRaised(BaseModel):
    event: DeviceEventDoc | None  # None: it changed nothing (already active, or not active)
    active: list[DeviceEventDoc]  # what is active on the device now


class Reboot(_Body):
    downtime: Seconds | None = None  # seconds gone; the simulator's default when absent


class Upgrade(_Body):
    version: Text

    @field_validator("version")
    @classmethod
    def _version(cls, text: str) -> str:
        FirmwareVersion.parse(text)
        return text


class ClockChange(_Body):
    now: Annotated[float, Field(ge=0, le=4_102_444_800)] | None = None  # ≤ 2100
    speed: Annotated[float, Field(ge=0, le=1_000_000)] | None = None


class ClockAdvance(_Body):
    seconds: Annotated[float, Field(ge=0, le=10 * 365 * 86400)]


class DmssAccountNew(_Body):
    email: Text
    password: Annotated[str, Field(min_length=8, max_length=64)]


# --- responses ------------------------------------------------------------------------


class CloudDoc(BaseModel):
    name: str  # Hik-Connect, P2P, mydlink
    state: str  # as the fleet table shows it: online, offline, disabled, p2p, mydlink…
    online: bool
    bound_account: str | None


class StreamDoc(BaseModel):
    """One live stream the device serves over RTSP (with its admin credentials)."""

    channel: int  # from 1
    stream: Literal["main", "sub"]
    url: str  # rtsp://<address>:<rtsp port><the vendor's path>
    codec: str  # H.264
    width: int
    height: int
    fps: int
    bitrate_kbps: int  # what the device advertises


class DeviceStatus(BaseModel):
    powered: bool  # false while it reboots
    cloud_online: bool  # as clients see it, faults included
    bound: bool
    rebooting: bool
    locked_clients: dict[str, int]  # client address -> seconds until its lock lifts
    effective_faults: FaultsSpec  # its own and the fleet's together
    p2p_online: bool | None = None  # Dahua: registered with the DMSS P2P server now


@dataclass(frozen=True)
class DeviceModels:
    spec: type[BaseModel]  # a fixture [[device]] entry: POST /api/devices
    state: type[BaseModel]  # the entry as it is now, with its live status
    change: type[BaseModel]  # PATCH /api/devices/{serial}


@functools.cache
def device_models(vendors: tuple[Vendor, ...]) -> DeviceModels:
    """The device documents for these vendors, all derived from their sections."""
    spec = device_spec(vendors)
    changeable = {name: s for name, s in sections(vendors).items() if s.changeable}
    return DeviceModels(
        spec,
        create_model(
            "DeviceState",
            __base__=spec,
            cloud=(CloudDoc | None, None),  # its vendor's cloud; null for a vendor without one
            streams=(list[StreamDoc], []),  # what its RTSP server carries, each channel's two
            status=(DeviceStatus, ...),
        ),
        create_model(
            "DeviceChange",
            __base__=CommonChange,
            **{name: (optional(s.annotation) | None, None) for name, s in changeable.items()},
        ),
    )


class Clock(BaseModel):
    now: float
    speed: float | None  # null for a clock that only moves when told (tests)
    iso: str


class FleetInfo(BaseModel):
    name: str
    devices: int
    faults: FaultsSpec
    clock: Clock
    services: dict[str, dict[str, Any]]


class Event(BaseModel):
    id: int
    time: float
    kind: str
    serial: str | None
    data: dict[str, Any]


class CloudAccount(BaseModel):
    name: str
    region: str  # default, eu, usa, ru
    devices: list[str]  # the 9-character serials bound to it


class CloudDevice(BaseModel):
    device_serial: str  # the 9 characters the app shows
    serial: str
    model: str
    region: str  # where it registered: its server's region
    online: bool  # as the cloud sees it: its status and its MQTT link
    bound_account: str | None
    link: str  # the MQTT connection it rides on


class CaptchaAnswer(BaseModel):
    id: str
    answer: str


class DmssAccount(BaseModel):
    email: str
    devices: list[str]  # serials bound to it


class DmssPhoto(BaseModel):
    width: int
    height: int
    sharpness: float
    subject: str


class DmssAppeal(BaseModel):
    id: int
    serial: str
    appellant: str
    submitted: float
    decision_due: float
    status: str
    owner_answer: str
    proof_of_purchase: bool
    decided: float | None
    photo: DmssPhoto


class DmssMail(BaseModel):
    id: int
    to: str
    subject: str
    body: str
    created: float
    appeal: int | None
    delivered: bool
    error: str


class GoalDoc(BaseModel):
    device: str
    says: str  # the goal in words, for the trainee
    reached: bool
    problems: list[str]  # what is still wrong; empty once reached


class ScenarioDoc(BaseModel):
    name: str
    title: str
    seed: str  # the support article it follows: 000, 001, 002
    procedure: str
    brief: str
    hints: list[str]
    goals: list[GoalDoc]


class Health(BaseModel):
    status: str  # "serving": every device of the fleet listens
    devices: int


class Error(BaseModel):
    error: str
    detail: list[str] = Field(default_factory=list)


# --- routes and their OpenAPI description -------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with {serial} or another {parameter}
    summary: str
    handler: Handler
    body: type[BaseModel] | None = None
    ok: int = 200
    returns: Any = None  # a model, [model], or None for no body
    errors: tuple[int, ...] = ()
    public: bool = False  # answered without the token (the container's health check)

    @property
    def operation_id(self) -> str:
        # the handler's name: renaming a handler renames the operation clients generate
        return self.handler.__name__


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _schema(returns: Any) -> dict[str, Any]:
    if isinstance(returns, list):
        return {"type": "array", "items": _ref(returns[0])}
    return _ref(returns)


def openapi(operations: tuple[Operation, ...], *, token: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`."""
    models = {Error, *(op.body for op in operations if op.body)}
    models |= {r[0] if isinstance(r, list) else r for op in operations if (r := op.returns)}
    models.discard(None)  # type: ignore[arg-type]
    _, defs = models_json_schema(
        [
            (m, "validation" if m in {op.body for op in operations} else "serialization")
            for m in sorted(models, key=lambda m: m.__name__)
        ],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        responses: dict[str, Any] = {
            str(op.ok): {"description": "done"}
            | (
                {"content": {"application/json": {"schema": _schema(op.returns)}}}
                if op.returns is not None
                else {}
            )
        }
        guarded = token and not op.public
        errors = set(op.errors) | ({400} if op.body else set()) | ({401} if guarded else set())
        parameters = re.findall(r"{(\w+)}", op.path)
        if parameters:
            errors.add(404)
        for status in sorted(errors):
            responses[str(status)] = {
                "description": _REASONS[status],
                "content": {"application/json": {"schema": _ref(Error)}},
            }
        spec: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "responses": responses,
        }
        if token and op.public:
            spec["security"] = []
        if parameters:
            spec["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in parameters
            ]
        if op.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(op.body)}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = spec
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "nvrsim control API",
            "version": "1",
            "description": "Read and change a running simulated fleet: devices, faults, clock.",
        },
        "paths": paths,
        "components": {"schemas": defs["$defs"]},
    }
    if token:
        document["components"]["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"token": []}]
    return document


_REASONS = {
    400: "the request does not validate; nothing changed",
    401: "a token is required",
    404: "no such device (or cloud, captcha or scenario)",
    409: "conflicts with the fleet as it is; nothing changed",
    503: "not serving yet (starting) or any more (stopping)",
}
