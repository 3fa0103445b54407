"""`nvrsim photo`: sample photos for DMSS appeals, one per case of seed 000."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_photo_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from nvrsim.simulator.clouds.dmss.generator import CASES

    cases = "\n".join(f"  {name:<15} {what}" for name, what in CASES.items())
    parser = sub.add_parser(
        "photo",
        help="make sample photos for a DMSS appeal",
        description="Draw the photos a DMSS appeal is judged on (seed 000), for a device's "
        "serial number:\n" + cases,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", nargs="?", choices=sorted(CASES), help="which photo (default: all)")
    parser.add_argument("--serial", required=True, help="the device's serial number")
    parser.add_argument("--model", default="DHI-NVR4208-8P-4KS2", help="the model on the label")
    parser.add_argument(
        "--out", default=".", metavar="PATH", help="a file (one case) or a directory (default .)"
    )
    parser.set_defaults(func=_photo)
    return parser


def _photo(args: argparse.Namespace) -> int:
    from nvrsim.simulator.clouds.dmss.generator import CASES, make_photo

    out = Path(args.out)
    cases = [args.case] if args.case else list(CASES)
    for case in cases:
        target = out if args.case and out.suffix else out / f"{case}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(make_photo(case, args.serial, args.model))
        print(f"{target}: {CASES[case]}")
    return 0 if cases else 1
