"""`nvrsim ctl`: the control API of a running `nvrsim run`, from the command line.

Everything goes through the HTTP API, as the dashboard does, by the one client
(`nvrsim.client`); this module only turns arguments into calls and answers into text.
Given several control APIs (the shards of one fleet), it runs the command through a face of
its own (simulator/control/face.py), so that the output is as with one simulator.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from typing import Any

from nvrsim.client import DEFAULT_API, ClientError, DeviceState
from nvrsim.client import Client as Api
from nvrsim.simulator.cli.face import face_thread, listed, shards_of
from nvrsim.simulator.core.events import EventType
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.runtime.fixtures import FaultsSpec

# `ctl` goes through the one client (nvrsim.client); its errors are the client's.
CtlError = ClientError
__all__ = ["DEFAULT_API", "Api", "CtlError", "add_ctl_parser", "assignments", "duration"]

# Short names `ctl set` accepts, beside the dotted names of the API's fields.
ALIASES = {
    "online": "hik_connect.online",
    "bound": "hik_connect.bound_account",
    "bound_account": "hik_connect.bound_account",
    "enabled": "hik_connect.enabled",
    "server": "hik_connect.server",
    "verification_code": "hik_connect.verification_code",
    "password": "admin_password",
    "name": "device_name",
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """48h, 30m, 90s, 2d or plain seconds."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 48h, 30m, 90s, 2d)")
    return float(m[1]) * _UNITS[m[2]]


def value(text: str) -> Any:
    """true, false, null and numbers as JSON; anything else as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def assignments(pairs: list[str], aliases: dict[str, str] | None = None) -> dict[str, Any]:
    """["online=false", "hik_connect.server=x"] → {"hik_connect": {"online": False, ...}}."""
    body: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CtlError(f"expected NAME=VALUE, not {pair!r}")
        path = (aliases or {}).get(key, key).split(".")
        node = body
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value(raw)
    return body


def _table(devices: list[DeviceState]) -> str:
    rows = [("NAME", "SERIAL", "FIRMWARE", "ADDRESS", "POWER", "ACTIVATED", "CLOUD", "BOUND")]
    for d in devices:
        cloud = d.cloud  # each vendor's own cloud
        rows.append(
            (
                d.name,
                d.serial,
                d.firmware,
                f"{d.address.ip}:{d.ports.http}",
                "on" if d.status.powered else "rebooting",
                "no" if d.admin_password is None else "yes",
                cloud.state if cloud else "-",
                (cloud.bound_account if cloud else None) or "-",
            )
        )
    return text_table(rows)


def _json(state: DeviceState) -> dict:
    """A device's state as the API sent it."""
    return state.model_dump(mode="json", exclude_unset=True)


def _run(args: argparse.Namespace) -> int:
    urls = listed(args.api, "NVRSIM_CONTROL") or listed(None, "NVRSIM_API") or [DEFAULT_API]
    tokens = listed(args.token, "NVRSIM_TOKEN")
    try:
        if len(urls) == 1:
            result = args.action(Api(urls[0], tokens[0] if tokens else None), args)
        else:  # every shard, through a face of its own for this one command
            with face_thread(shards_of(urls, tokens)) as (url, token):
                result = args.action(Api(url, token), args)
    except (CtlError, ServiceError, ValueError) as exc:
        print(f"nvrsim ctl: {exc}", file=sys.stderr)
        return 1
    if isinstance(result, str):
        print(result)
    elif result is not None:
        print(json.dumps(_plain(result), indent=2))
    return 0


def _plain(result: Any) -> Any:
    """The client's models as the JSON the API sent."""
    if isinstance(result, list):
        return [_plain(r) for r in result]
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json", exclude_unset=True)
    return result


def _devices(api: Api, args) -> Any:
    devices = api.devices()
    return devices if args.json else _table(devices)


def _device_after(state: DeviceState, as_json: bool) -> Any:
    return state if as_json else _table([state])


