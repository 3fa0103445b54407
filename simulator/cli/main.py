"""The `nvrsim` command: one subcommand group per module of this package."""

from __future__ import annotations

import argparse
import logging
import sys

from nvrsim.firmware_menu.cli import add_menu_parser
from nvrsim.simulator.cli.ctl import add_ctl_parser
from nvrsim.simulator.cli.discover import add_discover_parser
from nvrsim.simulator.cli.face import add_face_parser
from nvrsim.simulator.cli.fixtures import add_fixtures_parser
from nvrsim.simulator.cli.run import add_run_parser
from nvrsim.simulator.cli.scenario import add_scenario_parser
from nvrsim.simulator.clouds.dmss.cli import add_photo_parser
from nvrsim.simulator.core.fixture import FixtureError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except FixtureError as exc:
        print(f"nvrsim: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nvrsim",
        description="Simulated NVRs, DVRs and IP cameras that answer the real vendor protocols.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_run_parser(sub)
    add_discover_parser(sub)
    add_menu_parser(sub)
    add_ctl_parser(sub)
    add_face_parser(sub)
    add_scenario_parser(sub)
    add_photo_parser(sub)
    add_fixtures_parser(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
