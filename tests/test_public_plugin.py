"""The public pytest plugin and typed client, used as a user's test suite uses them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from ipaddress import IPv4Address

import aiohttp
import pytest

from nvrsim.client import ApiError, AsyncClient, Client, Unreachable
from nvrsim.testing import running_fleet

NS = "{http://www.hikvision.com/ver20/XMLSchema}"
NVR = "nvr-4x-bound-online"


def isapi(url: str, user: str, password: str | None, path: str = "/ISAPI/System/deviceInfo"):
    """A Digest login with the standard library, as a script would do it."""
    handler = urllib.request.HTTPDigestAuthHandler(urllib.request.HTTPPasswordMgrWithDefaultRealm())
    handler.add_password(None, url, user, password or "")
    opener = urllib.request.build_opener(handler)
    try:
        with opener.open(url + path, timeout=10) as reply:
            return reply.status, ET.fromstring(reply.read())
    except urllib.error.HTTPError as exc:  # urllib stops at the second 401, with no body
        body = exc.read()
        return exc.code, ET.fromstring(body) if body else None


def test_the_demo_fleet_by_default_with_what_a_login_needs(nvrsim_fleet):
    nvr = nvrsim_fleet.device(NVR)
    assert (nvr.vendor, nvr.kind, nvr.model) == ("hikvision", "nvr", "DS-7608NI-K2")
    assert (nvr.admin_user, nvr.admin_password, nvr.activated) == ("admin", "Demo12345", True)
    assert nvr.cloud is not None and nvr.cloud.name == "Hik-Connect" and nvr.bound
    assert IPv4Address(nvr.address).is_loopback and nvr.ports["http"] > 0
    status, info = isapi(nvr.url, nvr.admin_user, nvr.admin_password)
    assert status == 200 and info.findtext(f"{NS}serialNumber") == nvr.serial
    assert isapi(nvr.url, nvr.admin_user, "wrong")[0] == 401
    assert nvrsim_fleet.device(nvr.serial).name == NVR  # by serial too
    names = {d.name for d in nvrsim_fleet.devices}
    assert {NVR, "camera-not-activated", "dlink-camera"} <= names


def test_services_are_urls_on_free_loopback_ports(nvrsim_fleet):
    services = nvrsim_fleet.services
    assert services["control"].startswith("http://127.0.0.1:")
    assert services["sadp"].startswith("udp://127.0.0.1:")
    assert not services["sadp"].endswith(":37020") and "mqtt" in services
    assert nvrsim_fleet.client.fleet().services.keys() == services.keys()


@pytest.mark.nvrsim_fleet(
    """
    [[device]]
    name = "cam"
    vendor = "hikvision"
    kind = "ipc"
    model = "DS-2CD2385G1-I"
    firmware = "V5.6.2build 190701"
    admin_password = "Pass12345"
    lockout = { max_failures = 3, lock_seconds = 600 }
    """
)
def test_a_toml_marker_and_a_lockout_lifted_by_the_virtual_clock(nvrsim_fleet):
    (cam,) = nvrsim_fleet.devices
    for _ in range(3):
        assert isapi(cam.url, "admin", "wrong")[0] == 401
    assert isapi(cam.url, "admin", "Pass12345")[0] == 401  # the right one, while locked
    assert nvrsim_fleet.device("cam").locked_clients["127.0.0.1"] == 600
    nvrsim_fleet.advance_clock(600)
    assert isapi(cam.url, "admin", "Pass12345")[0] == 200


@pytest.mark.nvrsim_fleet("hik-sadp-unbind")
def test_a_bundled_scenario_by_name(nvrsim_fleet):
    assert nvrsim_fleet.client.scenario().name == "hik-sadp-unbind"
    assert str(nvrsim_fleet.devices[0].address).startswith("127.")


def test_faults_reboot_and_password_through_the_helpers(nvrsim_fleet):
    nvrsim_fleet.set_fault(NVR, auth_fail=True)
    nvr = nvrsim_fleet.device(NVR)
    assert isapi(nvr.url, "admin", "Demo12345")[0] == 401
    nvrsim_fleet.set_fault(NVR, auth_fail=False)
    nvrsim_fleet.set_password(NVR, "Another123")
    assert isapi(nvr.url, "admin", "Another123")[0] == 200
    nvrsim_fleet.set_fault(cloud_offline=True)
    assert not nvrsim_fleet.device(NVR).cloud_online
    back = nvrsim_fleet.reboot(NVR)
    assert back.powered and isapi(back.url, "admin", "Another123")[0] == 200


def test_an_event_raised_through_the_helper_stops_on_the_virtual_clock(nvrsim_fleet):
    nvrsim_fleet.raise_event(NVR, "motion", channel=2, duration=10)
    [active] = nvrsim_fleet.client.active_events(NVR).active
    assert (active.type, active.channel, active.state) == ("motion", 2, "start")
    nvrsim_fleet.advance_clock(11)
    assert nvrsim_fleet.client.active_events(NVR).active == []


async def test_from_an_asyncio_test_with_the_async_client(nvrsim_fleet):
    async with nvrsim_fleet.async_client() as api:
        before = (await api.clock()).now
        after = await api.advance_clock(48 * 3600)
        assert after.now - before == 48 * 3600
        with pytest.raises(ApiError) as refused:
            await api.change_device(NVR, hik_connect={"online": "maybe"})
        assert refused.value.status == 400 and refused.value.error == "the body does not validate"
        assert any(line.startswith("hik_connect.online") for line in refused.value.detail)
        assert (await api.device(NVR)).hik_connect.online  # unchanged


@pytest.mark.anyio
async def test_from_an_anyio_test(nvrsim_fleet):
    nvr = nvrsim_fleet.device(NVR)
    auth = aiohttp.DigestAuthMiddleware(nvr.admin_user, nvr.admin_password)
    async with (
        aiohttp.ClientSession(middlewares=(auth,)) as session,
        session.get(nvr.url + "/ISAPI/System/deviceInfo") as reply,
    ):
        assert reply.status == 200


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_two_fleets_at_once_have_ranges_of_their_own():
    with running_fleet(cloud=False) as one, running_fleet(cloud=False) as two:
        a = {IPv4Address(d.address) for d in one.devices}
        b = {IPv4Address(d.address) for d in two.devices}
        assert a and b and not a & b
    with pytest.raises(Unreachable, match="cannot reach the control API"):
        one.client.clock()  # stopped and cleaned up


def test_the_sync_client_refuses_with_the_apis_message(nvrsim_fleet):
    api = Client(nvrsim_fleet.api)
    with pytest.raises(ApiError, match="no device 'nope' in the fleet") as refused:
        api.device("nope")
    assert refused.value.status == 404
    added = api.add_devices(
        {
            "name": "extra",
            "vendor": "dlink",
            "kind": "ipc",
            "model": "DCS-8000LH",
            "firmware": "2.02.02",
        }
    )
    assert [d.name for d in added] == ["extra"] and nvrsim_fleet.device("extra").ports["http"]
    api.remove_device("extra")
    assert "extra" not in {d.name for d in nvrsim_fleet.devices}


async def test_the_async_client_outside_async_with_says_so():
    from nvrsim.client import ClientError

    with pytest.raises(ClientError, match="async with"):
        await AsyncClient("http://127.0.0.1:9").clock()
    async with AsyncClient("http://127.0.0.1:9") as api:
        with pytest.raises(Unreachable):
            await api.clock()


def test_the_event_stream_through_the_client(nvrsim_fleet):
    nvrsim_fleet.advance_clock(60)
    nvrsim_fleet.set_fault("camera", http_delay=1)
    camera = nvrsim_fleet.device("camera").serial
    events = nvrsim_fleet.client.events(since=0)  # what the simulator holds, then live
    seen = []  # other devices change on their own meanwhile (a P2P link, a cloud)
    while ("clock", None) not in seen or ("device.changed", camera) not in seen:
        event = next(events)
        seen.append((event.kind, event.serial))
    events.close()
    assert seen.index(("clock", None)) < seen.index(("device.changed", camera))


async def test_the_async_event_stream_by_device(nvrsim_fleet):
    nvrsim_fleet.set_fault("camera", http_delay=1)
    nvrsim_fleet.set_fault("nvr-3x", http_delay=1)
    serial = nvrsim_fleet.device("nvr-3x").serial  # the stream names devices by serial
    async with nvrsim_fleet.async_client() as api:
        async for event in api.events(serial=serial, since=0):
            assert event.serial == serial
            if event.kind == "device.changed":
                break


# As tests/conftest.py: the entry point registers the plugin in an installed nvrsim; a
# checkout run from an environment installed from an older tree registers it here.
WITH_PLUGIN = """
def pytest_configure(config):
    from nvrsim import pytest_plugin
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "nvrsim")
"""


def test_the_plugin_loads_without_hypothesis_and_says_what_is_missing(tmp_path):
    """A project without the testing extra keeps its pytest; nvrsim_fleet still works,
    and `nvrsim.strategies` names the extra it needs."""
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.modules['hypothesis'] = None  # as if not installed\n" + WITH_PLUGIN
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_fleet(nvrsim_fleet):
                assert nvrsim_fleet.devices

            def test_strategies():
                with pytest.raises(ImportError, match=r"nvrsim\\[testing\\]"):
                    import nvrsim.strategies
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:hypothesispytest",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-p",
            "no:asyncio",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "2 passed" in run.stdout, run.stdout + run.stderr


def test_an_unknown_fixture_fails_the_test_with_a_message(tmp_path):
    (tmp_path / "conftest.py").write_text(WITH_PLUGIN)
    (tmp_path / "test_user.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.nvrsim_fleet('no-such-scenario')\n"
        "def test_fleet(nvrsim_fleet):\n    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "nvrsim_fleet: no fixture file 'no-such-scenario'" in run.stdout, run.stdout
    assert "1 error" in run.stdout or "1 failed" in run.stdout


def test_a_loop_per_fleet_not_the_tests(nvrsim_fleet):
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # a plain test has none, and needs none


def test_the_session_fleet_is_the_one_the_ini_option_names(tmp_path):
    (tmp_path / "conftest.py").write_text(WITH_PLUGIN)
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_one(nvrsim_fleet_session):
                assert nvrsim_fleet_session.client.scenario().name == "hik-sadp-unbind"
                nvrsim_fleet_session.set_password("nvr-second-hand", "Shared12345")

            def test_two(nvrsim_fleet_session, nvrsim_fleet):
                shared = nvrsim_fleet_session.device("nvr-second-hand")
                assert shared.admin_password == "Shared12345"
                assert nvrsim_fleet.device("nvr-second-hand").admin_password != "Shared12345"
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "-o",
            "nvrsim_fleet=hik-sadp-unbind",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "2 passed" in run.stdout, run.stdout + run.stderr


XDIST_PROJECT = """
import os, urllib.request
import pytest

