"""A serving process's collector: what exists is frozen, the young generation waits."""

import subprocess
import sys

from nvrsim.simulator.runtime import heap

PROBE = """
import gc
from nvrsim.simulator.runtime import heap
fleet = [[index] for index in range(1000)]  # containers the collector tracks
before = gc.get_freeze_count()
heap.settle()
print(before, gc.get_freeze_count(), *gc.get_threshold())
"""


def test_settling_freezes_what_exists_and_spaces_the_young_collections():
    # In a process of its own: the collector's settings are the whole process's.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, frozen, young, *older = map(int, out.stdout.split())
    assert frozen >= before + 1000
    assert young == heap.YOUNG and older == [10, 10]  # the older generations as they were
