"""`python -m firmware_menu`: the same as `nvrsim menu`."""

from __future__ import annotations

import argparse
import sys

from firmware_menu.cli import DESCRIPTION, add_menu_arguments, menu_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m firmware_menu",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_menu_arguments(parser)
    return menu_main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
