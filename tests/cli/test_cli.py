"""The `nvrsim` command end to end: real processes, real sockets, loopback only."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nvrsim.simulator.runtime.fixtures import load_fleet

NVRSIM = [sys.executable, "-m", "nvrsim"]
FREE_PORTS = [
    *("--sadp-port", "0", "--wsd-port", "0", "--control-port", "0"),
    *("--broker-port", "0", "--cloud-port", "0"),
    *("--dhip-port", "0", "--dmss-port", "0"),
]

SMALL_FLEET = """
[fleet]
seed = "cli"
address_pool = "127.79.0.0/24"
client_networks = ["127.0.0.0/8"]

[[device]]
name = "nvr"
vendor = "hikvision"
kind = "nvr"
model = "DS-7608NI-K2"
firmware = "V4.30.085 build 200916"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
hik_connect = { enabled = true, online = true, bound_account = "a@example.com" }

[[device]]
name = "cam"
count = 199
vendor = "hikvision"
kind = "ipc"
model = "DS-2CD2385G1-I"
firmware = "V5.6.2build 190701"
ports = { http = 0, rtsp = 0 }
"""


def nvrsim(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*NVRSIM, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(SMALL_FLEET, encoding="utf-8")
    return path


@pytest.fixture
def running(fleet_file: Path, tmp_path: Path):
    """`nvrsim run` in a child process; yields (process, ready-file contents, lines printed)."""
    yield from run_fleet(fleet_file, tmp_path / "ready.json")


def run_fleet(fleet_file: Path, ready: Path, *extra: str):
    process = subprocess.Popen(
        [*NVRSIM, "run", str(fleet_file), *FREE_PORTS, *extra, "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The ready line is printed after the file is written; the test timeout bounds the wait.
    banner = []
    for line in process.stdout:
        banner.append(line)
        if line.startswith("ready: "):
            break
    else:
        pytest.fail(f"nvrsim run did not get ready: {''.join(banner)} {process.communicate()}")
    yield process, json.loads(ready.read_text()), banner
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_run_writes_the_ready_file_and_stops_cleanly_on_ctrl_c(running):
    process, ready, _ = running
    assert ready["pid"] == process.pid
    assert len(ready["devices"]) == 200
    nvr = ready["devices"][0]
    assert {
        "serial",
        "vendor",
        "kind",
        "model",
        "firmware",
        "address",
        "ports",
        "admin_user",
        "admin_password",
    } <= set(nvr)
    assert nvr["address"] == "127.79.0.2" and nvr["ports"]["http"] > 0
    assert nvr["admin_password"] == "Demo12345" and ready["devices"][1]["admin_password"] is None
    assert ready["services"]["sadp"]["port"] > 0
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "nvrsim: stopped" in out
    assert "Traceback" not in err


def test_a_shard_serves_every_nth_device_with_the_whole_fleets_identities(fleet_file, tmp_path):
    whole = load_fleet(fleet_file).devices
    for _process, ready, banner in run_fleet(fleet_file, tmp_path / "ready.json", "--shard", "1/3"):
        assert "nvrsim: shard 1/3: 67 device(s)\n" in banner
        served = [(d["serial"], d["address"]) for d in ready["devices"]]
        assert served == [(d.serial, d.network.ip) for d in whole[1::3]]
    refused = nvrsim("run", str(fleet_file), "--shard", "3/3")
    assert refused.returncode == 2 and "give I/N with 0 <= I < N" in refused.stderr


def test_discover_sadp_prints_every_device_of_a_200_device_fleet(running):
    _, ready, _ = running
    # --expect ends the search once all 200 answered; the timeout only bounds a broken run.
    port = str(ready["services"]["sadp"]["port"])
    result = nvrsim("discover", "sadp", "--port", port, "--expect", "200", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    for device in ready["devices"]:
        assert device["serial"] in result.stdout
    assert "200 device(s) answered" in result.stderr


def test_discover_json(running):
    _, ready, _ = running
    result = nvrsim(
        "discover",
        "sadp",
        "--port",
        str(ready["services"]["sadp"]["port"]),
        *("--expect", "200", "--timeout", "20", "--json"),
    )
    found = json.loads(result.stdout)
    assert sorted(d["DeviceSN"] for d in found) == sorted(d["serial"] for d in ready["devices"])


def test_discover_stops_at_the_expected_count(running):
    _, ready, _ = running
    port = str(ready["services"]["sadp"]["port"])
    result = nvrsim("discover", "sadp", "--port", port, "--expect", "5", "--json")
    assert len(json.loads(result.stdout)) == 5
    assert "5 device(s) answered" in result.stderr


def test_discover_onvif_prints_every_device_of_a_200_device_fleet(running):
    _, ready, _ = running
    port = str(ready["services"]["wsd"]["port"])
    result = nvrsim("discover", "onvif", "--port", port, "--expect", "200", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:3] == ["XAddr", "Name", "Hardware"]
    for device in ready["devices"]:
        assert f"urn:uuid:{device['uuid']}" in result.stdout
    assert "200 device(s) answered" in result.stderr
    scoped = nvrsim(
        "discover",
        "onvif",
        "--port",
        port,
        # Only the recorder matches: waiting for a second answer that never comes shows
        # the others stay silent.
        *("--expect", "2", "--timeout", "3", "--json"),
        "--scope",
        "onvif://www.onvif.org/hardware/DS-7608NI-K2",
    )
    [nvr] = json.loads(scoped.stdout)
    assert (
        nvr["xaddrs"]
        == f"http://127.79.0.2:{ready['devices'][0]['ports']['http']}/onvif/device_service"
    )


def test_discover_with_nobody_listening_says_so():
    result = nvrsim("discover", "sadp", "--port", "9", "--timeout", "0.3")
    assert result.returncode == 1
    assert "0 device(s) answered" in result.stderr


def test_sigterm_also_stops_cleanly(running):
    process, _, _ = running
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "nvrsim: stopped" in out


def test_fixtures_check(fleet_file, tmp_path):
    ok = nvrsim("fixtures", "check", str(fleet_file))
    assert ok.returncode == 0 and "ok, 200 device(s)" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        textwrap.dedent("""
        [[device]]
        name = "x"
        vendor = "hikvision"
        kind = "nvr"
        model = "M"
        firmware = "V4.0.0"
        disks = -1
        """)
    )
    result = nvrsim("fixtures", "check", str(fleet_file), str(bad))
    assert result.returncode == 1
    assert f"{bad}: device 'x' (entry 1): disks: Input should be greater than or equal to 0" in (
        result.stderr
    )


def test_run_with_a_bad_fixture_exits_with_the_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[device]]\nname = 1\n")
    result = nvrsim("run", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"nvrsim: {bad}: device entry 1: ")


@pytest.mark.slow
def test_help_explains_each_command():
    for args in (
        [],
        ["run"],
        ["discover", "sadp"],
        ["discover", "onvif"],
        ["fixtures", "check"],
        ["menu"],
    ):
        result = nvrsim(*args, "--help")
        assert result.returncode == 0
        assert "usage: nvrsim" in result.stdout


def test_the_demo_fleet_fixture_is_valid():
    from nvrsim.simulator.runtime.fixtures import default_fixture

    result = nvrsim("fixtures", "check", str(default_fixture()))
    assert result.returncode == 0, result.stderr
    assert os.path.basename(str(default_fixture())) == "demo.toml"


def test_run_prints_the_fleet_table_and_services(running):
    _, _, banner = running
    header = banner[0].split()
    columns = "NAME SERIAL MODEL FIRMWARE ADDRESS HTTP ACTIVATED CLOUD BOUND"
    assert header == columns.split()
    out = "".join(banner)
    assert "nvr " in out and "127.79.0.2" in out and "a@example.com" in out
    assert re.search(r"^SADP +udp://127\.0\.0\.1:\d+$", out, re.M)
    assert re.search(r"^CONTROL +http://127\.0\.0\.1:\d+$", out, re.M)
    assert re.search(r"^DASHBOARD +http://127\.0\.0\.1:\d+/$", out, re.M)
    assert re.search(r"^WSD +udp://127\.0\.0\.1:\d+$", out, re.M)
    assert re.search(r"^ONVIF +http://<ADDRESS>:<HTTP>/onvif/device_service", out, re.M)


def test_run_prints_each_devices_stream_urls_as_the_ready_file_gives_them(running):
    _, ready, banner = running
    out = "".join(banner)
    nvr = ready["devices"][0]
    main, sub = nvr["streams"][:2]
    assert (main["stream"], sub["stream"], len(nvr["streams"])) == ("main", "sub", 2)
    port = nvr["ports"]["rtsp"]
    assert main["url"] == f"rtsp://127.79.0.2:{port}/Streaming/Channels/101"
    assert re.search(rf"^nvr +main +H\.264 1920x1080 25 fps +{re.escape(main['url'])}$", out, re.M)
    assert re.search(rf"^nvr +sub +H\.264 640x360 25 fps +{re.escape(sub['url'])}$", out, re.M)


def test_the_stream_table_names_a_recorders_further_channels():
    from nvrsim.simulator.cli.run import stream_table
    from tests.conftest import hik_entry, make_fleet

    table = stream_table(make_fleet(hik_entry("nvr", ip_channels=8)).devices)
    assert re.search(
        r"^nvr +sub +H\.264 640x360 25 fps +rtsp://\S+/Streaming/Channels/102$", table, re.M
    )
    assert re.search(r"^nvr +… and channels 2-8 likewise$", table, re.M)

    cameras = [hik_entry(f"cam-{n}", kind="ipc", ip_channels=1) for n in range(30)]
    table = stream_table(make_fleet(*cameras).devices)
    assert "cam-23 " in table and "cam-24 " not in table
    assert table.endswith("… and 6 more devices: `nvrsim ctl show NAME`, or the ready file")


def test_run_on_a_taken_port_says_which_and_exits(fleet_file):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = str(taken.getsockname()[1])
        free = ["--wsd-port", "0", "--control-port", "0", "--broker-port", "0", "--cloud-port", "0"]
        result = nvrsim("run", str(fleet_file), "--sadp-port", port, *free)
    assert result.returncode == 2
    assert f"nvrsim: SADP: cannot listen on udp 127.0.0.1:{port}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_mqtt_port_says_how_to_use_that_broker_or_move(fleet_file):
    import socket

    with socket.socket() as taken:  # as a mosquitto service on 1883 would
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = nvrsim("run", str(fleet_file), *FREE_PORTS, "--broker-port", port)
    assert result.returncode == 2
    assert f"nvrsim: MQTT broker: cannot listen on mqtt 127.0.0.1:{port}: the port is taken" in (
        result.stderr
    )
    assert "--broker mqtt://" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
