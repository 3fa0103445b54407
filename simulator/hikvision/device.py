"""A Hikvision device: the common device plus platform access (Hik-Connect) and the
wire quirks of its firmware builds."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import ClassVar

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.core.device import CloudStatus, Device
from nvrsim.simulator.core.firmware import (
    ALL_KINDS,
    CAMERAS,
    FOREVER,
    RECORDERS,
    CapabilityRow,
    ModelRow,
)
from nvrsim.simulator.core.identity import digest
from nvrsim.simulator.onvif.settings import OnvifDevice, VideoStream

HIK_CONNECT_DEFAULT_SERVER = "litedev.hik-connect.com"
_LEGACY_PATH = re.compile(
    r"/h264/ch(?P<channel>[1-9]\d{0,2})/(?P<kind>main|sub)/av_stream", re.I | re.A
)
_ISAPI_PATH = re.compile(r"/ISAPI/Streaming/channels/(?P<id>[1-9]\d{2,4})", re.I | re.A)
# Registered Hikvision OUIs, as seen on real devices' labels.
OUIS = ("58:50:ed", "44:19:b6", "c0:56:e3", "bc:ad:28", "4c:bd:8f", "e0:ca:3c")

# Which features a firmware line offers. Sources: docs/protocols/hikvision.md §1.5,
# §2.7 and §3 and seed 001 (local-menu unbind on 4.x recorders only). Where the
# public record is silent (the first SADP unbind firmware) the row is our
# documented choice; a fixture can override any capability per device.
CAPABILITY_TABLE = (
    CapabilityRow(
        ALL_KINDS, (0, 0, 0), FOREVER, frozenset({"hik_connect", "sadp", "isapi", "onvif"})
    ),
    CapabilityRow(RECORDERS, (4, 0, 0), FOREVER, frozenset({"sadp_unbind"})),
    CapabilityRow(CAMERAS, (5, 5, 0), FOREVER, frozenset({"sadp_unbind"})),
    CapabilityRow(RECORDERS, (4, 0, 0), (5, 0, 0), frozenset({"menu_unbind"})),
    CapabilityRow(RECORDERS, (0, 0, 0), FOREVER, frozenset({"local_menu"})),
)

# Speed domes (DS-2DE…, DS-2DF…, DS-2DY…, DS-2SE…) and mini PTZ (DS-2DC…): pan, tilt,
# an optical zoom and audio in.
MODEL_TABLE = (ModelRow(r"DS-2(D[CEFY]|SE)", frozenset({"ptz", "ptz_zoom", "audio"})),)


def is_valid_verification_code(code: str) -> bool:
    """Hik-Connect's device verification code: 6 to 12 ASCII letters or digits."""
    return 6 <= len(code) <= 12 and code.isascii() and code.isalnum()


@dataclass(slots=True)
class HikConnect:
    """Platform access (Hik-Connect/EZVIZ) as the device sees it."""

    enabled: bool = False
    server: str = HIK_CONNECT_DEFAULT_SERVER
    verification_code: str = ""
    # Registered with its server right now. With the cloud link running
    # (simulator/clouds/mqtt/link.py) the link writes it; without (unit tests), a
    # fixture or test sets it. Read it through cloud_online (faults apply).
    online: bool = False
    bound_account: str | None = None
    stream_encryption: bool = False

    @property
    def bound(self) -> bool:
        return self.bound_account is not None


@dataclass(slots=True)
class Quirks:
    """Wire details that differ between real firmware builds."""

    flase: bool = True  # SADP spells false as "flase", as real cameras do
    isapi_namespace: str = "http://www.hikvision.com/ver20/XMLSchema"


