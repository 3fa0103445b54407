"""Firmware versions as real devices print them, and what each version can do.

The capability table is the one place that says which firmware offers which
feature; SADP, ISAPI and the local menu all ask it rather than comparing
version numbers themselves.
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
class _Row:
    vendor: str
    kinds: frozenset[str]
    since: tuple[int, int, int]
    until: tuple[int, int, int]  # exclusive
    grants: frozenset[str]


RECORDERS = frozenset({"nvr", "dvr"})
CAMERAS = frozenset({"ipc"})
_ALL = RECORDERS | CAMERAS
_FOREVER = (1_000, 0, 0)

# Which features a firmware line offers. Sources: protocols/hikvision.md §1.5,
# §2.7 and §3 and seed 001 (local-menu unbind on 4.x recorders only). Where the
# public record is silent (the first SADP unbind firmware) the row is our
# documented choice; a fixture can override any capability per device.
CAPABILITY_TABLE: tuple[_Row, ...] = (
    _Row(
        "hikvision", _ALL, (0, 0, 0), _FOREVER, frozenset({"hik_connect", "sadp", "isapi", "onvif"})
    ),
    _Row("hikvision", RECORDERS, (4, 0, 0), _FOREVER, frozenset({"sadp_unbind"})),
    _Row("hikvision", CAMERAS, (5, 5, 0), _FOREVER, frozenset({"sadp_unbind"})),
    _Row("hikvision", RECORDERS, (4, 0, 0), (5, 0, 0), frozenset({"menu_unbind"})),
    _Row("hikvision", RECORDERS, (0, 0, 0), _FOREVER, frozenset({"local_menu"})),
    _Row("dahua", RECORDERS, (0, 0, 0), _FOREVER, frozenset({"local_menu"})),
    # Dahua (protocols/dahua.md): DHIP discovery, the web server's RPC2 and CGI, DMSS P2P.
    _Row(
        "dahua", _ALL, (0, 0, 0), _FOREVER, frozenset({"dhip", "dahua_http", "dmss_p2p", "onvif"})
    ),
    # D-Link (protocols/onvif-dlink.md §3): DCS cameras and DNR recorders. [I] DNR
    # recorders speak the same CGI API; the challenge login arrives with 2.x camera
    # firmware (DCS-8200LH); SSDP is on every model that backs up a UPnP section.
    _Row(
        "dlink",
        frozenset({"ipc", "nvr"}),
        (0, 0, 0),
        _FOREVER,
        frozenset({"nipca", "dlink_discovery", "ssdp", "mydlink", "onvif"}),
    ),
    _Row("dlink", CAMERAS, (2, 0, 0), _FOREVER, frozenset({"nipca_challenge"})),
)

CAPABILITIES = frozenset().union(*(row.grants for row in CAPABILITY_TABLE))


@functools.cache  # asked once per device for every SADP reply; the table never changes
def capabilities(vendor: str, kind: str, firmware: FirmwareVersion) -> frozenset[str]:
    found: set[str] = set()
    for row in CAPABILITY_TABLE:
        if row.vendor == vendor and kind in row.kinds and row.since <= firmware.key < row.until:
            found |= row.grants
    return frozenset(found)
