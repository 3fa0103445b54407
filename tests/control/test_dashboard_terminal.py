"""The dashboard's recorder menu, language switch and live timeline, end to end: a whole
simulator (SADP, the devices' web servers, the control API) in a thread, and headless
Chromium (Debian's `chromium`) driven by Playwright at a projector's 1280x720.
Screenshots of each step go to artifacts/dashboard/."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from pathlib import Path

import pytest

from nvrsim.firmware_menu.i18n import translate
from nvrsim.protocols.sadp import Probe, ProbeType
from nvrsim.simulator.control import app
from nvrsim.simulator.control.menu import MENU_SESSIONS
from nvrsim.simulator.control.schema import FaultsChange
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.clouds.test_dlink_portal_browser import CHROMIUM_ARGS
from tests.conftest import PASSWORD, hik_entry, make_fleet, until
from tests.control.test_dashboard import ARTIFACTS, CHROMIUM
from tests.runtime.test_runner import isapi_get, sadp_ask

OPERATIONS = app.operations

XTERM = Path(__file__).resolve().parents[2] / "simulator/control/dashboard/vendor/xterm.js"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Chromium (Debian package `chromium`)"
    ),
    pytest.mark.skipif(
        not XTERM.exists(), reason="needs xterm.js: `make` installs it with npm (Debian `npm`)"
    ),
    pytest.mark.timeout(120),
]
SCREEN = ".xterm-rows"  # the text xterm.js draws (its DOM renderer)


class RunningSimulator:
    """A simulator with all its services, on its own loop in a thread, for sync Playwright."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        async with self.sim:
            self._ready.set()
            await self._stop.wait()

    def call(self, coroutine, timeout: float = 10):
        """Run `coroutine` on the simulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(30), "the simulator did not start"
        control = self.sim.services["control"]
        return f"http://{control.host}:{control.port}"

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


def one_recorder() -> RunningSimulator:
    fleet = make_fleet(
        hik_entry("lobby-nvr", ports={"http": 0, "rtsp": 0}),
        address_pool="127.86.0.0/24",
        client_networks=["127.0.0.0/8"],
    )
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, reboot_seconds=0.3)
    return RunningSimulator(Simulator(fleet, ScaledClock(), config))


@pytest.fixture
def running():
    running = one_recorder()
    with running as url:
        yield running, url


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def projector_page(browser, url: str):
    """A page of its own (as another trainee's browser would be) at 1280x720."""
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.goto(url)
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_the_trainer_unbinds_in_the_page_menu_while_a_watcher_follows_read_only(running, browser):
    from playwright.sync_api import expect

    simulator, url = running
    nvr = simulator.sim.fleet.find("lobby-nvr")
    device_page = f"{url}/#/device/{nvr.serial}"
    trainer = projector_page(browser, device_page)
    trainer.locator("#menu-open").click()
    screen = trainer.locator(SCREEN)
    expect(screen).to_contain_text("Login")
    trainer.locator("#terminal").scroll_into_view_if_needed()
    shot(trainer, "10-menu-in-the-page.png")

    watcher = projector_page(browser, device_page)
    sent_by_watcher: list[object] = []

    def record(ws) -> None:
        ws.on("framesent", lambda frame: sent_by_watcher.append(frame))

    watcher.on("websocket", record)
    watch = watcher.locator("#menu-sessions button.watch")
    expect(watch).to_have_count(1)
    watch.click()
    watched = watcher.locator(SCREEN)
    expect(watched).to_contain_text("Login")
    expect(watcher.locator("#menu-status")).to_contain_text("read-only")

    # The trainer logs in and goes to Configuration > Network > Platform Access.
    trainer.keyboard.type(PASSWORD)
    trainer.keyboard.press("Enter")
    for _ in range(3):
        trainer.keyboard.press("ArrowDown")
        trainer.keyboard.press("Enter")
    expect(screen).to_contain_text("Platform Access")
    expect(watched).to_contain_text("Platform Access")
    watcher.locator("#terminal").scroll_into_view_if_needed()
    shot(watcher, "11-watcher-sees-platform-access.png")

    # The trainer opens the Unbind dialog; the watcher types into it: nothing is sent.
    trainer.keyboard.press("ArrowUp")
    trainer.keyboard.press("Enter")
    expect(screen).to_contain_text("Admin Password")
    watcher.locator("#terminal").click()
    watcher.keyboard.type("wrong")
    watcher.keyboard.press("Enter")
    trainer.keyboard.type(PASSWORD)
    trainer.keyboard.press("Enter")
    expect(screen).to_contain_text("Unbinding succeeded")
    expect(watched).to_contain_text("Unbinding succeeded")
    assert sent_by_watcher == []  # a watcher's terminal sends no key, no click, no size
    shot(trainer, "12-trainer-unbound.png")
    shot(watcher, "13-watcher-sees-the-unbind.png")

    # A trainee opens a session of their own beside the trainer's, and types into it.
    watcher.locator("#menu-open").click()
    expect(watched).to_contain_text("Login")
    sessions = simulator.sim.services["control"].runner.app[MENU_SESSIONS]
    simulator.call(until(lambda: len(sessions) == 2, "two sessions"))
    trainers = trainer.locator("#menu-status").inner_text().split()[-1]
    (own,) = (s for s in sessions.values() if s.id != trainers)
    watcher.keyboard.type("1")
    simulator.call(until(lambda: own.model.password == "1", "the trainee's key in their box"))
    expect(screen).to_contain_text("Unbinding succeeded")  # the trainer's screen stays

    # The device is unbound for SADP and the fleet table too.
    probe = Probe("U-1", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac)
    assert simulator.call(sadp_ask(simulator.sim.sadp.port, probe)).result == "notBind"
    trainer.locator("#back").click()
    expect(trainer.locator("#fleet tbody tr").first.locator("td").nth(8)).to_have_text("-")
    shot(trainer, "14-table-not-bound.png")


def test_french_translates_the_dashboard_and_the_menu_in_its_terminal(running, browser):
    from playwright.sync_api import expect

    simulator, url = running
    nvr = simulator.sim.fleet.find("lobby-nvr")
    page = projector_page(browser, f"{url}/#/device/{nvr.serial}")
    page.locator("#menu-open").click()
    screen = page.locator(SCREEN)
    expect(screen).to_contain_text("Login")
    (session,) = simulator.sim.services["control"].runner.app[MENU_SESSIONS].values()

    # The terminal follows the window's size, and the session with it.
    columns = session.size.columns
    page.set_viewport_size({"width": 900, "height": 720})
    simulator.call(until(lambda: session.size.columns < columns, "the session narrower"))

    # A click on the screen is a click in the menu: log in, then click a tile.
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(screen).to_contain_text("Maintenance")
    expect(screen).not_to_contain_text("Reboot")
    tile = page.locator(".xterm-rows span", has_text="Maintenance").first
    tile.scroll_into_view_if_needed()
    box = tile.bounding_box()  # xterm.js's own layer takes the pointer: click where it is
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(screen).to_contain_text("Reboot")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.keyboard.press("Escape")
    expect(screen).not_to_contain_text("Reboot")
    expect(screen).to_contain_text("Main Menu")

    page.select_option("#language", "fr")
    expect(page.locator("#back")).to_have_text("← Parc")
    expect(page.locator("#menu h3")).to_have_text("Menu de l'enregistreur")
    expect(page.locator("#device-state")).to_contain_text("Associé à")
    expect(page.locator("#faults button[type=submit]")).to_have_text("Appliquer les pannes")
    expect(page.locator("#fault-fields")).to_contain_text("Toujours refuser l'authentification")
    expect(screen).to_contain_text(translate("fr", "Main Menu"))
    expect(screen).not_to_contain_text("Main Menu")
    assert session.model.lang == "fr"
    page.locator("#terminal").scroll_into_view_if_needed()
    shot(page, "20-french-menu.png")
    page.locator("#back").click()
    expect(page.locator("#fleet th").first).to_have_text("Nom")
    expect(page.locator("#fleet-name")).to_have_text("fleet : 1 appareil")
    expect(page.locator("h3", has_text="Chronologie")).to_be_visible()
    shot(page, "21-french-fleet.png")
    page.reload()  # the choice is kept
    expect(page.locator("#fleet th").first).to_have_text("Nom")


def api(url: str, method: str, path: str, body: object = None) -> dict:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def test_the_timeline_shows_each_event_once_across_a_dropped_stream(running, browser):
    from playwright.sync_api import expect

    simulator, url = running
    sim = simulator.sim
    nvr = sim.fleet.find("lobby-nvr")
    page = projector_page(browser, url + "/")
    last_ids: list[str | None] = []
    page.on(
        "request",
        lambda r: "/api/events" in r.url and last_ids.append(r.headers.get("last-event-id")),
    )
    expect(page.locator("#connection")).to_have_text("live")
    timeline = page.locator("#timeline li")

    def change_on_timeline(text: str):
        item = timeline.filter(has_text=text)
        expect(item).to_have_count(1)
        expect(item.locator(".who")).to_have_text("lobby-nvr")
        return int(item.get_attribute("data-id"))

    api(url, "PATCH", f"/api/devices/{nvr.serial}", {"hik_connect": {"online": False}})
    first = change_on_timeline("hik_connect.online: true → false")
    shot(page, "30-timeline-event.png")

    async def drop_then_change() -> None:
        # In one go on the simulator's loop: the page's stream ends before the change is
        # published, so only the resumed stream can bring it.
        sim.journal.end_streams()
        nvr.own_faults = nvr.own_faults.update({"http_delay": 2.0})
        sim.journal.commit(nvr)

    simulator.call(drop_then_change())
    missed = change_on_timeline("faults.http_delay: 0 → 2")
    api(url, "PATCH", f"/api/devices/{nvr.serial}", {"hik_connect": {"online": True}})
    after = change_on_timeline("hik_connect.online: false → true")
    assert first < missed < after
    ids = page.eval_on_selector_all("#timeline li", "items => items.map(li => li.dataset.id)")
    assert len(ids) == len(set(ids))  # no event twice
    assert last_ids[0] == "0"  # at first: the recent history
    assert len(last_ids) >= 2 and int(last_ids[1] or 0) >= first  # resumed after what it had
    shot(page, "31-timeline-after-reconnect.png")

    # The device page shows the device's own recent events.
    page.locator("#fleet tbody tr").first.click()
    recent = page.locator("#device-timeline li")
    expect(recent.filter(has_text="faults.http_delay: 0 → 2")).to_have_count(1)
    shot(page, "32-device-recent-events.png")


def test_the_device_page_offers_every_fault_and_event_of_the_schema_and_a_live_snapshot(browser):
    from playwright.sync_api import expect

    simulator = one_recorder()
    with simulator as url:
        nvr = simulator.sim.fleet.find("lobby-nvr")
        page = projector_page(browser, f"{url}/#/device/{nvr.serial}")
        fields = page.locator("#fault-fields label")
        expect(fields).to_have_count(len(FaultsChange.model_fields))
        for name in FaultsChange.model_fields:
            expect(page.locator(f"#fault-fields label[data-field={name}]")).to_have_count(1)
        stream = api(url, "GET", f"/api/devices/{nvr.serial}")["streams"][0]
        width = stream["width"]
        page.wait_for_function(f"document.getElementById('snapshot').naturalWidth === {width}")
        expect(page.locator("#streams tbody tr").first).to_have_text(
            f"1main{stream['url']}H.264 {width}\N{MULTIPLICATION SIGN}{stream['height']} "
            f"{stream['fps']} fps {stream['bitrate_kbps']} kbit/s"
        )
        expect(page.locator("#streams-none")).to_be_hidden()

        # A fault set from the page is what a client sees: ISAPI refuses the right password.
        assert simulator.call(isapi_get(nvr, "/ISAPI/System/deviceInfo"))[0] == 200
        page.locator("#fault-fields input[name=auth_fail]").check()
        page.locator("#faults button[type=submit]").click()
        simulator.call(until(lambda: nvr.own_faults.auth_fail, "auth_fail set"))
        assert simulator.call(isapi_get(nvr, "/ISAPI/System/deviceInfo"))[0] == 401

        # An event raised from the page's form, drawn from the schema.
        expect(page.locator("#raise-fields input[name=channel]")).to_have_value("1")  # default
        page.select_option("#raise-fields select[name=type]", "tamper")
        page.fill("#raise-fields input[name=channel]", "2")
        page.locator("#raise-form button[type=submit]").click()
        recent = page.locator("#device-timeline li", has_text="type=tamper")
        expect(recent).to_have_count(1)
        expect(recent.locator(".kind")).to_have_text("device event")
        active = api(url, "GET", f"/api/devices/{nvr.serial}/events")["active"]
        assert [(e["type"], e["channel"], e["state"]) for e in active] == [("tamper", 2, "start")]
        shot(page, "40-device-faults-events-snapshot.png")

        # While the device reboots its snapshot is gone (the page asks every 5 s).
        api(url, "POST", f"/api/devices/{nvr.serial}/reboot", {"downtime": 60})
        expect(page.locator("#snapshot-missing")).to_be_visible(timeout=15_000)
        expect(page.locator("#snapshot")).to_be_hidden()
