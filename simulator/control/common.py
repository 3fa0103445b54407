"""What every resource of the control API shares: the app's keys, the error document, and
reading a request (its JSON body, the simulator, the device it names)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.plugin import SimulatorApi

SIM = web.AppKey("simulator", SimulatorApi)
TOKEN = web.AppKey("token", str)
MENUS = web.AppKey("menus", set)  # the open menu sessions' sockets


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: list[str] | None = None) -> None:
        self.status, self.error, self.detail = status, error, detail or []


def simulator_of(request: web.Request) -> SimulatorApi:
    return request.app[SIM]


def device_of(request: web.Request) -> Device:
    serial = request.match_info["serial"]
    device = simulator_of(request).fleet.find(serial)
    if device is None:
        raise ApiError(404, f"no device {serial!r} in the fleet")
    return device


async def body_of(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        raw = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, "the body does not validate", problems(exc)) from None


def problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    ]


def json_reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