def _add(api: Api, args) -> Any:
    try:
        with open(args.file, "rb") as f:
            entries = tomllib.load(f).get("device", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CtlError(f"{args.file}: {exc}") from None
    added = [d for entry in entries for d in api.add_devices(entry)]
    return _table(added)


def _fault_value(name: str) -> str:
    """What a fault takes, for the help: a switch, a percentage or seconds."""
    default = FaultsSpec.model_fields[name].default
    if isinstance(default, bool):
        return "true"
    return "PERCENT" if name.endswith(("_drop", "_loss")) else "S"


def _fault(api: Api, args) -> Any:
    serial = None if args.target == "fleet" else args.target
    if args.settings == ["clear"]:
        # Each fault back to off: switches to false, rates and seconds to 0.
        faults = api.faults(serial).model_dump()
        body = {k: False if isinstance(v, bool) else 0 for k, v in faults.items()}
    else:
        body = assignments(args.settings)
    return api.set_faults(serial, **body) if body else api.faults(serial)


def _clock(api: Api, args) -> Any:
    if args.verb is None:
        return api.clock()
    if args.amount is None:
        raise CtlError(f"clock {args.verb}: how much? e.g. `clock advance 48h`")
    if args.verb == "advance":
        return api.advance_clock(duration(args.amount))
    if args.verb == "speed":
        return api.set_clock(speed=float(args.amount))
    return api.set_clock(now=float(args.amount))


def _events(api: Api, args) -> Any:
    try:
        for event in api.events(args.serial):
            print(event.model_dump_json(), flush=True)
    except KeyboardInterrupt:
        pass
    return None


def _event(api: Api, args) -> Any:
    """Raise one event on a device (simulator.core.events): what changed, and what is on."""
    return api.raise_event(
        args.serial, args.type, channel=args.channel, state=args.state, duration=args.duration
    )


def _cloud(api: Api, args) -> Any:
    """The Hik-Connect cloud: its devices, its accounts, or a captcha's answer (test mode)."""
    if args.what == "captcha":
        if not args.id:
            raise CtlError("cloud captcha: which one? e.g. `cloud captcha CAPTCHA_ID`")
        return api.captcha(args.id).answer
    if args.what == "accounts":
        accounts = api.cloud_accounts()
        rows = [("ACCOUNT", "REGION", "DEVICES")]
        rows += [(a.name, a.region, " ".join(a.devices) or "-") for a in accounts]
        return accounts if args.json else text_table(rows)
    devices = api.cloud_devices()
    rows = [("DEVICE", "SERIAL", "MODEL", "REGION", "STATUS", "ACCOUNT")]
    rows += [
        (
            d.device_serial,
            d.serial,
            d.model,
            d.region,
            "online" if d.online else "offline",
            d.bound_account or "-",
        )
        for d in devices
    ]
    return devices if args.json else text_table(rows)


def add_ctl_parser(subparsers) -> None:
    ctl = subparsers.add_parser(
        "ctl",
        help="change a running fleet through its control API",
        description="Read and change a running `nvrsim run` through its control API: devices, "
        "faults, the clock. Examples: `nvrsim ctl devices`, `nvrsim ctl set SERIAL "
        "online=false`, `nvrsim ctl clock advance 48h`, `nvrsim ctl fault SERIAL "
        "discovery_drop=50`.",
    )
    ctl.add_argument(
        "--api",
        "--control",
        action="append",
        metavar="URL",
        help="the control API's URL; repeated, every shard's, as one fleet (default "
        f"$NVRSIM_CONTROL, comma-separated, or $NVRSIM_API, or {DEFAULT_API})",
    )
    ctl.add_argument(
        "--token",
        action="append",
        help="its token, if any: one for all the control APIs or one each, in their order "
        "(default $NVRSIM_TOKEN, comma-separated)",
    )
    ctl.set_defaults(func=_run)
    sub = ctl.add_subparsers(title="actions", metavar="ACTION", required=True)

    def action(name: str, helptext: str, func) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=helptext, description=helptext)
        parser.set_defaults(action=func)
        return parser

    def change(name: str, helptext: str, func) -> argparse.ArgumentParser:
        """An action that changes one device: its table row after, or --json its full state."""
        parser = action(name, helptext, lambda a, g: _device_after(func(a, g), g.json))
        parser.add_argument("--json", action="store_true", help="print the full state as JSON")
        return parser

    p = action("devices", "list the devices", _devices)
    p.add_argument("--json", action="store_true", help="print the full state as JSON")
    p = action("show", "one device's full state, as JSON", lambda a, g: a.device(g.serial))
    p.add_argument("serial", help="serial number or fixture name")
    p = change(
        "set",
        "change a device: NAME=VALUE ... (online, bound, enabled, server, verification_code, "
        "password, firmware, name, or a dotted field such as hik_connect.online)",
        lambda a, g: a.change_device(g.serial, **assignments(g.settings, ALIASES)),
    )
    p.add_argument("serial")
    p.add_argument("settings", nargs="+", metavar="NAME=VALUE")
    p = change(
        "reboot",
        "reboot a device: gone, then back",
        lambda a, g: a.reboot(g.serial, g.downtime),
    )
    p.add_argument("serial")
    p.add_argument("--downtime", type=duration, help="how long it is gone (e.g. 10s)")
    p = change(
        "upgrade",
        "upgrade a device's firmware (it reboots into it)",
        lambda a, g: a.upgrade(g.serial, g.version),
    )
    p.add_argument("serial")
    p.add_argument("version", help="e.g. 'V4.30.090 build 210101'")
    p = change(
        "reset",
        "factory-reset a device: not activated any more",
        lambda a, g: a.factory_reset(g.serial),
    )
    p.add_argument("serial")
    p = action("add", "add the [[device]] entries of a fixture file", _add)
    p.add_argument("file", metavar="FILE.toml")
    p = action("remove", "remove a device", lambda a, g: a.remove_device(g.serial))
    p.add_argument("serial")
    p = action(
        "fault",
        "show or set faults on a device or the whole fleet: "
        + ", ".join(f"{name}={_fault_value(name)}" for name in FaultsSpec.model_fields)
        + "; or `clear`",
        _fault,
    )
    p.add_argument("target", metavar="SERIAL|fleet")
    p.add_argument("settings", nargs="*", metavar="NAME=VALUE")
    p = action("clock", "show the clock, or: advance 48h | speed 60 | set EPOCH", _clock)
    p.add_argument("verb", nargs="?", choices=("advance", "speed", "set"))
    p.add_argument("amount", nargs="?")
    p = action(
        "dmss",
        "the DMSS cloud: its accounts, appeals or e-mail outbox, as JSON",
        lambda a, g: getattr(a, f"dmss_{g.what}")(),
    )
    p.add_argument("what", choices=("accounts", "appeals", "outbox"))
    p = action(
        "event",
        "raise an event on a device: motion, line_crossing, intrusion, tamper, "
        "digital_input, video_loss, storage_failure (e.g. `event cam motion --for 10s`)",
        _event,
    )
    p.add_argument("serial", help="serial number or fixture name")
    p.add_argument(
        "type",
        metavar="TYPE",
        choices=[t.value for t in EventType],
    )
    p.add_argument("--channel", type=int, default=1, help="channel, input or disk (from 1)")
    p.add_argument(
        "--state",
        choices=("start", "stop", "pulse"),
        help="default: start (a pulse for line_crossing)",
    )
    p.add_argument(
        "--for", dest="duration", type=duration, help="a start that stops by itself, e.g. 10s"
    )
    p = action("events", "print the event stream as JSON lines until Ctrl-C", _events)
    p.add_argument("--serial", help="only this device's events")
    p = action(
        "cloud",
        "the Hik-Connect cloud: devices (default), accounts, or captcha ID (the answer; "
        "needs nvrsim run --cloud-test-mode)",
        _cloud,
    )
    p.add_argument("what", nargs="?", default="devices", choices=("devices", "accounts", "captcha"))
    p.add_argument("id", nargs="?", help="the captcha's id")
    p.add_argument("--json", action="store_true", help="print JSON")
