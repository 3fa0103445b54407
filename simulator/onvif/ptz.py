"""ONVIF PTZ (ver20) at /onvif/ptz_service: the operations over the device's one PTZ head
(simulator/core/ptz.py), so a move through ISAPI or ptz.cgi shows in GetStatus.

Handlers read the request, convert ONVIF's generic spaces to the head's (they
are the same) and map the head's refusals to the specification's faults. A
device without a head answers every PTZ operation ActionNotSupported, as it
lists no PTZ service.

Choices where the public record is silent [I]:
- The head belongs to the first video source: only Profile_1 carries a
  PTZConfiguration; another profile's token is `ter:NoPTZProfile`.
- A position axis left out of AbsoluteMove keeps its value; a velocity or
  translation axis left out is 0; Speed left out is full speed.
- The `space` attribute is not checked: every client we know sends the generic
  spaces the node lists.
- SetPreset with a name another preset has is `ter:PresetExist`; a name over
  64 characters is `ter:InvalidPresetName`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nvrsim.protocols import onvif, onvif_ptz
from nvrsim.protocols.onvif import Fault, SoapRequest
from nvrsim.protocols.onvif_ptz import PtzValueError, Vector
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.ptz import NoSuchPreset, Position, PresetsFull, PtzHead, PtzRangeError
from nvrsim.simulator.onvif.service import OnvifFault, profile_channel


def _fault(*subcodes: str, reason: str, code: str = "Sender") -> Fault:
    return Fault(code, subcodes, reason)


NO_PTZ_PROFILE = _fault("InvalidArgVal", "NoPTZProfile", reason="The profile has no PTZ")
NO_ENTITY = _fault("InvalidArgVal", "NoEntity", reason="No such PTZ node")
NO_CONFIG = _fault("InvalidArgVal", "NoConfig", reason="No such PTZ configuration")
INVALID_POSITION = _fault("InvalidArgVal", "InvalidPosition", reason="Position out of bounds")
INVALID_TRANSLATION = _fault("InvalidArgVal", "InvalidTranslation", reason="Translation invalid")
INVALID_VELOCITY = _fault("InvalidArgVal", "InvalidVelocity", reason="Velocity out of bounds")
INVALID_SPEED = _fault("InvalidArgVal", "InvalidSpeed", reason="Speed out of bounds")
NO_TOKEN = _fault("InvalidArgVal", "NoToken", reason="No such preset")
PRESET_EXIST = _fault("InvalidArgVal", "PresetExist", reason="A preset has this name")
INVALID_PRESET_NAME = _fault("InvalidArgVal", "InvalidPresetName", reason="Invalid preset name")
TOO_MANY_PRESETS = _fault(
    "Action", "TooManyPresets", reason="No room for another preset", code="Receiver"
)


def simulation_time(device: Device, device_now: float) -> float:
    """Handlers get the device's clock (simulation time plus its skew); the head moves on
    the simulation clock every protocol shares."""
    return device_now - device.onvif.clock_skew


def node(head: PtzHead) -> onvif_ptz.Node:
    return onvif_ptz.Node(zoom=head.node.zoom, max_presets=head.node.max_presets)


def _head(device: Device) -> PtzHead:
    head = device.ptz
    if head is None:
        raise OnvifFault(onvif.ACTION_NOT_SUPPORTED)
    return head


def _profile_head(device: Device, request: SoapRequest) -> PtzHead:
    head = _head(device)
    channel = profile_channel(device, request.params.child_text("ProfileToken"))
    if channel is None:
        raise OnvifFault(onvif.NO_PROFILE)
    if channel != 1:
        raise OnvifFault(NO_PTZ_PROFILE)
    return head


def _vector(request: SoapRequest, name: str, fault: Fault) -> Vector | None:
    try:
        return onvif_ptz.vector(request.params.child(name))
    except PtzValueError:
        raise OnvifFault(fault) from None


def _speed(request: SoapRequest) -> Position | None:
    speed = _vector(request, "Speed", INVALID_SPEED)
    if speed is None:
        return None
    values = (speed.pan or 0.0, speed.tilt or 0.0, speed.zoom or 0.0)
    if not all(0 <= v <= 1 for v in values):
        raise OnvifFault(INVALID_SPEED)
    return Position(*values)


# --- operations -----------------------------------------------------------------------------


def _capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    _head(device)
    return onvif_ptz.service_capabilities_response()


def _nodes(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif_ptz.nodes_response(node(_head(device)))


def _node(device: Device, request: SoapRequest, _now: float) -> str:
    head = _head(device)
    if request.params.child_text("NodeToken") != onvif_ptz.NODE_TOKEN:
        raise OnvifFault(NO_ENTITY)
    return onvif_ptz.node_response(node(head))


def _configurations(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif_ptz.configurations_response(node(_head(device)))


def _configuration_of(device: Device, request: SoapRequest, name: str) -> PtzHead:
    head = _head(device)
    if request.params.child_text(name) != onvif_ptz.CONFIGURATION_TOKEN:
        raise OnvifFault(NO_CONFIG)
    return head


def _configuration(device: Device, request: SoapRequest, _now: float) -> str:
    head = _configuration_of(device, request, "PTZConfigurationToken")
    return onvif_ptz.configuration_response(node(head))


def _configuration_options(device: Device, request: SoapRequest, _now: float) -> str:
    head = _configuration_of(device, request, "ConfigurationToken")
    return onvif_ptz.configuration_options_response(node(head))


def _status(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    at = simulation_time(device, now)
    pan, tilt, zoom = head.position(at)
    pan_tilt_moving, zoom_moving = head.moving(at)
    status = onvif_ptz.Status(
        pan=pan,
        tilt=tilt,
        zoom=zoom if head.node.zoom else None,
        pan_tilt_moving=pan_tilt_moving,
        zoom_moving=zoom_moving,
        utc=datetime.fromtimestamp(int(now), UTC),
    )
    return onvif_ptz.status_response(status)


def _continuous_move(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    velocity = _vector(request, "Velocity", INVALID_VELOCITY)
    if velocity is None:
        raise OnvifFault(onvif.INVALID_ARG)
    timeout_text = request.params.child_text("Timeout")
    try:
        timeout = onvif_ptz.duration(timeout_text) if timeout_text else None
    except PtzValueError:
        raise OnvifFault(onvif.INVALID_ARG) from None
    if timeout is not None and timeout <= 0:
        raise OnvifFault(onvif.INVALID_ARG)
    try:
        head.continuous(
            Position(velocity.pan or 0.0, velocity.tilt or 0.0, velocity.zoom or 0.0),
            simulation_time(device, now),
            timeout,
        )
    except PtzRangeError:
        raise OnvifFault(INVALID_VELOCITY) from None
    return onvif_ptz.empty_response("ContinuousMove")


def _relative_move(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    translation = _vector(request, "Translation", INVALID_TRANSLATION)
    if translation is None:
        raise OnvifFault(onvif.INVALID_ARG)
    delta = Position(translation.pan or 0.0, translation.tilt or 0.0, translation.zoom or 0.0)
    if not all(-2 <= d <= 2 for d in delta):  # more than the whole range is no translation
        raise OnvifFault(INVALID_TRANSLATION)
    head.move_by(delta, simulation_time(device, now), _speed(request))
    return onvif_ptz.empty_response("RelativeMove")


def _absolute_move(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    target = _vector(request, "Position", INVALID_POSITION)
    if target is None:
        raise OnvifFault(onvif.INVALID_ARG)
    speed, at = _speed(request), simulation_time(device, now)
    here = head.position(at)
    wanted = Position(
        here.pan if target.pan is None else target.pan,
        here.tilt if target.tilt is None else target.tilt,
        here.zoom if target.zoom is None else target.zoom,
    )
    try:
        head.move_to(wanted, at, speed)
    except PtzRangeError:
        raise OnvifFault(INVALID_POSITION) from None
    return onvif_ptz.empty_response("AbsoluteMove")


def _flag(request: SoapRequest, name: str) -> bool:
    text = request.params.child_text(name)
    if text is None:
        return True
    if text.lower() not in ("true", "false", "1", "0"):
        raise OnvifFault(onvif.INVALID_ARG)
    return text.lower() in ("true", "1")


def _stop(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    pan_tilt, zoom = _flag(request, "PanTilt"), _flag(request, "Zoom")
    head.stop(simulation_time(device, now), pan_tilt=pan_tilt, zoom=zoom)
    return onvif_ptz.empty_response("Stop")


def _presets(device: Device, request: SoapRequest, _now: float) -> str:
    head = _profile_head(device, request)
    return onvif_ptz.presets_response(
        [
            onvif_ptz.PresetEntry(
                token,
                preset.name,
                preset.position.pan,
                preset.position.tilt,
                preset.position.zoom if head.node.zoom else None,
            )
            for token, preset in head.presets.items()
        ]
    )


def _set_preset(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    name = request.params.child_text("PresetName") or None
    token = request.params.child_text("PresetToken") or None
    if name is not None and (len(name) > 64 or not name.isprintable()):
        raise OnvifFault(INVALID_PRESET_NAME)
    if name is not None and any(p.name == name for t, p in head.presets.items() if t != token):
        raise OnvifFault(PRESET_EXIST)
    try:
        token = head.set_preset(simulation_time(device, now), token=token, name=name)
    except NoSuchPreset:
        raise OnvifFault(NO_TOKEN) from None
    except PresetsFull:
        raise OnvifFault(TOO_MANY_PRESETS) from None
    return onvif_ptz.set_preset_response(token)


def _preset_token(request: SoapRequest) -> str:
    return request.params.child_text("PresetToken") or ""


def _goto_preset(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    speed = _speed(request)
    try:
        head.goto_preset(_preset_token(request), simulation_time(device, now), speed)
    except NoSuchPreset:
        raise OnvifFault(NO_TOKEN) from None
    return onvif_ptz.empty_response("GotoPreset")


def _remove_preset(device: Device, request: SoapRequest, _now: float) -> str:
    head = _profile_head(device, request)
    try:
        head.remove_preset(_preset_token(request))
    except NoSuchPreset:
        raise OnvifFault(NO_TOKEN) from None
    return onvif_ptz.empty_response("RemovePreset")


def _goto_home(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    head.go_home(simulation_time(device, now), _speed(request))
    return onvif_ptz.empty_response("GotoHomePosition")


def _set_home(device: Device, request: SoapRequest, now: float) -> str:
    head = _profile_head(device, request)
    head.set_home(simulation_time(device, now))
    return onvif_ptz.empty_response("SetHomePosition")


OPERATIONS: dict[str, Callable[[Device, SoapRequest, float], str]] = {
    "GetServiceCapabilities": _capabilities,
    "GetNodes": _nodes,
    "GetNode": _node,
    "GetConfigurations": _configurations,
    "GetConfiguration": _configuration,
    "GetConfigurationOptions": _configuration_options,
    "GetStatus": _status,
    "ContinuousMove": _continuous_move,
    "RelativeMove": _relative_move,
    "AbsoluteMove": _absolute_move,
    "Stop": _stop,
    "GetPresets": _presets,
    "SetPreset": _set_preset,
    "GotoPreset": _goto_preset,
    "RemovePreset": _remove_preset,
    "GotoHomePosition": _goto_home,
    "SetHomePosition": _set_home,
}
