"""`nvrsim run`: serve a fleet until Ctrl-C, and say where everything listens."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nvrsim.simulator.cli import scenario as scenario_cli
from nvrsim.simulator.control import scenarios
from nvrsim.simulator.control.app import control_token
from nvrsim.simulator.core.clock import ScaledClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.plugin import CannotListen, FleetService, ServiceError, parse_address
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.onvif.settings import stream_docs
from nvrsim.simulator.runtime import heap
from nvrsim.simulator.runtime.fixtures import default_fixture, read_fixture
from nvrsim.simulator.runtime.journal import Journal
from nvrsim.simulator.runtime.limits import make_room, workers_needed
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator, fleet_services, fleet_table
from nvrsim.simulator.runtime.state import StateDir
from nvrsim.simulator.runtime.worker import ShareOfState, serve_worker
from nvrsim.simulator.runtime.workers import Supervisor, worker_services
from nvrsim.simulator.vendors import vendors

log = logging.getLogger(__name__)


def add_run_parser(sub: argparse._SubParsersAction) -> None:
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
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="serve shard I (0 to N-1) of the fixture's devices: every N-th from the I-th, "
        "each with the identity and address the whole fleet gives it (docs/docker.md)",
    )
    run.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="serve the fleet from N processes behind one control API, ready file and set "
        "of discovery sockets (default: 1 when one process may open the sockets the fleet "
        "needs, else one per core, or more if the open-file limit needs it; docs/running.md)",
    )
    # A worker's relay to its supervisor (the channel's descriptor).
    run.add_argument("--worker-channel", type=int, help=argparse.SUPPRESS)
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
        "--control-token",
        "--token",
        dest="token",
        metavar="TOKEN",
        help="token the control API requires (Authorization: Bearer TOKEN; default: "
        "$NVRSIM_CONTROL_TOKEN); without one it will not listen beyond loopback",
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
        "--cloud-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address of the Hik-Connect cloud API (default 127.0.0.1; 0.0.0.0 where the "
        "cloud runs as its own container)",
    )
    hik.add_argument(
        "--cloud-port",
        type=int,
        default=8088,
        metavar="PORT",
        help="port of the Hik-Connect cloud API (default 8088; 0: any free port; "
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


def _run(args: argparse.Namespace) -> int:
    args.token = args.token or os.environ.get("NVRSIM_CONTROL_TOKEN") or None
    if args.control_port >= 0:
        try:  # before anything is read or listens
            control_token(args.control_host, args.token)
        except ServiceError as exc:
            print(f"nvrsim: {exc}", file=sys.stderr)
            return 2
    clock = ScaledClock()
    worker = args.worker_channel is not None
    store = (ShareOfState if worker else StateDir)(args.state) if args.state else None
    if store is not None and store.exists:
        saved = store.load_clock()
        clock = ScaledClock(time.time() + saved.get("offset", 0.0), saved.get("speed", 1.0))
    if args.scenario and args.fixture and not (store is not None and store.exists):
        print("nvrsim: give a FIXTURE or a --scenario, not both", file=sys.stderr)
        return 2
    plan = _plan(args, clock, store)
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
        cloud_host=args.cloud_host,
        cloud_port=None if args.cloud_port < 0 else args.cloud_port,
        mqtt_keepalive=args.mqtt_keepalive,
        mqtt_per_device=args.mqtt_connections == "per-device",
        cloud_test_mode=args.cloud_test_mode,
        services=worker_services() if worker else None,
    )
    journal = Journal(clock, store)
    split = args.shard is None and not worker  # a shard or a worker is one process
    count = args.workers or (workers_needed(plan.outline) if split else 1)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
            if count > 1 and not worker:
                make_room(plan.outline, workers=count)  # before anything listens
                supervisor = Supervisor(
                    plan.build,
                    clock,
                    config,
                    journal,
                    count,
                    _worker_argv(args),
                    restored_from=f"--state {args.state}" if args.state else "the fixture",
                )
                supervisor.fork(_forked_worker, plan.share)
                asyncio.run(_supervise(supervisor, args.ready_file, plan.briefing))
            else:
                fleet = plan.build()
                simulator = Simulator(fleet, clock, config, journal, plan.scenario)
                heap.settle()  # the fleet lives as long as the process
                asyncio.run(_serve(simulator, args.ready_file, plan.briefing, args.worker_channel))
    except ServiceError as exc:
        hint = " (is another nvrsim running?)" if isinstance(exc, CannotListen) else ""
        print(f"nvrsim: {exc}{hint}", file=sys.stderr)
        return 2
    finally:
        journal.close()  # every acknowledged change is on disk before we exit
        LAST_DEADLINE.disarm()  # stopped in time
    print("nvrsim: stopped", flush=True)
    return 0


@dataclass
class _Plan:
    """What `nvrsim run` serves: its devices in outline (what decides how many processes
    serve them), how to build them all, and how to build worker I of N's share."""

    outline: Sequence[Device]
    build: Callable[[], Fleet]
    share: Callable[[int, int], Fleet]
    scenario: Any = None
    briefing: str = ""

    @classmethod
    def built(cls, fleet: Fleet, scenario: Any = None) -> _Plan:
        briefing = scenario_cli.brief(scenario) if scenario is not None else ""
        return cls(fleet.devices, lambda: fleet, fleet.shard, scenario, briefing)


