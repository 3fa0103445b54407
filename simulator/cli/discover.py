"""`nvrsim discover PROTOCOL`: find devices the way each vendor's tools do, one
subcommand for each discovery client the vendors' records offer."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from nvrsim.simulator.core.plugin import Discovery
from nvrsim.simulator.vendors import vendors


def add_discover_parser(sub: argparse._SubParsersAction) -> None:
    discover = sub.add_parser("discover", help="find devices the way vendor tools do")
    dsub = discover.add_subparsers(title="protocols", metavar="PROTOCOL")
    offered: dict[str, Discovery] = {}
    for vendor in vendors():
        for discovery in vendor.discovery:
            offered.setdefault(discovery.name, discovery)  # ONVIF's, offered by every vendor
    for discovery in offered.values():
        _add(dsub, discovery)


def _add(dsub: argparse._SubParsersAction, discovery: Discovery) -> None:
    """The options every discovery protocol shares, then the protocol's own."""
    parser = dsub.add_parser(
        discovery.name,
        help=discovery.title,
        description=f"Send one {discovery.title} and print every device that answers.",
    )
    parser.add_argument(
        "--target",
        default="127.0.0.1",
        help=f"where to send the {discovery.message}: an address, or 239.255.255.250 with "
        "--interface for multicast (default 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=discovery.port)
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds to wait for answers (default 2)",
    )
    parser.add_argument(
        "--expect",
        type=int,
        metavar="N",
        help="stop as soon as N devices have answered (the timeout still bounds the wait)",
    )
    parser.add_argument("--interface", metavar="ADDR", help="local address to send multicast from")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON")
    discovery.options(parser)
    parser.set_defaults(func=lambda args: _print_found(discovery, args))


def _print_found(discovery: Discovery, args: argparse.Namespace) -> int:
    """What every `nvrsim discover` prints; exit status 1 when nobody answered."""
    found = asyncio.run(discovery.search(args))
    if args.json:
        print(json.dumps(found, indent=2))
    elif found:
        print(discovery.table(found))
    print(f"{len(found)} device(s) answered", file=sys.stderr)
    return 0 if found else 1
