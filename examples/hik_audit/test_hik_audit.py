"""hik_audit's own tests, written only against nvrsim's public pieces: the pytest
plugin (`nvrsim_fleet`), `nvrsim.testing.running_fleet`, and `nvrsim.strategies`."""

from __future__ import annotations

import asyncio

import hik_audit
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from nvrsim.strategies import DeviceStates, devices, passwords
from nvrsim.testing import running_fleet


def run(coro):
    return asyncio.run(coro)


def test_finds_the_password_and_the_second_hand_recorder(nvrsim_fleet):
    nvr = nvrsim_fleet.device("nvr-4x-bound-online")  # bound to the previous owner
    found = run(hik_audit.audit(nvr.url, ["12345", "Admin12345", nvr.admin_password]))
    assert (found.status, found.password) == (hik_audit.OK, nvr.admin_password)
    assert (found.serial, found.model, found.bound) == (nvr.serial, nvr.model, True)
    camera = nvrsim_fleet.device("nvr-3x")  # enabled, online, bound to nobody
    assert run(hik_audit.audit(camera.url, [camera.admin_password])).bound is False


def test_a_device_not_activated_is_said_so(nvrsim_fleet):
    new = nvrsim_fleet.device("camera-not-activated")
    assert run(hik_audit.audit(new.url, ["Demo12345"])).status == hik_audit.NOT_ACTIVATED


def test_a_device_locked_out_is_said_so(nvrsim_fleet):
    nvr = nvrsim_fleet.device("nvr-3x")
    nvrsim_fleet.lock_out(nvr.name)
    found = run(hik_audit.audit(nvr.url, [nvr.admin_password]))
    assert found.status == hik_audit.LOCKED


def test_the_command_line(nvrsim_fleet, tmp_path, capsys):
    nvr = nvrsim_fleet.device("nvr-4x-bound-online")
    (tmp_path / "pw.txt").write_text("wrong1\n" + nvr.admin_password + "\n")
    target = f"{nvr.address}:{nvr.ports['http']}"
    assert hik_audit.main([target, "--passwords", str(tmp_path / "pw.txt")]) == 0
    assert "BOUND to Hik-Connect" in capsys.readouterr().out


@pytest.fixture(scope="module")
def site():
    """One running fleet for every example; each example adds its own device to it."""
    with running_fleet({"device": []}, cloud=False) as fleet:
        yield fleet


# Each example adds a device and logins run in milliseconds; "explain" would trace them.
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


@EXAMPLES
@given(
    entry=devices(vendor="hikvision", state=DeviceStates(activated=True), name="site-device"),
    locked=st.booleans(),
    wrong=st.lists(passwords(), max_size=10),
    right_at=st.none() | st.integers(0, 10),
)
def test_the_audit_never_locks_a_device_out_and_says_what_it_found(
    site, entry, locked, wrong, right_at
):
    """Whatever the candidates, the device is not locked out by the audit, a locked
    device is reported locked, and a password is reported only when it is the right one."""
    right = entry["admin_password"]
    candidates = [w for w in wrong if w != right]
    if right_at is not None:
        candidates.insert(min(right_at, len(candidates)), right)
    note(f"device {entry['model']} {entry['firmware']}, locked out before: {locked}")
    note(f"candidates: {candidates!r} (the right one: {right!r})")
    (added,) = site.client.add_devices(entry | {"ports": {"http": 0, "rtsp": 0}})
    try:
        device = site.device(added.serial)
        if locked:
            site.lock_out(device.serial)
        found = run(hik_audit.audit(device.url, candidates))
        after = site.device(device.serial)
    finally:
        site.client.remove_device(added.serial)
    if locked:
        assert found.status == (hik_audit.LOCKED if candidates else hik_audit.NO_PASSWORD_FITS)
        return
    assert "127.0.0.1" not in after.locked_clients, f"the audit locked us out: {found}"
    if found.status == hik_audit.OK:
        assert found.password == right and found.serial == device.serial
    if candidates[:1] == [right]:
        assert found.status == hik_audit.OK
    if right not in candidates:
        assert found.status in (hik_audit.NO_PASSWORD_FITS, hik_audit.STOPPED)


@pytest.mark.nvrsim_fleet(
    """
    [[device]]
    name = "nvr"
    vendor = "hikvision"
    kind = "nvr"
    model = "DS-7608NI-K2"
    firmware = "V4.30.085 build 200916"
    admin_password = "Right12345"
    lockout = { max_failures = 3, lock_seconds = 60 }
    """
)
def test_a_strict_lockout_policy_is_respected(nvrsim_fleet):
    nvr = nvrsim_fleet.device("nvr")
    found = run(hik_audit.audit(nvr.url, ["Wrong1234", "Wrong5678", "Right12345"]))
    assert found.status == hik_audit.STOPPED and found.tries_left == 1
    assert not nvrsim_fleet.device("nvr").locked_clients