def _plan(args: argparse.Namespace, clock: ScaledClock, store: StateDir | None) -> _Plan:
    """The fleet from a forked worker's share, `--state`, a scenario or a fixture. A whole
    fixture is only outlined here: a supervisor's workers each build their own share as
    it builds the whole (runtime/workers.py)."""
    worker, now = args.worker_channel is not None, clock.now()
    preloaded: Fleet | None = getattr(args, "preloaded", None)
    if preloaded is not None:  # a forked worker: the share it built while forked
        return _Plan.built(preloaded)
    if store is not None and store.exists:
        if worker and args.shard is not None:  # the supervisor wrote the whole fleet
            assert isinstance(store, ShareOfState)
            return _Plan.built(store.load_share(*args.shard, now=now))
        fleet = store.load(now=now)
        print(f"nvrsim: resumed {len(fleet)} device(s) from {store.path}", flush=True)
        return _Plan.built(fleet)
    fixture = read_fixture(args.fixture, now=now) if not args.scenario else None
    if fixture is not None and args.shard is None and not worker:

        def build() -> Fleet:
            return _saved(fixture.build(), store)

        return _Plan(fixture.outline(), build, lambda i, n: fixture.build((i, n)))
    if fixture is not None:  # a shard builds only its own devices
        fleet = fixture.build(args.shard)
        scenario = None
    else:
        scenario = scenarios.load(args.scenario, now=now)
        fleet = scenario.fleet if args.shard is None else scenario.fleet.shard(*args.shard)
    if args.shard is not None and not worker:
        print(f"nvrsim: shard {args.shard[0]}/{args.shard[1]}: {len(fleet)} device(s)", flush=True)
    return _Plan.built(_saved(fleet, store), scenario)


def _saved(fleet: Fleet, store: StateDir | None) -> Fleet:
    if store is not None:
        store.save_all(fleet)
    return fleet


def _forked_worker(argv: list[str], share: Fleet) -> int:
    """A worker forked by the supervisor: the command line a spawned one would get (after
    `python -m nvrsim`), over the share it built."""
    parser = argparse.ArgumentParser(prog="nvrsim")
    add_run_parser(parser.add_subparsers())
    args = parser.parse_args(argv[3:])
    args.preloaded = share
    return _run(args)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of processes, 1 or more")
    return int(text)


