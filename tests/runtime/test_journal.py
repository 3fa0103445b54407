import tracemalloc

from nvrsim.simulator.runtime.journal import kept_json


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
