"""Training scenarios: each starts unsolved, its procedure solves it, and
`nvrsim scenario check` tells the two apart through the control API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from pathlib import Path

import aiohttp
import pytest

from nvrsim.firmware_menu.model import Key, MenuModel
from nvrsim.protocols import hikconnect as hc
from nvrsim.protocols.sadp import Probe, ProbeType
from nvrsim.simulator.cli.ctl import Api
from nvrsim.simulator.control import scenarios
from nvrsim.simulator.control.app import device_state
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.runtime.fixtures import load_fleet
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.cli.test_cli import FREE_PORTS, NVRSIM
from tests.conftest import on_free_ports, until
from tests.dlink.test_nipca import basic
from tests.firmware_menu.test_menu_model import answer, choose, login
from tests.runtime.test_runner import sadp_ask

PASSWORD = "Shop2024x"  # the scenarios' admin password


@pytest.mark.parametrize("name", list(scenarios.bundled()))
def test_every_bundled_scenario_loads_and_starts_unsolved(name):
    scenario = scenarios.load(name)
    assert scenario.spec.brief.strip() and scenario.spec.goal
    results = scenarios.check(
        scenario, lambda device: device_state(scenario.fleet.find(device), 0.0)
    )
    assert not all(r.reached for r in results)


def test_the_bundled_scenarios_cover_each_unbind_procedure_of_seed_001():
    procedures = {scenarios.load(name).spec.procedure for name in scenarios.bundled()}
    assert {"sadp", "local menu"} <= procedures


# --- each procedure reaches its goal, checked through the control API ----------------------


@pytest.fixture
async def start(clock):
    """Start a scenario's fleet with its control API; returns (simulator, check)."""
    running = []

    async def started(name: str, **services):
        scenario = scenarios.load(name)
        on_free_ports(scenario.fleet)
        config = ServiceConfig(
            sadp_port=0,
            wsd_port=0,
            dlink_port=0,
            ssdp_port=0,
            portal_port=0,
            dhip_port=0,
            dmss_port=0,
            control_port=0,
            **services,
        )
        config.reboot_seconds = 0
        sim = Simulator(scenario.fleet, clock, config)
        await sim.start()
        running.append(sim)
        control = sim.services["control"]
        api = Api(f"http://{control.host}:{control.port}", None)

        def fetch(device: str) -> dict:
            return api.call("GET", api.device_path(device))

        async def check() -> bool:
            results = await asyncio.to_thread(scenarios.check, scenario, fetch)
            return all(r.reached for r in results)

        return sim, check

    yield started
    for sim in running:
        await sim.stop()


async def test_menu_unbind_scenario(start, clock):
    sim, check = await start("hik-menu-unbind")
    assert not await check()
    menu = MenuModel(sim.fleet.find("dvr-installer"), clock)
    platform_access_as(menu)
    choose(menu, "Unbind")
    answer(menu, PASSWORD)
    assert await check()


async def test_platform_disabled_scenario_needs_both_goals(start, clock):
    sim, check = await start("hik-platform-disabled")
    menu = MenuModel(sim.fleet.find("nvr-platform-off"), clock)
    platform_access_as(menu)
    assert menu.item("Unbind") is not None
    choose(menu, "Enable")
    assert menu.device.hik_connect.enabled
    assert not await check()  # enabled, still bound
    choose(menu, "Unbind")
    answer(menu, PASSWORD)
    assert await check()


async def test_3x_upgrade_scenario(start, clock):
    sim, check = await start("hik-3x-upgrade")
    nvr = sim.fleet.find("nvr-old")
    menu = MenuModel(nvr, clock)
    platform_access_as(menu)
    assert menu.item("Unbind") is None  # the point of the scenario
    api = f"http://{sim.services['control'].host}:{sim.services['control'].port}"
    changes = sim.journal.subscribe(nvr.serial)
    async with aiohttp.ClientSession() as http:
        body = {"version": "V4.30.085 build 200916"}
        async with http.post(f"{api}/api/devices/nvr-old/upgrade", json=body) as reply:
            assert reply.status == 202
    async for event in changes:
        if event.kind == "device.up":
            break
    assert not await check()  # upgraded, still bound
    platform_access_as(menu)
    choose(menu, "Unbind")
    answer(menu, PASSWORD)
    assert await check()


