"""A pan/tilt/zoom head: where it points, how it moves, its presets and home.

Everything that decides a PTZ device's position lives here; it does not know
which protocol asks (ONVIF PTZ, ISAPI PTZCtrl, Dahua ptz.cgi all call it), so a
move through one is seen by all of them.

Theory of operation: no background task moves the head. A command starts a
`Motion` (where it started, when, a velocity per axis and the time each axis
stops); the position at any `now` of the simulation clock is integrated from
it, so advancing the clock by an hour moves the head by an hour. Each axis
stops at its node's limit, at the command's timeout, or at its target,
whichever comes first. A new command starts from where the old one got to.

Coordinates are ONVIF's generic spaces: pan and tilt -1..1, zoom 0..1;
velocities -1..1 (zoom too) as fractions of the node's full speed. Vendors
convert at their edge (ISAPI tenths of degrees, Dahua degrees).

Choices where the public record is silent [I]:
- Full speed moves pan and tilt 1.0 a second (180 degrees), zoom 0.5 a
  second (wide to tele in 2 s).
- Positions are clamped to the limits, not wrapped: a pan that reaches 1
  stops there, as the limits are what clients read.
- A relative move beyond a limit stops at the limit; an absolute target or
  velocity outside its space is refused (`PtzRangeError`).
- Presets are numbered tokens "1", "2", …; a preset set without a token takes
  the lowest free number; 300 presets a head (Hikvision's and Dahua's count).
- A head without zoom (D-Link's pan/tilt cameras) keeps zoom at 0 and ignores
  zoom in every command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

PAN_TILT_LIMITS = (-1.0, 1.0)
ZOOM_LIMITS = (0.0, 1.0)
VELOCITY_LIMITS = (-1.0, 1.0)


class PtzError(ValueError):
    """A command the head refuses; it changes nothing."""


class PtzRangeError(PtzError):
    pass


class NoSuchPreset(PtzError):
    pass


class PresetsFull(PtzError):
    pass


class Position(NamedTuple):
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0


ORIGIN = Position()


@dataclass(frozen=True)
class PtzNode:
    """What the head can do: its axes, full speeds and how many presets it keeps."""

    zoom: bool = True
    pan_speed: float = 1.0  # generic units a second at velocity 1
    tilt_speed: float = 1.0
    zoom_speed: float = 0.5
    max_presets: int = 300
    optical_zoom: int = 25  # the lens's N-times zoom, for vendors that show zoom as a factor

    def limits(self) -> tuple[tuple[float, float], ...]:
        return (PAN_TILT_LIMITS, PAN_TILT_LIMITS, ZOOM_LIMITS if self.zoom else (0.0, 0.0))

    def speeds(self) -> tuple[float, float, float]:
        return (self.pan_speed, self.tilt_speed, self.zoom_speed if self.zoom else 0.0)


@dataclass(frozen=True)
class Motion:
    """A move under way: from `start` at `since`, each axis at `velocity` (units a second)
    for its own number of seconds (`lasts`; durations, not end times, so that an axis
    lands on its target exactly however large the epoch)."""

    start: Position
    since: float
    velocity: Position = ORIGIN
    lasts: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def position(self, now: float) -> Position:
        elapsed = max(now - self.since, 0.0)
        return Position(
            *(
                p + v * min(elapsed, last)
                for p, v, last in zip(self.start, self.velocity, self.lasts, strict=True)
            )
        )

    def moving(self, now: float) -> tuple[bool, bool, bool]:
        elapsed = now - self.since
        return tuple(  # type: ignore[return-value]
            v != 0 and elapsed < last for v, last in zip(self.velocity, self.lasts, strict=True)
        )


@dataclass
class Preset:
    name: str
    position: Position


@dataclass
class PtzHead:
    node: PtzNode = field(default_factory=PtzNode)
    motion: Motion = field(default_factory=lambda: Motion(ORIGIN, 0.0))
    presets: dict[str, Preset] = field(default_factory=dict)
    home: Position = ORIGIN
    last_preset: str | None = None  # the preset last gone to, until the next other move

    # --- reading -------------------------------------------------------------------------

    def position(self, now: float) -> Position:
        return self.motion.position(now)

    def moving(self, now: float) -> tuple[bool, bool]:
        """(pan/tilt moving, zoom moving)."""
        pan, tilt, zoom = self.motion.moving(now)
        return pan or tilt, zoom

    # --- moving --------------------------------------------------------------------------

    def continuous(self, velocity: Position, now: float, timeout: float | None = None) -> None:
        """Move at `velocity` (each -1..1 of full speed) until a limit, `timeout` seconds
        or the next command."""
        if not all(_within(v, VELOCITY_LIMITS) for v in velocity):
            raise PtzRangeError("velocity out of range")
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise PtzRangeError("timeout must be a positive duration")
        start = self.position(now)
        speeds = tuple(v * s for v, s in zip(velocity, self.node.speeds(), strict=True))
        lasts = []
        for p, v, (low, high) in zip(start, speeds, self.node.limits(), strict=True):
            room = (high - p) / v if v > 0 else (low - p) / v if v < 0 else 0.0
            lasts.append(min(room, timeout if timeout is not None else math.inf))
        self._start(Motion(start, now, Position(*speeds), (lasts[0], lasts[1], lasts[2])))

    def move_to(self, target: Position, now: float, speed: Position | None = None) -> None:
        """Go to `target` (within the limits) at `speed` (0..1 of full speed a axis; None
        or 0: full speed)."""
        target = self._zoomless(target)
        if not all(_within(t, lim) for t, lim in zip(target, self.node.limits(), strict=True)):
            raise PtzRangeError("position out of range")
        if speed is not None and not all(0 <= s <= 1 for s in speed):
            raise PtzRangeError("speed out of range")
        start = self.position(now)
        fractions = speed or Position(1.0, 1.0, 1.0)
        velocity, lasts = [], []
        for p, t, full, fraction in zip(start, target, self.node.speeds(), fractions, strict=True):
            rate = full * (fraction or 1.0)
            delta = t - p
            velocity.append(math.copysign(rate, delta) if delta and rate else 0.0)
            lasts.append(abs(delta) / rate if delta and rate else 0.0)
        self._start(Motion(start, now, Position(*velocity), (lasts[0], lasts[1], lasts[2])))

    def move_by(self, translation: Position, now: float, speed: Position | None = None) -> None:
        """Move by `translation` from where the head is; a limit stops it."""
        here = self.position(now)
        target = Position(
            *(
                min(max(p + d, low), high)
                for p, d, (low, high) in zip(here, translation, self.node.limits(), strict=True)
            )
        )
        self.move_to(target, now, speed)

    def stop(self, now: float, pan_tilt: bool = True, zoom: bool = True) -> None:
        here, m = self.position(now), self.motion
        keep = (not pan_tilt, not pan_tilt, not zoom)
        velocity = Position(*(v if k else 0.0 for v, k in zip(m.velocity, keep, strict=True)))
        # The kept axes carry on from `here` for what remains of their time.
        left = [
            max(last - (now - m.since), 0.0) if k else 0.0
            for last, k in zip(m.lasts, keep, strict=True)
        ]
        self.motion = Motion(here, now, velocity, (left[0], left[1], left[2]))

    def go_home(self, now: float, speed: Position | None = None) -> None:
        self.move_to(self.home, now, speed)

    def set_home(self, now: float) -> None:
        self.home = self.position(now)

    # --- presets -------------------------------------------------------------------------

    def set_preset(self, now: float, token: str | None = None, name: str | None = None) -> str:
        """Remember where the head is as preset `token` (or the lowest free number)."""
        if token is None and len(self.presets) >= self.node.max_presets:
            raise PresetsFull("no room for another preset")
        if token is None:
            token = next(
                str(n) for n in range(1, self.node.max_presets + 1) if str(n) not in self.presets
            )
        if not _is_preset_number(token, self.node.max_presets):
            raise NoSuchPreset(f"presets are numbered 1 to {self.node.max_presets}")
        token = str(int(token))  # "07" is preset 7
        old = self.presets.get(token)
        self.presets[token] = Preset(
            name or (old.name if old else f"Preset {token}"), self.position(now)
        )
        self.presets = dict(sorted(self.presets.items(), key=lambda item: int(item[0])))
        return token

    def goto_preset(self, token: str, now: float, speed: Position | None = None) -> None:
        preset = self.presets.get(token)
        if preset is None:
            raise NoSuchPreset(f"no preset {token!r}")
        self.move_to(preset.position, now, speed)
        self.last_preset = token

    def remove_preset(self, token: str) -> None:
        if self.presets.pop(token, None) is None:
            raise NoSuchPreset(f"no preset {token!r}")
        if self.last_preset == token:
            self.last_preset = None

    # ---------------------------------------------------------------------------------------

    def _start(self, motion: Motion) -> None:
        self.motion = motion
        self.last_preset = None

    def _zoomless(self, position: Position) -> Position:
        return position if self.node.zoom else position._replace(zoom=0.0)


def _within(value: float, limits: tuple[float, float]) -> bool:
    return math.isfinite(value) and limits[0] <= value <= limits[1]


def _is_preset_number(token: str, most: int) -> bool:
    return token.isascii() and token.isdigit() and 1 <= int(token) <= most
