"""The dashboard end to end: headless Chromium (Debian's `chromium`) driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nvrsim.simulator.control import scenarios
from nvrsim.simulator.control.app import control_app
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.runtime.fixtures import load_fleet
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.clouds.test_dlink_portal_browser import CHROMIUM_ARGS
from tests.conftest import hik_camera, hik_entry, make_fleet, on_free_ports
from tests.strategies_isapi import ServerThread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Chromium (Debian package `chromium`)"
    ),
    pytest.mark.timeout(120),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard"


@pytest.fixture
def served():
    fleet = make_fleet(
        hik_entry("lobby-nvr", ports={"http": 0, "rtsp": 0}),
        hik_camera(
            "cam",
            count=2,
        ),
        address_pool="127.84.0.0/24",
    )
    sim = Simulator(fleet, ScaledClock(), ServiceConfig(reboot_seconds=0.3))
    with ServerThread(control_app(sim)) as url:
        yield sim, url


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 800})
        finally:
            browser.close()


def test_fleet_table_device_page_faults_and_live_updates(served, page):
    from playwright.sync_api import expect

    sim, url = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/")
    expect(page.locator("#connection")).to_have_text("live")
    rows = page.locator("#fleet tbody tr")
    expect(rows).to_have_count(3)
    nvr = sim.fleet.find("lobby-nvr")
    expect(rows.first).to_contain_text(nvr.serial)
    expect(rows.first).to_contain_text("owner@example.com")
    page.screenshot(path=str(ARTIFACTS / "01-fleet.png"))

    # a change made elsewhere (here: the API, as a test would) shows up without a reload
    page.evaluate(
        "fetch('/api/devices/lobby-nvr', {method: 'PATCH', headers: {'Content-Type': "
        "'application/json'}, body: JSON.stringify({hik_connect: {online: false}})})"
    )
    expect(rows.first.locator("td").nth(7)).to_have_text("offline")

    rows.first.click()
    expect(page.locator("#device-title")).to_contain_text(nvr.serial)
    page.locator("#unbind").click()
    expect(page.locator("#device-state")).to_contain_text("Bound to-")
    assert nvr.hik_connect.bound_account is None

    page.locator("#faults input[name=auth_fail]").check()
    page.locator("#faults input[name=discovery_drop]").fill("50")
    page.locator("#faults button[type=submit]").click()
    page.screenshot(path=str(ARTIFACTS / "02-device.png"))
    page.locator("#back").click()
    expect(rows.first.locator("td").nth(10)).to_have_text("drop 50%, auth fails")
    assert nvr.own_faults.auth_fail and nvr.own_faults.discovery_drop == 50

    before = sim.clock.now()
    page.locator("#advance-hours").fill("48")
    page.locator("#advance").click()
    # The clock keeps running in real time: the page shows 48 h on, within a minute (its text
    # has whole seconds). Comparing text prefixes failed whenever a ten-minute mark fell
    # between the advance and the check.
    later = before + 48 * 3600
    page.wait_for_function(
        "([lo, hi]) => { const t = Date.parse(document.getElementById('clock').textContent"
        ".split(' ')[0]); return lo <= t && t <= hi; }",
        arg=[(later - 1) * 1000, (later + 60) * 1000],
    )
    assert sim.clock.now() - before >= 48 * 3600


def test_the_demo_fleet_fits_a_projector_with_each_vendors_cloud():
    """At 1280x720 the fleet table needs no sideways scrolling, and each vendor's own
    cloud shows: the Dahua NVR's P2P and DMSS account, the D-Link camera's mydlink."""
    sync_api = pytest.importorskip("playwright.sync_api")
    fleet = load_fleet()
    on_free_ports(fleet)
    sim = Simulator(fleet, ScaledClock(), ServiceConfig())
    with ServerThread(control_app(sim)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url + "/")
            rows = page.locator("#fleet tbody tr")
            sync_api.expect(rows).to_have_count(len(fleet))
            scroll, width = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert scroll <= width
            dahua = rows.filter(has_text="dahua-nvr-bound").locator("td")
            sync_api.expect(dahua.nth(7)).to_have_text("p2p")
            sync_api.expect(dahua.nth(8)).to_have_text("previous.owner@example.com")
            dlink = rows.filter(has_text=fleet.find("dlink-camera").serial).locator("td")
            sync_api.expect(dlink.nth(7)).to_have_text("mydlink")
            account = fleet.find("dlink-camera").mydlink.account
            sync_api.expect(dlink.nth(8)).to_have_text(account)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "00-demo-fleet-1280x720.png"))
        finally:
            browser.close()


def test_filters_and_each_vendors_actions_on_the_device_page():
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    fleet = load_fleet()
    on_free_ports(fleet)
    sim = Simulator(fleet, ScaledClock(), ServiceConfig(reboot_seconds=0.3))
    with ServerThread(control_app(sim)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url + "/")
            rows = page.locator("#fleet tbody tr")
            expect(rows).to_have_count(len(fleet))
            page.select_option("#vendor-filter", "dahua")
            expect(rows).to_have_count(len(list(fleet.of_vendor("dahua"))))
            page.select_option("#kind-filter", "ipc")
            cameras = [d for d in fleet.of_vendor("dahua") if d.kind == "ipc"]
            expect(rows).to_have_count(len(cameras))
            page.select_option("#vendor-filter", "")
            page.select_option("#kind-filter", "")
            page.fill("#search", "dlink-nvr")
            expect(rows).to_have_count(1)
            page.fill("#search", "")
            page.select_option("#cloud-filter", "p2p")
            expect(rows).to_have_count(sum(d.vendor == "dahua" and d.p2p_online for d in fleet))
            page.select_option("#cloud-filter", "")

            nvr = fleet.find("dahua-nvr-bound")
            rows.filter(has_text=nvr.serial).click()
            expect(page.locator("#device-state")).to_contain_text("previous.owner@example.com")
            page.locator("#unbind").click()  # Dahua's binding is its DMSS account
            expect(page.locator("#device-state")).to_contain_text("Bound to-")
            assert nvr.dahua.dmss_account is None
            page.fill("#password input[name=password]", "N3w-passw0rd")
            page.locator("#password button").click()
            expect(page.locator("#device-state")).to_contain_text("Admin passwordN3w-passw0rd")
            assert nvr.admin_password == "N3w-passw0rd"
            page.fill("#upgrade input[name=version]", "nonsense")
            page.locator("#upgrade button").click()
            expect(page.locator("#action-error")).to_have_text("the body does not validate")
            assert nvr.pending_firmware is None and nvr.powered  # refused: nothing changed
            page.fill("#upgrade input[name=version]", "V4.002.0000000.1.R")
            page.locator("#upgrade button").click()
            expect(page.locator("#device-state")).to_contain_text("4.002.0000000.1.R")
            page.screenshot(path=str(ARTIFACTS / "03-dahua-device.png"))

            page.locator("#back").click()
            camera = fleet.find("dlink-camera")
            rows.filter(has_text=camera.serial).click()
            expect(page.locator("#device-title")).to_contain_text(camera.serial)
            expect(page.locator("#unbind")).to_be_hidden()  # mydlink is not unbound from here
        finally:
            browser.close()


def test_the_scenario_panel_ticks_its_goal_when_the_trainee_unbinds():
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    scenario = scenarios.load("hik-menu-unbind")
    sim = Simulator(scenario.fleet, ScaledClock(), ServiceConfig(), scenario=scenario)
    with ServerThread(control_app(sim)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url + "/")
            expect(page.locator("#scenario-title")).to_have_text(scenario.spec.title)
            goal = page.locator("#scenario-goals li")
            expect(goal).to_have_count(1)
            expect(goal).not_to_have_class("reached")
            hints = page.locator("#scenario-hints li")
            expect(hints).to_have_count(0)
            page.locator("#hint").click()
            expect(hints).to_have_count(1)
            expect(hints.first).to_have_text(scenario.spec.hints[0])
            # The trainer unbinds from the device page; the panel follows the change.
            dvr = sim.fleet.find("dvr-installer")
            page.locator("#fleet tbody tr", has_text=dvr.serial).click()
            page.locator("#unbind").click()
            expect(page.locator("#device-state")).to_contain_text("Bound to-")
            expect(goal).to_have_class("reached")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "04-scenario-reached.png"))
        finally:
            browser.close()
