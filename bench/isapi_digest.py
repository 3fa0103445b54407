"""ISAPI `deviceInfo` requests per second with Digest auth, against a bare aiohttp handler.

Each server runs in its own process so that the load generator (this process)
does not share its event loop. The baseline serves the same bytes from a bare
aiohttp handler with no auth, measured in the same run with the same client.
"""

import asyncio
import hashlib
import os
import sys
import time
from urllib.request import parse_http_list, parse_keqv_list

import aiohttp

REQUESTS = 4000
WORKERS = 16


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class _Digest:
    """Client side of RFC 7616 MD5/qop=auth: one nonce a worker, nc counting up."""

    def __init__(self, challenge: str, user: str, password: str) -> None:
        fields = parse_keqv_list(parse_http_list(challenge.removeprefix("Digest ")))
        self.realm, self.nonce = fields["realm"], fields["nonce"]
        self.ha1 = _md5(f"{user}:{self.realm}:{password}")
        self.user, self.nc = user, 0

    def header(self, method: str, uri: str) -> str:
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", os.urandom(8).hex()
        response = _md5(f"{self.ha1}:{self.nonce}:{nc}:{cnonce}:auth:{_md5(f'{method}:{uri}')}")
        return (
            f'Digest username="{self.user}", realm="{self.realm}", nonce="{self.nonce}", '
            f'uri="{uri}", algorithm=MD5, response="{response}", qop=auth, nc={nc}, '
            f'cnonce="{cnonce}"'
        )


async def _load(base: str, path: str, password: str | None) -> float:
    """Requests per second for REQUESTS GETs spread over WORKERS connections."""
    left = REQUESTS

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left
        digest = None
        while left > 0:
            left -= 1
            headers = {"Authorization": digest.header("GET", path)} if digest else {}
            async with session.get(base + path, headers=headers) as response:
                await response.read()
                if response.status == 401 and password is not None:
                    challenge = next(
                        h
                        for h in response.headers.getall("WWW-Authenticate")
                        if h.startswith("Digest")
                    )
                    digest = _Digest(challenge, "admin", password)
                    left += 1
                elif response.status != 200:
                    raise RuntimeError(f"{base + path}: HTTP {response.status}")

    connector = aiohttp.TCPConnector(limit=WORKERS)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(WORKERS)))
        return REQUESTS / (time.perf_counter() - start)


async def _server(kind: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.isapi_digest",
        "--serve",
        kind,
        stdout=asyncio.subprocess.PIPE,
    )
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    return process, line.decode().strip()


async def run() -> str:
    figures = {}
    for kind in ("nvrsim", "bare"):
        process, base = await _server(kind)
        try:
            password = "Bench12345" if kind == "nvrsim" else None
            await _load(base, "/ISAPI/System/deviceInfo", password)  # warm-up
            figures[kind] = await _load(base, "/ISAPI/System/deviceInfo", password)
        finally:
            process.terminate()
            await process.wait()
    return (
        f"ISAPI GET deviceInfo, {REQUESTS} requests over {WORKERS} connections\n"
        f"  nvrsim with Digest auth:    {figures['nvrsim']:.0f} req/s\n"
        f"  bare aiohttp handler:       {figures['bare']:.0f} req/s\n"
        f"  ratio:                      {figures['nvrsim'] / figures['bare']:.2f}"
        " of the bare handler's rate"
    )


async def _serve(kind: str) -> None:
    from aiohttp import web

    from nvrsim.protocols import isapi
    from nvrsim.simulator.core.clock import RealClock
    from nvrsim.simulator.hikvision.isapi import isapi_app
    from nvrsim.simulator.hikvision.isapi_handlers import describe
    from nvrsim.simulator.runtime.fixtures import build_fleet

    fleet = build_fleet(
        {
            "device": [
                {
                    "name": "nvr",
                    "vendor": "hikvision",
                    "kind": "nvr",
                    "model": "DS-7608NI-K2",
                    "firmware": "V4.30.085 build 200916",
                    "admin_password": "Bench12345",
                    "ip_channels": 8,
                }
            ]
        }
    )
    device = fleet.devices[0]
    app = isapi_app(device, RealClock())
    if kind == "bare":
        body = isapi.device_info(describe(device), device.quirks.isapi_namespace)

        async def device_info(_request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/xml")

        app = web.Application()
        app.router.add_get("/ISAPI/System/deviceInfo", device_info)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(_serve(sys.argv[2]))
    else:
        print(asyncio.run(run()))
