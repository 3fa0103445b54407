"""ISAPI PTZCtrl of a Hikvision PTZ dome: continuous and absolute moves, status, presets
and capabilities over the device's one PTZ head (simulator/core/ptz.py), so a move made
here shows in ONVIF's GetStatus and the other way round.

Only devices whose model has a head serve these resources; others answer 404
notSupport, as for any resource they lack.

Choices where the public record is silent [I]:
- The head is channel 1's; another channel is 404 invalidID.
- Conversions from ONVIF's generic spaces: azimuth = (pan + 1) x 1800, so pan -1
  is 0 and pan 1 is 3600; elevation = -tilt x 900 (positive looks down, as
  domes count it); absoluteZoom = 10 + zoom x (10 x lens zoom - 10).
- GET presets lists the presets that are set (not 300 empty slots).
"""

from __future__ import annotations

import re

from aiohttp.web import Request, Response

from nvrsim.protocols import isapi, isapi_ptz
from nvrsim.protocols.isapi_ptz import AbsoluteHigh
from nvrsim.simulator.core.ptz import NoSuchPreset, Position, PresetsFull, PtzHead, PtzRangeError
from nvrsim.simulator.hikvision.isapi_http import (
    IsapiContext,
    Route,
    read_body,
    status_response,
    xml_response,
)

Match = re.Match[str]
CHANNEL = r"/ISAPI/PTZCtrl/channels/(?P<channel>[^/]+)"


def max_zoom(head: PtzHead) -> int:
    return head.node.optical_zoom * 10


def to_isapi(head: PtzHead, position: Position) -> AbsoluteHigh:
    return AbsoluteHigh(
        elevation=round(-position.tilt * 900),
        azimuth=round((position.pan + 1) * 1800),
        absolute_zoom=round(10 + position.zoom * (max_zoom(head) - 10)),
    )


def from_isapi(head: PtzHead, here: Position, high: AbsoluteHigh) -> Position:
    """The generic position `high` names; an axis it leaves out keeps `here`'s value."""
    return Position(
        here.pan if high.azimuth is None else high.azimuth / 1800 - 1,
        here.tilt if high.elevation is None else -high.elevation / 900,
        here.zoom
        if high.absolute_zoom is None
        else (high.absolute_zoom - 10) / (max_zoom(head) - 10),
    )


def _head(ctx: IsapiContext, match: Match) -> PtzHead:
    head = ctx.device.ptz
    if head is None:  # a capability override taken away at run time
        raise isapi.IsapiRequestError("no PTZ", isapi.NOT_SUPPORT)
    if match["channel"] != "1":
        raise isapi.IsapiRequestError("no such PTZ channel", isapi.INVALID_ID)
    return head


def _preset_id(match: Match) -> int:
    text = match["preset"]
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 300):
        raise isapi.IsapiRequestError("no such preset", isapi.INVALID_ID)
    return int(text)


async def continuous(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head = _head(ctx, match)
    pan, tilt, zoom = isapi_ptz.parse_continuous(await read_body(request))
    head.continuous(Position(pan / 100, tilt / 100, zoom / 100), ctx.now())
    return status_response(ctx, request, isapi.OK)


async def absolute(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head = _head(ctx, match)
    high = isapi_ptz.parse_absolute(await read_body(request), max_zoom(head))
    now = ctx.now()
    try:
        head.move_to(from_isapi(head, head.position(now), high), now)
    except PtzRangeError as exc:  # parse_absolute keeps to the ranges; belt and braces
        raise isapi.BadXmlContent(str(exc)) from None
    return status_response(ctx, request, isapi.OK)


async def status(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head = _head(ctx, match)
    position = to_isapi(head, head.position(ctx.now()))
    return xml_response(isapi_ptz.status(position, ctx.namespace))


def _entry(head: PtzHead, token: str) -> isapi_ptz.PresetEntry:
    preset = head.presets[token]
    return isapi_ptz.PresetEntry(int(token), preset.name, to_isapi(head, preset.position))


async def presets(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head = _head(ctx, match)
    entries = [_entry(head, token) for token in head.presets]
    return xml_response(isapi_ptz.preset_list(entries, ctx.namespace))


async def get_preset(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head, preset_id = _head(ctx, match), _preset_id(match)
    if str(preset_id) not in head.presets:
        raise isapi.IsapiRequestError("no such preset", isapi.INVALID_ID)
    return xml_response(isapi_ptz.preset(_entry(head, str(preset_id)), ctx.namespace))


async def put_preset(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head, preset_id = _head(ctx, match), _preset_id(match)
    name = isapi_ptz.parse_preset(await read_body(request), preset_id)
    try:
        head.set_preset(ctx.now(), token=str(preset_id), name=name)
    except (NoSuchPreset, PresetsFull) as exc:
        raise isapi.BadXmlContent(str(exc)) from None
    return status_response(ctx, request, isapi.OK)


async def delete_preset(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head, preset_id = _head(ctx, match), _preset_id(match)
    try:
        head.remove_preset(str(preset_id))
    except NoSuchPreset:
        raise isapi.IsapiRequestError("no such preset", isapi.INVALID_ID) from None
    return status_response(ctx, request, isapi.OK)


async def goto_preset(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head, preset_id = _head(ctx, match), _preset_id(match)
    try:
        head.goto_preset(str(preset_id), ctx.now())
    except NoSuchPreset:
        raise isapi.IsapiRequestError("no such preset", isapi.INVALID_ID) from None
    return status_response(ctx, request, isapi.OK)


async def capabilities(ctx: IsapiContext, request: Request, match: Match) -> Response:
    head = _head(ctx, match)
    document = isapi_ptz.capabilities(
        zoom=head.node.zoom,
        max_zoom=max_zoom(head),
        max_presets=head.node.max_presets,
        namespace=ctx.namespace,
    )
    return xml_response(document)


PRESET = CHANNEL + r"/presets/(?P<preset>[^/]+)"
PTZ_ROUTES: tuple[Route, ...] = tuple(
    Route(path, methods, capability="ptz")
    for path, methods in (
        (CHANNEL + "/continuous", {"PUT": continuous}),
        (CHANNEL + "/absolute", {"PUT": absolute}),
        (CHANNEL + "/status", {"GET": status}),
        (CHANNEL + "/capabilities", {"GET": capabilities}),
        (CHANNEL + "/presets", {"GET": presets}),
        (PRESET, {"GET": get_preset, "PUT": put_preset, "DELETE": delete_preset}),
        (PRESET + "/goto", {"PUT": goto_preset}),
    )
)