def _worker_argv(args: argparse.Namespace):
    """How the supervisor starts worker `index` of `count`: `nvrsim run` over its share,
    on the discovery ports the supervisor's sockets got, with the broker it started."""

    def argv(index: int, count: int, channel: int, ready_file: str, services) -> list[str]:
        fleet = (
            ["--scenario", args.scenario]
            if args.scenario
            else ([args.fixture] if args.fixture else [])
        )
        broker = args.broker
        if "mqtt" in services:
            broker = f"mqtt://{services['mqtt'].host}:{services['mqtt'].port}"
        ports = {
            option: str(services[name].port if name in services else getattr(args, attr))
            for option, name, attr in (
                ("--sadp-port", "sadp", "sadp_port"),
                ("--dhip-port", "dhip", "dhip_port"),
                ("--dlink-port", "dlink", "dlink_port"),
                ("--ssdp-port", "ssdp", "ssdp_port"),
            )
        }
        return [
            sys.executable, "-m", "nvrsim", "run", *fleet,
            "--shard", f"{index}/{count}", "--workers", "1",
            "--worker-channel", str(channel), "--ready-file", ready_file,
            "--control-host", "127.0.0.1", "--control-port", "0",
            "--broker", broker, "--cloud-port", "-1",
            "--mqtt-keepalive", str(args.mqtt_keepalive),
            "--mqtt-connections", args.mqtt_connections,
            "--sadp-host", args.sadp_host,
            *(x for option, port in ports.items() for x in (option, port)),
            "--heartbeat", str(args.heartbeat),
            "--reboot-seconds", str(args.reboot_seconds),
            *(["--interface", args.interface] if args.interface else []),
            *(["--state", args.state] if args.state else []),
            *(["--verbose"] if args.verbose else []),
        ]  # fmt: skip

    return argv


def _shard(text: str) -> tuple[int, int]:
    """`I/N`, with 0 <= I < N (argparse's type: its ValueError becomes a usage error)."""
    index, slash, count = text.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"{text!r}: give I/N with 0 <= I < N, e.g. 0/4")
    return int(index), int(count)


async def _serve(
    simulator: Simulator, ready_file: str | None, briefing: str = "", channel: int | None = None
) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    log.info("starting %d device(s)", len(simulator.fleet))
    try:
        if channel is None:
            await _serve_until(simulator, stop, ready_file, briefing)
        else:  # one of a supervisor's workers: no banner, its ready file is the supervisor's
            assert ready_file is not None
            await serve_worker(simulator, channel, ready_file, stop)
    finally:
        left = simulator.stuck + await _stragglers(simulator.config.stop_seconds)
        if left:
            # Something ignores cancellation: waiting on it (as asyncio.run would) could
            # hang forever, so name it and leave now, the journal's writes done first.
            print(f"nvrsim: still running after the stop: {', '.join(left)}", file=sys.stderr)
            simulator.journal.close()
            print("nvrsim: stopped", flush=True)
            os._exit(0)


async def _supervise(supervisor: Supervisor, ready_file: str | None, briefing: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    log.info("starting a fleet in %d workers", supervisor.count)
    killed: list[str] = []
    try:
        await supervisor.start()
        print(
            f"nvrsim: {len(supervisor.fleet)} device(s) over {supervisor.count} workers "
            f"(a worker that stops is restarted from {supervisor.restored_from})"
        )
        _banner(supervisor.fleet, supervisor.services, briefing)
        if ready_file:
            supervisor.on_ready = lambda: supervisor.write_ready_file(ready_file)
            supervisor.write_ready_file(ready_file)
            print(f"ready: {ready_file}")
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        LAST_DEADLINE.arm(3 * supervisor.config.stop_seconds)
        killed = await asyncio.shield(supervisor.stop())
        if killed:
            seconds = supervisor.config.stop_seconds
            print(
                f"nvrsim: killed after {seconds:g} s, still running: {', '.join(killed)}",
                file=sys.stderr,
            )


class _LastDeadline:
    """Shutdown's last deadline, kept by a thread rather than the event loop: the parts of
    a stop each have their own (`stop_seconds`), but a loop that something blocks, or a
    thread that the interpreter waits for at exit, would keep the process forever. Past
    it, where the main thread is stuck is named in one line and the process exits."""

    def __init__(self) -> None:
        self._timer: threading.Timer | None = None

    def arm(self, seconds: float) -> None:
        if self._timer is None:
            self._timer = threading.Timer(seconds, self._give_up, (seconds,))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @staticmethod
    def _give_up(seconds: float) -> None:
        frame = sys._current_frames().get(threading.main_thread().ident or 0)
        stack = traceback.extract_stack(frame)[-3:] if frame is not None else []
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))
        message = f"nvrsim: still stopping after {seconds:g} s, in {where or '?'}; exiting"
        print(message, file=sys.stderr, flush=True)
        os._exit(0)


