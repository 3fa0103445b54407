"""A fleet over worker processes: from the command to the ready file, then ISAPI and SADP.

Two fleets of Hikvision cameras, each started as a user would (`nvrsim run FILE
--ready-file R`, from the command to the `ready:` line): 10,000 with the default number
of workers, then 100,000 with as many workers as the open-file limit needs. On the
large fleet, ISAPI deviceInfo from a random sample of 1,000 devices (Digest, 100 at a
time; every one must answer) and one SADP inquiry that every device must answer
within 10 s (an asker with a large receive buffer, counting distinct serials).
Memory is the proportional set size summed over the supervisor and its workers, and,
per device, above that of the same number of processes serving a fleet of ten.

Baseline, in the same run: a bare aiohttp application on 10,000 loopback sockets, its
time to listen (the floor for anything that serves 10,000 devices' HTTP).
`BENCH_WORKERS_LARGE=N` makes the large fleet N devices (a quick look). Bounded: each
start has a deadline, and everything started is stopped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
import resource
import signal
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from nvrsim.simulator.runtime.limits import open_file_limit

SMALL = 10_000
EMPTY = 10  # devices: the fleet whose memory is the processes' baseline
LARGE = int(os.environ.get("BENCH_WORKERS_LARGE", "100000"))
SAMPLE = 1_000
SADP_WITHIN = 10.0
SADP_BOUND = 180.0  # how long the asker listens for the rest
START_WITHIN = 1800.0  # seconds: a deadline, not a target
PASSWORD = "Bench12345"
FLEET = """
[fleet]
seed = "bench-workers"
address_pool = "{pool}"

