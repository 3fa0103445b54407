"""ONVIF, the protocol family every vendor's devices speak: the section, web mount and
WS-Discovery service each vendor's record lists (simulator/<vendor>/plugin.py)."""

from __future__ import annotations

import argparse

from nvrsim.simulator.core.plugin import (
    Discovery,
    Service,
    ServiceContext,
    cannot_listen,
    parse_address,
)
from nvrsim.simulator.onvif.http import onvif_mount
from nvrsim.simulator.onvif.settings import ONVIF, VIDEO
from nvrsim.simulator.onvif.wsd import WsdResponder, discover_onvif, format_onvif_table, serve_wsd


async def _start_wsd(ctx: ServiceContext):
    config = ctx.config
    host = "0.0.0.0" if config.interface else config.wsd_host
    try:
        return await serve_wsd(
            WsdResponder(ctx.fleet, ctx.clock),
            host,
            config.wsd_port,
            multicast_interface=config.interface,
            announce_to=parse_address(config.wsd_announce) if config.wsd_announce else None,
            jitter=config.wsd_jitter,
        )
    except OSError as exc:
        raise cannot_listen("WSD", f"udp {host}:{config.wsd_port}", exc) from None


def _scope_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="URI",
        help="only devices with this scope, e.g. onvif://www.onvif.org/Profile/Streaming "
        "(repeatable)",
    )


async def _discover(args: argparse.Namespace) -> list[dict]:
    return await discover_onvif(
        args.target,
        args.port,
        timeout=args.timeout,
        interface=args.interface,
        scopes=tuple(args.scope),
        limit=args.expect,
    )


ONVIF_SECTIONS = (ONVIF, VIDEO)
ONVIF_MOUNTS = (onvif_mount,)
ONVIF_SERVICES = (Service("wsd", "udp", _start_wsd),)
ONVIF_DISCOVERY = (
    Discovery(
        "onvif",
        "ONVIF WS-Discovery probe",
        "probe",
        3702,
        _discover,
        format_onvif_table,
        _scope_option,
    ),
)
ONVIF_WEB_API = (("ONVIF", "/onvif/device_service"),)
