"""`nvrsim scenario`: list, show and check the bundled training scenarios."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from nvrsim.simulator.cli.ctl import DEFAULT_API, Api, CtlError
from nvrsim.simulator.control import scenarios
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.text import text_table


def add_scenario_parser(subparsers) -> None:  # argparse's _SubParsersAction
    parser = subparsers.add_parser(
        "scenario",
        help="training scenarios: list, show the brief, check the goal",
        description="Training scenarios set up one procedure of the vendor articles each. "
        "Start one with `nvrsim run --scenario NAME`, give the trainees its brief "
        "(`nvrsim scenario show NAME`), and `nvrsim scenario check NAME` says whether "
        "the running fleet has reached its goal (exit status 0) or not yet (1).",
    )
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    sub.add_parser("list", help="the bundled scenarios").set_defaults(func=_list)
    show = sub.add_parser("show", help="a scenario's brief, hints and goals")
    show.add_argument("name", help="a bundled scenario's name, or a scenario file")
    show.set_defaults(func=_show)
    check = sub.add_parser("check", help="whether the running fleet reached the goal")
    check.add_argument("name", help="a bundled scenario's name, or a scenario file")
    check.add_argument(
        "--api",
        default=os.environ.get("NVRSIM_API", DEFAULT_API),
        help=f"the control API's URL (default $NVRSIM_API or {DEFAULT_API})",
    )
    check.add_argument("--token", default=os.environ.get("NVRSIM_TOKEN"), help="its token")
    check.set_defaults(func=_check)


def brief(scenario: scenarios.Scenario) -> str:
    spec = scenario.spec
    lines = [f"{scenario.name}: {spec.title}", f"(seed {spec.seed}, {spec.procedure})", ""]
    lines += spec.brief.strip().splitlines()
    if spec.hints:
        lines += ["", "Hints:", *(f"  - {hint}" for hint in spec.hints)]
    lines += ["", "Goal:", *(f"  - {goal.says}" for goal in spec.goal)]
    return "\n".join(lines)


def _list(_args: argparse.Namespace) -> int:
    rows = [("NAME", "SEED", "PROCEDURE", "TITLE")]
    for name in scenarios.bundled():
        spec = scenarios.load(name).spec
        rows.append((name, spec.seed, spec.procedure, textwrap.shorten(spec.title, 70)))
    print(text_table(rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        print(brief(scenarios.load(args.name)))
    except FixtureError as exc:
        print(f"nvrsim scenario: {exc}", file=sys.stderr)
        return 2
    return 0


def _check(args: argparse.Namespace) -> int:
    api = Api(args.api, args.token)
    try:
        scenario = scenarios.load(args.name)
        results = scenarios.check(scenario, lambda device: api.call("GET", api.device_path(device)))
    except (FixtureError, CtlError) as exc:
        print(f"nvrsim scenario: {exc}", file=sys.stderr)
        print(f"  (is it running? nvrsim run --scenario {args.name})", file=sys.stderr)
        return 2
    print(f"{scenario.name}: {scenario.spec.title}")
    for result in results:
        print(f"  {'✔' if result.reached else '✘'} {result.goal.says}")
        for problem in result.problems:
            print(f"      {result.goal.device}: {problem}")
    to_go = sum(not r.reached for r in results)
    print("Goal reached." if not to_go else f"Not yet: {to_go} of {len(results)} goal(s) to go.")
    return 1 if to_go else 0
