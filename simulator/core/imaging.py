"""A video source's image settings and the ranges they may take.

Everything that decides a camera's image settings lives here; ONVIF imaging
reads and writes them, and any vendor API that shows brightness or the IR-cut
filter would call the same rule. An update is checked whole against
`IMAGING_OPTIONS` before anything changes, so a refused update changes nothing.

Choices where the public record is silent [I]:
- Brightness, colour saturation, contrast, sharpness and the WDR level are
  0..100 (Hikvision's and Dahua's web pages use 0..100 and their ONVIF
  GetOptions report the same), all 50 by default; IR-cut AUTO; WDR and
  backlight compensation OFF.
- Every video source of a device has its own settings (a recorder's channels
  included), kept until "Restore Defaults".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

LEVELS = (0.0, 100.0)
IR_CUT_MODES = ("ON", "OFF", "AUTO")
SWITCH_MODES = ("OFF", "ON")


class ImagingError(ValueError):
    """An update outside the options; nothing was changed."""


@dataclass(frozen=True)
class ImagingSettings:
    brightness: float = 50.0
    color_saturation: float = 50.0
    contrast: float = 50.0
    sharpness: float = 50.0
    ir_cut_filter: str = "AUTO"
    wdr_mode: str = "OFF"
    wdr_level: float = 50.0
    backlight_compensation: str = "OFF"


DEFAULT_SETTINGS = ImagingSettings()  # frozen: every source that was never changed shares it

# Each setting's range (a pair of numbers) or its allowed modes (strings).
IMAGING_OPTIONS: dict[str, tuple[float, float] | tuple[str, ...]] = {
    "brightness": LEVELS,
    "color_saturation": LEVELS,
    "contrast": LEVELS,
    "sharpness": LEVELS,
    "ir_cut_filter": IR_CUT_MODES,
    "wdr_mode": SWITCH_MODES,
    "wdr_level": LEVELS,
    "backlight_compensation": SWITCH_MODES,
}


def updated(settings: ImagingSettings, changes: dict[str, float | str]) -> ImagingSettings:
    """`settings` with `changes`, or ImagingError when any change is out of its options."""
    names = {f.name for f in fields(ImagingSettings)}
    for name, value in changes.items():
        if name not in names:
            raise ImagingError(f"no setting {name!r}")
        allowed = IMAGING_OPTIONS[name]
        if isinstance(allowed[0], str):
            if value not in allowed:
                raise ImagingError(f"{name} must be one of {', '.join(map(str, allowed))}")
        elif not (
            isinstance(value, float)
            and math.isfinite(value)
            and float(allowed[0]) <= value <= float(allowed[1])
        ):
            raise ImagingError(f"{name} must be from {allowed[0]:g} to {allowed[1]:g}")
    return replace(settings, **changes)  # type: ignore[arg-type]


class ImagingStore:
    """The settings of each video source (channel from 1) of one device: only those
    changed from the defaults are kept, in a table made at the first change (every
    device has a store; few of a large fleet's are ever changed)."""

    __slots__ = ("_by_channel",)

    def __init__(self) -> None:
        self._by_channel: dict[int, ImagingSettings] | None = None

    def get(self, channel: int) -> ImagingSettings:
        return (self._by_channel or {}).get(channel, DEFAULT_SETTINGS)

    def update(self, channel: int, changes: dict[str, float | str]) -> ImagingSettings:
        settings = updated(self.get(channel), changes)
        if self._by_channel is None:
            self._by_channel = {}
        self._by_channel[channel] = settings
        return settings

    def clear(self) -> None:
        self._by_channel = None
