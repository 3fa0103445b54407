"""The menu attached to a running simulator: the session runs on the live device.

Keys go over the control API's WebSocket as a terminal would send them, so an
unbind in the menu is what SADP and the event stream report next.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from nvrsim.firmware_menu.attach import TELNET_HELLO, pick_device, relay, telnet_bridge
from nvrsim.protocols.sadp import Probe, ProbeType
from nvrsim.simulator.cli.ctl import Api, CtlError
from nvrsim.simulator.core.device import LOCAL_CONSOLE
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD
from tests.runtime.test_runner import sadp_ask, small_fleet

DOWN, UP, ENTER = b"\x1b[B", b"\x1b[A", b"\r"
# From the login screen: Configuration > Network > Platform Access, Unbind, the password.
LOG_IN = PASSWORD.encode() + ENTER
TO_PLATFORM_ACCESS = (DOWN + ENTER) * 3
UNBIND = UP + ENTER + PASSWORD.encode() + ENTER


@pytest.fixture
async def sim(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, reboot_seconds=0.2)
    async with Simulator(small_fleet(clock), clock, config) as simulator:
        yield simulator


def api_of(sim: Simulator) -> Api:
    control = sim.services["control"]
    return Api(f"http://{control.host}:{control.port}", None)


async def next_change(subscription, field: str) -> dict:
    async for event in subscription:
        if event.kind == "device.changed" and field in event.data["changes"]:
            return event.data["changes"][field]
    raise AssertionError("the event stream ended")


async def test_an_unbind_in_the_attached_menu_is_what_sadp_answers_next(sim):
    nvr = sim.fleet.find("nvr")
    probe = Probe("U-1", ProbeType.GET_UNBIND_STATUS, mac=nvr.mac)
    assert (await sadp_ask(sim.sadp.port, probe)).result == "success"
    screen = bytearray()
    changes = sim.journal.subscribe(nvr.serial)

    async def user(send) -> None:
        send(LOG_IN + TO_PLATFORM_ACCESS + UNBIND)
        assert await asyncio.wait_for(next_change(changes, "hik_connect.bound_account"), 10) == [
            "owner@example.com",
            None,
        ]

    assert await relay(api_of(sim), nvr.serial, (120, 40), screen.extend, user) == ""
    assert not nvr.hik_connect.bound
    assert (await sadp_ask(sim.sadp.port, probe)).result == "notBind"
    assert b"Unbinding succeeded" in screen
    assert b"\x1b[?1049h" in screen  # drawn full screen, as in a terminal


async def test_a_reboot_from_the_menu_goes_through_the_simulator(sim):
    nvr = sim.fleet.find("nvr")
    changes = sim.journal.subscribe(nvr.serial)
    screen = bytearray()

    async def user(send) -> None:
        send(LOG_IN + DOWN * 2 + ENTER + ENTER + ENTER)  # Maintenance > Reboot > Yes
        async for event in changes:
            if event.kind == "device.down":
                break
        assert not nvr.powered  # gone for reboot_seconds, as the API's reboot does
        async for event in changes:
            if event.kind == "device.up":
                break

    await asyncio.wait_for(relay(api_of(sim), nvr.serial, (100, 30), screen.extend, user), 20)
    assert nvr.powered
    assert b"restarting" in screen


async def test_the_simulator_stopping_ends_the_session_with_its_reason(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0)
    simulator = Simulator(small_fleet(clock), clock, config)
    await simulator.start()
    opened = asyncio.Event()

    async def user(_send) -> None:
        opened.set()
        await asyncio.Event().wait()  # until the simulator ends it

    session = asyncio.ensure_future(relay(api_of(simulator), "nvr", (80, 24), bytes, user))
    await asyncio.wait_for(opened.wait(), 10)
    await simulator.stop()
    assert await asyncio.wait_for(session, 10) == "the simulator is stopping"


async def test_a_camera_has_no_menu_and_a_plain_get_is_told_what_the_route_is(sim):
    api = api_of(sim)
    camera = next(d for d in sim.fleet if d.kind == "ipc")
    with pytest.raises(CtlError, match="has no local menu"):
        await asyncio.to_thread(pick_device, api, camera.serial)
    with pytest.raises(CtlError, match="409"):
        await relay(api, camera.serial, (80, 24), bytes, lambda _send: asyncio.sleep(0))
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{api.base}/api/devices/nvr/menu") as reply,
    ):
        assert reply.status == 400 and "WebSocket" in (await reply.json())["error"]


async def test_without_a_device_the_first_recorder_is_picked(sim):
    device = await asyncio.to_thread(pick_device, api_of(sim), None)
    assert device["serial"] == sim.fleet.find("nvr").serial


async def test_no_simulator_is_one_clear_error():
    with pytest.raises(CtlError, match="cannot reach the control API"):
        await relay(Api("http://127.0.0.1:9", None), "nvr", (80, 24), bytes, asyncio.sleep)


async def test_two_telnet_clients_share_the_live_device(sim):
    """A class on one live recorder: each telnet client has its own login."""
    nvr = sim.fleet.find("nvr")
    changes = sim.journal.subscribe(nvr.serial)
    async with telnet_bridge(api_of(sim), nvr.serial, "127.0.0.1", 0) as (host, port):
        first = await asyncio.open_connection(host, port)
        second = await asyncio.open_connection(host, port)
        for reader, _writer in (first, second):
            assert (await reader.readexactly(len(TELNET_HELLO))) == TELNET_HELLO
        naws = b"\xff\xfa\x1f\x00\x78\x00\x28\xff\xf0"  # IAC SB NAWS 120x40 IAC SE
        for _reader, writer in (first, second):
            writer.write(naws)
        second[1].write(b"wrong" + ENTER)  # the other trainee mistypes
        first[1].write(LOG_IN + TO_PLATFORM_ACCESS + UNBIND)
        assert await asyncio.wait_for(next_change(changes, "hik_connect.bound_account"), 15)
        # Only the second trainee failed, once, on the recorder's one local console.
        assert nvr.local_lockout.retries_left(LOCAL_CONSOLE, sim.clock.now()) == 6
        drawn = await read_for(second[0], b"Incorrect user name or password")
        assert b"Login" in drawn
        for _reader, writer in (first, second):
            writer.close()


async def read_for(reader: asyncio.StreamReader, wanted: bytes) -> bytes:
    seen = b""
    while wanted not in seen:
        seen += await asyncio.wait_for(reader.read(65536), 10)
    return seen


def test_resize_messages_are_json():
    from nvrsim.firmware_menu.attach import resize_message
    from nvrsim.firmware_menu.live import parse_resize

    assert json.loads(resize_message(132, 43)) == {"columns": 132, "rows": 43}
    size = parse_resize(resize_message(132, 43))
    assert size is not None and (size.columns, size.rows) == (132, 43)
    for junk in ("", "[]", "{}", '{"columns": 0, "rows": 5}', '{"columns": "x", "rows": 1}'):
        assert parse_resize(junk) is None


async def test_the_attached_menu_speaks_the_language_asked_for(sim):
    nvr = sim.fleet.find("nvr")
    screen = bytearray()
    changes = sim.journal.subscribe(nvr.serial)

    async def user(send) -> None:
        send(LOG_IN + TO_PLATFORM_ACCESS + UNBIND)
        await asyncio.wait_for(next_change(changes, "hik_connect.bound_account"), 10)

    assert await relay(api_of(sim), nvr.serial, (120, 40), screen.extend, user, "ru") == ""
    assert not nvr.hik_connect.bound
    drawn = screen.decode(errors="replace")
    assert "Доступ к платформе" in drawn and "Устройство отвязано" in drawn
    with pytest.raises(CtlError, match="400"):
        await relay(api_of(sim), nvr.serial, (80, 24), bytes, asyncio.sleep, "de")