[[device]]
name = "cam"
count = {count}
vendor = "hikvision"
kind = "ipc"
model = "DS-2CD2385G1-I"
firmware = "V5.6.2build 190701"
admin_password = "{password}"
ports = {{ http = 0, rtsp = 0 }}
"""
PORTS = [
    *("--sadp-port", "0", "--wsd-port", "0", "--broker-port", "0", "--cloud-port", "0"),
    *("--control-port", "0"),
]


async def _bare_aiohttp(sockets: int) -> float:
    """Seconds for one bare aiohttp application to listen on `sockets` loopback addresses."""
    app = web.Application()
    app.router.add_get("/", lambda _request: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    hosts = ipaddress.ip_network("127.93.0.0/16").hosts()
    start = time.perf_counter()
    try:
        for _ in range(sockets):
            await web.TCPSite(runner, str(next(hosts)), 0).start()
        return time.perf_counter() - start
    finally:
        await runner.cleanup()


async def _start(fleet_file: Path, ready: Path, *options: str):
    """(process, seconds from the command to the ready line, the ready document)."""
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "nvrsim", "run", str(fleet_file), "--ready-file", str(ready)),
        *PORTS,
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_WITHIN):
            async for line in process.stdout:
                if line.startswith(b"ready: "):
                    seconds = time.perf_counter() - start
                    draining = asyncio.create_task(_drain(process.stdout))
                    _DRAINING.add(draining)
                    draining.add_done_callback(_DRAINING.discard)
                    return process, seconds, json.loads(ready.read_text())
    except TimeoutError:
        pass
    await _stop(process)
    raise RuntimeError(f"{fleet_file.name}: not ready within {START_WITHIN:g} s")


_DRAINING: set[asyncio.Task[None]] = set()  # the banner's rest, read so no pipe fills


async def _drain(stream: asyncio.StreamReader) -> None:
    async for _line in stream:
        pass


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


def _pss_kb(ready: dict) -> int:
    """The fleet's memory over the supervisor and its workers: proportional set size, so
    pages a forked worker still shares with the supervisor are counted once, not once a
    process as resident set sizes would."""
    total = 0
    for pid in [ready["pid"], *(w["pid"] for w in ready.get("workers", []))]:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total += int(re.search(r"Pss:\s+(\d+)", rollup).group(1))  # type: ignore[union-attr]
    return total


async def _device_info(devices: list[dict]) -> tuple[int, float]:
    """(how many answered 200, seconds) for deviceInfo from each of `devices`."""
    gate = asyncio.Semaphore(100)
    connector = aiohttp.TCPConnector(limit=100, force_close=True)

    async def one(session: aiohttp.ClientSession, device: dict) -> bool:
        url = f"http://{device['address']}:{device['ports']['http']}/ISAPI/System/deviceInfo"
        async with gate:
            try:
                # A challenge each: the middleware's nonce is one host's, not the next one's.
                auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
                async with session.get(url, middlewares=(auth,)) as reply:
                    await reply.read()
                    return reply.status == 200
            except (aiohttp.ClientError, OSError):
                return False

    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        answers = await asyncio.gather(*(one(session, d) for d in devices))
    return sum(answers), time.perf_counter() - start


async def _sadp_inquiry(port: int, expected: int) -> tuple[int, float, int, float]:
    """One inquiry: (distinct serials heard within SADP_WITHIN, seconds until the first
    reply, distinct serials heard in all, seconds until the last of them), listening
    at most SADP_BOUND seconds."""
    inquiry = (
        f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{str(uuid.uuid4()).upper()}'
        "</Uuid><Types>inquiry</Types></Probe>"
    ).encode()
    heard: dict[bytes, float] = {}
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:  # as root, past net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE, 256 << 20)
        except (OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 20)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        start = time.perf_counter()
        await loop.sock_sendto(sock, inquiry, ("127.0.0.1", port))
        try:
            async with asyncio.timeout(SADP_BOUND):
                while len(heard) < expected:
                    data = await loop.sock_recv(sock, 65535)
                    found = re.search(rb"<DeviceSN>([^<]*)</DeviceSN>", data)
                    if found:
                        heard.setdefault(found.group(1), time.perf_counter() - start)
        except TimeoutError:
            pass
    times = sorted(heard.values()) or [0.0]
    within = sum(1 for t in times if t <= SADP_WITHIN)
    return within, times[0], len(heard), times[-1]


async def _fleet(count: int, pool: str, workdir: Path, *options: str) -> dict:
    fleet_file = workdir / f"fleet-{count}.toml"
    fleet_file.write_text(FLEET.format(pool=pool, count=count, password=PASSWORD))
    process, seconds, ready = await _start(fleet_file, workdir / f"ready-{count}.json", *options)
    try:
        figures = {
            "seconds": seconds,
            "workers": len(ready.get("workers", [])) or 1,
            "devices": len(ready["devices"]),
            "pss_kb": _pss_kb(ready),
        }
        if count == LARGE:
            sample = random.Random(17).sample(ready["devices"], min(SAMPLE, count))
            figures["isapi"] = await _device_info(sample)
            figures["sadp"] = await _sadp_inquiry(ready["services"]["sadp"]["port"], count)
        return figures
    finally:
        await _stop(process)


async def run() -> str:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    baseline = await _bare_aiohttp(SMALL)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        small = await _fleet(SMALL, "127.94.0.0/16", Path(tmp))
        # The processes' own baseline: as many workers, serving a fleet of ten.
        empty = await _fleet(EMPTY, "127.95.0.0/16", Path(tmp), "--workers", str(small["workers"]))
        large = await _fleet(LARGE, "127.96.0.0/14", Path(tmp))
    above = (small["pss_kb"] - empty["pss_kb"]) / (small["devices"] - empty["devices"])
    answered, isapi_seconds = large["isapi"]
    within, first, heard, last = large["sadp"]
    load = os.getloadavg()
    return (
        f"fleet over workers (open-file limit {open_file_limit()}; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):\n"
        f"  baseline: bare aiohttp listening on {SMALL} loopback sockets: {baseline:.2f} s\n"
        f"  {small['devices']} cameras, {small['workers']} worker(s): ready in "
        f"{small['seconds']:.2f} s ({small['seconds'] / baseline:.1f}x baseline), "
        f"{small['pss_kb'] / small['devices']:.1f} KB a device (PSS, all processes), "
        f"{above:.1f} KB a device above the same processes serving {EMPTY} "
        f"({empty['pss_kb'] / 1024:.0f} MB)\n"
        f"  {large['devices']} cameras, {large['workers']} workers: ready in "
        f"{large['seconds']:.2f} s ({large['seconds'] / baseline:.1f}x baseline), "
        f"{large['pss_kb'] / large['devices']:.1f} KB a device (PSS, all processes)\n"
        f"    ISAPI deviceInfo from {min(SAMPLE, LARGE)} random devices: {answered} answered "
        f"in {isapi_seconds:.2f} s\n"
        f"    one SADP inquiry: {within} of {LARGE} distinct serials within {SADP_WITHIN:g} s; "
        f"first after {first:.2f} s, {heard} in all after {last:.2f} s "
        f"(listening at most {SADP_BOUND:g} s)"
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
