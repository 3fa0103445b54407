"""Shared fixtures: a virtual clock and fleets built from small inline fixtures."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess

import pytest
from hypothesis import settings

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime.fixtures import build_fleet, load_fleet

PASSWORD = "Demo12345"


def stopped(
    process: subprocess.Popen, how: signal.Signals = signal.SIGINT, within: float = 30
) -> tuple[str, str]:
    """What an `nvrsim` child printed once `how` (Ctrl-C by default) has stopped it. One
    still running `within` seconds later fails the test, killed first: a test never
    leaves a process behind to hold its ports (a supervisor's workers follow it)."""
    process.send_signal(how)
    try:
        return process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"not stopped {within:g} s after {how.name}, killed: {out}{err}")


# Speed is measured in bench/, never in a test: hypothesis's 200 ms per-example deadline
# timed the shared machine's load instead of the code (hostile-input tests failed on it).
settings.register_profile("nvrsim", deadline=None)
settings.load_profile("nvrsim")


def hik_entry(name: str = "nvr", **overrides) -> dict:
    """One fixture `[[device]]` entry: an activated, bound, online 4.x NVR unless overridden."""
    entry = {
        "name": name,
        "vendor": "hikvision",
        "kind": "nvr",
        "model": "DS-7608NI-K2",
        "firmware": "V4.30.085 build 200916",
        "admin_password": PASSWORD,
        "ip_channels": 8,
        "disks": 1,
        "hik_connect": {"enabled": True, "online": True, "bound_account": "owner@example.com"},
    }
    entry.update(overrides)
    return entry


def hik_camera(name: str = "cam", **overrides) -> dict:
    """`hik_entry` for a Hikvision IP camera on 5.x firmware, on ports the system picks."""
    camera = {"kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.6.2build 190701"}
    return hik_entry(name, **camera, ports={"http": 0, "rtsp": 0}, **overrides)


def make_fleet(*entries: dict, clock: VirtualClock | None = None, **fleet) -> Fleet:
    spec = {"seed": "test", "address_pool": "127.77.0.0/16"} | fleet
    return build_fleet(
        {"fleet": spec, "device": list(entries) or [hik_entry()]},
        now=clock.now() if clock else 0.0,
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def demo_fleet(clock: VirtualClock) -> Fleet:
    return load_fleet(now=clock.now())


async def until(condition, what: str, deadline: float = 10.0) -> None:
    """Poll `condition`, bounded: for what a real socket delivers in its own time (an MQTT
    acknowledgement, a status the cloud hears), never for the simulator's own clock."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            pytest.fail(f"not within {deadline}s: {what}")
        await asyncio.sleep(0.02)


def as_vendor(device, device_class):
    """The same device as another vendor's device class makes it (its own sections fresh)."""
    names = {f.name for f in dataclasses.fields(device_class) if f.init}
    return device_class(**{n: getattr(device, n) for n in names if hasattr(device, n)})


def on_free_ports(fleet: Fleet) -> Fleet:
    """`fleet` with each device's web and RTSP servers on ports the system picks, as every
    test that starts devices needs (bundled fleets name 80 and 554)."""
    for device in fleet:
        device.network.http_port = device.network.rtsp_port = 0
    return fleet


def pytest_configure(config: pytest.Config) -> None:
    # The plugin arrives through its `pytest11` entry point once nvrsim is installed from
    # this tree; a virtual environment installed from an older one lacks the entry point.
    from nvrsim import pytest_plugin  # imports nothing of the simulator

    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "nvrsim")
