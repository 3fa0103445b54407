"""Hik-Connect's three fleet services, as the runner starts them (simulator.clouds.SERVICES):
the embedded broker (`mqtt`), the cloud's API (`hikconnect`) and the devices' link
(`hiklink`). All three are off unless `ServiceConfig.broker` is set."""

from __future__ import annotations

from nvrsim.simulator.clouds.hikconnect.app import CloudServer, serve_cloud
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.mqtt.broker import BrokerError, EmbeddedBroker, parse_broker_url
from nvrsim.simulator.clouds.mqtt.link import CloudLink
from nvrsim.simulator.core.plugin import ServiceContext, ServiceError, cannot_listen

EMBEDDED = "embedded"


def broker_address(sim: ServiceContext) -> tuple[str, int]:
    """Where the link and the cloud connect: the embedded broker, or the one named."""
    broker = sim.config.broker
    assert broker is not None
    if broker == EMBEDDED:
        service = sim.services["mqtt"]
        return service.host, service.port
    try:
        return parse_broker_url(broker)
    except BrokerError as exc:
        raise ServiceError(f"MQTT broker: {exc}") from None


async def start_broker(sim: ServiceContext) -> EmbeddedBroker | None:
    config = sim.config
    if config.broker != EMBEDDED:
        return None
    try:
        return await EmbeddedBroker(config.broker_host, config.broker_port).start()
    except OSError as exc:
        where = f"mqtt {config.broker_host}:{config.broker_port}"
        raise cannot_listen("MQTT broker", where, exc) from None


async def start_cloud(sim: ServiceContext) -> CloudServer | None:
    config = sim.config
    if config.broker is None or config.cloud_port is None:
        return None
    host, port = broker_address(sim)
    store = sim.journal.store
    cloud = Cloud(
        sim.clock,
        host,
        port,
        keepalive=config.mqtt_keepalive,
        test_mode=config.cloud_test_mode,
        on_event=sim.journal.publish,
        store=store.path / "cloud.json" if store is not None else None,
        save=sim.journal.save,
    )
    try:
        await cloud.start()
    except OSError as exc:
        raise ServiceError(f"Hik-Connect cloud: {exc}") from None
    return await serve_cloud(cloud, config.cloud_host, config.cloud_port)


async def start_link(sim: ServiceContext) -> CloudLink | None:
    config = sim.config
    if config.broker is None:
        return None
    host, port = broker_address(sim)
    link = CloudLink(
        sim.fleet,
        sim.clock,
        sim.journal,
        host,
        port,
        keepalive=config.mqtt_keepalive,
        per_device=config.mqtt_per_device,
    )
    return await link.start()
