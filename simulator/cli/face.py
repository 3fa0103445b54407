"""`nvrsim face`: one control API, dashboard and event stream in front of the shards'
(simulator/control/face.py); and the same face, for one command, inside `nvrsim ctl`.

Choices where the public record is silent:
- The shards are a list of control APIs the user gives (`--shard URL`, repeated, or
  `$NVRSIM_SHARDS`, comma-separated), not simulators registering over the broker: a
  StatefulSet's pods have stable names, so the list is known before anything starts, and a
  control API needs no broker (a fleet may run without one).
- The face is stateless: a restarted face asks the shards again; only clients of its event
  stream resume from their last id as if it were the first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from nvrsim.simulator.control.app import control_token
from nvrsim.simulator.control.face import Face, Shard
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.runtime.http_service import listen


def shards_of(urls: Sequence[str], tokens: Sequence[str]) -> list[Shard]:
    """Shards named "shard I/N" in the order given; one token for all, or one each."""
    if len(tokens) not in (0, 1, len(urls)):
        raise ValueError(
            f"{len(tokens)} tokens for {len(urls)} control APIs: give one, or one each"
        )
    each = list(tokens) * len(urls) if len(tokens) == 1 else list(tokens) or [""] * len(urls)
    return [
        Shard(f"shard {i + 1}/{len(urls)}", url.rstrip("/"), token)
        for i, (url, token) in enumerate(zip(urls, each, strict=True))
    ]


def listed(values: Sequence[str] | None, variable: str) -> list[str]:
    """Options given as repeated flags or one comma-separated environment variable."""
    given = list(values or []) or os.environ.get(variable, "").split(",")
    return [v.strip() for v in given if v.strip()]


@contextlib.contextmanager
def face_thread(shards: Sequence[Shard]) -> Iterator[tuple[str, str]]:
    """A face on a free loopback port, from a loop on a thread of its own, for as long as the
    block runs: (its URL, its token). The token is fresh each time, as the face holds the
    shards' tokens for anyone on this host who finds the port."""
    token = secrets.token_urlsafe(16)
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()
    where: list[str] = []
    failed: list[BaseException] = []

    async def serve() -> None:
        face = Face(shards, token)
        try:
            runner = await listen(face.app, "face", "127.0.0.1", 0)
        except ServiceError as exc:
            failed.append(exc)
            ready.set()
            await face.close()
            return
        host, port = runner.addresses[0][:2]
        where.append(f"http://{host}:{port}")
        ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await face.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        if failed or not where:
            raise failed[0] if failed else ServiceError("face: did not start within 10 s")
        yield where[0], token
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


async def _serve(args: argparse.Namespace) -> int:
    shards = shards_of(
        listed(args.shard, "NVRSIM_SHARDS"), listed(args.shard_token, "NVRSIM_SHARD_TOKENS")
    )
    if not shards:
        print(
            "nvrsim face: which shards? --shard URL (repeated) or $NVRSIM_SHARDS", file=sys.stderr
        )
        return 2
    face = Face(shards, control_token(args.host, args.token))
    runner = await listen(face.app, "face", args.host, args.port, reuse_address=False)
    host, port = runner.addresses[0][:2]
    print(
        f"face: control API and dashboard on http://{host}:{port}/ for {len(shards)} shards",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await face.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except (ServiceError, ValueError) as exc:
        print(f"nvrsim face: {exc}", file=sys.stderr)
        return 2


def add_face_parser(subparsers) -> None:
    face = subparsers.add_parser(
        "face",
        help="one control API and dashboard in front of several shards' own",
        description="Serve one control API, dashboard and event stream in front of the "
        "control APIs of several `nvrsim run --shard I/N`: a device's requests go to its "
        "shard, lists are merged, fleet-wide changes reach every shard. Example: `nvrsim face "
        "--shard http://nvrsim-0.nvrsim:8321 --shard http://nvrsim-1.nvrsim:8321`.",
    )
    face.add_argument(
        "--shard",
        action="append",
        metavar="URL",
        help="a shard's control API (repeat for each; default: $NVRSIM_SHARDS, comma-separated)",
    )
    face.add_argument(
        "--shard-token",
        action="append",
        metavar="TOKEN",
        help="the shards' control token: one for all or one each "
        "(default: $NVRSIM_SHARD_TOKENS, comma-separated)",
    )
    face.add_argument("--host", default="127.0.0.1", help="where the face listens")
    face.add_argument("--port", type=int, default=8321, help="its port (0: any free one)")
    face.add_argument(
        "--control-token",
        "--token",
        dest="token",
        default=os.environ.get("NVRSIM_CONTROL_TOKEN"),
        help="the token the face requires (needed beyond loopback; $NVRSIM_CONTROL_TOKEN)",
    )
    face.set_defaults(func=_run)
