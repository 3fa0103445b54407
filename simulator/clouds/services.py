"""The vendor clouds as fleet services, in the order the runner starts them: a service
that connects to another (the link to the broker) comes after it."""

from __future__ import annotations

from nvrsim.simulator.clouds.dmss.service import start_dmss
from nvrsim.simulator.clouds.hikconnect.service import start_broker, start_cloud, start_link
from nvrsim.simulator.core.plugin import Service, ServiceContext
from nvrsim.simulator.runtime.http_service import HttpService, listen


async def _start_portal(ctx: ServiceContext) -> HttpService | None:
    if not ctx.fleet.has_vendor("dlink"):
        return None  # started when the fleet has D-Link devices
    # Its templates (jinja2, 35 ms at import) load only for a fleet that serves it.
    from nvrsim.simulator.clouds.dlink_portal.app import portal_app
    from nvrsim.simulator.clouds.dlink_portal.fixture import load_portal

    portal = load_portal(ctx.config.portal_fixture, now=ctx.clock.now())
    where = (ctx.config.portal_host, ctx.config.portal_port)
    return HttpService(await listen(portal_app(portal, ctx.clock), "Portal", *where))


SERVICES = (
    Service("portal", "http", _start_portal),
    Service("dmss", "http", start_dmss),
    Service("mqtt", "mqtt", start_broker),
    Service("hikconnect", "http", start_cloud),
    Service("hiklink", "mqtt", start_link),
)
