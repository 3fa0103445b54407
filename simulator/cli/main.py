"""The `nvrsim` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable

from firmware_menu.cli import add_menu_parser
from simulator.cli import scenario as scenario_cli
from simulator.cli.ctl import add_ctl_parser
from simulator.clouds.dmss.cli import add_photo_parser
from simulator.control import scenarios
from simulator.core.clock import ScaledClock
from simulator.core.fixture import FixtureError
from simulator.core.plugin import ServiceError, parse_address
from simulator.runtime.fixtures import default_fixture, load_fleet
from simulator.runtime.journal import Journal
from simulator.runtime.runner import ServiceConfig, Simulator, fleet_services, fleet_table
from simulator.runtime.state import StateDir


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except FixtureError as exc:
        print(f"nvrsim: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nvrsim",
        description="Simulated NVRs, DVRs and IP cameras that answer the real vendor protocols.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="serve a fleet until Ctrl-C",
        description="Serve every device of a fleet (the bundled demo fleet when no FIXTURE is "
        "given) on loopback, print where each listens, and run until Ctrl-C.",
    )
    run.add_argument("fixture", nargs="?", help=f"fleet TOML file (default: {default_fixture()})")
    run.add_argument(
        "--scenario",
        metavar="NAME",
        help="start a training scenario's fleet and print its brief (`nvrsim scenario list`)",
    )
    run.add_argument("--sadp-host", default="127.0.0.1", help="address SADP listens on")
    run.add_argument("--sadp-port", type=int, default=37020, help="SADP UDP port (default 37020)")
    run.add_argument(
        "--wsd-port", type=int, default=3702, help="WS-Discovery UDP port (default 3702)"
    )
    run.add_argument(
        "--wsd-announce",
        metavar="HOST:PORT",
        type=_host_port,
        help="where to send WS-Discovery Hello/Bye when no --interface is named",
    )
    run.add_argument(
        "--interface",
        metavar="ADDR",
        help="address of a local interface on which to join SADP's and WS-Discovery's "
        "multicast groups (binds 0.0.0.0; without it nothing leaves loopback)",
    )
    run.add_argument(
        "--dlink-port", type=int, default=5978, help="D-Link discovery UDP port (default 5978)"
    )
    run.add_argument("--ssdp-port", type=int, default=1900, help="SSDP UDP port (default 1900)")
    run.add_argument(
        "--dhip-port", type=int, default=37810, help="Dahua DHIP discovery UDP port (default 37810)"
    )
    run.add_argument(
        "--portal-port",
        type=int,
        default=8090,
        help="D-Link support portal HTTP port on 127.0.0.1 (default 8090)",
    )
    run.add_argument(
        "--dmss-port",
        type=int,
        default=8092,
        help="DMSS cloud HTTP port on 127.0.0.1, when the fleet has Dahua devices (default 8092)",
    )
    run.add_argument(
        "--dmss-review",
        type=float,
        default=48 * 3600.0,
        metavar="S",
        help="seconds a DMSS appeal's review takes on the simulator's clock (default 172800: 48 h)",
    )
    run.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        type=_host_port,
        help="SMTP server the DMSS cloud delivers its e-mail to (default: outbox only)",
    )
    run.add_argument(
        "--portal-fixture",
        metavar="PATH",
        help="the portal's resellers, codes and accounts (default: fixtures/dlink_portal.toml)",
    )
    run.add_argument(
        "--ready-file",
        metavar="PATH",
        help="once everything listens, write a JSON description of the fleet and services here",
    )
    run.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between ISAPI alertStream heartbeats (default 10)",
    )
    run.add_argument(
        "--control-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address of the control API and dashboard (default 127.0.0.1; any other "
        "address requires a token)",
    )
    run.add_argument(
        "--control-port",
        type=int,
        default=8321,
        metavar="PORT",
        help="port of the control API and dashboard (default 8321; 0: any free port; -1: none)",
    )
    run.add_argument(
        "--token",
        help="token the control API requires (Authorization: Bearer TOKEN); made up and "
        "printed when the API listens beyond loopback without one",
    )
    run.add_argument(
        "--state",
        metavar="DIR",
        help="keep every device's state in DIR across restarts; a DIR that has a fleet "
        "is resumed and the fixture is not read",
    )
    run.add_argument(
        "--reboot-seconds",
        type=float,
        default=3.0,
        metavar="S",
        help="how long a rebooting device is gone (default 3)",
    )
    _hikconnect_options(run)
    run.add_argument("-v", "--verbose", action="store_true", help="log protocol activity")
    run.set_defaults(func=_run)

    discover = sub.add_parser("discover", help="find devices the way vendor tools do")
    dsub = discover.add_subparsers(title="protocols", metavar="PROTOCOL")
    _discover_parser(dsub, "sadp", "Hikvision SADP inquiry", "inquiry", 37020, _discover_sadp)
    onvif = _discover_parser(
        dsub, "onvif", "ONVIF WS-Discovery probe", "probe", 3702, _discover_onvif
    )
    onvif.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="URI",
        help="only devices with this scope, e.g. onvif://www.onvif.org/Profile/Streaming "
        "(repeatable)",
    )
    dlink = _discover_parser(
        dsub, "dlink", "D-Link discovery inquiry (UDP 5978)", "inquiry", None, _discover_dlink
    )
    dlink.add_argument(
        "--ssdp", action="store_true", help="search with SSDP (UDP 1900) instead of UDP 5978"
    )

    dhip = _discover_parser(
        dsub, "dhip", "Dahua DHIP search (UDP 37810)", "search", 37810, _discover_dhip
    )
    dhip.add_argument("--mac", default="", help="only the device with this MAC")

    add_menu_parser(sub)
    add_ctl_parser(sub)
    scenario_cli.add_scenario_parser(sub)
    add_photo_parser(sub)

    fixtures = sub.add_parser("fixtures", help="work with fleet fixtures")
    fsub = fixtures.add_subparsers(title="actions", metavar="ACTION")
    check = fsub.add_parser(
        "check",
        help="validate fixture files",
        description="Load each file as `nvrsim run` would and report the first problem of each.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_check_fixtures)
    return parser


def _hikconnect_options(run: argparse.ArgumentParser) -> None:
    hik = run.add_argument_group("Hik-Connect cloud (devices online over MQTT)")
    hik.add_argument(
        "--broker",
        default="embedded",
        type=_broker,
        metavar="URL",
        help="MQTT broker the devices and the cloud use: 'embedded' (default: started here), "
        "mqtt://HOST:PORT for a real one (mosquitto, EMQX), or 'none' for no cloud link",
    )
    hik.add_argument(
        "--broker-port",
        type=int,
        default=1883,
        metavar="PORT",
        help="port of the embedded broker on 127.0.0.1 (default 1883; 0: any free port)",
    )
    hik.add_argument(
        "--cloud-port",
        type=int,
        default=8088,
        metavar="PORT",
        help="port of the Hik-Connect cloud API on 127.0.0.1 (default 8088; 0: any free port; "
        "-1: no cloud in this process, e.g. when another process serves it)",
    )
    hik.add_argument(
        "--mqtt-keepalive",
        type=int,
        default=60,
        metavar="S",
        help="MQTT keepalive in seconds (default 60): a crashed simulator's devices show "
        "offline within 1.5 times this at most",
    )
    hik.add_argument(
        "--mqtt-connections",
        choices=("shared", "per-device"),
        default="shared",
        help="one MQTT connection for the whole simulator (default) or one per device",
    )
    hik.add_argument(
        "--cloud-test-mode",
        action="store_true",
        help="let the control API read captcha answers (GET /api/cloud/captchas/ID), for tests",
    )


def _discover_parser(
    dsub: argparse._SubParsersAction,
    name: str,
    title: str,
    message: str,
    port: int | None,  # None: the command picks it
    func: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """`nvrsim discover NAME`: the options every discovery protocol shares."""
    parser = dsub.add_parser(
        name,
        help=title,
        description=f"Send one {title} and print every device that answers.",
    )
    parser.add_argument(
        "--target",
        default="127.0.0.1",
        help=f"where to send the {message}: an address, or 239.255.255.250 with "
        "--interface for multicast (default 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds to wait for answers (default 2)",
    )
    parser.add_argument("--interface", metavar="ADDR", help="local address to send multicast from")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON")
    parser.set_defaults(func=func)
    return parser


def _run(args: argparse.Namespace) -> int:
    clock = ScaledClock()
    briefing = ""
    store = StateDir(args.state) if args.state else None
    if store is not None and store.exists:
        saved = store.load_clock()
        clock = ScaledClock(time.time() + saved.get("offset", 0.0), saved.get("speed", 1.0))
        fleet = store.load(now=clock.now())
        print(f"nvrsim: resumed {len(fleet)} device(s) from {store.path}", flush=True)
    else:
        if args.scenario and args.fixture:
            print("nvrsim: give a FIXTURE or a --scenario, not both", file=sys.stderr)
            return 2
        if args.scenario:
            scenario = scenarios.load(args.scenario, now=clock.now())
            fleet, briefing = scenario.fleet, scenario_cli.brief(scenario)
        else:
            fleet = load_fleet(args.fixture, now=clock.now())
        if store is not None:
            store.save_all(fleet)
    config = ServiceConfig(
        sadp_host=args.sadp_host,
        sadp_port=args.sadp_port,
        dlink_port=args.dlink_port,
        ssdp_port=args.ssdp_port,
        dhip_port=args.dhip_port,
        dmss_port=args.dmss_port,
        dmss_review_seconds=args.dmss_review,
        smtp_server=args.smtp,
        portal_port=args.portal_port,
        portal_fixture=args.portal_fixture,
        wsd_port=args.wsd_port,
        wsd_announce=args.wsd_announce,
        interface=args.interface,
        heartbeat_interval=args.heartbeat,
        control_host=args.control_host,
        control_port=None if args.control_port < 0 else args.control_port,
        token=args.token,
        reboot_seconds=args.reboot_seconds,
        broker=None if args.broker == "none" else args.broker,
        broker_port=args.broker_port,
        cloud_port=None if args.cloud_port < 0 else args.cloud_port,
        mqtt_keepalive=args.mqtt_keepalive,
        mqtt_per_device=args.mqtt_connections == "per-device",
        cloud_test_mode=args.cloud_test_mode,
    )
    journal = Journal(clock, store)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
            simulator = Simulator(fleet, clock, config, journal)
            asyncio.run(_serve(simulator, args.ready_file, briefing))
    except ServiceError as exc:
        print(f"nvrsim: {exc} (is another nvrsim running?)", file=sys.stderr)
        return 2
    finally:
        journal.close()  # every acknowledged change is on disk before we exit
    print("nvrsim: stopped", flush=True)
    return 0


async def _serve(simulator: Simulator, ready_file: str | None, briefing: str = "") -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with simulator:
        print(fleet_table(simulator.fleet))
        print()
        rows = []
        for name, service in simulator.services.items():
            token = getattr(service, "token", "")
            where = f"{fleet_services()[name].scheme}://{service.host}:{service.port}"
            rows.append((name.upper(), where + (f"  (token {token})" if token else "")))
        if "control" in simulator.services:
            control = simulator.services["control"]
            rows.append(("DASHBOARD", f"http://{control.host}:{control.port}/"))
        each = "http://<ADDRESS>:<HTTP>"
        rows.append(("ISAPI", f"{each}/ISAPI/ on each Hikvision device's own address"))
        if "portal" in simulator.services:
            rows.append(("NIPCA", f"{each}/common/info.cgi on each D-Link device"))
        if "dhip" in simulator.services:
            rows.append(("RPC2", f"{each}/RPC2_Login and /cgi-bin/ on each Dahua device"))
        rows.append(("ONVIF", f"{each}/onvif/device_service on every device"))
        width = max(len(name) for name, _ in rows)
        for name, where in rows:
            print(f"{name:<{width}} {where}")
        if briefing:
            print(f"\nScenario {briefing}\n")
        if ready_file:
            simulator.write_ready_file(ready_file)
            print(f"ready: {ready_file}")
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()


def _print_found(found: list[dict], as_json: bool, table: Callable[[list], str]) -> int:
    """What every `nvrsim discover` prints; exit status 1 when nobody answered."""
    if as_json:
        print(json.dumps(found, indent=2))
    elif found:
        print(table(found))
    print(f"{len(found)} device(s) answered", file=sys.stderr)
    return 0 if found else 1


def _discover_sadp(args: argparse.Namespace) -> int:
    from simulator.hikvision.sadp import discover_sadp, format_sadp_table

    found = asyncio.run(
        discover_sadp(args.target, args.port, timeout=args.timeout, interface=args.interface)
    )
    return _print_found(found, args.json, format_sadp_table)


def _discover_dlink(args: argparse.Namespace) -> int:
    from simulator.dlink.discovery import discover_dldps, discover_ssdp, format_dlink_table

    if args.ssdp:
        port = args.port or 1900
        found = asyncio.run(discover_ssdp(args.target, port, args.timeout, args.interface))
    else:
        port = args.port or 5978
        found = asyncio.run(discover_dldps(args.target, port, args.timeout, args.interface))
    return _print_found(found, args.json, format_dlink_table)


def _discover_dhip(args: argparse.Namespace) -> int:
    from simulator.dahua.dhip import discover_dhip, format_dhip_table

    found = asyncio.run(
        discover_dhip(args.target, args.port, args.timeout, args.interface, mac=args.mac)
    )
    return _print_found(found, args.json, format_dhip_table)


def _discover_onvif(args: argparse.Namespace) -> int:
    from simulator.onvif.wsd import discover_onvif, format_onvif_table

    found = asyncio.run(
        discover_onvif(
            args.target,
            args.port,
            timeout=args.timeout,
            interface=args.interface,
            scopes=tuple(args.scope),
        )
    )
    return _print_found(found, args.json, format_onvif_table)


def _broker(text: str) -> str:
    if text in ("embedded", "none"):
        return text
    from simulator.clouds.mqtt.broker import BrokerError, parse_broker_url

    try:
        parse_broker_url(text)
    except BrokerError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or 'embedded', or 'none')") from None
    return text


def _host_port(text: str) -> str:
    try:
        parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _check_fixtures(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            fleet = load_fleet(path)
            if scenarios.is_scenario(path):  # its goals must name real devices and fields
                scenarios.load(path)
        except FixtureError as exc:
            print(exc, file=sys.stderr)
            failed += 1
        else:
            print(f"{path}: ok, {len(fleet)} device(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
