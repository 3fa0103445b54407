"""Public hypothesis strategies: fleets, devices and their states, firmware versions,
passwords, and each protocol's messages (docs/testing.md).

What is drawn is valid by construction: every fleet and device builds, and a device
in the state asked for starts in it. The protocol messages are in submodules, each
with well-formed and hostile ones: `sadp`, `dhip`, `isapi`, `onvif`, `nipca`.

They are versioned with nvrsim: within one minor version a strategy keeps its
signature and the meaning of its arguments; what it draws may grow (new models, new
states), which changes the examples hypothesis picks, never their validity.

Choices where the public record is silent:
- "Acceptable" passwords follow Hikvision's rule (8 to 16 characters of at least two
  kinds, not containing the user name: `core.auth.is_risky_password`), which is the
  strictest here, so an acceptable password is accepted by every vendor; they use
  letters, digits and `!#$%*+-._@`, which every protocol carries unescaped.
- A device that is "not activated" has no admin password, whatever its vendor (a
  D-Link camera reset to a blank password counts as activated). "Offline" is the device's own
  `cloud_offline` fault (its uplink down), and for Hikvision its Hik-Connect status
  too. A lockout is not a fixture state: `DeviceStates.locked_out` is for a test to
  bring about at run time (`RunningFleet.lock_out`).
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError("nvrsim.strategies needs hypothesis: pip install 'nvrsim[testing]'") from exc

import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from nvrsim.simulator.core.auth import is_risky_password

__all__ = [
    "MODELS",
    "DeviceStates",
    "device_states",
    "devices",
    "firmware_versions",
    "fleets",
    "passwords",
]

VENDORS = ("hikvision", "dahua", "dlink")

# (model, kind, channels): real models of each vendor and kind, as the demo fleet has them.
MODELS: dict[str, dict[str, tuple[str, ...]]] = {
    "hikvision": {
        "nvr": ("DS-7608NI-K2", "DS-7616NI-K2", "DS-7608NI-E2"),
        "dvr": ("DS-7208HQHI-K1", "DS-7216HQHI-K1"),
        "ipc": ("DS-2CD2385G1-I", "DS-2CD2043G2-I", "DS-2CD2143G0-I"),
    },
    "dahua": {
        "nvr": ("DHI-NVR4208-8P-4KS2", "DHI-NVR2104HS-S2"),
        "dvr": ("XVR5108HS-I3", "XVR4104HS-X1"),
        "ipc": ("IPC-HDW5831R-ZE", "IPC-HFW2431S-S-S2"),
    },
    "dlink": {
        "nvr": ("DNR-322L", "DNR-312L"),
        "ipc": ("DCS-2132LB1", "DCS-942L", "DCS-8000LH"),
    },
}

# Firmware lines each vendor ships, by major version: what real devices print.
_MAJORS = {"hikvision": (3, 4, 5), "dahua": (2, 4), "dlink": (1, 2)}
_PASSWORD_CHARS = string.ascii_letters + string.digits + "!#$%*+-._@"


def _vendor(vendor: str | None) -> st.SearchStrategy[str]:
    if vendor is not None and vendor not in MODELS:
        raise ValueError(f"no vendor {vendor!r}: one of {', '.join(MODELS)}")
    return st.just(vendor) if vendor else st.sampled_from(VENDORS)


def firmware_versions(
    vendor: str | None = None, major: int | None = None
) -> st.SearchStrategy[str]:
    """Firmware strings as `vendor`'s devices print them (any vendor when None), of one
    major version when `major` is given: Hikvision `V4.30.085 build 200916`, Dahua
    `4.001.0000000.3.R`, D-Link `2.13.03`."""
    return _vendor(vendor).flatmap(lambda v: _firmware(v, major))


def _firmware(vendor: str, major: int | None) -> st.SearchStrategy[str]:
    majors = st.just(major) if major is not None else st.sampled_from(_MAJORS[vendor])
    if vendor == "hikvision":
        build = st.dates(date(2015, 1, 1), date(2025, 12, 31)).map(lambda d: d.strftime("%y%m%d"))
        return st.builds(
            lambda m, n, p, b: f"V{m}.{n}.{p:03d} build {b}",
            majors,
            st.integers(0, 99),
            st.integers(0, 999),
            build,
        )
    if vendor == "dahua":
        return st.builds(
            lambda m, n, r: f"{m}.{n:03d}.0000000.{r}.R",
            majors,
            st.sampled_from([1, 800]),
            st.integers(0, 30),
        )
    return st.builds(
        lambda m, n, p: f"{m}.{n:02d}.{p:02d}", majors, st.integers(0, 30), st.integers(0, 9)
    )


def passwords(acceptable: bool = True, user: str = "admin") -> st.SearchStrategy[str]:
    """Admin passwords a device accepts when activated (`acceptable=True`), or ones it
    refuses as risky: too short, too long, one kind of character, or holding `user`."""
    if acceptable:
        return st.text(_PASSWORD_CHARS, min_size=8, max_size=16).filter(
            lambda p: not is_risky_password(p, user)
        )
    return st.one_of(
        st.text(_PASSWORD_CHARS, max_size=7),
        st.text(_PASSWORD_CHARS, min_size=17, max_size=40),
        st.text(string.digits, min_size=8, max_size=16),
        st.text(string.ascii_lowercase, min_size=8, max_size=16),
        st.builds(
            lambda a, b: a + user + b,
            st.text(_PASSWORD_CHARS, max_size=5),
            st.text(_PASSWORD_CHARS, max_size=5),
        ),
    ).filter(lambda p: is_risky_password(p, user))


@dataclass(frozen=True)
class DeviceStates:
    """Where a device stands: activated, bound to a cloud account, online there, locked
    out (of one client address, brought about at run time)."""

    activated: bool = True
    bound: bool = False
    online: bool = True
    locked_out: bool = False


def device_states(
    activated: bool | None = None,
    bound: bool | None = None,
    online: bool | None = None,
    locked_out: bool | None = None,
) -> st.SearchStrategy[DeviceStates]:
    """Every combination, or the ones fixed by the arguments; a device that is not
    activated is neither bound nor locked out."""

    def either(value: bool | None) -> st.SearchStrategy[bool]:
        return st.just(value) if value is not None else st.booleans()

    return st.builds(
        DeviceStates, either(activated), either(bound), either(online), either(locked_out)
    ).filter(lambda s: s.activated or not (s.bound or s.locked_out))


_ACCOUNTS = st.sampled_from(
    ["owner@example.com", "previous.owner@example.com", "installer@example.com"]
)


def devices(
    vendor: str | None = None,
    kind: str | None = None,
    firmware_major: int | None = None,
    state: DeviceStates | st.SearchStrategy[DeviceStates] | None = None,
    name: str | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """One fixture `[[device]]` entry (a dict as the TOML reads), valid by construction:
    `running_fleet({"device": [entry]})` starts it, `POST /api/devices` adds it.
    `state` is one `DeviceStates` or a strategy of them (default: `device_states()`)."""
    _vendor(vendor)
    if vendor is not None and kind is not None and kind not in MODELS[vendor]:
        raise ValueError(f"{vendor} makes no {kind!r}: {', '.join(MODELS[vendor])}")
    if kind is not None and vendor is None:
        makers = tuple(v for v in VENDORS if kind in MODELS[v])
        return st.sampled_from(makers).flatmap(
            lambda v: _devices(v, kind, firmware_major, state, name)
        )
    return _devices(vendor, kind, firmware_major, state, name)


@st.composite
def _devices(
    draw: st.DrawFn,
    vendor: str | None,
    kind: str | None,
    firmware_major: int | None,
    state: DeviceStates | st.SearchStrategy[DeviceStates] | None,
    name: str | None,
) -> dict[str, Any]:
    chosen = draw(_vendor(vendor))
    kinds = MODELS[chosen]
    the_kind = kind or draw(st.sampled_from(sorted(kinds)))
    if isinstance(state, DeviceStates):
        where = state
    else:
        where = draw(state if state is not None else device_states())
    entry: dict[str, Any] = {
        "name": name or draw(st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True)),
        "vendor": chosen,
        "kind": the_kind,
        "model": draw(st.sampled_from(kinds[the_kind])),
        "firmware": draw(_firmware(chosen, firmware_major)),
    }
    if the_kind != "ipc":
        entry["disks"] = draw(st.integers(0, 4))
        entry["ip_channels"] = draw(st.sampled_from([4, 8, 16]))
    if chosen == "dlink":
        entry["web_auth"] = "digest/basic"
    if where.activated:
        entry["admin_password"] = draw(passwords())
    account = draw(_ACCOUNTS) if where.bound else None
    if chosen == "hikvision":
        entry["hik_connect"] = {"enabled": True, "online": where.online, "bound_account": account}
    elif chosen == "dahua" and account:
        entry["dahua"] = {"dmss_account": account}
    elif chosen == "dlink" and account:
        entry["mydlink"] = {"account": account}
    if not where.online:
        entry["faults"] = {"cloud_offline": True}
    return entry


@st.composite
def fleets(
    draw: st.DrawFn,
    min_devices: int = 1,
    max_devices: int = 4,
    vendor: str | None = None,
) -> dict[str, Any]:
    """A fixture (a dict as the TOML reads) of distinctly named devices, each as
    `devices(vendor=vendor)` draws it; its LAN includes this machine's loopback."""
    count = draw(st.integers(min_devices, max_devices))
    entries = [draw(devices(vendor=vendor, name=f"device-{i + 1}")) for i in range(count)]
    seed = draw(st.text(string.ascii_lowercase, min_size=1, max_size=8))
    return {
        "fleet": {"name": "drawn", "seed": seed, "client_networks": ["127.0.0.0/8"]},
        "device": entries,
    }