@dataclass(kw_only=True)
class HikvisionDevice(OnvifDevice, Device):
    vendor: ClassVar[str] = "hikvision"
    manufacturer: ClassVar[str] = "HIKVISION"
    capability_table: ClassVar[tuple[CapabilityRow, ...]] = CAPABILITY_TABLE
    model_table: ClassVar[tuple[ModelRow, ...]] = MODEL_TABLE
    hik_connect: HikConnect = field(default_factory=HikConnect)
    quirks: Quirks = field(default_factory=Quirks)

    @property
    def cloud_online(self) -> bool:
        """Online on its platform server right now, unless a fault cut the link."""
        return self.hik_connect.online and not self.faults.cloud_offline

    @property
    def cloud_registered(self) -> bool:
        """ISAPI `registerStatus`: platform access enabled and connected right now."""
        return self.hik_connect.enabled and self.cloud_online

    @property
    def cloud(self) -> CloudStatus:
        h = self.hik_connect
        state = "disabled" if not h.enabled else ("online" if self.cloud_online else "offline")
        return CloudStatus("Hik-Connect", state, self.cloud_online, h.bound_account)

    @property
    def salt(self) -> str:
        """SADP's per-device `Salt`: 64 hex digits, stable for a serial."""
        return hashlib.sha256(f"salt:{self.serial}".encode()).hexdigest()

    def stream_path(self, channel: int, sub: bool = False) -> str:
        """Channel 1's main stream is 101, its sub stream 102; channel 12's 1201 and 1202."""
        return f"/Streaming/Channels/{channel}0{2 if sub else 1}"

    def main_stream_path(self, channel: int) -> str:
        # As Hikvision's ONVIF GetStreamUri words it; the RTSP server ignores the query.
        return f"{self.stream_path(channel)}?transportmode=unicast&profile=Profile_{channel}"

    def stream_at(self, target: str) -> VideoStream | None:
        """Also the paths older clients hard-code: `/h264/ch1/main/av_stream` (and `sub`,
        from firmware before ISAPI) and `/ISAPI/Streaming/channels/101` (newer ones)."""
        stream = super().stream_at(target)
        if stream is not None:
            return stream
        path = target.partition("?")[0].rstrip("/")
        if legacy := _LEGACY_PATH.fullmatch(path):
            stream = VideoStream(int(legacy["channel"]), legacy["kind"].lower() == "sub")
        elif isapi := _ISAPI_PATH.fullmatch(path):
            stream = super().stream_at(f"/Streaming/Channels/{isapi['id']}")
        return stream if stream is not None and 1 <= stream.channel <= self.channels else None

    # --- the cloud link (simulator/clouds/mqtt) ---------------------------------------

    def home_region(self) -> hc.Region | None:
        """Known to the region of its server address once platform access was enabled
        (or it is bound: it registered once)."""
        h = self.hik_connect
        return hc.region_of_server(h.server) if h.enabled or h.bound else None

    def link_switched_on(self) -> bool:
        return self.hik_connect.enabled

    @property
    def link_online(self) -> bool:
        return self.hik_connect.online

    @link_online.setter
    def link_online(self, online: bool) -> None:
        self.hik_connect.online = online

    def link_binding(self) -> tuple[str, str | None]:
        return self.hik_connect.verification_code, self.hik_connect.bound_account

    def restore_defaults(self, now: float) -> None:
        """Platform access goes off and back to the default server; the verification
        code stays (we keep no separate label code), and so does the binding."""
        h = self.hik_connect
        h.enabled, h.server, h.stream_encryption = False, HIK_CONNECT_DEFAULT_SERVER, False
        super().restore_defaults(now)


def serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """Model + date made + batch letters + nine digits: DS-2CD2385G1-I20200414AAWRE33842150."""
    d = digest("serial", seed, name, index, attempt)
    year = 2018 + d[0] % 7
    month = 1 + d[1] % 12
    day = 1 + d[2] % 28
    batch = ("AAWR", "CCWR", "CCRR", "AACH")[d[3] % 4]
    digits = int.from_bytes(d[4:12], "big") % 10**9
    return f"{model}{year}{month:02d}{day:02d}{batch}{digits:09d}"


def verification_code(seed: str, serial: str) -> str:
    """Six capital letters, like the code printed on a device label."""
    d = digest("vc", seed, serial)
    return "".join(chr(ord("A") + b % 26) for b in d[:6])


def default_name(kind: str, _model: str) -> str:
    return {"nvr": "Network Video Recorder", "dvr": "Embedded Net DVR"}.get(kind, "IP CAMERA")


def qr_content(device: HikvisionDevice) -> hc.QrContent:
    """What the device's QR code says (ISAPI's EZVIZ/QRCode, the menu, the app scans it)."""
    return hc.QrContent(
        hc.short_serial(device.serial), device.hik_connect.verification_code, device.model
    )
