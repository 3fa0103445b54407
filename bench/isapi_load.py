"""1,000 concurrent ISAPI clients spread over a fleet: requests per second and p99 latency,
beside a bare aiohttp handler serving the same bytes on as many sockets.

`python -m bench.isapi_load [DEVICES [CLIENTS]]` (5,000 cameras, 1,000 clients by
default). The server runs in a process of its own (the load generator, this process,
must not share its event loop): nvrsim's `Simulator` with every camera on its own
address, or, for the baseline, one bare aiohttp Application answering
GET /ISAPI/System/deviceInfo with a fixed camera's bytes, on the same number of loopback
addresses (one `web.SockSite` each); it challenges a request without credentials and
checks none, so that its clients do the same work as nvrsim's. Each client is one
keep-alive connection to one device (a random sample, the same for every server: a stride
would put every client in one worker's share, each worker's being every N-th device), which
answers the first GET's 401 with Digest as real clients do, once, then sends GET after
GET with the nonce count rising, for `SECONDS`; latency is from writing a request to
reading its last byte. The client is a few lines over asyncio streams so that it costs
less than either server; both sides get the same client. Each server's CPU time over the
load, per request answered, is quoted too: it moves far less than the throughput when other
work shares the cores.

Then the issue's own case, 10,000 cameras, as a user serves them: `nvrsim run FILE`, which
on a machine whose open-file limit cannot hold them in one process (20,000 here: two
sockets a camera) splits them over its default number of workers, beside the bare
handler on 10,000 sockets in one process. Its CPU time is summed over the supervisor and
the workers. The first comparison is a server's own cost; this one is what a client
suite pointed at a 10,000-camera fleet sees.
"""

import asyncio
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import parse_http_list, parse_keqv_list

from bench import fleet_workers

DEVICES = 5000
CLIENTS = 1000
FLEET = 10_000  # the case, served as `nvrsim run` serves it
SECONDS = 8.0
PATH = "/ISAPI/System/deviceInfo"
PASSWORD = "Bench12345"
POOL = "127.91.0.0/16"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class _Client:
    """One keep-alive connection speaking just enough HTTP/1.1."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.digest: dict[str, str] | None = None
        self.nc = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        status, headers, _ = await self.get()
        if status == 401:  # Digest, once per connection
            challenge = next(
                v for k, v in headers if k == "www-authenticate" and v.startswith("Digest")
            )
            self.digest = parse_keqv_list(parse_http_list(challenge.removeprefix("Digest ")))
            self.ha1 = _md5(f"admin:{self.digest['realm']}:{PASSWORD}")
            status, _, _ = await self.get()
        assert status == 200, status

    def _authorization(self) -> str:
        if self.digest is None:
            return ""
        self.nc += 1
        nc, cnonce, nonce = f"{self.nc:08x}", os.urandom(8).hex(), self.digest["nonce"]
        response = _md5(f"{self.ha1}:{nonce}:{nc}:{cnonce}:auth:{_md5(f'GET:{PATH}')}")
        return (
            f'Authorization: Digest username="admin", realm="{self.digest["realm"]}", '
            f'nonce="{nonce}", uri="{PATH}", algorithm=MD5, response="{response}", '
            f'qop=auth, nc={nc}, cnonce="{cnonce}"\r\n'
        )

    async def get(self) -> tuple[int, list[tuple[str, str]], bytes]:
        self.writer.write(
            f"GET {PATH} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"{self._authorization()}\r\n".encode()
        )
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = [
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in head[1:] if line)
        ]
        length = int(next(v for k, v in headers if k == "content-length"))
        return int(head[0].split()[1]), headers, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _load(addresses: list[tuple[str, int]], clients: int) -> dict:
    picked = random.Random(17).sample(addresses, clients)
    connections = [_Client(host, port) for host, port in picked]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + SECONDS

    async def drive(client: _Client) -> None:
        while (start := loop.time()) < end:
            status, _, _ = await client.get()
            assert status == 200, status
            latencies.append(loop.time() - start)

    started = time.perf_counter()
    await asyncio.gather(*(drive(c) for c in connections))
    elapsed = time.perf_counter() - started
    for client in connections:
        client.close()
    latencies.sort()
    return {
        # Each opening is two requests (the 401, then the first with Digest).
        "count": 2 * len(connections) + len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
    }


def _cpu_seconds(*pids: int) -> float:
    """The server's CPU time so far (user and system, from /proc, summed over its
    processes): on cores other work shares, the throughput moves by half from one run to
    the next, its cost far less."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def _loaded(addresses: list[tuple[str, int]], clients: int, *pids: int) -> dict:
    """`_load`, with the server's CPU time a request."""
    before = _cpu_seconds(*pids)
    figures = await _load(addresses, clients)
    figures["cpu"] = (_cpu_seconds(*pids) - before) / figures["count"]
    return figures


async def _measure(side: str, devices: int, clients: int) -> dict:
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.isapi_load",
        "--serve",
        side,
        str(devices),
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        limit=1 << 24,  # one line holds every address
    )
    try:
        assert server.stdout is not None
        addresses = [tuple(a) for a in json.loads(await server.stdout.readline())]
        return await _loaded(addresses, clients, server.pid)  # type: ignore[arg-type]
    finally:
        server.kill()
        await server.wait()


