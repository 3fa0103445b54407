"""What the dashboard's terminal and device page stand on, over real sockets: menu sessions
watched read-only, a session's language switched live, the snapshot, and the event stream
resumed from Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.firmware_menu.live import parse_language, parse_resize
from nvrsim.firmware_menu.model import Screen
from nvrsim.simulator.control.app import control_app
from nvrsim.simulator.control.menu import MENU_SESSIONS
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from nvrsim.simulator.runtime.state import device_entry
from tests.conftest import PASSWORD, hik_entry, make_fleet, until
from tests.runtime.test_runner import small_fleet
from tests.strategies_isapi import ServerThread

ENTER = b"\r"


@pytest.fixture
async def sim(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, reboot_seconds=0.2)
    async with Simulator(small_fleet(clock), clock, config) as simulator:
        yield simulator


def base_of(sim: Simulator) -> str:
    control = sim.services["control"]
    return f"http://{control.host}:{control.port}"


def sessions_of(sim: Simulator) -> dict:
    return sim.services["control"].runner.app[MENU_SESSIONS]


async def open_session(http: aiohttp.ClientSession, base: str, serial: str, **query):
    ws = await http.ws_connect(f"{base}/api/devices/{serial}/menu", params=query)
    hello = await ws.receive()
    assert hello.type is aiohttp.WSMsgType.TEXT
    return ws, json.loads(hello.data)["session"]


async def drawn_until(ws, text: bytes) -> bytes:
    """What `ws` draws, frame after frame, until `text` is on it."""
    screen = bytearray()
    while text not in screen:
        message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.BINARY, message
        screen += message.data
    return bytes(screen)


async def test_a_watcher_sees_the_session_at_its_owners_size_and_its_keys_do_nothing(sim):
    nvr = sim.fleet.find("nvr")
    base = base_of(sim)
    async with aiohttp.ClientSession() as http:
        owner, session_id = await open_session(http, base, nvr.serial, columns=100, rows=30)
        async with http.get(f"{base}/api/menu-sessions", params={"serial": "nvr"}) as listed:
            assert await listed.json() == [
                {
                    "id": session_id,
                    "serial": nvr.serial,
                    "lang": "en",
                    "columns": 100,
                    "rows": 30,
                    "watchers": 0,
                }
            ]
        model = sessions_of(sim)[session_id].model

        watcher = await http.ws_connect(
            f"{base}/api/devices/{nvr.serial}/menu", params={"watch": session_id}
        )
        assert json.loads((await watcher.receive()).data) == {"columns": 100, "rows": 30}
        await drawn_until(watcher, b"Login")  # a full redraw for whoever joins late

        # The owner resizes: the watcher is told the new size.
        await owner.send_str(json.dumps({"columns": 90, "rows": 28}))
        while (message := await watcher.receive()).type is not aiohttp.WSMsgType.TEXT:
            pass
        assert json.loads(message.data) == {"columns": 90, "rows": 28}

        # The watcher types the password and Enter: dropped. Its close comes after its keys
        # on the same connection, so once it is gone its keys have been read.
        await watcher.send_bytes(PASSWORD.encode() + ENTER)
        await watcher.close()
        await until(lambda: not sessions_of(sim)[session_id].watchers, "the watcher gone")
        await owner.send_bytes(b"x")
        await until(lambda: model.password == "x", "the owner's key in the login box")
        assert model.screen is Screen.LOGIN

        # The owner logs in; a watcher that joins now sees the screen it is on.
        await owner.send_bytes(b"\x7f" + PASSWORD.encode() + ENTER)
        await until(lambda: model.screen is not Screen.LOGIN, "logged in")
        late = await http.ws_connect(
            f"{base}/api/devices/{nvr.serial}/menu", params={"watch": session_id}
        )
        await late.receive()  # the size
        assert b"Password" not in await drawn_until(late, b"Configuration")

        # The session ends: so do its watchers' sockets, and it leaves the list.
        await owner.close()
        assert (await late.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await until(lambda: not sessions_of(sim), "the session gone")


async def test_a_session_switches_language_and_watching_what_is_not_there_is_404(sim):
    nvr, cam = sim.fleet.find("nvr"), next(d for d in sim.fleet if d.kind == "ipc")
    base = base_of(sim)
    async with aiohttp.ClientSession() as http:
        owner, session_id = await open_session(http, base, nvr.serial, lang="en")
        model = sessions_of(sim)[session_id].model
        for nonsense in ('{"lang": "xx"}', '{"lang": 3}', "[]", "not json"):
            await owner.send_str(nonsense)
        await owner.send_str(json.dumps({"lang": "fr"}))
        await until(lambda: model.lang == "fr", "the session in French")
        await drawn_until(owner, b"Connexion")
        for serial, watched in ((nvr.serial, "nope"), (cam.serial, session_id)):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(
                    f"{base}/api/devices/{serial}/menu", params={"watch": watched}
                )
            assert refused.value.status == 404
        async with http.get(f"{base}/api/menu-sessions", params={"serial": "none"}) as r:
            assert r.status == 404
        await owner.close()


@given(st.text())
def test_a_text_frame_of_anything_is_a_size_a_language_or_nothing(text):
    size, lang = parse_resize(text), parse_language(text)
    assert size is None or (0 < size.columns <= 1000 and 0 < size.rows <= 1000)
    assert lang in (None, "en", "ru", "es", "fr")


async def test_the_snapshot_is_a_jpeg_while_the_device_is_up_and_503_while_it_reboots(sim):
    base, cam = base_of(sim), next(d for d in sim.fleet if d.kind == "ipc")
    url = f"{base}/api/devices/{cam.serial}/snapshot"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            assert (await r.read()).startswith(b"\xff\xd8")
            assert r.headers["Cache-Control"] == "no-store"
        async with http.post(f"{base}/api/devices/{cam.serial}/reboot", json={"downtime": 60}):
            pass
        async with http.get(url) as r:
            assert r.status == 503 and (await r.json())["error"].endswith("is down (rebooting)")
        async with http.get(f"{base}/api/devices/nothing/snapshot") as r:
            assert r.status == 404


async def test_the_event_stream_resumes_after_the_last_id_without_loss_or_duplicate(sim):
    base, nvr = base_of(sim), sim.fleet.find("nvr")

    async def ids_after(last: int, until_kind: str) -> list[int]:
        seen = []
        headers = {"Last-Event-ID": str(last)}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base}/api/events", headers=headers) as stream,
        ):
            async for line in stream.content:
                if line.startswith(b"id:"):
                    seen.append(int(line[3:]))
                if line.startswith(b"event:") and line[6:].strip().decode() == until_kind:
                    return seen
        raise AssertionError("the stream ended")

    async with aiohttp.ClientSession() as http:
        for online in (False, True):
            body = {"hik_connect": {"online": online}}
            async with http.patch(f"{base}/api/devices/{nvr.serial}", json=body) as r:
                assert r.status == 200
    everything = [e.id for e in sim.journal.since(0)]
    first = everything[0]
    sim.journal.publish("test.marker")  # the replay ends on it
    replayed = await ids_after(first, "test.marker")
    assert replayed == [*everything[1:], everything[-1] + 1]


@pytest.fixture(scope="module")
def served_fleet():
    fleet = make_fleet(hik_entry("nvr", ports={"http": 0, "rtsp": 0}))
    sim = Simulator(fleet, ScaledClock(), ServiceConfig())
    app = control_app(sim)
    with ServerThread(app) as url:
        yield sim, app, url


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(
        ["/api/menu-sessions", "/api/devices/nvr/menu", "/api/devices/nvr/snapshot"]
    ),
    query=st.dictionaries(
        st.sampled_from(["serial", "watch", "lang", "columns", "rows", "t"]), st.text(), max_size=4
    ),
)
def test_hostile_queries_get_the_apis_error_document_and_change_nothing(served_fleet, route, query):
    sim, app, url = served_fleet
    nvr = sim.fleet.find("nvr")
    before = device_entry(nvr)
    request = urllib.request.Request(f"{url}{route}?{urllib.parse.urlencode(query)}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as refused:
        status, body = refused.code, refused.read()
    assert status in (200, 400, 404)  # a plain GET is no WebSocket: no session opens
    if status != 200:
        document = json.loads(body)
        assert document["error"] and isinstance(document["detail"], list)
    assert device_entry(nvr) == before and app[MENU_SESSIONS] == {}


def test_a_watcher_too_far_behind_is_ended_not_waited_for(clock):
    from nvrsim.firmware_menu.live import MenuSession
    from nvrsim.firmware_menu.model import MenuModel

    nvr = small_fleet(clock).find("nvr")
    session = MenuSession(nvr.serial, MenuModel(nvr, clock))
    slow: asyncio.Queue = asyncio.Queue(3)
    session.watchers[object()] = slow  # type: ignore[index]
    for frame in (b"1", b"2", b"3", b"4"):
        session.broadcast(frame)
    assert [slow.get_nowait() for _ in range(slow.qsize())] == [b"2", b"3", None]
    assert not session.ended  # only that watcher is ended
    session.broadcast(None)
    assert session.ended  # a watcher that comes now is told at once
