"""The vendor clouds as fleet services, in the order the runner starts them: a service
that connects to another (the link to the broker) comes after it."""

from __future__ import annotations

from aiohttp import web

from simulator.clouds.dlink_portal.app import portal_app
from simulator.clouds.dlink_portal.fixture import load_portal
from simulator.clouds.dmss.service import start_dmss
from simulator.clouds.hikconnect.service import start_broker, start_cloud, start_link
from simulator.core.plugin import Service, ServiceContext, cannot_listen


class PortalService:
    """The D-Link support portal on its own HTTP port."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner
        self.host, self.port = runner.addresses[0][:2]

    async def close(self) -> None:
        await self._runner.cleanup()


async def _start_portal(ctx: ServiceContext) -> PortalService | None:
    if not any(True for _ in ctx.fleet.of_vendor("dlink")):
        return None  # started when the fleet has D-Link devices
    portal = load_portal(ctx.config.portal_fixture, now=ctx.clock.now())
    runner = web.AppRunner(portal_app(portal, ctx.clock), access_log=None, handle_signals=False)
    await runner.setup()
    host, port = ctx.config.portal_host, ctx.config.portal_port
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as exc:
        await runner.cleanup()
        raise cannot_listen("Portal", f"http {host}:{port}", exc) from None
    return PortalService(runner)


SERVICES = (
    Service("portal", "http", _start_portal),
    Service("dmss", "http", start_dmss),
    Service("mqtt", "mqtt", start_broker),
    Service("hikconnect", "http", start_cloud),
    Service("hiklink", "mqtt", start_link),
)