async def _measure_run(devices: int, clients: int) -> dict:
    """nvrsim as a user starts it on `devices` cameras (`bench.fleet_workers`' fleet and
    start), with its default number of workers."""
    with tempfile.TemporaryDirectory(prefix="bench-isapi-") as tmp:
        fleet_file, ready_file = Path(tmp) / "fleet.toml", Path(tmp) / "ready.json"
        fleet_file.write_text(
            fleet_workers.FLEET.format(pool=POOL, count=devices, password=PASSWORD)
        )
        process, _, ready = await fleet_workers._start(fleet_file, ready_file)
        try:
            addresses = [(d["address"], d["ports"]["http"]) for d in ready["devices"]]
            pids = [ready["pid"], *(w["pid"] for w in ready.get("workers", []))]
            figures = await _loaded(addresses, clients, *pids)
            figures["workers"] = len(pids) - 1
            return figures
        finally:
            await fleet_workers._stop(process)


async def run(devices: int = DEVICES, clients: int = CLIENTS) -> str:
    ours = await _measure("nvrsim", devices, clients)
    bare = await _measure("bare", devices, clients)
    fleet = await _measure_run(FLEET, clients)
    fleet_bare = await _measure("bare", FLEET, clients)
    load = os.getloadavg()[0]
    line = "{rate:.0f} req/s, p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms"

    def show(figures: dict) -> str:
        return line.format(
            rate=figures["rate"], p50_ms=figures["p50"] * 1e3, p99_ms=figures["p99"] * 1e3
        )

    return (
        f"ISAPI GET deviceInfo, {clients} keep-alive clients over {devices} cameras "
        f"for {SECONDS:g} s (load {load:.2f})\n"
        f"  nvrsim with Digest auth:    {show(ours)}\n"
        f"  bare aiohttp handler:       {show(bare)}\n"
        f"  ratio:                      {ours['rate'] / bare['rate']:.2f} of its throughput, "
        f"{ours['p99'] / bare['p99']:.2f} of its p99\n"
        f"  server CPU a request:       {ours['cpu'] * 1e6:.0f} us, bare {bare['cpu'] * 1e6:.0f}"
        f" us: {bare['cpu'] / ours['cpu']:.2f} of its throughput where a server's core is full\n"
        f"{FLEET} cameras as `nvrsim run` serves them here ({fleet['workers'] or 1} "
        f"process(es) serving devices), the bare handler in one process:\n"
        f"  nvrsim run:                 {show(fleet)}\n"
        f"  bare aiohttp handler:       {show(fleet_bare)}\n"
        f"  ratio:                      {fleet['rate'] / fleet_bare['rate']:.2f} of its "
        f"throughput, {fleet['p99'] / fleet_bare['p99']:.2f} of its p99\n"
        f"  server CPU a request:       {fleet['cpu'] * 1e6:.0f} us over every process, "
        f"bare {fleet_bare['cpu'] * 1e6:.0f} us"
    )


def _fleet(count: int):
    from nvrsim.simulator.runtime.fixtures import build_fleet

    return build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": POOL, "client_networks": ["127.0.0.0/8"]},
            "device": [
                {
                    "name": "cam",
                    "count": count,
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": PASSWORD,
                    "ports": {"http": 0, "rtsp": 0},
                }
            ],
        }
    )


async def _serve(side: str, count: int) -> None:
    """Serve, print the devices' addresses as one JSON line, and wait to be killed."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # as `nvrsim run` raises it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from nvrsim.simulator.runtime import heap

    fleet = _fleet(count)
    heap.settle()  # as `nvrsim run` does once the fleet is built, for either server
    if side == "nvrsim":
        from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

        config = ServiceConfig(sadp_port=0, wsd_port=0, cloud_port=None)
        simulator = Simulator(fleet, config=config)
        await simulator.start()
        addresses = [(d.network.ip, d.network.http_port) for d in fleet]
    else:
        addresses = await _bare(fleet)
    print(json.dumps(addresses), flush=True)
    await asyncio.Event().wait()


async def _bare(fleet) -> list[tuple[str, int]]:
    import socket

    from aiohttp import web

    from nvrsim.protocols import isapi
    from nvrsim.simulator.hikvision.isapi_handlers import describe

    device = fleet.devices[0]
    body = isapi.device_info(describe(device), device.quirks.isapi_namespace)

    async def device_info(request: web.Request) -> web.Response:
        if "Authorization" not in request.headers:  # so that its clients work as nvrsim's
            challenge = 'Digest realm="bare", qop="auth", nonce="0123456789abcdef"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        return web.Response(body=body, content_type="application/xml")

    app = web.Application()
    app.router.add_get(PATH, device_info)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    addresses = []
    for each in fleet:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((each.network.ip, 0))
        await web.SockSite(runner, sock).start()
        addresses.append(sock.getsockname()[:2])
    return addresses


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(_serve(sys.argv[2], int(sys.argv[3])))
    else:
        print(asyncio.run(run(*(int(a) for a in sys.argv[1:3]))))
