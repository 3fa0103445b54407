"""Hikvision ISAPI PTZCtrl documents: PTZData in (continuous, absolute), PTZStatus,
PTZPreset(List) and PTZChanelCap out. No I/O and no device state.

Units as devices use them: continuous pan/tilt/zoom -100..100 (a percentage of
full speed, 0 stops), AbsoluteHigh azimuth 0..3600 and elevation -900..900 in
tenths of a degree, absoluteZoom 10 to 10 times the lens zoom (tenths of the zoom factor).

Choices where the public record is silent [I]:
- A continuous axis left out is 0; an absolute axis left out keeps its value.
- PTZChanelCap lists the spaces and ranges the simulator serves, the 300
  presets and whether there is a zoom, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .isapi import BadXmlContent, parse_xml, render
from .xmlsafe import XmlNode
from .xmlwrite import Element, el

CONTINUOUS_RANGE = (-100, 100)
AZIMUTH_RANGE = (0, 3600)
ELEVATION_RANGE = (-900, 900)


@dataclass(frozen=True)
class AbsoluteHigh:
    elevation: int | None  # tenths of a degree; positive is down
    azimuth: int | None  # tenths of a degree
    absolute_zoom: int | None  # tenths of the zoom factor: 10 is 1x


def _root(body: bytes, name: str) -> XmlNode:
    node = parse_xml(body)
    if not node.is_named(name):
        raise BadXmlContent(f"expected <{name}>, got <{node.name}>")
    return node


def _integer(text: str, what: str, low: int, high: int) -> int:
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise BadXmlContent(f"{what} must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise BadXmlContent(f"{what} must be a number") from None
        value = round(number)
    if not low <= value <= high:
        raise BadXmlContent(f"{what} must be from {low} to {high}")
    return value


def parse_continuous(body: bytes) -> tuple[int, int, int]:
    """PUT …/continuous: (pan, tilt, zoom), each -100..100."""
    node = _root(body, "PTZData")
    low, high = CONTINUOUS_RANGE
    values = []
    for axis in ("pan", "tilt", "zoom"):
        text = node.child_text(axis)
        values.append(_integer(text, axis, low, high) if text else 0)
    return values[0], values[1], values[2]


def parse_absolute(body: bytes, max_zoom: int) -> AbsoluteHigh:
    """PUT …/absolute: the AbsoluteHigh position; `max_zoom` is 10 times the lens zoom."""
    high = _root(body, "PTZData").child("AbsoluteHigh")
    if high is None:
        raise BadXmlContent("<AbsoluteHigh> is missing")

    def read(tag: str, low: int, top: int) -> int | None:
        text = high.child_text(tag)
        return _integer(text, tag, low, top) if text else None

    return AbsoluteHigh(
        elevation=read("elevation", *ELEVATION_RANGE),
        azimuth=read("azimuth", *AZIMUTH_RANGE),
        absolute_zoom=read("absoluteZoom", 10, max_zoom),
    )


def parse_preset(body: bytes, preset_id: int) -> str | None:
    """PUT …/presets/N: the preset's name (None: keep or default); an <id> must match N."""
    node = _root(body, "PTZPreset")
    sent_id = node.child_text("id")
    if sent_id and sent_id != str(preset_id):
        raise BadXmlContent("<id> does not match the URL")
    name = node.child_text("presetName")
    if name is not None and len(name) > 32:
        raise BadXmlContent("presetName is longer than 32 characters")
    return name or None


def _absolute(position: AbsoluteHigh) -> Element:
    return el(
        "AbsoluteHigh",
        el("elevation", position.elevation or 0),
        el("azimuth", position.azimuth or 0),
        el("absoluteZoom", position.absolute_zoom or 10),
    )


def status(position: AbsoluteHigh, namespace: str) -> bytes:
    return render(el("PTZStatus", _absolute(position)), namespace)


@dataclass(frozen=True)
class PresetEntry:
    id: int
    name: str
    position: AbsoluteHigh


def _preset(p: PresetEntry) -> Element:
    return el(
        "PTZPreset",
        el("enabled", True),
        el("id", p.id),
        el("presetName", p.name),
        _absolute(p.position),
    )


def preset(p: PresetEntry, namespace: str) -> bytes:
    return render(_preset(p), namespace)


def preset_list(presets: list[PresetEntry], namespace: str) -> bytes:
    return render(el("PTZPresetList", *(_preset(p) for p in presets)), namespace)


def _range(tag: str, axis: str, low: int, high: int) -> Element:
    return el(tag, el(f"{axis}Range", el("Min", low), el("Max", high)))


def capabilities(*, zoom: bool, max_zoom: int, max_presets: int, namespace: str) -> bytes:
    """PTZChanelCap (sic, as devices spell it)."""
    return render(
        el(
            "PTZChanelCap",
            el(
                "AbsolutePanTiltPositionSpace",
                el("XRange", el("Min", AZIMUTH_RANGE[0]), el("Max", AZIMUTH_RANGE[1])),
                el("YRange", el("Min", ELEVATION_RANGE[0]), el("Max", ELEVATION_RANGE[1])),
            ),
            *([_range("AbsoluteZoomPositionSpace", "Z", 10, max_zoom)] if zoom else []),
            el(
                "ContinuousPanTiltSpace",
                el("XRange", el("Min", -100), el("Max", 100)),
                el("YRange", el("Min", -100), el("Max", 100)),
            ),
            *([_range("ContinuousZoomSpace", "Z", -100, 100)] if zoom else []),
            el("maxPresetNum", max_presets),
            el("isSupportPosition3D", False),
        ),
        namespace,
    )
