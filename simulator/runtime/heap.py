"""The cyclic garbage collector in a process that serves a fleet.

A fleet is built once and lives as long as the process; requests then make dozens of
short-lived objects each, which reference counting frees without the collector. With
the default thresholds the collector walked the fleet on every full collection and ran
a young collection every 700 allocations: 10 % of an ISAPI request's CPU time under
load (docs/benchmarks.md, `bench.isapi_load`).

Choice where nothing public decides: 20,000 allocations between young collections, so
cyclic garbage waits for at most that many objects (a few MB) before it is freed.
"""

import gc

YOUNG = 20_000  # allocations between collections of the youngest generation


def settle() -> None:
    """What exists now lives as long as the process: never walked again (`gc.freeze`);
    and the young generation is collected every YOUNG allocations."""
    gc.freeze()
    gc.set_threshold(YOUNG, *gc.get_threshold()[1:])
