"""ONVIF PTZ service (ver20 ptz WSDL, ONVIF PTZ Service Specification): documents out,
request values in. No I/O and no device state.

Positions, velocities and speeds are in ONVIF's generic spaces (pan/tilt -1..1,
zoom 0..1, velocities -1..1, speeds 0..1); a node without zoom leaves every
zoom space and value out, as pan/tilt-only cameras do.

Choices where the specification leaves the device free [I]:
- Tokens: node `PTZNode_1`, configuration `PTZConfiguration_1` (one head a
  device, on its first video source), presets "1", "2", …
- DefaultPTZTimeout PT5S, timeouts PT1S to PT60S; full speed by default.
- Every reply declares its own service prefix (`tptz`) on its root element,
  beside the envelope's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from . import xmlsafe
from .xmlwrite import Element, Markup, el, write, xmlns

TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
_SPACES = "http://www.onvif.org/ver10/tptz"
PAN_TILT_POSITION = f"{_SPACES}/PanTiltSpaces/PositionGenericSpace"
ZOOM_POSITION = f"{_SPACES}/ZoomSpaces/PositionGenericSpace"
PAN_TILT_TRANSLATION = f"{_SPACES}/PanTiltSpaces/TranslationGenericSpace"
ZOOM_TRANSLATION = f"{_SPACES}/ZoomSpaces/TranslationGenericSpace"
PAN_TILT_VELOCITY = f"{_SPACES}/PanTiltSpaces/VelocityGenericSpace"
ZOOM_VELOCITY = f"{_SPACES}/ZoomSpaces/VelocityGenericSpace"
PAN_TILT_SPEED = f"{_SPACES}/PanTiltSpaces/GenericSpeedSpace"
ZOOM_SPEED = f"{_SPACES}/ZoomSpaces/ZoomGenericSpeedSpace"

NODE_TOKEN = "PTZNode_1"
CONFIGURATION_TOKEN = "PTZConfiguration_1"
DEFAULT_TIMEOUT = "PT5S"
TIMEOUT_RANGE = ("PT1S", "PT60S")


@dataclass(frozen=True)
class Node:
    zoom: bool
    max_presets: int


@dataclass(frozen=True)
class Vector:
    """A PTZVector or PTZSpeed as sent: an axis left out is None."""

    pan: float | None = None
    tilt: float | None = None
    zoom: float | None = None


class PtzValueError(ValueError):
    """A request value that is not a number or a duration."""


# --- reading requests -----------------------------------------------------------------------


def _number(text: str | None) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise PtzValueError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise PtzValueError("not a finite number")
    return value


def vector(node: xmlsafe.XmlNode | None) -> Vector | None:
    """A PTZVector/PTZSpeed element (`PanTilt x= y=`, `Zoom x=`); None when absent."""
    if node is None:
        return None
    pan_tilt, zoom = node.child("PanTilt"), node.child("Zoom")
    return Vector(
        pan=_number(pan_tilt.attr("x")) if pan_tilt is not None else None,
        tilt=_number(pan_tilt.attr("y")) if pan_tilt is not None else None,
        zoom=_number(zoom.attr("x")) if zoom is not None else None,
    )


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def duration(text: str) -> float:
    """An xs:duration without years or months (PT5S, PT0.5S, P1DT2H) in seconds."""
    m = _DURATION.match(text.strip())
    if not m or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise PtzValueError(f"not a duration: {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


# --- documents --------------------------------------------------------------------------------


def _reply(tag: str, *content: Element) -> str:
    return write(el(f"tptz:{tag}", *content, attrs=xmlns({"tptz": TPTZ})))


def _range(tag: str, low: float | str, high: float | str) -> Element:
    return el(tag, el("tt:Min", low), el("tt:Max", high))


def _space2d(tag: str, uri: str, low: float, high: float) -> Element:
    return el(
        tag, el("tt:URI", uri), _range("tt:XRange", low, high), _range("tt:YRange", low, high)
    )


def _space1d(tag: str, uri: str, low: float, high: float) -> Element:
    return el(tag, el("tt:URI", uri), _range("tt:XRange", low, high))


def _spaces(tag: str, node: Node) -> Element:
    zoom = node.zoom
    return el(
        tag,
        _space2d("tt:AbsolutePanTiltPositionSpace", PAN_TILT_POSITION, -1, 1),
        *([_space1d("tt:AbsoluteZoomPositionSpace", ZOOM_POSITION, 0, 1)] if zoom else []),
        _space2d("tt:RelativePanTiltTranslationSpace", PAN_TILT_TRANSLATION, -1, 1),
        *([_space1d("tt:RelativeZoomTranslationSpace", ZOOM_TRANSLATION, -1, 1)] if zoom else []),
        _space2d("tt:ContinuousPanTiltVelocitySpace", PAN_TILT_VELOCITY, -1, 1),
        *([_space1d("tt:ContinuousZoomVelocitySpace", ZOOM_VELOCITY, -1, 1)] if zoom else []),
        _space1d("tt:PanTiltSpeedSpace", PAN_TILT_SPEED, 0, 1),
        *([_space1d("tt:ZoomSpeedSpace", ZOOM_SPEED, 0, 1)] if zoom else []),
    )


def _node(tag: str, node: Node) -> Element:
    return el(
        tag,
        el("tt:Name", NODE_TOKEN),
        _spaces("tt:SupportedPTZSpaces", node),
        el("tt:MaximumNumberOfPresets", node.max_presets),
        el("tt:HomeSupported", True),
        token=NODE_TOKEN,
        FixedHomePosition=False,
    )


def nodes_response(node: Node) -> str:
    return _reply("GetNodesResponse", _node("tptz:PTZNode", node))


def node_response(node: Node) -> str:
    return _reply("GetNodeResponse", _node("tptz:PTZNode", node))


def configuration(tag: str, node: Node) -> Element:
    """A PTZConfiguration: `tptz:PTZConfiguration` in the PTZ service's replies,
    `tt:PTZConfiguration` in a media profile."""
    zoom = node.zoom
    speed = [el("tt:PanTilt", x=1, y=1, space=PAN_TILT_SPEED)]
    if zoom:
        speed.append(el("tt:Zoom", x=1, space=ZOOM_SPEED))
    return el(
        tag,
        el("tt:Name", "PTZ"),
        el("tt:UseCount", 1),
        el("tt:NodeToken", NODE_TOKEN),
        el("tt:DefaultAbsolutePantTiltPositionSpace", PAN_TILT_POSITION),
        *([el("tt:DefaultAbsoluteZoomPositionSpace", ZOOM_POSITION)] if zoom else []),
        el("tt:DefaultRelativePanTiltTranslationSpace", PAN_TILT_TRANSLATION),
        *([el("tt:DefaultRelativeZoomTranslationSpace", ZOOM_TRANSLATION)] if zoom else []),
        el("tt:DefaultContinuousPanTiltVelocitySpace", PAN_TILT_VELOCITY),
        *([el("tt:DefaultContinuousZoomVelocitySpace", ZOOM_VELOCITY)] if zoom else []),
        el("tt:DefaultPTZSpeed", *speed),
        el("tt:DefaultPTZTimeout", DEFAULT_TIMEOUT),
        el("tt:PanTiltLimits", _space2d("tt:Range", PAN_TILT_POSITION, -1, 1)),
        *([el("tt:ZoomLimits", _space1d("tt:Range", ZOOM_POSITION, 0, 1))] if zoom else []),
        token=CONFIGURATION_TOKEN,
    )


def configurations_response(node: Node) -> str:
    return _reply("GetConfigurationsResponse", configuration("tptz:PTZConfiguration", node))


def configuration_response(node: Node) -> str:
    return _reply("GetConfigurationResponse", configuration("tptz:PTZConfiguration", node))


def configuration_options_response(node: Node) -> str:
    return _reply(
        "GetConfigurationOptionsResponse",
        el(
            "tptz:PTZConfigurationOptions",
            _spaces("tt:Spaces", node),
            _range("tt:PTZTimeout", *TIMEOUT_RANGE),
        ),
    )


def _position(tag: str, pan: float, tilt: float, zoom: float | None) -> Element:
    parts = [el("tt:PanTilt", x=_f(pan), y=_f(tilt), space=PAN_TILT_POSITION)]
    if zoom is not None:
        parts.append(el("tt:Zoom", x=_f(zoom), space=ZOOM_POSITION))
    return el(tag, *parts)


def _f(value: float) -> str:
    return f"{value + 0.0:.6g}"  # + 0.0 turns -0.0 into 0


@dataclass(frozen=True)
class Status:
    pan: float
    tilt: float
    zoom: float | None  # None: the node has no zoom
    pan_tilt_moving: bool
    zoom_moving: bool
    utc: datetime


def status_response(s: Status) -> str:
    moves = [el("tt:PanTilt", "MOVING" if s.pan_tilt_moving else "IDLE")]
    if s.zoom is not None:
        moves.append(el("tt:Zoom", "MOVING" if s.zoom_moving else "IDLE"))
    return _reply(
        "GetStatusResponse",
        el(
            "tptz:PTZStatus",
            _position("tt:Position", s.pan, s.tilt, s.zoom),
            el("tt:MoveStatus", *moves),
            el("tt:UtcTime", s.utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ),
    )


@dataclass(frozen=True)
class PresetEntry:
    token: str
    name: str
    pan: float
    tilt: float
    zoom: float | None


def presets_response(presets: list[PresetEntry]) -> str:
    return _reply(
        "GetPresetsResponse",
        *(
            el(
                "tptz:Preset",
                el("tt:Name", p.name),
                _position("tt:PTZPosition", p.pan, p.tilt, p.zoom),
                token=p.token,
            )
            for p in presets
        ),
    )


def set_preset_response(token: str) -> str:
    return _reply("SetPresetResponse", el("tptz:PresetToken", token))


def empty_response(operation: str) -> str:
    """ContinuousMove, RelativeMove, AbsoluteMove, Stop, GotoPreset, RemovePreset,
    GotoHomePosition and SetHomePosition answer an empty `…Response`."""
    return _reply(f"{operation}Response")


def service_capabilities() -> str:
    """tptz:Capabilities: move status and position in GetStatus; no flip, no reverse."""
    return write(
        el(
            "tptz:Capabilities",
            attrs=(
                *xmlns({"tptz": TPTZ}),
                ("EFlip", "false"),
                ("Reverse", "false"),
                ("GetCompatibleConfigurations", "false"),
                ("MoveStatus", "true"),
                ("StatusPosition", "true"),
            ),
        )
    )


def service_capabilities_response() -> str:
    return write(
        el(
            "tptz:GetServiceCapabilitiesResponse",
            Markup(service_capabilities()),
            attrs=xmlns({"tptz": TPTZ}),
        )
    )
