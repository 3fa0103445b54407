"""Stopping is bounded and sure: Ctrl-C or SIGTERM while starting, while serving, and
while clients hold connections open, and a part that will not stop is named and left."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.cli.test_cli import FREE_PORTS, NVRSIM, SMALL_FLEET
from tests.conftest import PASSWORD, hik_entry, make_fleet

STOPPED_WITHIN = 15.0  # seconds; the simulator's own deadline is 5 s a part


@pytest.fixture
def spawn(tmp_path: Path):
    """Starts `nvrsim run` of 200 devices in a child process; kills what a test leaves."""
    children = []

    def start(*options: str) -> subprocess.Popen:
        fleet = tmp_path / "fleet.toml"
        fleet.write_text(SMALL_FLEET, encoding="utf-8")
        ready = tmp_path / "ready.json"
        child = subprocess.Popen(
            [*NVRSIM, "run", str(fleet), *FREE_PORTS, "--ready-file", str(ready), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate()


def wait_for(process: subprocess.Popen, text: str, stream: str = "stdout") -> None:
    for line in getattr(process, stream):  # the test's timeout bounds this
        if text in line:
            return
    pytest.fail(f"nvrsim run never printed {text!r}: {process.communicate()}")


def stopped_cleanly(process: subprocess.Popen, how: signal.Signals) -> None:
    sent = time.monotonic()
    process.send_signal(how)
    out, err = process.communicate(timeout=STOPPED_WITHIN)
    assert process.returncode == 0, err
    assert "nvrsim: stopped" in out
    assert "Traceback" not in err and "still running" not in err, err[-2000:]
    assert time.monotonic() - sent < STOPPED_WITHIN


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up(spawn, how):
    process = spawn("-v")  # -v: it logs as it starts bringing the devices up
    wait_for(process, "starting 200 device(s)", "stderr")
    stopped_cleanly(process, how)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_serving(spawn, how):
    process = spawn()
    wait_for(process, "ready: ")
    stopped_cleanly(process, how)


def test_ctrl_c_while_clients_hold_connections(spawn, tmp_path):
    process = spawn()
    wait_for(process, "ready: ")
    ready = json.loads((tmp_path / "ready.json").read_text())
    nvr = ready["devices"][0]
    control = ready["services"]["control"]

    async def hold_and_stop() -> None:
        device = f"http://{nvr['address']}:{nvr['ports']['http']}"
        api = f"http://{control['host']}:{control['port']}"
        async with (
            httpx.AsyncClient(timeout=10) as http,
            # An event stream from a device and from the control API, and a request
            # that never finishes its headers.
            http.stream(
                "GET",
                f"{device}/ISAPI/Event/notification/alertStream",
                auth=httpx.DigestAuth("admin", PASSWORD),
            ) as alerts,
            http.stream("GET", f"{api}/api/events") as events,
        ):
            assert (alerts.status_code, events.status_code) == (200, 200)
            half = socket.create_connection((nvr["address"], nvr["ports"]["http"]))
            half.sendall(b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: x\r\n")
            try:
                await asyncio.to_thread(stopped_cleanly, process, signal.SIGINT)
            finally:
                half.close()

    asyncio.run(hold_and_stop())


class Stuck:
    """A service whose close waits for the test to let it go."""

    host, port = "127.0.0.1", 1

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def close(self) -> None:
        await self.release.wait()


async def test_a_part_that_does_not_stop_in_time_is_named_and_left_behind(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=None, stop_seconds=0.2)
    sim = Simulator(make_fleet(hik_entry(ports={"http": 0, "rtsp": 0})), clock, config)
    await sim.start()
    stuck = Stuck()
    sim.services["stuck"] = stuck
    await asyncio.wait_for(sim.stop(), timeout=5)
    assert sim.stuck == ["stuck"]
    assert not sim.services  # the others stopped
    stuck.release.set()


def test_a_stop_that_outlives_its_last_deadline_names_where_it_is_and_exits():
    """The last deadline is kept by a thread: a main thread that never comes back (here a
    sleep, as a blocked event loop or a stuck thread at exit would be) is named, and the
    process leaves anyway."""
    script = (
        "import time\n"
        "from nvrsim.simulator.cli.run import LAST_DEADLINE\n"
        "def stuck_for_good():\n"
        "    time.sleep(60)\n"
        "LAST_DEADLINE.arm(0.2)\n"
        "stuck_for_good()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=STOPPED_WITHIN
    )
    assert done.returncode == 0
    (line,) = done.stderr.splitlines()
    assert line.startswith("nvrsim: still stopping after 0.2 s, in <string>:4 stuck_for_good")
    assert line.endswith("; exiting")


def test_a_fleet_larger_than_the_open_file_limit_is_refused_before_it_listens(tmp_path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(SMALL_FLEET, encoding="utf-8")  # 200 devices
    ready = tmp_path / "ready.json"
    # One process asked for: by default a fleet beyond the limit is served by workers.
    run = ["run", str(fleet), *FREE_PORTS, "--ready-file", str(ready), "--workers", "1"]
    child = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))\n"  # hard too: none to raise
        "from nvrsim.simulator.cli.main import main\n"
        f"sys.exit(main({run!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "200 devices need 656 open files, but a process may open 300" in line
    assert "ulimit -n 656" in line and "--workers 10" in line
    assert "another nvrsim" not in line  # that hint is for a taken address
    assert not ready.exists() and "SADP" not in result.stdout  # nothing listened
