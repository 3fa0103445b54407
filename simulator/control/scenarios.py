"""Training scenarios: fleets set up for one procedure of a seed, with a goal to reach.

A scenario is a fixture with a `[scenario]` table (fixtures.ScenarioSpec): a
brief for the trainee and goals on device state. `nvrsim run --scenario NAME`
starts it; `nvrsim scenario check NAME` reads the running fleet through the
control API and says, goal by goal, whether the trainee got there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from nvrsim.simulator.control.common import ApiError, json_reply, simulator_of
from nvrsim.simulator.control.devices import device_state
from nvrsim.simulator.control.schema import Operation, ScenarioDoc
from nvrsim.simulator.core.fixture import FixtureError, read_toml
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime.fixtures import GoalSpec, ScenarioSpec, build_fleet

_MISSING = object()


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    spec: ScenarioSpec
    fleet: Fleet  # as the scenario starts


@dataclass(frozen=True)
class GoalResult:
    goal: GoalSpec
    problems: tuple[str, ...]  # empty: reached

    @property
    def reached(self) -> bool:
        return not self.problems


def bundled() -> dict[str, Path]:
    """The scenarios shipped in fixtures/scenarios, by name."""
    folder = resources.files("nvrsim.fixtures") / "scenarios"
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def load(name_or_path: str, now: float = 0.0) -> Scenario:
    """A bundled scenario by name, or a scenario file, its fleet built at `now`;
    FixtureError names what is wrong."""
    shipped = bundled()
    path = shipped.get(name_or_path) or Path(name_or_path)
    if name_or_path not in shipped and not path.is_file():
        raise FixtureError(
            f"no scenario {name_or_path!r}: bundled ones are {', '.join(shipped)}, "
            "or give a scenario file"
        )
    raw = read_toml(path)
    fleet = build_fleet(raw, source=str(path), now=now)
    if "scenario" not in raw:
        raise FixtureError(f"{path}: scenario: a scenario file needs a [scenario] table")
    spec = ScenarioSpec.model_validate(raw["scenario"])
    for index, goal in enumerate(spec.goal, 1):
        where = f"{path}: scenario.goal {index}"
        device = fleet.find(goal.device)
        if device is None:
            raise FixtureError(f"{where}: device: no device {goal.device!r} in the fleet")
        doc = device_state(device, 0.0)
        for field in [*goal.expect, *goal.matches, *goal.absent, *goal.present]:
            if lookup(doc, field) is _MISSING:
                raise FixtureError(f"{where}: {field}: not a field of the device's state")
    return Scenario(path.stem, path, spec, fleet)


def is_scenario(path: str | Path) -> bool:
    try:
        return "scenario" in read_toml(Path(path))
    except FixtureError:
        return False


def lookup(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def check_goal(goal: GoalSpec, doc: dict[str, Any]) -> GoalResult:
    """Whether `doc` (the device's state from the control API) reaches `goal`."""

    def value(field: str) -> Any:
        return lookup(doc, field)

    problems = [
        f"{f} is {value(f)!r}, should be {wanted!r}"
        for f, wanted in goal.expect.items()
        if value(f) != wanted
    ]
    problems += [
        f"{f} is {value(f)!r}, should match {pattern!r}"
        for f, pattern in goal.matches.items()
        if not re.search(pattern, str(value(f)))
    ]
    problems += [
        f"{f} is {value(f)!r}, should be empty" for f in goal.absent if not _empty(value(f))
    ]
    problems += [f"{f} is still empty" for f in goal.present if _empty(value(f))]
    return GoalResult(goal, tuple(problems))


def _empty(value: Any) -> bool:
    return value is None or value == ""


def check(scenario: Scenario, fetch: Callable[[str], dict[str, Any]]) -> list[GoalResult]:
    """Every goal, against what `fetch(device)` says the device's state is now."""
    return [check_goal(goal, fetch(goal.device)) for goal in scenario.spec.goal]


# --- the scenario a running fleet was started for, as the control API shows it ----------


async def get_scenario(request: web.Request) -> web.Response:
    sim = simulator_of(request)
    scenario = sim.scenario
    if scenario is None:
        raise ApiError(404, "this fleet runs no training scenario (see nvrsim run --scenario)")
    now = sim.clock.now()

    def fetch(name: str) -> dict[str, Any]:
        device = sim.fleet.find(name)
        return device_state(device, now) if device is not None else {}

    spec = scenario.spec
    return json_reply(
        {
            "name": scenario.name,
            "title": spec.title,
            "seed": spec.seed,
            "procedure": spec.procedure,
            "brief": spec.brief.strip(),
            "hints": spec.hints,
            "goals": [
                {
                    "device": r.goal.device,
                    "says": r.goal.says,
                    "reached": r.reached,
                    "problems": list(r.problems),
                }
                for r in check(scenario, fetch)
            ],
        }
    )


OPERATIONS = (
    Operation(
        "GET",
        "/api/scenario",
        "The training scenario the fleet runs: its brief, hints and each goal's state",
        get_scenario,
        returns=ScenarioDoc,
        errors=(404,),
    ),
)
