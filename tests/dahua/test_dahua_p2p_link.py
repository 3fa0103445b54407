"""Dahua P2P over the devices' MQTT link: `p2p_online` is what the link achieved.

The same link that carries Hik-Connect devices registers a Dahua device's P2P
status at DMSS (region `dmss`); the `cloud_offline` fault and switching
T2UServer off take it off again. Against the embedded broker and mosquitto.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiomqtt
import pytest

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import make_fleet, until
from tests.dahua.test_dhip import dahua_entry
from tests.mqtt_brokers import BROKERS, broker

DEADLINE = 10.0


async def retained_status(host: str, port: int, serial: str) -> hc.DeviceStatus:
    async with aiomqtt.Client(host, port, identifier=f"test-{serial[-6:]}") as client:
        await client.subscribe(hc.status_topic("dmss", serial), qos=1)
        async with asyncio.timeout(DEADLINE):
            async for message in client.messages:
                return hc.DeviceStatus.decode(message.payload)
    raise AssertionError("no retained status")


@pytest.mark.parametrize("kind", BROKERS)
async def test_the_link_drives_p2p_online_and_the_fault_cuts_it(kind, tmp_path: Path):
    clock = VirtualClock()
    # The fixture says offline: only the link can bring it online.
    fleet = make_fleet(
        dahua_entry("nvr", dahua={"p2p_link": False, "dmss_account": "owner@example.com"}),
        clock=clock,
        address_pool="127.87.0.0/24",
    )
    async with broker(kind, tmp_path) as (host, port):
        config = ServiceConfig.on_free_ports(
            broker=f"mqtt://{host}:{port}",
            mqtt_keepalive=2,
        )
        async with Simulator(fleet, clock, config) as sim:
            nvr = fleet.find("nvr")
            await until(lambda: nvr.p2p_online, "P2P online through the link")
            status = await retained_status(host, port, nvr.serial)
            assert status.online and status.bound_account == "owner@example.com"
            assert (
                sim.services["hikconnect"].cloud.registry.find(hc.short_serial(nvr.serial)) is None
            )  # Hik-Connect's cloud ignores DMSS's registrations

            nvr.own_faults = replace(nvr.own_faults, cloud_offline=True)
            sim.journal.commit(nvr)
            await until(lambda: not nvr.dahua.p2p_link, "the fault takes P2P off the link")
            assert not (await retained_status(host, port, nvr.serial)).online

            nvr.own_faults = replace(nvr.own_faults, cloud_offline=False)
            sim.journal.commit(nvr)
            await until(lambda: nvr.p2p_online, "back online")
            nvr.dahua.t2u_enable = False  # T2UServer.Enable off, as RPC2 or the menu does
            sim.journal.commit(nvr)
            await until(lambda: not nvr.dahua.p2p_link, "T2UServer off leaves the link")
