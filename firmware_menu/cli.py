"""`nvrsim menu`: the recorder's local menu in this terminal or over telnet."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from simulator.clock import RealClock
from simulator.device import Device
from simulator.firmware import RECORDERS
from simulator.fixtures import FixtureError, load_fleet
from simulator.fleet import Fleet

from .model import MenuModel, Screen

DESCRIPTION = """\
Show a simulated recorder's own on-screen menu (the GUI on the monitor plugged
into an NVR or DVR) as a full-screen terminal app: log in with the admin
password, then Configuration > Network > Platform Access shows Hik-Connect's
Enable, server, verification code, status, the QR code for the app and, on 4.x
firmware, Unbind. Keys: arrows, Tab, Enter, Esc (back); the mouse works too;
Ctrl-Q quits.

With --telnet PORT the menu is served to telnet clients instead, each
connection with its own login on the same device.

The menu works on its own copy of the fleet loaded from the fixture: a running
`nvrsim run` does not see its changes (attaching to one comes with the control API).
"""


def add_menu_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fixture",
        metavar="FILE",
        help="fleet TOML file (default: the bundled demo fleet)",
    )
    parser.add_argument(
        "--device",
        metavar="SERIAL_OR_NAME",
        help="the device: its serial number or its fixture name (default: the first recorder)",
    )
    parser.add_argument(
        "--telnet",
        type=int,
        metavar="PORT",
        help="serve the menu over telnet on PORT (0: any free port) instead of this terminal",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the telnet server listens on (default 127.0.0.1)",
    )
    parser.add_argument(
        "--attach",
        metavar="URL",
        help="attach to a running `nvrsim run` (not supported yet)",
    )


def add_menu_parser(subparsers) -> argparse.ArgumentParser:  # argparse's _SubParsersAction
    parser = subparsers.add_parser(
        "menu",
        help="a recorder's local on-screen menu, in the terminal or over telnet",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_menu_arguments(parser)
    parser.set_defaults(func=menu_main)
    return parser


def find_device(fleet: Fleet, wanted: str | None) -> Device | None:
    if wanted is None:
        return next((d for d in fleet if d.kind in RECORDERS), None)
    return fleet.find(wanted)


def _listing(fleet: Fleet) -> str:
    return "\n".join(f"  {d.label:<24} {d.kind:<4} {d.model:<16} {d.serial}" for d in fleet)


def menu_main(args: argparse.Namespace) -> int:
    if getattr(args, "attach", None):
        print(
            "nvrsim menu: --attach is not supported yet: attaching to a running `nvrsim run` "
            "comes with the control API. Without it the menu runs on its own copy of the fleet.",
            file=sys.stderr,
        )
        return 2
    clock = RealClock()
    try:
        fleet = load_fleet(args.fixture, now=clock.now())
    except FixtureError as exc:
        print(f"nvrsim menu: {exc}", file=sys.stderr)
        return 2
    device = find_device(fleet, args.device)
    if device is None:
        what = f"no device {args.device!r}" if args.device else "no recorder (NVR or DVR)"
        print(f"nvrsim menu: {what} in the fleet. Devices:\n{_listing(fleet)}", file=sys.stderr)
        return 2
    model = MenuModel(device, clock)
    if model.screen is Screen.NO_MENU:
        print(
            f"nvrsim menu: {device.label or device.serial} is a {device.model} "
            f"({device.kind}) and has no local menu: only recorders (NVR, DVR) have one. "
            f"Cameras are set up through their web page, SADP or the app.\n"
            f"Devices:\n{_listing(fleet)}",
            file=sys.stderr,
        )
        return 1
    if args.telnet is None:
        if args.host != "127.0.0.1":
            print("nvrsim menu: --host applies only with --telnet", file=sys.stderr)
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            print(
                "nvrsim menu: the menu needs a terminal; without one, serve it with --telnet PORT",
                file=sys.stderr,
            )
            return 2
        from .view import build_app

        build_app(model).run()
        return 0
    return _serve_telnet(device, clock, args.host, args.telnet)


def _serve_telnet(device: Device, clock: RealClock, host: str, port: int) -> int:
    from .telnet import MenuTelnetServer

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with MenuTelnetServer(device, clock, host, port) as server:
            bound_host, bound_port = server.address
            print(
                f"Local menu of {device.label} ({device.model}, S/N {device.serial})\n"
                f"telnet {bound_host} {bound_port}   (one session per connection; "
                "Ctrl-C to stop)",
                flush=True,
            )
            await stop.wait()  # Ctrl-C cancels this; either way the sessions are closed

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as exc:
        print(
            f"nvrsim menu: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    return 0
