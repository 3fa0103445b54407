"""Small helpers shared by the benchmarks."""

import statistics
import time
from collections.abc import Awaitable, Callable


async def timed(action: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Seconds each of `rounds` runs of `action` took, after one warm-up run."""
    await action()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered) * 1e3:.2f} ms, p90 {p90 * 1e3:.2f} ms"
