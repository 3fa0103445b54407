"""The PTZ head: moves integrated from the simulation clock, limits, presets, home; which
models have one."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.simulator.core.ptz import (
    NoSuchPreset,
    Position,
    PresetsFull,
    PtzHead,
    PtzNode,
    PtzRangeError,
)
from tests.conftest import hik_entry, make_fleet

T0 = 1_700_000_000.0


def approx(position: Position) -> tuple:
    return tuple(pytest.approx(v, abs=1e-9) for v in position)


def test_a_continuous_move_integrates_the_clock_and_stops_at_the_limit():
    head = PtzHead()
    head.continuous(Position(0.5, -0.25, 0.0), T0)
    assert head.position(T0) == Position()
    assert head.position(T0 + 1) == approx(Position(0.5, -0.25, 0.0))
    assert head.moving(T0 + 1) == (True, False)
    # Pan reaches 1 after 2 s and stops there; tilt carries on to -1 at 4 s.
    assert head.position(T0 + 3) == approx(Position(1.0, -0.75, 0.0))
    assert head.position(T0 + 60) == approx(Position(1.0, -1.0, 0.0))
    assert head.moving(T0 + 60) == (False, False)


def test_stop_freezes_the_position_and_a_timeout_ends_a_move():
    head = PtzHead()
    head.continuous(Position(0.0, 0.0, 1.0), T0)  # zoom at full speed: 0.5 a second
    head.stop(T0 + 1)
    assert head.position(T0 + 10) == approx(Position(0.0, 0.0, 0.5))
    head.continuous(Position(-1.0, 0.0, 0.0), T0 + 10, timeout=0.25)
    assert head.position(T0 + 20) == approx(Position(-0.25, 0.0, 0.5))


def test_stopping_pan_tilt_leaves_the_zoom_moving():
    head = PtzHead()
    head.continuous(Position(1.0, 0.0, 1.0), T0)
    head.stop(T0 + 0.5, pan_tilt=True, zoom=False)
    assert head.position(T0 + 1) == approx(Position(0.5, 0.0, 0.5))
    assert head.moving(T0 + 1) == (False, True)


def test_absolute_and_relative_moves_take_time_at_their_speed():
    head = PtzHead()
    head.move_to(Position(0.5, 0.5, 1.0), T0)
    assert head.moving(T0 + 0.25) == (True, True)
    assert head.position(T0 + 0.25) == approx(Position(0.25, 0.25, 0.125))
    assert head.position(T0 + 2) == approx(Position(0.5, 0.5, 1.0))
    head.move_by(Position(1.0, -0.25, 0.0), T0 + 2, speed=Position(0.5, 0.5, 0.5))
    # Relative beyond the limit stops at it: pan 0.5 → 1 at half speed takes 1 s.
    assert head.position(T0 + 2.5) == approx(Position(0.75, 0.25, 1.0))
    assert head.position(T0 + 5) == approx(Position(1.0, 0.25, 1.0))


@pytest.mark.parametrize(
    "target", [Position(1.5, 0, 0), Position(0, -1.01, 0), Position(0, 0, -0.1), Position(math.nan)]
)
def test_an_absolute_target_outside_the_node_is_refused_and_changes_nothing(target):
    head = PtzHead()
    head.continuous(Position(0.1, 0, 0), T0)
    before = head.motion
    with pytest.raises(PtzRangeError):
        head.move_to(target, T0 + 1)
    assert head.motion is before


def test_presets_round_trip_and_home():
    head = PtzHead()
    head.move_to(Position(0.3, -0.2, 0.4), T0)
    assert head.set_preset(T0 + 5, name="gate") == "1"
    head.set_home(T0 + 5)
    head.continuous(Position(-1, 1, -1), T0 + 5)
    assert head.set_preset(T0 + 10, token="07") == "7"
    assert [(t, p.name) for t, p in head.presets.items()] == [("1", "gate"), ("7", "Preset 7")]
    head.goto_preset("1", T0 + 10)
    assert head.last_preset == "1"
    assert head.position(T0 + 20) == approx(Position(0.3, -0.2, 0.4))
    head.continuous(Position(1, 0, 0), T0 + 20)
    head.go_home(T0 + 21)
    assert head.position(T0 + 30) == approx(Position(0.3, -0.2, 0.4))
    head.remove_preset("1")
    with pytest.raises(NoSuchPreset):
        head.goto_preset("1", T0 + 30)
    with pytest.raises(NoSuchPreset):
        head.remove_preset("1")
    with pytest.raises(NoSuchPreset):
        head.set_preset(T0, token="0")


def test_presets_are_bounded():
    head = PtzHead(PtzNode(max_presets=2))
    head.set_preset(T0)
    head.set_preset(T0)
    with pytest.raises(PresetsFull):
        head.set_preset(T0)
    assert head.set_preset(T0, token="2", name="again") == "2"  # overwriting is fine


def test_a_head_without_zoom_keeps_zoom_at_zero():
    head = PtzHead(PtzNode(zoom=False))
    head.continuous(Position(0, 0, 1), T0)
    head.move_to(Position(0.2, 0, 0.9), T0 + 1)
    assert head.position(T0 + 5) == approx(Position(0.2, 0.0, 0.0))


commands = st.one_of(
    st.tuples(st.just("continuous"), st.tuples(*[st.floats(-1, 1)] * 3), st.none()),
    st.tuples(
        st.just("continuous"),
        st.tuples(*[st.floats(-1, 1)] * 3),
        st.floats(0.01, 100),
    ),
    st.tuples(st.just("to"), st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 1))),
    st.tuples(st.just("by"), st.tuples(*[st.floats(-3, 3)] * 3)),
    st.tuples(st.just("stop"), st.booleans(), st.booleans()),
)


@given(st.lists(st.tuples(commands, st.floats(0, 1000)), max_size=12), st.booleans())
def test_the_head_never_leaves_its_limits(script, zoom):
    head, now = PtzHead(PtzNode(zoom=zoom)), T0
    for command, wait in script:
        match command:
            case ("continuous", velocity, timeout):
                head.continuous(Position(*velocity), now, timeout)
            case ("to", target):
                head.move_to(Position(*target), now)
            case ("by", delta):
                head.move_by(Position(*delta), now)
            case ("stop", pan_tilt, zoom_axis):
                head.stop(now, pan_tilt, zoom_axis)
        now += wait
        pan, tilt, z = head.position(now)
        assert -1 - 1e-9 <= pan <= 1 + 1e-9 and -1 - 1e-9 <= tilt <= 1 + 1e-9
        assert (0 - 1e-9 <= z <= 1 + 1e-9) if zoom else z == 0


@pytest.mark.parametrize(
    ("vendor", "model", "ptz", "zoom"),
    [
        ("hikvision", "DS-2DE4425IW-DE", True, True),
        ("hikvision", "DS-2CD2385G1-I", False, False),
        ("dahua", "SD49225XA-HNR", True, True),
        ("dahua", "DH-SD49225XA-HNR", True, True),
        ("dahua", "IPC-HDW5831R-ZE", False, False),
        ("dlink", "DCS-5020L", True, False),
        ("dlink", "DCS-2132LB1", False, False),
    ],
)
def test_the_models_table_says_which_devices_have_a_head(vendor, model, ptz, zoom):
    firmware = {"hikvision": "V5.6.2build 190701", "dahua": "2.800.0000016.0.R"}
    entry = hik_entry(
        "cam", vendor=vendor, kind="ipc", model=model, ip_channels=1, disks=0, hik_connect=None
    )
    entry = {k: v for k, v in entry.items() if v is not None}
    entry["firmware"] = firmware.get(vendor, "2.13.03")
    device = make_fleet(entry).devices[0]
    assert (device.ptz is not None, device.can("ptz_zoom")) == (ptz, zoom)
    if ptz:
        assert device.ptz.node.zoom is zoom
        assert device.ptz is device.ptz  # one head, kept


def test_a_fixture_can_give_any_model_a_head():
    entry = hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", capabilities={"ptz": True})
    assert make_fleet(entry).devices[0].ptz is not None
