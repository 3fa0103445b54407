"""`nvrsim ctl` against a control API on a real socket."""

from __future__ import annotations

import json

import pytest

from nvrsim.simulator.cli.ctl import CtlError, assignments, duration
from nvrsim.simulator.cli.main import main
from nvrsim.simulator.control.app import control_app
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet
from tests.strategies_isapi import ServerThread


@pytest.fixture
def api():
    fleet = make_fleet(hik_entry("nvr", ports={"http": 0, "rtsp": 0}), address_pool="127.85.0.0/24")
    sim = Simulator(fleet, ScaledClock(), ServiceConfig())
    with ServerThread(control_app(sim)) as url:
        yield sim, url


def ctl(url, *args):
    return main(["ctl", "--api", url, *args])


def test_durations_and_assignments():
    assert [duration(t) for t in ("48h", "30m", "90s", "2d", "5")] == [172800, 1800, 90, 172800, 5]
    assert assignments(["online=false", "hik_connect.server=x.example", "n=3", "b=null"]) == {
        "online": False,
        "hik_connect": {"server": "x.example"},
        "n": 3,
        "b": None,
    }
    with pytest.raises(CtlError, match="NAME=VALUE"):
        assignments(["online"])


def test_devices_set_fault_and_clock(api, capsys):
    sim, url = api
    nvr = sim.fleet.devices[0]
    assert ctl(url, "devices") == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["NAME", "SERIAL", "FIRMWARE"]
    assert nvr.serial in table and "owner@example.com" in table

    assert ctl(url, "set", "nvr", "online=false", "bound=null") == 0
    assert not nvr.hik_connect.online and nvr.hik_connect.bound_account is None
    header, row = capsys.readouterr().out.splitlines()  # the device's row, after the change
    assert (
        header.split()[0] == "NAME"
        and row.split()[0] == "nvr"
        and row.split()[-2:]
        == [
            "offline",
            "-",
        ]
    )
    assert ctl(url, "set", "nvr", "name=Lobby", "--json") == 0
    assert json.loads(capsys.readouterr().out)["device_name"] == "Lobby"

    assert ctl(url, "fault", "fleet", "discovery_drop=25") == 0
    assert sim.fleet.faults.discovery_drop == 25 and nvr.faults.discovery_drop == 25
    assert ctl(url, "fault", "fleet", "clear") == 0
    assert not sim.fleet.faults.any

    before = sim.clock.now()
    assert ctl(url, "clock", "advance", "48h") == 0
    assert sim.clock.now() - before >= 48 * 3600
    capsys.readouterr()


def test_errors_are_one_clear_message(api, capsys):
    sim, url = api
    assert ctl(url, "set", "nvr", "online=maybe") == 1
    err = capsys.readouterr().err
    assert "the body does not validate" in err and "hik_connect.online:" in err
    assert sim.fleet.devices[0].hik_connect.online  # unchanged
    assert ctl(url, "show", "nope") == 1
    assert "no device 'nope' in the fleet" in capsys.readouterr().err
    assert ctl("http://127.0.0.1:9", "devices") == 1
    assert "cannot reach the control API at http://127.0.0.1:9" in capsys.readouterr().err
