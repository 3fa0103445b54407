"""`nvrsim menu`: the recorder's local menu in this terminal or over telnet."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager as AsyncContextManager

from nvrsim.firmware_menu.i18n import DEFAULT, LANGUAGES
from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.simulator.cli.ctl import DEFAULT_API, Api, CtlError
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.firmware import RECORDERS
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime.fixtures import load_fleet

BUNDLED = ""  # --fixture without a file: the bundled demo fleet

DESCRIPTION = """\
Show a simulated recorder's own on-screen menu (the GUI on the monitor plugged
into an NVR or DVR) as a full-screen terminal app: log in with the admin
password, then Configuration > Network > Platform Access shows Hik-Connect's
Enable, server, verification code, status, the QR code for the app and, on 4.x
firmware, Unbind. Keys: arrows, Tab, Enter, Esc (back); the mouse works too;
Ctrl-Q quits.

By default the menu attaches to a running `nvrsim run` through its control
API (--api, default $NVRSIM_API or http://127.0.0.1:8321): it runs on the live
device, so an unbind in the menu is what SADP, ISAPI and the clouds answer next.
With --fixture FILE (or --fixture alone for the bundled demo fleet) it runs
standalone on its own copy of that fleet instead.

With --telnet PORT the menu is served to telnet clients instead of this
terminal, each connection with its own login on the same device.

--lang ru|es|fr|en starts the menu in that language (each session can change
it under General > Language, as on the recorder).
"""


def add_menu_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fixture",
        metavar="FILE",
        nargs="?",
        const=BUNDLED,
        help="run standalone on a copy of this fleet TOML file (alone: the bundled demo fleet)",
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
        "--lang",
        choices=tuple(LANGUAGES),
        default=DEFAULT,
        help="the menu's language: "
        + ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
        + f" (default {DEFAULT})",
    )
    parser.add_argument(
        "--api",
        default=os.environ.get("NVRSIM_API", DEFAULT_API),
        help=f"the running simulator's control API (default $NVRSIM_API or {DEFAULT_API})",
    )
    parser.add_argument(
        "--token", default=os.environ.get("NVRSIM_TOKEN"), help="the control API's token, if any"
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
    if args.telnet is None and args.host != "127.0.0.1":
        print("nvrsim menu: --host applies only with --telnet", file=sys.stderr)
    if args.fixture is None:
        return _attached(args)
    clock = RealClock()
    try:
        fleet = load_fleet(args.fixture or None, now=clock.now())
    except FixtureError as exc:
        print(f"nvrsim menu: {exc}", file=sys.stderr)
        return 2
    device = find_device(fleet, args.device)
    if device is None:
        what = f"no device {args.device!r}" if args.device else "no recorder (NVR or DVR)"
        print(f"nvrsim menu: {what} in the fleet. Devices:\n{_listing(fleet)}", file=sys.stderr)
        return 2
    model = MenuModel(device, clock, lang=args.lang)
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
        if not _has_terminal():
            return 2
        from nvrsim.firmware_menu.view import build_app

        build_app(model).run()
        return 0
    return _serve_telnet(device, clock, args.host, args.telnet, args.lang)


def _has_terminal() -> bool:
    if sys.stdin.isatty() and sys.stdout.isatty():
        return True
    print(
        "nvrsim menu: the menu needs a terminal; without one, serve it with --telnet PORT",
        file=sys.stderr,
    )
    return False


def _attached(args: argparse.Namespace) -> int:
    """The menu of a device of a running `nvrsim run`, here or for telnet clients."""
    from nvrsim.firmware_menu.attach import pick_device, run_in_terminal, telnet_bridge

    api = Api(args.api, args.token)
    try:
        device = pick_device(api, args.device)
    except CtlError as exc:
        print(f"nvrsim menu: {exc}", file=sys.stderr)
        print("  (--fixture FILE runs the menu standalone on a copy of a fleet)", file=sys.stderr)
        return 2
    serial = device["serial"]
    if args.telnet is not None:
        title = f"Local menu of {device['name']} ({device['model']}, S/N {serial}), live"
        return _serve(title, lambda: telnet_bridge(api, serial, args.host, args.telnet, args.lang))
    if not _has_terminal():
        return 2
    try:
        why = asyncio.run(run_in_terminal(api, serial, lang=args.lang))
    except CtlError as exc:
        print(f"nvrsim menu: {exc}", file=sys.stderr)
        return 1
    if why:
        print(f"nvrsim menu: {why}", file=sys.stderr)
    return 0


def _serve_telnet(device: Device, clock: RealClock, host: str, port: int, lang: str) -> int:
    from nvrsim.firmware_menu.telnet import MenuTelnetServer

    @contextlib.asynccontextmanager
    async def listening() -> AsyncIterator[tuple[str, int]]:
        async with MenuTelnetServer(device, clock, host, port, lang=lang) as server:
            yield server.address

    return _serve(f"Local menu of {device.label} ({device.model}, S/N {device.serial})", listening)


def _serve(title: str, listening: Callable[[], AsyncContextManager[tuple[str, int]]]) -> int:
    """Serve telnet clients until Ctrl-C or SIGTERM; the sessions are closed either way."""

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with listening() as (host, port):
            print(
                f"{title}\ntelnet {host} {port}   (one session per connection; Ctrl-C to stop)",
                flush=True,
            )
            await stop.wait()  # Ctrl-C cancels this

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as exc:
        print(f"nvrsim menu: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
