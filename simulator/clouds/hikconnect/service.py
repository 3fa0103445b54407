"""Hik-Connect's three fleet services, as the runner starts them (simulator.clouds.SERVICES):
the embedded broker (`mqtt`), the cloud's API (`hikconnect`) and the devices' link
(`hiklink`). All three are off unless `ServiceConfig.broker` is set.

Choices where the public record is silent: the per-device link is refused at start, in
one line, when its connections would not fit beside the devices' own sockets under the
open-file limit (a device counted at two, web and RTSP; the embedded broker's end of
each connection counted in this process too), rather than failing device by device.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence

from nvrsim.simulator.clouds.hikconnect.app import CloudServer, serve_cloud
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.hikconnect.rules import home_region
from nvrsim.simulator.clouds.mqtt.broker import BrokerError, EmbeddedBroker, parse_broker_url
from nvrsim.simulator.clouds.mqtt.link import CloudLink
from nvrsim.simulator.core.device import Device
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
    if config.mqtt_per_device:
        refuse_per_device_beyond(sim.fleet.devices, embedded=config.broker == EMBEDDED)
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


DEVICE_SOCKETS = 2  # a device's own: its web server and its RTSP server


def per_device_descriptors(devices: Sequence[Device], *, embedded: bool) -> int:
    """Open files the per-device link adds to this process: a connection for each device
    its cloud may know, and the broker's end of it when the embedded broker runs here."""
    connections = sum(1 for d in devices if home_region(d) is not None)
    return connections * (2 if embedded else 1)


def refuse_per_device_beyond(
    devices: Sequence[Device],
    *,
    embedded: bool,
    limit: int | None = None,
    open_now: int | None = None,
) -> None:
    """ServiceError, before a connection is made, when the per-device link's connections
    and the devices' own sockets would not fit under `limit` (this process's)."""
    if limit is None:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if limit == resource.RLIM_INFINITY:
            return
    if open_now is None:
        open_now = _open_files()
    link = per_device_descriptors(devices, embedded=embedded)
    needed = open_now + len(devices) * DEVICE_SOCKETS + link
    if needed <= limit:
        return
    broker = " (the embedded broker's end of each included)" if embedded else ""
    raise ServiceError(
        f"--mqtt-connections per-device: {len(devices)} devices need {link} more open files "
        f"for their connections{broker}, {needed} in all, but this process may open "
        f"{limit}: use --mqtt-connections shared (one connection for the fleet), "
        "an external broker (--broker mqtt://HOST:PORT), or more processes (--workers N)"
    )


def _open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: count none, the limit still applies to the rest
        return 0
