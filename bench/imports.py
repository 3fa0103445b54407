"""What `nvrsim run` costs before it reads its fixture: the interpreter and the run path's
imports, in a fresh process each time, against the third-party floor.

Each round starts three fresh interpreters, in turn: one that imports the run path
(`cli.main`, `cli.run`, the runner and the supervisor), one that imports only the
third-party modules a fleet's start cannot do without (asyncio, aiohttp's server,
pydantic, aiomqtt: the baseline), and a bare `python -c pass`. Wall and CPU time are
the children's (`resource.getrusage`); medians over ROUNDS. Our sources are compiled
first, as an installed package's are, so no round pays for compiling them.

`python -m bench.imports [ROUNDS]` (7 by default).
"""

import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 7
RUN_PATH = (
    "nvrsim.simulator.cli.main, nvrsim.simulator.cli.run, "
    "nvrsim.simulator.runtime.runner, nvrsim.simulator.runtime.workers"
)
PROGRAMS = {
    "nvrsim run's imports": f"import {RUN_PATH}",
    "asyncio, aiohttp.web, pydantic, aiomqtt": "import asyncio, aiohttp.web, pydantic, aiomqtt",
    "the interpreter alone": "pass",
}


def _once(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _modules() -> int:
    code = f"import sys\nimport {RUN_PATH}\nprint(len(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return int(done.stdout)


def measure(rounds: int = ROUNDS) -> str:
    root = Path(__file__).resolve().parent.parent
    for folder in ("simulator", "protocols", "firmware_menu", "nvrsim"):
        compileall.compile_dir(root / folder, quiet=2)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in PROGRAMS}
    for _ in range(rounds):
        for name, code in PROGRAMS.items():
            samples[name].append(_once(code))
    wall = {name: statistics.median(w for w, _ in s) for name, s in samples.items()}
    cpu = {name: statistics.median(c for _, c in s) for name, s in samples.items()}
    ours, floor = list(PROGRAMS)[:2]
    lines = [
        f"  {name}: {wall[name] * 1e3:.0f} ms, {cpu[name] * 1e3:.0f} ms of CPU" for name in PROGRAMS
    ]
    lines.append(
        f"  nvrsim run's imports: {wall[ours] / wall[floor]:.2f}x the baseline's wall time, "
        f"{cpu[ours] / cpu[floor]:.2f}x its CPU; {_modules()} modules loaded"
    )
    return f"imports, medians of {rounds} fresh processes each:\n" + "\n".join(lines)


async def run(rounds: int = ROUNDS) -> str:
    load = os.getloadavg()[0]
    return measure(rounds) + f"\n  (load average {load:.1f} at the start)"


if __name__ == "__main__":
    import asyncio

    print(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)))
