"""A D-Link device (DCS camera or DNR recorder): the common device plus its label's
hardware revision and its mydlink registration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from nvrsim.simulator.core.device import CloudStatus, Device
from nvrsim.simulator.core.firmware import CAMERAS, FOREVER, CapabilityRow, ModelRow
from nvrsim.simulator.core.identity import digest
from nvrsim.simulator.onvif.settings import OnvifDevice, VideoFormat

# D-Link OUIs; b0:c5:54 and 28:10:7b are seen on DCS cameras (docs/protocols/onvif-dlink.md §3.1).
OUIS = ("b0:c5:54", "28:10:7b", "1c:7e:e5", "c4:a8:1d", "f0:7d:68", "14:d6:4d")
KINDS = frozenset({"ipc", "nvr"})  # DCS cameras and DNR recorders: no DVRs

# docs/protocols/onvif-dlink.md §3. [I] DNR recorders speak the same CGI API; the
# challenge login arrives with 2.x camera firmware (DCS-8200LH); SSDP is on every
# model that backs up a UPnP section.
CAPABILITY_TABLE = (
    CapabilityRow(
        KINDS,
        (0, 0, 0),
        FOREVER,
        frozenset({"nipca", "dlink_discovery", "ssdp", "mydlink", "onvif"}),
    ),
    CapabilityRow(CAMERAS, (2, 0, 0), FOREVER, frozenset({"nipca_challenge"})),
)

# The pan/tilt DCS cameras: a motor and a microphone, no optical zoom.
PAN_TILT_MODELS = r"DCS-(5000L|5009L|5010L|5020L|5025L|5030L|5222L|8525LH)"
MODEL_TABLE = (ModelRow(PAN_TILT_MODELS, frozenset({"ptz", "audio"})),)


@dataclass(slots=True)
class MyDlink:
    """mydlink cloud registration as a D-Link device sees it (docs/protocols/onvif-dlink.md
    §3.3).

    Registration lives on the device: a factory reset forgets it, and the owner
    must register the device again (D-Link FAQ, DCS-6004L).
    """

    pin_code: str = ""  # the 6-digit PIN on the label
    account: str | None = None  # the mydlink account it is registered to
    # The admin password a factory reset leaves: "" on older DCS (admin, blank), or
    # None on models whose password is chosen at first setup [I] (§3.2).
    reset_password: str | None = ""

    @property
    def registered(self) -> bool:
        return self.account is not None


@dataclass(kw_only=True)
class DlinkDevice(OnvifDevice, Device):
    vendor: ClassVar[str] = "dlink"
    manufacturer: ClassVar[str] = "D-Link"
    capability_table: ClassVar[tuple[CapabilityRow, ...]] = CAPABILITY_TABLE
    # [I] DCS cameras stream HD at 30 fps (NTSC-first firmware); the VGA models VGA.
    default_streams: ClassVar[tuple[VideoFormat, VideoFormat]] = (
        VideoFormat(1280, 720, 30, 2048),
        VideoFormat(640, 360, 30, 512),
    )
    video_models: ClassVar[tuple[tuple[str, VideoFormat, VideoFormat], ...]] = (
        ("DCS-942L", VideoFormat(640, 480, 30, 1024), VideoFormat(320, 240, 30, 256)),
        ("DCS-932L", VideoFormat(640, 480, 30, 1024), VideoFormat(320, 240, 30, 256)),
    )
    model_table: ClassVar[tuple[ModelRow, ...]] = MODEL_TABLE
    hardware_version: str = ""  # the label's revision: A1, B1…
    mydlink: MyDlink = field(default_factory=MyDlink)

    @property
    def cloud(self) -> CloudStatus:
        account = self.mydlink.account
        return CloudStatus("mydlink", "mydlink" if account else "-", account is not None, account)

    @property
    def factory_password(self) -> str | None:
        """D-Link's default varies by model: blank on older DCS, none until first setup."""
        return self.mydlink.reset_password

    def stream_path(self, channel: int, sub: bool = False) -> str:
        """DCS cameras: `/live1.sdp` (profile 1) and `/live2.sdp` (profile 2), as on the
        DCS-2332 (docs/protocols/onvif-dlink.md §3). [I] A DNR recorder's further channels
        are not documented: `/ch<n>/live1.sdp`."""
        name = f"live{2 if sub else 1}.sdp"
        return f"/{name}" if channel == 1 else f"/ch{channel}/{name}"

    def factory_reset(self, now: float) -> None:
        """The reset button (10 s) or system_reset.cgi also forgets the mydlink registration."""
        self.mydlink.account = None
        super().factory_reset(now)


def serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """13 characters as on D-Link labels [I]: 4 of plant and product code, a year digit,
    a month (1-9, A-C) and 7 digits: QBTL2A5000123."""
    d = digest("dlink-serial", seed, name, index, attempt)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    product = "".join(letters[b % len(letters)] for b in digest("dlink-product", model)[:3])
    plant = "0123456789"[d[0] % 10] if d[0] % 2 else letters[d[0] % len(letters)]
    year = d[1] % 10
    month = "123456789ABC"[d[2] % 12]
    digits = int.from_bytes(d[3:11], "big") % 10**7
    return f"{product}{plant}{year}{month}{digits:07d}"


def pin_code(seed: str, serial: str) -> str:
    """The 6-digit PIN printed on mydlink cameras' labels."""
    return f"{int.from_bytes(digest('pin', seed, serial)[:4], 'big') % 10**6:06d}"
