"""D-Link as nvrsim knows it: one `Vendor` record (simulator/vendors.py lists it)."""

from __future__ import annotations

import argparse
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nvrsim.simulator.core.plugin import (
    BuildContext,
    Discovery,
    Section,
    Service,
    ServiceContext,
    Vendor,
    cannot_listen,
)
from nvrsim.simulator.dlink.device import KINDS, OUIS, DlinkDevice, MyDlink, pin_code, serial_number
from nvrsim.simulator.dlink.discovery import (
    DldpsResponder,
    SsdpResponder,
    discover_dldps,
    discover_ssdp,
    format_dlink_table,
    serve_dldps,
    serve_ssdp,
)
from nvrsim.simulator.dlink.nipca import nipca_web
from nvrsim.simulator.onvif.plugin import (
    ONVIF_DISCOVERY,
    ONVIF_MOUNTS,
    ONVIF_SECTIONS,
    ONVIF_SERVICES,
    ONVIF_WEB_API,
)


class MyDlinkSpec(BaseModel):
    """mydlink registration and what a factory reset leaves."""

    model_config = ConfigDict(extra="forbid", strict=True)

    account: str | None = None  # registered to this mydlink account
    pin_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None  # generated when absent
    # The admin password after a factory reset: "blank" (older DCS: admin with an
    # empty password) or "setup" (none until first setup, newer models).
    reset_password: Literal["blank", "setup"] = "blank"


def _mydlink(spec: MyDlinkSpec, ctx: BuildContext) -> MyDlink:
    return MyDlink(
        pin_code=spec.pin_code or pin_code(ctx.seed, ctx.serial),
        account=spec.account,
        reset_password="" if spec.reset_password == "blank" else None,
    )


def _mydlink_entry(m: MyDlink) -> dict:
    reset = "blank" if m.reset_password == "" else "setup"
    return {"account": m.account, "pin_code": m.pin_code, "reset_password": reset}


def _udp_service(name: str, title: str, port_option: str, responder, serve) -> Service:
    """D-Link's discovery listeners, started when the fleet has D-Link devices."""

    async def start(ctx: ServiceContext):
        if not ctx.fleet.has_vendor("dlink"):
            return None
        config = ctx.config
        host = "0.0.0.0" if config.interface else config.dlink_host
        port = getattr(config, port_option)
        try:
            return await serve(responder(ctx.fleet), host, port, config.interface)
        except OSError as exc:
            raise cannot_listen(title, f"udp {host}:{port}", exc) from None

    return Service(name, "udp", start)


async def _discover(args: argparse.Namespace) -> list[dict]:
    if args.ssdp:
        return await discover_ssdp(
            args.target, args.port or 1900, args.timeout, args.interface, limit=args.expect
        )
    return await discover_dldps(
        args.target, args.port or 5978, args.timeout, args.interface, limit=args.expect
    )


def _ssdp_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ssdp", action="store_true", help="search with SSDP (UDP 1900) instead of UDP 5978"
    )


DLINK = Vendor(
    name="dlink",
    title="D-Link",
    device=DlinkDevice,
    kinds=KINDS,
    kinds_text="DCS cameras (ipc) or DNR recorders (nvr)",
    sections=(
        Section(
            "hardware_version",  # the label's revision
            Annotated[str, Field(pattern=r"^[A-Z]\d?$")],
            lambda: "A1",
            changeable=False,
        ),
        Section(
            "mydlink",
            MyDlinkSpec,
            MyDlinkSpec,
            build=_mydlink,
            entry=_mydlink_entry,
            changeable=False,
        ),
        *ONVIF_SECTIONS,
    ),
    serial_number=serial_number,
    ouis=OUIS,
    web=lambda residents, clock, options, mounts: nipca_web(
        residents, clock, mounts=mounts, reboot=options.reboot
    ),
    has_web=lambda device: device.can("nipca"),
    mounts=ONVIF_MOUNTS,
    services=(
        _udp_service("dlink", "D-Link", "dlink_port", DldpsResponder, serve_dldps),
        _udp_service("ssdp", "SSDP", "ssdp_port", SsdpResponder, serve_ssdp),
        *ONVIF_SERVICES,
    ),
    discovery=(
        Discovery(
            "dlink",
            "D-Link discovery inquiry (UDP 5978)",
            "inquiry",
            None,
            _discover,
            format_dlink_table,
            _ssdp_option,
        ),
        *ONVIF_DISCOVERY,
    ),
    web_api=(("NIPCA", "/common/info.cgi"), *ONVIF_WEB_API),
    describe=lambda device: {
        "hardware_version": device.hardware_version,
        "mydlink": {"account": device.mydlink.account, "pin_code": device.mydlink.pin_code},
    },
)
