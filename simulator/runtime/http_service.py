"""A fleet service's HTTP API on one address (the control API, the clouds, the portal):
set up, listening, and closed, the same way for each."""

from __future__ import annotations

from aiohttp import web

from nvrsim.simulator.core.plugin import cannot_listen


class HttpService:
    """An aiohttp application listening on one address."""

    def __init__(self, runner: web.AppRunner) -> None:
        self.runner = runner
        self.host, self.port = runner.addresses[0][:2]

    async def close(self) -> None:
        await self.runner.cleanup()


async def listen(
    app: web.Application, name: str, host: str, port: int, *, reuse_address: bool = True
) -> web.AppRunner:
    """`app` listening on host:port; ServiceError naming `name` and the address, with
    nothing left set up, when it cannot."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=reuse_address).start()
    except OSError as exc:
        await runner.cleanup()
        raise cannot_listen(name, f"http {host}:{port}", exc) from None
    return runner
