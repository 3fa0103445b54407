"""ONVIF imaging (ver20) at /onvif/imaging_service: each video source's settings, kept on
the device (simulator/core/imaging.py) and checked against the same options GetOptions
reports, so a refused SetImagingSettings changes nothing.

Choices where the public record is silent [I]:
- Video source tokens are `VideoSource_<channel>`, as the media profiles name
  them; another token is `ter:InvalidArgVal/ter:NoSource`.
- A value outside GetOptions, a mode it does not list or a value that is not a
  number is `ter:InvalidArgVal/ter:SettingsInvalid` (the imaging
  specification's fault for SetImagingSettings).
- Focus moves are offered (GetMoveOptions) where the model has a zoom lens;
  Move and Stop themselves are not served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from nvrsim.protocols import onvif, onvif_imaging
from nvrsim.protocols.onvif import Fault, SoapRequest
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.imaging import IR_CUT_MODES, LEVELS, SWITCH_MODES, ImagingError
from nvrsim.simulator.onvif.service import OnvifFault

NO_SOURCE = Fault("Sender", ("InvalidArgVal", "NoSource"), "No such video source")
SETTINGS_INVALID = Fault(
    "Sender", ("InvalidArgVal", "SettingsInvalid"), "The settings are outside the options"
)
OPTIONS = onvif_imaging.Options(levels=LEVELS, ir_cut_modes=IR_CUT_MODES, switch_modes=SWITCH_MODES)


def source_channel(device: Device, token: str | None) -> int | None:
    """The channel a video source token names (`VideoSource_<n>`), or None."""
    prefix, _, number = (token or "").strip().partition("_")
    if prefix != "VideoSource" or not (number.isascii() and number.isdigit()):
        return None
    channel = int(number)
    return channel if 1 <= channel <= max(1, device.channels) else None


def _channel(device: Device, request: SoapRequest) -> int:
    channel = source_channel(device, request.params.child_text("VideoSourceToken"))
    if channel is None:
        raise OnvifFault(NO_SOURCE)
    return channel


def _capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif_imaging.service_capabilities_response()


def _settings(device: Device, request: SoapRequest, _now: float) -> str:
    settings = device.imaging.get(_channel(device, request))
    return onvif_imaging.settings_response(onvif_imaging.Settings(**asdict(settings)))


def _set_settings(device: Device, request: SoapRequest, _now: float) -> str:
    channel = _channel(device, request)
    node = request.params.child("ImagingSettings")
    if node is None:
        raise OnvifFault(onvif.INVALID_ARG)
    try:
        device.imaging.update(channel, onvif_imaging.settings_update(node))
    except (onvif_imaging.ImagingValueError, ImagingError):
        raise OnvifFault(SETTINGS_INVALID) from None
    return onvif_imaging.set_response()


def _options(device: Device, request: SoapRequest, _now: float) -> str:
    _channel(device, request)
    return onvif_imaging.options_response(OPTIONS)


def _move_options(device: Device, request: SoapRequest, _now: float) -> str:
    _channel(device, request)
    return onvif_imaging.move_options_response(device.can("ptz_zoom"))


def _status(device: Device, request: SoapRequest, _now: float) -> str:
    _channel(device, request)
    return onvif_imaging.status_response()


OPERATIONS: dict[str, Callable[[Device, SoapRequest, float], str]] = {
    "GetServiceCapabilities": _capabilities,
    "GetImagingSettings": _settings,
    "SetImagingSettings": _set_settings,
    "GetOptions": _options,
    "GetMoveOptions": _move_options,
    "GetStatus": _status,
}