async def test_dlink_reset_camera_scenario(start, clock):
    sim, check = await start("dlink-reset-camera")
    camera = sim.fleet.find("dcs-reset")
    base = f"http://{camera.network.ip}:{camera.network.http_port}/config"
    async with aiohttp.ClientSession() as http:
        form = {"name": "admin", "password": "Secret123"}
        async with http.post(f"{base}/user.cgi", data=form, headers=basic("admin", "")) as reply:
            assert reply.status == 200
        assert not await check()  # a password, not registered yet
        form = {"act": "register", "account": "customer@example.com"}
        async with http.post(
            f"{base}/mydlink.cgi", data=form, headers=basic("admin", "Secret123")
        ) as reply:
            assert reply.status == 200
    assert await check()


async def test_dahua_appeal_scenario_through_the_dmss_api(start, clock):
    from nvrsim.simulator.clouds.dmss.generator import make_photo

    sim, check = await start("dahua-appeal")
    nvr = sim.fleet.find("nvr-shop-display")
    dmss = f"http://{sim.services['dmss'].host}:{sim.services['dmss'].port}/api/v1"
    control = f"http://{sim.services['control'].host}:{sim.services['control'].port}"
    me = {"email": "customer@example.com", "password": "Secret123"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{dmss}/accounts", json=me) as reply:
            assert reply.status == 201
        async with http.post(f"{dmss}/session", json=me | {"app": "DMSS"}) as reply:
            auth = {"Authorization": f"Bearer {(await reply.json())['token']}"}
        add = {"serial": nvr.serial, "password": PASSWORD}
        async with http.post(f"{dmss}/devices", json=add, headers=auth) as reply:
            assert reply.status == 409 and (await reply.json())["appeal_available"] is True
        form = aiohttp.FormData()
        form.add_field("serial", nvr.serial)
        form.add_field("device_photo", make_photo("label", nvr.serial), filename="label.jpg")
        form.add_field("purchase_proof", make_photo("receipt", nvr.serial), filename="r.jpg")
        async with http.post(f"{dmss}/appeals", data=form, headers=auth) as reply:
            assert reply.status in (200, 201, 202), await reply.text()
        assert not await check()  # under review
        async with http.post(f"{control}/api/clock/advance", json={"seconds": 48 * 3600}):
            pass
        async with http.get(f"{dmss}/appeals", headers=auth) as reply:
            (appeal,) = await reply.json()
            assert appeal["status"] == "approved"
    assert await check()


async def test_wrong_region_scenario_through_the_menu_and_the_cloud(start, clock):
    cloud = {"broker": "embedded", "broker_port": 0, "cloud_port": 0, "mqtt_keepalive": 2}
    sim, check = await start("hik-wrong-region", **cloud)
    nvr = sim.fleet.find("nvr-russian-server")
    registry = sim.services["hikconnect"].cloud.registry
    serial = hc.short_serial(nvr.serial)

    def online_in(region: str) -> bool:
        record = registry.find(serial)
        return record is not None and registry.online(record, region)

    await until(lambda: online_in("ru"), "online on the Russian server")
    assert not await check()
    menu = MenuModel(nvr, clock)
    platform_access_as(menu)
    choose(menu, "Server Address")
    for _ in nvr.hik_connect.server:
        menu.press(Key.BACKSPACE)
    answer(menu, "litedeveu.hik-connect.com")
    sim.journal.commit(nvr)  # what the live menu does after each key
    await until(lambda: online_in("eu") and nvr.cloud_online, "online on the European server")

    api = f"http://127.0.0.1:{sim.services['hikconnect'].port}"
    europe = {"Host": "apiieu.hik-connect.com"}
    md5 = hashlib.md5(b"Secret123").hexdigest()
    account = {"account": "customer@example.com", "password": md5}
    async with aiohttp.ClientSession(api, headers=europe) as app:
        async with app.post("/v3/users/regist", data=account) as reply:
            assert (await reply.json())["meta"]["code"] == 200
        login = account | {"featureCode": "x", "cuName": "x"}
        async with app.post("/v3/users/login/v2", data=login) as reply:
            session = {"sessionId": (await reply.json())["loginSession"]["sessionId"]}
        add = {"deviceSerial": serial, "validateCode": "EUROPE1"}
        async with app.post("/v3/userdevices/v1/devices/add", data=add, headers=session) as reply:
            assert (await reply.json())["meta"]["code"] == 200
    assert await check()


def platform_access_as(menu: MenuModel) -> None:
    if menu.logged_in:
        menu.press(Key.ESC)
    else:
        login(menu, PASSWORD)
    while menu.path != (menu.tree.root,):
        menu.press(Key.ESC)
    for label in ("Configuration", "Network", "Platform Access"):
        choose(menu, label)


# --- the commands, end to end --------------------------------------------------------------


def test_run_a_scenario_and_check_it_before_and_after_a_sadp_unbind(tmp_path: Path):
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [*NVRSIM, "run", "--scenario", "hik-sadp-unbind", *FREE_PORTS, "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = []
        for line in process.stdout:  # the test timeout bounds this
            printed.append(line)
            if line.startswith("ready: "):
                break
        assert "Scenario hik-sadp-unbind: A second-hand NVR" in "".join(printed)
        services = json.loads(ready.read_text())["services"]
        api = f"http://{services['control']['host']}:{services['control']['port']}"

        def check() -> subprocess.CompletedProcess:
            return subprocess.run(
                [*NVRSIM, "scenario", "check", "hik-sadp-unbind", "--api", api],
                capture_output=True,
                text=True,
                timeout=30,
            )

        before = check()
        assert before.returncode == 1, before.stderr
        assert "✘ The NVR is no longer bound" in before.stdout
        assert "previous.owner@example.com" in before.stdout and "Not yet" in before.stdout

        nvr = scenarios.load("hik-sadp-unbind").fleet.find("nvr-second-hand")
        unbind = Probe("U-1", ProbeType.EZVIZ_UNBIND, mac=nvr.mac, password=PASSWORD)
        assert asyncio.run(sadp_ask(services["sadp"]["port"], unbind)).result == "success"

        after = check()
        assert after.returncode == 0, after.stdout + after.stderr
        assert "✔ The NVR is no longer bound" in after.stdout and "Goal reached." in after.stdout
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_checking_a_scenario_that_is_not_running_says_how_to_start_it():
    done = subprocess.run(
        [*NVRSIM, "scenario", "check", "hik-menu-unbind", "--api", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "cannot reach the control API" in done.stderr
    assert "nvrsim run --scenario hik-menu-unbind" in done.stderr


def test_list_and_show():
    listed = subprocess.run([*NVRSIM, "scenario", "list"], capture_output=True, text=True)
    assert listed.returncode == 0
    for name in scenarios.bundled():
        assert name in listed.stdout
    shown = subprocess.run(
        [*NVRSIM, "scenario", "show", "hik-sadp-unbind"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "Goal:" in shown.stdout and "Hints:" in shown.stdout
    unknown = subprocess.run([*NVRSIM, "scenario", "show", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "hik-sadp-unbind" in unknown.stderr


# --- bad scenario files ------------------------------------------------------------------


GOOD = (Path(scenarios.bundled()["hik-menu-unbind"])).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('device = "dvr-installer"\nsays', 'device = "nope"\nsays'), "scenario.goal 1: device"),
        (
            ('absent = ["hik_connect.bound_account"]', 'absent = ["hik_connect.nope"]'),
            "scenario.goal 1: hik_connect.nope: not a field",
        ),
        (
            ('absent = ["hik_connect.bound_account"]', 'matches = { firmware = "(" }'),
            "not a regular expression",
        ),
        (('says = "The DVR', 'sayz = "The DVR'), "scenario.goal.0.sayz"),
        (("[scenario]", "[scenari]"), "scenari"),
    ],
)
def test_a_bad_scenario_file_names_the_file_and_the_field(tmp_path, change, message):
    path = tmp_path / "mine.toml"
    old, new = change
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(FixtureError) as caught:
        scenarios.load(str(path))
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_fleet_without_a_scenario_table_is_not_a_scenario(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD[GOOD.index("[fleet]") :], encoding="utf-8")
    assert len(load_fleet(path)) == 1  # still a fleet
    with pytest.raises(FixtureError, match=r"fleet.toml: scenario: .*\[scenario\] table"):
        scenarios.load(str(path))


def test_fixtures_check_also_checks_a_scenarios_goals(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace('device = "dvr-installer"\nsays', 'device = "nope"\nsays'))
    done = subprocess.run(
        [*NVRSIM, "fixtures", "check", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    assert f"{path}: scenario.goal 1: device: no device 'nope'" in done.stderr
