"""ONVIF, the protocol family every vendor's devices speak: the section, web mount and
WS-Discovery service each vendor's record lists (simulator/<vendor>/plugin.py)."""

from __future__ import annotations

from simulator.core.plugin import Service, ServiceContext, cannot_listen, parse_address
from simulator.onvif.http import onvif_mount
from simulator.onvif.settings import ONVIF
from simulator.onvif.wsd import WsdResponder, serve_wsd


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


ONVIF_SECTIONS = (ONVIF,)
ONVIF_MOUNTS = (onvif_mount,)
ONVIF_SERVICES = (Service("wsd", "udp", _start_wsd),)
