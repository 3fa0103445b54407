"""Dahua as nvrsim knows it: one `Vendor` record (simulator/vendors.py lists it)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from nvrsim.firmware_menu.dahua import tree as menu_tree
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.plugin import (
    Discovery,
    Mounted,
    Section,
    Service,
    ServiceContext,
    Vendor,
    WebOptions,
    cannot_listen,
    record_entry,
)
from nvrsim.simulator.core.residents import Residents
from nvrsim.simulator.dahua.device import OUIS, SDK_PORT, DahuaDevice, DahuaSettings, serial_number
from nvrsim.simulator.onvif.plugin import (
    ONVIF_DISCOVERY,
    ONVIF_MOUNTS,
    ONVIF_SECTIONS,
    ONVIF_SERVICES,
    ONVIF_WEB_API,
)


class DahuaSpec(BaseModel):
    """General's lockout, P2P (T2UServer), the DMSS binding and DHIP details."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lock_login_enable: bool = True
    lock_login_times: Annotated[int, Field(ge=1, le=100)] = 5
    login_fail_lock_time: Annotated[int, Field(ge=0, le=86400)] = 1800
    max_online_time: Annotated[int, Field(ge=0, le=86400)] = 3600
    t2u_enable: bool = True
    p2p_link: bool = True  # registered with the DMSS P2P server (until the cloud link drives it)
    dmss_account: str | None = None
    vendor_name: Annotated[str, Field(min_length=1, max_length=32)] = "Dahua"
    init_bits: Annotated[int, Field(ge=0, le=0xFFFF)] = 0
    find: Annotated[str, Field(pattern=r"^[A-Z]{0,4}$")] = "AB"
    discovery_password: Literal["ha1", "plain", "none"] = "ha1"
    session_timeout: Annotated[float, Field(gt=0, le=86400), Strict(False)] = 60.0

    @field_validator("init_bits")
    @classmethod
    def _high_bits(cls, bits: int | None) -> int | None:
        if bits is not None and bits & 3:
            raise ValueError("the two low bits of Init (initialised 2, factory 1) must be 0")
        return bits


# DHIP (construct) and the web API (RPC2, CGI, RPAC's cryptography) load when a fleet has
# Dahua devices or a command asks: a fleet without them never pays for their imports.


async def _start_dhip(ctx: ServiceContext):
    if not ctx.fleet.has_vendor("dahua"):
        return None
    from nvrsim.simulator.dahua.dhip import DhipResponder, serve_dhip

    config = ctx.config
    host = "0.0.0.0" if config.interface else config.dhip_host
    responder = DhipResponder(
        ctx.fleet,
        ctx.clock,
        on_exchange=ctx.journal.exchange,
        on_network_change=ctx.network_changed,
    )
    try:
        return await serve_dhip(responder, host, config.dhip_port, config.interface)
    except OSError as exc:
        raise cannot_listen("DHIP", f"udp {host}:{config.dhip_port}", exc) from None


async def _discover_dhip(args: argparse.Namespace) -> list[dict]:
    from nvrsim.simulator.dahua.dhip import discover_dhip

    return await discover_dhip(
        args.target, args.port, args.timeout, args.interface, mac=args.mac, limit=args.expect
    )


def _mac_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mac", default="", help="only the device with this MAC")


def _dhip_table(results: list[dict]) -> str:
    from nvrsim.simulator.dahua.dhip import format_dhip_table

    return format_dhip_table(results)


def _web(
    residents: Residents, clock: Clock, _options: WebOptions, mounts: Sequence[Mounted]
) -> web.Application:
    from nvrsim.simulator.dahua.http import dahua_web

    return dahua_web(residents, clock, mounts)


def _describe(device: DahuaDevice) -> dict:
    d = device.dahua
    return {
        "dahua": {
            "p2p_online": device.p2p_online,
            "dmss_account": d.dmss_account,
            "lock_login_times": d.lock_login_times,
            "login_fail_lock_time": d.login_fail_lock_time,
        }
    }


DAHUA = Vendor(
    name="dahua",
    title="Dahua",
    device=DahuaDevice,
    sections=(
        Section(
            "dahua",
            DahuaSpec,
            DahuaSpec,
            build=lambda spec, _ctx: DahuaSettings(**spec.model_dump()),
            entry=record_entry,
            clearable=frozenset({"dmss_account"}),
        ),
        *ONVIF_SECTIONS,
    ),
    serial_number=serial_number,
    ouis=OUIS,
    default_ports={"command": SDK_PORT},
    web=_web,
    has_web=lambda device: device.can("dahua_http"),
    mounts=ONVIF_MOUNTS,
    services=(Service("dhip", "udp", _start_dhip), *ONVIF_SERVICES),
    discovery=(
        Discovery(
            "dhip",
            "Dahua DHIP search (UDP 37810)",
            "search",
            37810,
            _discover_dhip,
            _dhip_table,
            _mac_option,
        ),
        *ONVIF_DISCOVERY,
    ),
    web_api=(("RPC2", "/RPC2_Login and /cgi-bin/"), *ONVIF_WEB_API),
    describe=_describe,
    status=lambda device: {"p2p_online": device.p2p_online},
    menu=menu_tree,
)
