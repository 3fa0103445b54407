"""Shared by the ISAPI tests: servers on 127.0.0.1 port 0, a Digest client written
from RFC 7616, and device snapshots. The hostile-input strategies that lived here are
public now: nvrsim.strategies.isapi."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.request import parse_http_list, parse_keqv_list

from aiohttp import web

from nvrsim.simulator.core.device import Device

CLIENT = "127.0.0.1"


# ---------------------------------------------------------------- serving


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` in the running loop; yields the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, CLIENT, 0).start()
        yield f"http://{CLIENT}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class ServerThread:
    """Serve `app` from a loop in a background thread, for synchronous clients."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="isapi-test-server")
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self.app)
        try:
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, CLIENT, 0)
            self.loop.run_until_complete(site.start())
            self.url = f"http://{CLIENT}:{runner.addresses[0][1]}"
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.loop.close()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


# ---------------------------------------------------------------- clients


def parse_challenge(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme == "Digest", header
    return parse_keqv_list(parse_http_list(rest))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_authorization(
    challenge: str,
    *,
    method: str,
    uri: str,
    password: str,
    user: str = "admin",
    nc: int = 1,
    cnonce: str = "0a4f113b",
    realm: str | None = None,
    nonce: str | None = None,
) -> str:
    """An Authorization header answering `challenge`; realm/nonce can be overridden to lie."""
    params = parse_challenge(challenge)
    realm = params["realm"] if realm is None else realm
    nonce = params["nonce"] if nonce is None else nonce
    count = f"{nc:08x}"
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    response = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm="MD5", qop=auth, nc={count}, cnonce="{cnonce}"'
    )


def basic_authorization(password: str, user: str = "admin") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---------------------------------------------------------------- state snapshots


def device_state(device: Device, now: float, client: str = CLIENT) -> tuple:
    """Everything a request could change on the device, as seen from `client`."""
    return (
        device.admin_password,
        dataclasses.asdict(device.hik_connect),
        device.web_auth,
        device.lockout.retries_left(client, now),
        device.lockout.unlock_in(client, now),
        sorted(device.motion_detection),
    )
