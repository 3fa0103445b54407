"""The DMSS cloud as one of the simulator's services: its HTTP API, review timer and mail."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from nvrsim.simulator.clouds.dmss.app import CONTEXT, dmss_app
from nvrsim.simulator.clouds.dmss.mailer import Mailer, SmtpSettings
from nvrsim.simulator.clouds.dmss.rules import DmssCloud
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.plugin import ServiceContext, parse_address
from nvrsim.simulator.runtime.http_service import HttpService, listen


class DmssService(HttpService):
    """Serves the API; once a second (real time) ends due reviews and sends their mail,
    so an advanced clock takes effect without waiting for a request."""

    TICK = 1.0

    def __init__(self, runner: web.AppRunner, cloud: DmssCloud) -> None:
        super().__init__(runner)
        self.cloud = cloud
        self._context = runner.app[CONTEXT]
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def settle(self) -> None:
        self._context.settled()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.TICK)
            self.settle()

    async def close(self) -> None:
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker
        await super().close()


async def start_dmss(sim: ServiceContext) -> DmssService | None:
    if not sim.fleet.has_vendor("dahua"):
        return None  # started when the fleet has Dahua devices
    config, journal = sim.config, sim.journal
    store = journal.store

    def on_event(kind: str, serial: str | None = None, **data) -> None:
        journal.publish(kind, serial, **data)
        if store is not None:  # every change of the cloud's own state is kept with --state
            journal.save(store.save_dmss, cloud.snapshot())

    cloud = DmssCloud(
        sim.fleet,
        review_seconds=config.dmss_review_seconds,
        # The binding is all the cloud changes on a device.
        on_device=lambda d: sim.device_changed(
            d, {"dahua": {"dmss_account": d.dahua.dmss_account}}
        ),
        on_event=on_event,
    )
    if store is not None:
        try:
            cloud.restore(store.load_dmss())
        except ValueError as exc:
            raise FixtureError(f"{store.path / 'dmss.json'}: {exc}") from None
    cloud.ensure_fleet_accounts(sim.clock.now())
    smtp = None
    if config.smtp_server:
        host, port = parse_address(config.smtp_server)
        smtp = SmtpSettings(host, port)
    app = dmss_app(cloud, sim.clock, Mailer(smtp))
    return DmssService(await listen(app, "DMSS", config.dmss_host, config.dmss_port), cloud)
