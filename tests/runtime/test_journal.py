import tracemalloc

from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.journal import DEVICE_STATE, Event, Journal, kept_json
from tests.conftest import make_fleet


def test_json_the_journal_keeps_costs_its_own_size():
    # A worker keeps a device's last-seen entry for each of its devices: orjson's own
    # bytes kept its 16 KB working buffer each.
    entry = {"name": "cam-00001", "users": [{"name": f"user{i}", "level": 1} for i in range(30)]}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [kept_json(entry) for _ in range(100)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept[0]) > 500
    assert grown / len(kept) < 1.5 * len(kept[0])


def test_exchanges_read_back_as_the_events_a_listener_was_offered():
    clock = VirtualClock()
    journal = Journal(clock)
    device = make_fleet().devices[0]
    heard: list[Event] = []
    changes: list[Event] = []
    journal.forward(heard.append)
    journal.forward(changes.append, DEVICE_STATE)
    journal.watch(device)
    get = "GET /ISAPI/System/deviceInfo"
    journal.exchange(device, "isapi", "127.0.0.9", get, "200", may_change=False)
    clock.advance(1)
    device.name = "renamed"
    journal.exchange(device, "isapi", "127.0.0.9", "PUT /ISAPI/System/deviceInfo", "200")
    journal.exchange(None, "sadp", "127.0.0.9", "inquiry", "1 reply")
    kinds = [e.kind for e in heard]
    assert kinds == ["exchange", "exchange", "device.changed", "exchange"]
    assert [e.kind for e in changes] == ["device.changed"]  # only the kinds it asked for
    assert journal.since(0) == heard  # the same events, in order, read back
    assert journal.since(heard[1].id, device.serial) == [heard[2]]
    assert journal.log(device.serial) == [heard[0], heard[1]]
    assert heard[0].data == {
        "protocol": "isapi",
        "client": "127.0.0.9",
        "request": get,
        "reply": "200",
    }
    assert (heard[0].serial, heard[0].time + 1, heard[3].serial) == (
        device.serial,
        heard[1].time,
        None,
    )
