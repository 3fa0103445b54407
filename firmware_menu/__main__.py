"""`python -m nvrsim.firmware_menu`: the same as `nvrsim menu`."""

from __future__ import annotations

import argparse
import sys

from nvrsim.firmware_menu.cli import DESCRIPTION, add_menu_arguments, menu_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nvrsim.firmware_menu",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_menu_arguments(parser)
    return menu_main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
