"""Firmware versions as real devices print them, and what each version can do.

Each vendor's capability table (its device class's `capability_table`) is the one
place that says which firmware offers which feature; SADP, ISAPI and the local menu
all ask it rather than comparing version numbers themselves.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

_VERSION = re.compile(
    r"""^\s*V?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?   # V4.30.085, V5.6.2
        (?P<rest>[.\w]*)                                             # Dahua's .0000000.25.R
        (?:\s*,?\s*build\s*(?:date:\s*)?(?P<build>[\d-]+))?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


class FirmwareError(ValueError):
    pass


@dataclass(frozen=True)
class FirmwareVersion:
    """A parsed firmware string; `text` is kept verbatim for the wire."""

    text: str
    major: int
    minor: int
    patch: int
    build: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion:
        m = _VERSION.match(text)
        if not m:
            raise FirmwareError(
                f"not a firmware version: {text!r} (expected e.g. 'V4.30.085 build 200916')"
            )
        return cls(
            text=text,
            major=int(m["major"]),
            minor=int(m["minor"]),
            patch=int(m["patch"] or 0),
            build=m["build"] or "",
        )

    @property
    def number(self) -> str:
        """The version without its build, as ISAPI `firmwareVersion` shows it: V4.30.085."""
        return re.split("build", self.text, maxsplit=1, flags=re.IGNORECASE)[0].strip().rstrip(",")

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)


@dataclass(frozen=True)
class CapabilityRow:
    """Firmware `since` (inclusive) to `until` (exclusive) of a vendor's `kinds` grants these."""

    kinds: frozenset[str]
    since: tuple[int, int, int]
    until: tuple[int, int, int]
    grants: frozenset[str]


@dataclass(frozen=True)
class ModelRow:
    """Models whose name matches `pattern` (from its start, without case) grant these:
    what the hardware has, whatever its firmware (a PTZ head, a zoom lens)."""

    pattern: str
    grants: frozenset[str]


RECORDERS = frozenset({"nvr", "dvr"})
CAMERAS = frozenset({"ipc"})
ALL_KINDS = RECORDERS | CAMERAS
FOREVER = (1_000, 0, 0)


@functools.cache  # asked once per device for every SADP reply; the tables never change
def capabilities(
    table: tuple[CapabilityRow, ...], kind: str, firmware: FirmwareVersion
) -> frozenset[str]:
    """What `firmware` on a device of `kind` offers, by its vendor's capability table."""
    found: set[str] = set()
    for row in table:
        if kind in row.kinds and row.since <= firmware.key < row.until:
            found |= row.grants
    return frozenset(found)


@functools.cache
def model_capabilities(table: tuple[ModelRow, ...], model: str) -> frozenset[str]:
    """What a vendor's model table grants `model`."""
    found: set[str] = set()
    for row in table:
        if re.match(row.pattern, model, re.IGNORECASE):
            found |= row.grants
    return frozenset(found)
