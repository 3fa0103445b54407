"""Simulator.start for N Hikvision cameras: seconds, and RSS per device above the process's
baseline, beside a bare aiohttp application listening on as many loopback sockets.

`python -m bench.fleet_start [N]` (5,000 by default: one worker's share of a 10,000-camera
fleet on a 2-core machine). Each side runs in a fresh process of its own, so that memory
one gave back to the allocator does not flatter the other. nvrsim's side builds the fleet
first (not timed: bench.fleet_build measures it), then times `Simulator.start` in process:
every camera's web and RTSP sockets, SADP and WS-Discovery. The baseline builds one
aiohttp Application with one handler and one AppRunner, and listens on N loopback
addresses, two pre-bound sockets each (`web.SockSite`) as a camera holds (HTTP, RTSP):
the floor for that many aiohttp servers; and the same with `web.TCPSite` (asyncio
binding each socket from a host and port), aiohttp's usual way, for comparison.
RSS is the resident set read from /proc before and after.

A camera holds two sockets (HTTP, RTSP), so N = 10,000 needs more than the 20,000 open
files this machine allows one process: that is what `nvrsim run --workers` is for.
"""

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time

DEVICES = 5000
POOL = "127.90.0.0/16"


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fleet(count: int):
    from nvrsim.simulator.runtime.fixtures import build_fleet

    return build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": POOL},
            "device": [
                {
                    "name": "cam",
                    "count": count,
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": "Bench12345",
                    "ports": {"http": 0, "rtsp": 0},
                }
            ],
        }
    )


async def _nvrsim(count: int) -> dict:
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

    fleet = _fleet(count)
    config = ServiceConfig(sadp_port=0, wsd_port=0, cloud_port=None)
    simulator = Simulator(fleet, config=config)
    before = _rss()
    start = time.perf_counter()
    await simulator.start()
    seconds = time.perf_counter() - start
    after = _rss()
    await simulator.stop()
    return {"seconds": seconds, "bytes": after - before}


async def _bare(count: int, way: str = "sock") -> dict:
    from ipaddress import ip_network

    from aiohttp import web

    from nvrsim.simulator.runtime.limits import open_file_limit

    limit = open_file_limit()  # as `nvrsim run` raises it
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    hosts = ip_network(POOL).hosts()
    next(hosts)  # the pool's gateway

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hello")

    before = _rss()
    start = time.perf_counter()
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    for _ in range(count):
        host = str(next(hosts))
        for _socket in ("http", "rtsp"):  # as many as the cameras hold
            if way == "tcp":  # aiohttp's usual way: asyncio binds, given a host
                await web.TCPSite(runner, host, 0, reuse_address=True).start()
                continue
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, 0))
            await web.SockSite(runner, sock).start()
    seconds = time.perf_counter() - start
    after = _rss()
    await runner.cleanup()
    return {"seconds": seconds, "bytes": after - before}


def _measure(side: str, count: int) -> dict:
    child = subprocess.run(
        [sys.executable, "-m", "bench.fleet_start", "--side", side, str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.splitlines()[-1])


async def run(count: int = DEVICES) -> str:
    loop = asyncio.get_running_loop()
    ours = await loop.run_in_executor(None, _measure, "nvrsim", count)
    bare = await loop.run_in_executor(None, _measure, "bare", count)
    tcp = await loop.run_in_executor(None, _measure, "tcp", count)
    load = os.getloadavg()[0]
    return (
        f"Simulator.start, {count} Hikvision cameras (HTTP and RTSP each; load {load:.2f})\n"
        f"  nvrsim:                     {ours['seconds']:.2f} s, "
        f"{ours['bytes'] / count / 1024:.1f} KiB RSS per device\n"
        f"  bare aiohttp, {2 * count} sockets: {bare['seconds']:.2f} s, "
        f"{bare['bytes'] / count / 1024:.1f} KiB RSS per address (two sockets)\n"
        f"  the same with TCPSite:      {tcp['seconds']:.2f} s (asyncio binding, given a host)\n"
        f"  ratio:                      {ours['seconds'] / bare['seconds']:.2f} of its time, "
        f"{ours['bytes'] / max(bare['bytes'], 1):.2f} of its memory"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--side"]:
        side, count = sys.argv[2], int(sys.argv[3])
        figures = asyncio.run(_nvrsim(count) if side == "nvrsim" else _bare(count, side))
        print(json.dumps(figures))
    else:
        print(asyncio.run(run(*(int(a) for a in sys.argv[1:2]))))
