"""Hikvision as nvrsim knows it: one `Vendor` record (simulator/vendors.py lists it)."""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from nvrsim.firmware_menu.hikvision import tree as menu_tree
from nvrsim.simulator.core.plugin import (
    BuildContext,
    Discovery,
    Section,
    Service,
    ServiceContext,
    Vendor,
    cannot_listen,
    record_entry,
)
from nvrsim.simulator.hikvision.device import (
    HIK_CONNECT_DEFAULT_SERVER,
    OUIS,
    HikConnect,
    HikvisionDevice,
    Quirks,
    default_name,
    is_valid_verification_code,
    serial_number,
    verification_code,
)
from nvrsim.simulator.hikvision.isapi import isapi_web
from nvrsim.simulator.hikvision.sadp import (
    SadpResponder,
    discover_sadp,
    format_sadp_table,
    serve_sadp,
)
from nvrsim.simulator.onvif.plugin import (
    ONVIF_DISCOVERY,
    ONVIF_MOUNTS,
    ONVIF_SECTIONS,
    ONVIF_SERVICES,
    ONVIF_WEB_API,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class HikConnectSpec(_Strict):
    enabled: bool = False
    server: str = HIK_CONNECT_DEFAULT_SERVER
    verification_code: str | None = None  # generated when absent
    online: bool = False
    bound_account: str | None = None
    stream_encryption: bool = False

    @field_validator("verification_code")
    @classmethod
    def _code_length(cls, code: str | None) -> str | None:
        if code is not None and not is_valid_verification_code(code):
            raise ValueError("a verification code has 6 to 12 letters or digits")
        return code


class QuirksSpec(_Strict):
    flase: bool = True
    isapi_namespace: Literal[
        "http://www.hikvision.com/ver20/XMLSchema",
        "http://www.isapi.org/ver20/XMLSchema",
        "urn:psialliance-org",  # old NVRs
    ] = "http://www.hikvision.com/ver20/XMLSchema"


def _hik_connect(spec: HikConnectSpec, ctx: BuildContext) -> HikConnect:
    code = spec.verification_code or verification_code(ctx.seed, ctx.serial)
    return HikConnect(**(spec.model_dump() | {"verification_code": code}))


async def _start_sadp(ctx: ServiceContext):
    responder = SadpResponder(
        ctx.fleet,
        ctx.clock,
        on_network_change=ctx.network_changed,
        on_exchange=ctx.journal.exchange,
    )
    config = ctx.config
    host = "0.0.0.0" if config.interface else config.sadp_host
    try:
        return await serve_sadp(
            responder, host, config.sadp_port, multicast_interface=config.interface
        )
    except OSError as exc:
        raise cannot_listen("SADP", f"udp {host}:{config.sadp_port}", exc) from None


async def _discover_sadp(args: argparse.Namespace) -> list[dict]:
    return await discover_sadp(
        args.target, args.port, timeout=args.timeout, interface=args.interface, limit=args.expect
    )


def _describe(device: HikvisionDevice) -> dict:
    h = device.hik_connect
    return {
        "hik_connect": {
            "enabled": h.enabled,
            "server": h.server,
            "online": device.cloud_online,
            "bound_account": h.bound_account,
            "verification_code": h.verification_code,
        }
    }


HIKVISION = Vendor(
    name="hikvision",
    title="Hikvision",
    device=HikvisionDevice,
    sections=(
        Section(
            "hik_connect",
            HikConnectSpec,
            HikConnectSpec,
            build=_hik_connect,
            entry=record_entry,
            clearable=frozenset({"bound_account"}),
        ),
        Section(
            "quirks",
            QuirksSpec,
            QuirksSpec,
            build=lambda spec, _ctx: Quirks(**spec.model_dump()),
            entry=record_entry,
            changeable=False,
        ),
        *ONVIF_SECTIONS,
    ),
    serial_number=serial_number,
    ouis=OUIS,
    default_name=default_name,
    web=lambda residents, clock, options, mounts: isapi_web(
        residents,
        clock,
        heartbeat_interval=options.heartbeat_interval,
        mounts=mounts,
        reboot=options.reboot,
    ),
    has_web=lambda device: device.can("isapi"),
    mounts=ONVIF_MOUNTS,
    services=(Service("sadp", "udp", _start_sadp), *ONVIF_SERVICES),
    discovery=(
        Discovery(
            "sadp", "Hikvision SADP inquiry", "inquiry", 37020, _discover_sadp, format_sadp_table
        ),
        *ONVIF_DISCOVERY,
    ),
    web_api=(("ISAPI", "/ISAPI/"), *ONVIF_WEB_API),
    describe=_describe,
    menu=menu_tree,
)
