"""ONVIF imaging service (ver20 imaging WSDL): settings, options, move options and status
documents out, a SetImagingSettings update in. No I/O and no device state.

Choices where the specification leaves the device free [I]:
- Settings carry BacklightCompensation, Brightness, ColorSaturation,
  Contrast, IrCutFilter, Sharpness and WideDynamicRange (the ones the
  simulator keeps); Exposure, Focus and WhiteBalance in an update are read
  past, not refused.
- A motorised lens (a PTZ dome's) offers continuous focus moves at speed
  -1..1; other cameras offer no focus move.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import xmlsafe
from .xmlwrite import Element, Markup, el, write, xmlns

TIMG = "http://www.onvif.org/ver20/imaging/wsdl"


class ImagingValueError(ValueError):
    """A value in an update that is not a number."""


@dataclass(frozen=True)
class Settings:
    brightness: float
    color_saturation: float
    contrast: float
    sharpness: float
    ir_cut_filter: str
    wdr_mode: str
    wdr_level: float
    backlight_compensation: str


@dataclass(frozen=True)
class Options:
    levels: tuple[float, float]  # brightness, saturation, contrast, sharpness, WDR level
    ir_cut_modes: tuple[str, ...]
    switch_modes: tuple[str, ...]  # WDR and backlight compensation


def _reply(tag: str, *content: Element | Markup) -> str:
    return write(el(f"timg:{tag}", *content, attrs=xmlns({"timg": TIMG})))


def _g(value: float) -> str:
    return f"{value:g}"


def settings_response(s: Settings) -> str:
    return _reply(
        "GetImagingSettingsResponse",
        el(
            "timg:ImagingSettings",
            el("tt:BacklightCompensation", el("tt:Mode", s.backlight_compensation)),
            el("tt:Brightness", _g(s.brightness)),
            el("tt:ColorSaturation", _g(s.color_saturation)),
            el("tt:Contrast", _g(s.contrast)),
            el("tt:IrCutFilter", s.ir_cut_filter),
            el("tt:Sharpness", _g(s.sharpness)),
            el("tt:WideDynamicRange", el("tt:Mode", s.wdr_mode), el("tt:Level", _g(s.wdr_level))),
        ),
    )


def _range(tag: str, low: float, high: float) -> Element:
    return el(tag, el("tt:Min", _g(low)), el("tt:Max", _g(high)))


def options_response(o: Options) -> str:
    low, high = o.levels
    return _reply(
        "GetOptionsResponse",
        el(
            "timg:ImagingOptions",
            el("tt:BacklightCompensation", *(el("tt:Mode", m) for m in o.switch_modes)),
            _range("tt:Brightness", low, high),
            _range("tt:ColorSaturation", low, high),
            _range("tt:Contrast", low, high),
            *(el("tt:IrCutFilterModes", m) for m in o.ir_cut_modes),
            _range("tt:Sharpness", low, high),
            el(
                "tt:WideDynamicRange",
                *(el("tt:Mode", m) for m in o.switch_modes),
                _range("tt:Level", low, high),
            ),
        ),
    )


def move_options_response(motorised: bool) -> str:
    continuous = [el("tt:Continuous", _range("tt:Speed", -1, 1))] if motorised else []
    return _reply("GetMoveOptionsResponse", el("timg:MoveOptions", *continuous))


def status_response() -> str:
    """The focus stands still, at 0 (the simulator has no focus motor to move)."""
    focus = el("tt:FocusStatus20", el("tt:Position", 0), el("tt:MoveStatus", "IDLE"))
    return _reply("GetStatusResponse", el("timg:Status", focus))


def set_response() -> str:
    return _reply("SetImagingSettingsResponse")


def service_capabilities() -> str:
    return write(
        el(
            "timg:Capabilities",
            attrs=(
                *xmlns({"timg": TIMG}),
                ("ImageStabilization", "false"),
                ("Presets", "false"),
                ("AdaptablePreset", "false"),
            ),
        )
    )


def service_capabilities_response() -> str:
    return _reply("GetServiceCapabilitiesResponse", Markup(service_capabilities()))


def _number(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ImagingValueError(f"not a number: {text!r}") from None


def settings_update(node: xmlsafe.XmlNode) -> dict[str, float | str]:
    """The settings an ImagingSettings element sets, by the names of
    simulator/core/imaging.py; modes as sent (the schema spells them in capitals)."""
    changes: dict[str, float | str] = {}
    for tag, name in (
        ("Brightness", "brightness"),
        ("ColorSaturation", "color_saturation"),
        ("Contrast", "contrast"),
        ("Sharpness", "sharpness"),
    ):
        text = node.child_text(tag)
        if text is not None:
            changes[name] = _number(text)
    if (mode := node.child_text("IrCutFilter")) is not None:
        changes["ir_cut_filter"] = mode
    if (wdr := node.child("WideDynamicRange")) is not None:
        if (mode := wdr.child_text("Mode")) is not None:
            changes["wdr_mode"] = mode
        if (level := wdr.child_text("Level")) is not None:
            changes["wdr_level"] = _number(level)
    if (blc := node.child("BacklightCompensation")) is not None and (
        mode := blc.child_text("Mode")
    ) is not None:
        changes["backlight_compensation"] = mode
    return changes