FLEET = {"fleet": {"seed": "x"}, "device": [{"name": "cam", "vendor": "hikvision",
         "kind": "ipc", "model": "DS-2CD2385G1-I", "firmware": "V5.6.2build 190701",
         "admin_password": "Demo12345"}]}

@pytest.mark.parametrize("n", range(4))
@pytest.mark.nvrsim_fleet(FLEET)
def test_a_fleet_per_test(nvrsim_fleet, n):
    cam = nvrsim_fleet.device("cam")
    with urllib.request.urlopen(cam.url + "/SDK/activateStatus", timeout=10) as reply:
        assert reply.status == 200
    with open(os.environ["PYTEST_XDIST_WORKER"] + ".txt", "a") as seen:
        seen.write(cam.address + "\\n")
"""


@pytest.mark.slow  # two pytest workers, each starting fleets
def test_xdist_workers_run_fleets_side_by_side_on_ranges_of_their_own(tmp_path):
    pytest.importorskip("xdist", reason="needs pytest-xdist (the test extra installs it)")
    (tmp_path / "conftest.py").write_text(WITH_PLUGIN)
    (tmp_path / "test_user.py").write_text(XDIST_PROJECT)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "."],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert "4 passed" in run.stdout, run.stdout + run.stderr
    for worker, octet in (("gw0", "100"), ("gw1", "101")):
        addresses = (tmp_path / f"{worker}.txt").read_text().split()
        assert addresses and all(a.split(".")[1] == octet for a in addresses)


def test_each_xdist_worker_has_a_loopback_range_of_its_own(monkeypatch):
    from nvrsim.testing import loopback_range

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    one, two = loopback_range(), loopback_range()
    assert str(one).startswith("127.103.") and str(two).startswith("127.103.") and one != two
    assert str(loopback_range(16)) == "127.103.0.0/16"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    assert str(loopback_range()).startswith("127.100.")
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert str(loopback_range()).startswith("127.99.")


def test_ctl_scenario_check_and_the_menu_use_the_one_client(nvrsim_fleet, capsys):
    from nvrsim.client import ClientError
    from nvrsim.firmware_menu import attach
    from nvrsim.simulator.cli import ctl, scenario
    from nvrsim.simulator.cli.main import main

    assert ctl.Api is Client and ctl.CtlError is ClientError
    assert attach.Api is Client and scenario.Api is Client
    assert main(["ctl", "--api", nvrsim_fleet.api, "set", NVR, "name=Lobby"]) == 0
    assert nvrsim_fleet.device(NVR).state.device_name == "Lobby"
    assert main(["ctl", "--api", nvrsim_fleet.api, "dmss", "accounts"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].strip() in ("]", "[]")