LAST_DEADLINE = _LastDeadline()


async def _stragglers(seconds: float) -> list[str]:
    """The tasks other than this one that are still running `seconds` after being cancelled."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    for task in others:
        task.cancel()
    if not others:
        return []
    _, pending = await asyncio.wait(others, timeout=seconds)
    return sorted(f"{t.get_name()} ({t.get_coro().__qualname__})" for t in pending)


async def _serve_until(
    simulator: Simulator, stop: asyncio.Event, ready_file: str | None, briefing: str
) -> None:
    async with simulator:
        _banner(simulator.fleet, simulator.services, briefing)
        if ready_file:
            simulator.write_ready_file(ready_file)
            print(f"ready: {ready_file}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            await stop.wait()
        finally:
            LAST_DEADLINE.arm(3 * simulator.config.stop_seconds)


def _banner(fleet: Fleet, services: Mapping[str, FleetService], briefing: str) -> None:
    """The devices, where every service listens, and the first devices' streams."""
    print(fleet_table(fleet))
    print()
    rows = []
    for name, service in services.items():
        guarded = "  (token required)" if getattr(service, "token", "") else ""
        where = f"{fleet_services()[name].scheme}://{service.host}:{service.port}"
        rows.append((name.upper(), where + guarded))
    if "control" in services:
        control = services["control"]
        rows.append(("DASHBOARD", f"http://{control.host}:{control.port}/"))
    rows += _web_apis(fleet)
    width = max(len(name) for name, _ in rows)
    for name, where in rows:
        print(f"{name:<{width}} {where}")
    print()
    print(stream_table(fleet.devices))
    if briefing:
        print(f"\nScenario {briefing}\n")


STREAM_TABLE_DEVICES = 24  # a larger fleet's streams are in the ready file and the API


def stream_table(fleet: Sequence[Device]) -> str:
    """Each device's first channel's main and sub stream URLs; a recorder's further
    channels follow its vendor's pattern (`nvrsim ctl show NAME` lists every one)."""
    rows = [("DEVICE", "STREAM", "VIDEO", "RTSP URL (the device's admin credentials)")]
    for device in fleet[:STREAM_TABLE_DEVICES]:
        docs = stream_docs(device)
        for doc in docs[:2]:
            video = f"{doc['codec']} {doc['width']}x{doc['height']} {doc['fps']} fps"
            rows.append((device.label, doc["stream"], video, doc["url"]))
        if len(docs) > 2:
            channels = len(docs) // 2
            rows.append((device.label, "", "", f"… and channels 2-{channels} likewise"))
    table = text_table(rows)
    if len(fleet) > STREAM_TABLE_DEVICES:
        more = len(fleet) - STREAM_TABLE_DEVICES
        table += f"\n… and {more} more devices: `nvrsim ctl show NAME`, or the ready file"
    return table


def _web_apis(fleet: Fleet) -> list[tuple[str, str]]:
    """What the fleet's devices serve on their own addresses, by the vendors that have
    devices in it (ONVIF, which every vendor mounts, once)."""
    present = {d.vendor for d in fleet}
    serving: dict[tuple[str, str], list[str]] = {}
    for vendor in vendors():
        if vendor.name in present:
            for api in vendor.web_api:
                serving.setdefault(api, []).append(vendor.title)
    return [
        (name, f"http://<ADDRESS>:<HTTP>{path} on each {_listed(titles)} device")
        for (name, path), titles in serving.items()
    ]


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _broker(text: str) -> str:
    if text in ("embedded", "none"):
        return text
    from nvrsim.simulator.clouds.mqtt.broker import BrokerError, parse_broker_url

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
