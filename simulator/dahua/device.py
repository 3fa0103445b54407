"""A Dahua device: the common device plus what Dahua keeps beyond it (General's lockout,
T2UServer/P2P, the DMSS binding, DHIP details)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from nvrsim.protocols.hikconnect import Region
from nvrsim.simulator.core.auth import LockoutPolicy
from nvrsim.simulator.core.device import CloudStatus, Device
from nvrsim.simulator.core.firmware import ALL_KINDS, FOREVER, RECORDERS, CapabilityRow, ModelRow
from nvrsim.simulator.core.identity import digest
from nvrsim.simulator.onvif.settings import FULL_HD, OnvifDevice, VideoFormat

# Dahua OUIs; 4c:11:bf and 38:af:29 are in DHIP and RPC2 captures (docs/protocols/dahua.md).
OUIS = ("4c:11:bf", "38:af:29", "3c:ef:8c", "e0:50:8b", "90:02:a9", "14:a7:8b")
SDK_PORT = 37777  # DHIP `Port`: the port its SDK (DVRIP) listens on

# Dahua devices ride the cloud link to their P2P server (DMSS), one for the world [I]:
# the Hik-Connect cloud ignores the region, and `p2p_online` reads what it achieved.
DMSS_P2P = Region("dmss", "DMSS P2P", 0, "", "", ())

# docs/protocols/dahua.md: DHIP discovery, the web server's RPC2 and CGI, DMSS P2P.
CAPABILITY_TABLE = (
    CapabilityRow(RECORDERS, (0, 0, 0), FOREVER, frozenset({"local_menu"})),
    CapabilityRow(
        ALL_KINDS, (0, 0, 0), FOREVER, frozenset({"dhip", "dahua_http", "dmss_p2p", "onvif"})
    ),
)

# Speed domes (SD…, with or without the DH-/DHI- prefix) and PTZ cameras (PTZ…).
MODEL_TABLE = (ModelRow(r"(DHI?-)?(SD|PTZ)", frozenset({"ptz", "ptz_zoom", "audio"})),)


@dataclass(slots=True)
class DahuaSettings:
    """What a Dahua device keeps beyond the common model (docs/protocols/dahua.md §1.4, §2.3,
    §2.4).

    `General.LockLoginTimes`/`LoginFailLockTime` are the policy of the device's one
    `Lockout` (`DahuaDevice.sync_lockout`), so RPC2, CGI and DHIP share one counter.
    """

    lock_login_enable: bool = True  # General.LockLoginEnable
    lock_login_times: int = 5  # General.LockLoginTimes
    login_fail_lock_time: int = 1800  # General.LoginFailLockTime, seconds
    max_online_time: int = 3600  # General.MaxOnlineTime
    t2u_enable: bool = True  # T2UServer.Enable: the P2P (DMSS) switch
    # The device's registration with the DMSS P2P server: what the MQTT link achieved
    # (simulator/clouds/mqtt/link.py); without a broker, what fixtures and the control
    # API set. Read it through DahuaDevice.p2p_online.
    p2p_link: bool = True
    dmss_account: str | None = None  # the DMSS account the device is bound to
    vendor_name: str = "Dahua"  # magicBox getVendor, DHIP Vendor
    init_bits: int = 0  # DHIP `Init` beyond its two low bits (2 initialised, 1 factory) [I]
    find: str = "AB"  # DHIP `Find`: password recovery by phone (A) and e-mail (B)
    # How DHDiscover.setConfig proves the password (unknown on real devices, §1.5):
    # "ha1" MD5(user:realm:password) in hex, "plain", or "none" (no check).
    discovery_password: str = "ha1"
    session_timeout: float = 60.0  # seconds an idle RPC2 session lives

    def lockout_policy(self) -> LockoutPolicy:
        if not self.lock_login_enable:
            return LockoutPolicy(max_failures=1 << 30, lock_seconds=0)
        return LockoutPolicy(self.lock_login_times, float(self.login_fail_lock_time))

    def restore_factory(self) -> None:
        """Settings a reset puts back; the DMSS binding lives on the cloud and stays."""
        fresh = DahuaSettings()
        for name in ("lock_login_enable", "lock_login_times", "login_fail_lock_time"):
            setattr(self, name, getattr(fresh, name))
        self.max_online_time, self.t2u_enable = fresh.max_online_time, fresh.t2u_enable


@dataclass(kw_only=True)
class DahuaDevice(OnvifDevice, Device):
    vendor: ClassVar[str] = "dahua"
    manufacturer: ClassVar[str] = "Dahua"
    capability_table: ClassVar[tuple[CapabilityRow, ...]] = CAPABILITY_TABLE
    # [I] Dahua's sub stream (ExtraFormat[0]) defaults to D1 on PAL firmware.
    default_streams: ClassVar[tuple[VideoFormat, VideoFormat]] = (
        FULL_HD,
        VideoFormat(704, 576, 25, 512),
    )
    model_table: ClassVar[tuple[ModelRow, ...]] = MODEL_TABLE
    dahua: DahuaSettings = field(default_factory=DahuaSettings)

    @property
    def p2p_online(self) -> bool:
        """Registered with the DMSS P2P server right now (T2UServer on, link up), unless a
        fault cut the link. The one place DMSS, RPC2 and CGI read it from."""
        d = self.dahua
        return d.t2u_enable and d.p2p_link and self.activated and not self.faults.cloud_offline

    @property
    def cloud(self) -> CloudStatus:
        d = self.dahua
        state = "p2p" if self.p2p_online else ("p2p off" if not d.t2u_enable else "offline")
        return CloudStatus("P2P", state, self.p2p_online, d.dmss_account)

    def sync_lockout(self) -> None:
        """The lockout follows General.LockLoginTimes/LoginFailLockTime."""
        self.lockout.policy = self.dahua.lockout_policy()

    def stream_path(self, channel: int, sub: bool = False) -> str:
        return f"/cam/realmonitor?channel={channel}&subtype={1 if sub else 0}"

    def main_stream_path(self, channel: int) -> str:
        # As Dahua's ONVIF GetStreamUri words it; the RTSP server ignores the extra query.
        return f"{self.stream_path(channel)}&unicast=true&proto=Onvif"

    def factory_reset(self, now: float) -> None:
        """Back to "not initialised" (DevInit) with General's defaults."""
        self.dahua.restore_factory()
        self.sync_lockout()
        super().factory_reset(now)

    # --- the cloud link (simulator/clouds/mqtt): P2P registration at DMSS --------------

    def home_region(self) -> Region | None:
        return DMSS_P2P if self.can("dmss_p2p") else None

    def link_switched_on(self) -> bool:
        return self.dahua.t2u_enable and self.activated

    @property
    def link_online(self) -> bool:
        return self.dahua.p2p_link

    @link_online.setter
    def link_online(self, online: bool) -> None:
        self.dahua.p2p_link = online

    def link_binding(self) -> tuple[str, str | None]:
        return "", self.dahua.dmss_account


def serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """15 characters as on Dahua labels (4H01D66PAJ2FA64, 7L02A5EPAZ1C4F0): a digit, a
    letter, two digits, then eleven letters and digits [I]."""
    d = digest("dahua-serial", seed, model, name, index, attempt)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    mixed = "0123456789" + letters
    head = f"{d[0] % 10}{letters[d[1] % len(letters)]}{d[2] % 100:02d}"
    return head + "".join(mixed[b % len(mixed)] for b in d[3:14])
