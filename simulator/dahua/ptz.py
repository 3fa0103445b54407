"""Dahua PTZ: `ptz.cgi` (start/stop with a code, getStatus, getPresets) and RPC2
`ptz.start`/`ptz.stop`/`ptz.getStatus`, over the device's one PTZ head
(simulator/core/ptz.py), so a move made here shows in ONVIF's GetStatus.

Pure: `ptz_cgi(device, query, now) -> CgiReply` and the RPC2 handlers; the
transport authenticates. A model without a head answers ptz.cgi 501
`Error\\r\\nNot Implemented!` and the RPC2 calls "Method not found".

Choices where the public record is silent [I]:
- Channels count from 1 in the CGI; 0 is taken as 1, as amcrest sends it; RPC2
  channels count from 0, as its other calls do.
- Speeds 1..8 (arg2 for Up/Down/Left/Right; arg1 vertical and arg2 horizontal
  for the diagonals) are eighths of full speed; 0 or nothing is speed 1. Zoom
  moves at full speed.
- PositionABS: arg1 pan 0..360 degrees, arg2 tilt -90..90 degrees (positive
  looks down), arg3 the zoom factor 1..N (0 keeps the zoom).
- getStatus `Postion[0]` (Dahua's spelling) is pan 0..360 degrees, `[1]` tilt
  -90..90, `[2]` the zoom factor; ZoomValue is the factor x 100; Action is
  Preset after a GotoPreset, else Idle.
- Focus and iris codes are accepted and do nothing (there is no lens to move);
  any other code is `Error\\r\\nBad Request!`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.ptz import NoSuchPreset, Position, PresetsFull, PtzHead, PtzRangeError
from nvrsim.simulator.dahua.errors import INVALID_PARAM, METHOD_NOT_FOUND, RpcError

# code -> (pan direction, tilt direction, zoom direction)
DIRECTIONS = {
    "Up": (0, 1, 0),
    "Down": (0, -1, 0),
    "Left": (-1, 0, 0),
    "Right": (1, 0, 0),
    "LeftUp": (-1, 1, 0),
    "RightUp": (1, 1, 0),
    "LeftDown": (-1, -1, 0),
    "RightDown": (1, -1, 0),
    "ZoomTele": (0, 0, 1),
    "ZoomWide": (0, 0, -1),
}
LENS_CODES = frozenset({"FocusNear", "FocusFar", "IrisLarge", "IrisSmall", "AutoFocus", "AutoIris"})


class PtzRequestError(ValueError):
    """A command the device refuses (Bad Request); nothing changed."""


def _speed(text: Any) -> float:
    """A Dahua speed 1..8 as a fraction of full speed; 0 or nothing is 1."""
    try:
        value = int(str(text or 0).strip())
    except ValueError:
        raise PtzRequestError("speed must be a number") from None
    if not 0 <= value <= 8:
        raise PtzRequestError("speed must be from 1 to 8")
    return max(value, 1) / 8


def _number(text: Any) -> float:
    try:
        value = float(str(text if text is not None else 0).strip())
    except ValueError:
        raise PtzRequestError("not a number") from None
    if not math.isfinite(value):
        raise PtzRequestError("not a number")
    return value


def _preset(text: Any) -> str:
    value = str(text or "").strip()
    if not (value.isascii() and value.isdigit()):
        raise PtzRequestError("preset must be a number")
    return str(int(value))


def command(head: PtzHead, action: str, code: str, args: tuple[Any, Any, Any], now: float) -> None:
    """One ptz.cgi/ptz.start/ptz.stop command on `head`, or PtzRequestError."""
    if code in LENS_CODES:
        return
    if code in DIRECTIONS:
        pan, tilt, zoom = DIRECTIONS[code]
        if action == "stop":
            head.stop(now, pan_tilt=zoom == 0, zoom=zoom != 0)
            return
        vertical = _speed(args[0] if pan and tilt else args[1])
        horizontal = _speed(args[1])
        head.continuous(Position(pan * horizontal, tilt * vertical, float(zoom)), now)
        return
    if action != "start":
        raise PtzRequestError(f"{code} has no stop")
    try:
        if code == "GotoPreset":
            head.goto_preset(_preset(args[1]), now)
        elif code == "SetPreset":
            head.set_preset(now, token=_preset(args[1]))
        elif code == "ClearPreset":
            head.remove_preset(_preset(args[1]))
        elif code == "PositionABS":
            here = head.position(now)
            factor = _number(args[2])
            zoom = here.zoom if factor == 0 else (factor - 1) / (head.node.optical_zoom - 1)
            head.move_to(Position(_number(args[0]) / 180 - 1, -_number(args[1]) / 90, zoom), now)
        else:
            raise PtzRequestError(f"unknown code {code!r}")
    except (NoSuchPreset, PresetsFull, PtzRangeError) as exc:
        raise PtzRequestError(str(exc)) from None


def status(head: PtzHead, now: float) -> list[tuple[str, Any]]:
    pan, tilt, zoom = head.position(now)
    pan_tilt_moving, zoom_moving = head.moving(now)
    factor = 1 + zoom * (head.node.optical_zoom - 1)
    return [
        ("status.Action", "Preset" if head.last_preset else "Idle"),
        ("status.MoveStatus", "Moving" if pan_tilt_moving else "Idle"),
        ("status.PTS", 0),
        ("status.Postion[0]", f"{(pan + 1) * 180:.6f}"),
        ("status.Postion[1]", f"{-tilt * 90 + 0.0:.6f}"),  # + 0.0: never "-0.000000"
        ("status.Postion[2]", f"{factor:.6f}"),
        ("status.PresetID", int(head.last_preset or 0)),
        ("status.Sequence", 0),
        ("status.UTC", int(now)),
        ("status.ZoomStatus", "Moving" if zoom_moving else "Idle"),
        ("status.ZoomValue", round(factor * 100)),
    ]


def presets(head: PtzHead) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for n, (token, preset) in enumerate(head.presets.items()):
        pairs += [(f"presets[{n}].Index", int(token)), (f"presets[{n}].Name", preset.name)]
    return pairs


# --- RPC2 ---------------------------------------------------------------------------------


def _reply(ident: Any, session: str, params: Any = None, error: RpcError | None = None) -> dict:
    if error is not None:
        return {
            "error": {"code": error.code, "message": error.message},
            "id": ident,
            "params": None,
            "result": False,
            "session": session,
        }
    return {"id": ident, "params": params, "result": True, "session": session}


def _rpc_head(device: Device, params: dict) -> PtzHead | RpcError:
    head = device.ptz
    if head is None:
        return METHOD_NOT_FOUND
    if params.get("channel", 0) != 0:
        return INVALID_PARAM
    return head


def _rpc_command(action: str):
    def handler(device: Device, ident: Any, session: str, params: dict, now: float) -> dict:
        head = _rpc_head(device, params)
        if isinstance(head, RpcError):
            return _reply(ident, session, error=head)
        args = (params.get("arg1"), params.get("arg2"), params.get("arg3"))
        try:
            command(head, action, str(params.get("code", "")), args, now)
        except PtzRequestError:
            return _reply(ident, session, error=INVALID_PARAM)
        return _reply(ident, session)

    return handler


def _rpc_status(device: Device, ident: Any, session: str, params: dict, now: float) -> dict:
    head = _rpc_head(device, params)
    if isinstance(head, RpcError):
        return _reply(ident, session, error=head)
    values = dict(status(head, now))
    pan, tilt, zoom = (float(values[f"status.Postion[{i}]"]) for i in range(3))
    return _reply(
        ident,
        session,
        {
            "status": {
                "Action": values["status.Action"],
                "MoveStatus": values["status.MoveStatus"],
                "Postion": [pan, tilt, zoom],
                "PresetID": values["status.PresetID"],
                "ZoomStatus": values["status.ZoomStatus"],
                "ZoomValue": values["status.ZoomValue"],
            }
        },
    )


PTZ_METHODS: dict[str, Callable[[Device, Any, str, dict, float], dict]] = {
    "ptz.start": _rpc_command("start"),
    "ptz.stop": _rpc_command("stop"),
    "ptz.getStatus": _rpc_status,
}


# --- ptz.cgi ------------------------------------------------------------------------------


def ptz_cgi(
    device: Device, query: dict[str, str], now: float
) -> list[tuple[str, Any]] | str | None:
    """`ptz.cgi`: a query's key=value lines, a command's "OK", None when the model has
    no head, or PtzRequestError (Bad Request)."""
    head = device.ptz
    if head is None:
        return None
    channel = query.get("channel", "1")
    if channel not in ("0", "1"):
        raise PtzRequestError("no such PTZ channel")
    action = query.get("action", "")
    if action == "getStatus":
        return status(head, now)
    if action == "getPresets":
        return presets(head)
    if action in ("start", "stop"):
        args = (query.get("arg1"), query.get("arg2"), query.get("arg3"))
        command(head, action, query.get("code", ""), args, now)
        return "OK"
    raise PtzRequestError(f"unknown action {action!r}")
