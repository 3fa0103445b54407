"""The one event model: what a raise records, who hears it, what the clock ends."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.simulator.core.events import (
    EventError,
    EventSchedule,
    EventState,
    EventType,
    advance,
    event_types,
    raise_event,
)
from nvrsim.simulator.core.faults import Faults
from tests.conftest import hik_entry, make_fleet

CAMERA = {"kind": "ipc", "model": "DS-2CD2385G1-I", "ip_channels": 1, "disks": 0}


@pytest.fixture
def nvr():
    return make_fleet(hik_entry("nvr")).devices[0]


@pytest.fixture
def cam():
    return make_fleet(hik_entry("cam", **CAMERA)).devices[0]


def test_a_timed_motion_starts_then_stops_on_the_simulation_clock(nvr):
    with nvr.events.subscribe() as sub:
        start = raise_event(nvr, "motion", 100.0, channel=2, duration=10)
        assert start is not None and start.state is EventState.START and start.active
        advance(nvr, 109.9)
        assert [e.state for e in sub.take()] == [EventState.START]
        advance(nvr, 200.0)
        [stop] = sub.take()
        assert (stop.type, stop.channel, stop.state, stop.time) == (
            EventType.MOTION,
            2,
            EventState.STOP,
            110.0,
        )
    assert nvr.events.active == {}


def test_a_start_while_active_is_not_a_new_event_but_moves_the_end(nvr):
    with nvr.events.subscribe() as sub:
        raise_event(nvr, "motion", 0.0, duration=5)
        assert raise_event(nvr, "motion", 4.0, duration=5) is None
        advance(nvr, 6.0)
        assert len(sub.take()) == 1  # still active: the end moved to 9
        advance(nvr, 9.0)
        assert [e.state for e in sub.take()] == [EventState.STOP]
        assert raise_event(nvr, "motion", 10.0, state="stop") is None


def test_line_crossing_is_a_pulse_and_storage_failure_is_for_recorders(nvr, cam):
    pulse = raise_event(cam, "line_crossing", 1.0)
    assert pulse is not None and pulse.state is EventState.PULSE
    assert cam.events.active == {}
    assert EventType.STORAGE_FAILURE in event_types(nvr)
    with pytest.raises(EventError):
        raise_event(cam, "storage_failure", 1.0)


@given(
    type_=st.text(max_size=20),
    channel=st.integers(-5, 300),
    state=st.sampled_from([None, "start", "stop", "pulse", "x"]),
)
def test_a_raise_the_device_cannot_do_changes_nothing(type_, channel, state):
    cam = make_fleet(hik_entry("cam", **CAMERA)).devices[0]
    try:
        raise_event(cam, type_, 1.0, channel=channel, state=state)
    except EventError:
        assert cam.events.active == {}
    else:
        assert type_ in set(EventType) and channel == 1


def test_a_slow_subscriber_keeps_the_newest_and_counts_what_it_lost(nvr):
    with nvr.events.subscribe(size=3) as sub:
        for t in range(10):
            raise_event(nvr, "line_crossing", float(t))
        assert [e.time for e in sub.take()] == [7.0, 8.0, 9.0]
        assert sub.lost == 7


def test_event_drop_loses_events_and_event_delay_holds_them_on_the_clock(nvr):
    fates: list[str] = []
    nvr.events.observe("test", lambda _event, fate: fates.append(fate))
    with nvr.events.subscribe() as sub:
        nvr.own_faults = Faults(event_drop=100)
        raise_event(nvr, "tamper", 0.0)
        assert sub.take() == [] and fates == ["dropped"]
        nvr.own_faults = Faults(event_delay=30)
        raise_event(nvr, "tamper", 1.0, state="stop")
        advance(nvr, 30.0)
        assert sub.take() == []
        advance(nvr, 31.0)
        [late] = sub.take()
        assert late.time == 1.0 and late.state is EventState.STOP  # stamped when it happened
        assert fates == ["dropped", "delayed"]


def test_a_schedule_fires_every_period_and_once_after_a_jump(nvr):
    nvr.events.schedules.append(EventSchedule(EventType.MOTION, every=30, duration=5))
    with nvr.events.subscribe() as sub:
        advance(nvr, 0.0)
        advance(nvr, 30.0)
        advance(nvr, 35.0)
        assert [(e.state, e.time) for e in sub.take()] == [
            (EventState.START, 30.0),
            (EventState.STOP, 35.0),
        ]
        advance(nvr, 3600.0)  # a jump: one more, at the latest period due
        starts = [e for e in sub.take() if e.state is EventState.START]
        assert [e.time for e in starts] == [3600.0]


async def test_a_subscriber_waits_for_the_next_event(nvr):
    sub = nvr.events.subscribe()
    assert not await sub.wait(0.01)
    raise_event(nvr, "digital_input", 0.0, channel=4)
    assert await sub.wait(1)
    sub.close()
    assert nvr.events.subscribers == 0
    assert await sub.next() is not None  # what was queued is still read
    assert await sub.next() is None


def test_a_fixture_schedule_raises_motion_on_the_clock():
    fleet = make_fleet(hik_entry("nvr", events={"motion": {"every": "30s", "for": "5s"}}))
    nvr = fleet.devices[0]
    assert nvr.events.schedules == [EventSchedule(EventType.MOTION, 30.0, 5.0, 1)]
    with nvr.events.subscribe() as sub:
        advance(nvr, 1000.0)
        advance(nvr, 1030.0)
        assert [e.state for e in sub.take()] == [EventState.START]
        advance(nvr, 1035.0)
        assert [e.state for e in sub.take()] == [EventState.STOP]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"motion": {"every": "soon"}}, "device 'nvr' (entry 1): events.motion.every: "),
        ({"motion": {"every": 10, "for": 10}}, "events.motion: `for` must be shorter"),
        ({"fire": {"every": 10}}, "events.fire.[key]: Input should be 'motion'"),
        ({"motion": {"every": 10, "channel": 9}}, "events.motion.channel: 9, but the device"),
        ({"storage_failure": {"every": 10}}, "events.storage_failure: IPC devices do not raise it"),
    ],
)
def test_a_schedule_that_does_not_fit_names_file_device_and_field(events, message):
    from nvrsim.simulator.core.fixture import FixtureError

    with pytest.raises(FixtureError, match=re.escape(message)):
        make_fleet(hik_entry("nvr", **CAMERA, events=events))


def test_a_timed_stop_suffers_the_faults_of_when_it_happens(nvr):
    fates: list[tuple[str, str]] = []
    nvr.events.observe("test", lambda event, fate: fates.append((str(event.state), fate)))
    raise_event(nvr, "motion", 0.0, duration=10)
    nvr.own_faults = Faults(event_drop=100)  # switched on while motion lasts
    advance(nvr, 10.0)
    assert fates == [("start", "delivered"), ("stop", "dropped")]


def test_fixtures_and_the_api_name_exactly_the_cores_event_types():
    from typing import get_args

    from nvrsim.simulator.core.events import EventType
    from nvrsim.simulator.runtime.fixtures import EventTypeName

    assert set(get_args(EventTypeName)) == {t.value for t in EventType}
