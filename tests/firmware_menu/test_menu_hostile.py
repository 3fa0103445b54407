"""Whatever a user or a socket throws at the menu, it never crashes and keeps its rules.

- The model, driven by random keys, text and clicks (hypothesis), always has a
  screen to draw, shows Unbind only where the capability table says, and only
  unbinds through the one rule with the admin password.
- The live session, fed random bytes and junk resize messages over its
  WebSocket, keeps running and still answers a real user afterwards.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.firmware_menu.attach import relay
from nvrsim.firmware_menu.model import Key, MenuModel, Screen
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.firmware_menu.test_menu_live import (
    LOG_IN,
    TO_PLATFORM_ACCESS,
    UNBIND,
    api_of,
    next_change,
)
from tests.runtime.test_runner import small_fleet

V3 = {"model": "DS-7608NI-E2", "firmware": "V3.4.106 build 181215"}

actions = st.one_of(
    st.sampled_from(list(Key)).map(lambda key: ("press", key)),
    st.sampled_from(["", "x", PASSWORD, "Wrong1", "ABCDEF", "é\x00\x1b"]).map(
        lambda text: ("type", text)
    ),
    st.integers(-2, 12).map(lambda index: ("click", index)),
    st.integers(-1, 3).map(lambda index: ("click_button", index)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    firmware=st.sampled_from([{}, V3]),
    steps=st.lists(actions, max_size=60),
)
def test_random_input_never_breaks_the_menu_rules(firmware, steps):
    clock = VirtualClock()
    device = make_fleet(hik_entry(**firmware), clock=clock).devices[0]
    model = MenuModel(device, clock)
    for action, argument in steps:
        getattr(model, action)(argument)
        assert model.screen in Screen
        if model.screen is Screen.MENU:
            page = model.page()  # every page can be built
            if page.title == "Platform Access":
                assert (model.item("Unbind") is not None) == device.can("menu_unbind")
        if not device.hik_connect.bound:
            # Only the unbind rule, with the password, frees it, and only where allowed.
            assert device.can("menu_unbind")
            assert model.last_unbind is not None and model.last_unbind.done
        clock.advance(1)


async def test_junk_over_the_websocket_does_not_end_the_session(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0)
    async with Simulator(small_fleet(clock), clock, config) as sim:
        nvr = sim.fleet.find("nvr")
        changes = sim.journal.subscribe(nvr.serial)
        quit_keys = b"\x03\x11"  # Ctrl-C and Ctrl-Q end a session, as they should
        junk = [
            bytes(b for b in range(256) if b not in quit_keys),
            b"\x1b[" * 500,
            b"\x1b[<0;9999;9999M",  # a click far off the screen
            b"\x1b[200~" + b"x" * 5000,  # a bracketed paste that never ends
            b"\x1b[201~\x1b\x1b",
        ]
        resizes = ['{"columns": -1, "rows": 5}', "[]", "not json", '{"columns": 1e9}']

        async def user(send) -> None:
            for chunk in junk:
                send(chunk)
            for text in resizes:
                send(text)
            send(b"\x7f" * 6000)  # still on the login screen: clear whatever the junk typed
            send(LOG_IN + TO_PLATFORM_ACCESS + UNBIND)
            await asyncio.wait_for(next_change(changes, "hik_connect.bound_account"), 15)

        screen = bytearray()
        assert await relay(api_of(sim), nvr.serial, (100, 30), screen.extend, user) == ""
        assert not nvr.hik_connect.bound
        assert b"Unbinding succeeded" in screen
