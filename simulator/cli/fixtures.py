"""`nvrsim fixtures check`: validate fleet and scenario files as `nvrsim run` would."""

from __future__ import annotations

import argparse
import sys

from nvrsim.simulator.control import scenarios
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.runtime.fixtures import load_fleet


def add_fixtures_parser(sub: argparse._SubParsersAction) -> None:
    fixtures = sub.add_parser("fixtures", help="work with fleet fixtures")
    fsub = fixtures.add_subparsers(title="actions", metavar="ACTION")
    check = fsub.add_parser(
        "check",
        help="validate fixture files",
        description="Load each file as `nvrsim run` would and report the first problem of each.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_check_fixtures)


def _check_fixtures(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            fleet = load_fleet(path)
            if scenarios.is_scenario(path):  # its goals must name real devices and fields
                scenarios.load(path)
        except FixtureError as exc:
            print(exc, file=sys.stderr)
            failed += 1
        else:
            print(f"{path}: ok, {len(fleet)} device(s)")
    return 1 if failed else 0
