"""The device link's own costs, kept cheap without changing what it says (issue 17).

- The journal tells the link of every change, its own writes of `link_online` too:
  those it recognises (`CloudLink._echo`, by the field names in `LINK_FIELDS`)
  and does not look at again; anyone else's write of the same field it puts right.
- One deadline per batch of publishes instead of aiomqtt's per message: a broker
  that never acknowledges still costs the connection, which is made again.
- The per-device link is refused at start, in one line, when its connections would
  not fit under the open-file limit beside the devices' own sockets.
- A status is encoded as before (`DeviceStatus.encode` no longer deep-copies).
"""

from __future__ import annotations

import asyncio
import json
import resource
from dataclasses import asdict
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect import service
from nvrsim.simulator.clouds.hikconnect.rules import set_link_online
from nvrsim.simulator.clouds.mqtt import link as link_module
from nvrsim.simulator.clouds.mqtt.link import LINK_FIELD, LINK_FIELDS, CloudLink
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.runtime.journal import Journal
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from nvrsim.simulator.runtime.state import device_entry
from tests.clouds.test_hikconnect_e2e import cloudy
from tests.conftest import hik_camera, hik_entry, make_fleet, until
from tests.dahua.test_dhip import dahua_camera


@pytest.mark.parametrize(
    "entry",
    [
        hik_entry("hik", hik_connect={"enabled": True, "online": False}),
        dahua_camera("dahua", dahua={"p2p_link": False}),
    ],
    ids=["hikvision", "dahua"],
)
async def test_the_links_own_write_is_named_in_link_fields(entry: dict):
    """Renaming the field a vendor keeps `link_online` in must fail here, not silently
    turn the echo into a second look at every device (or hide a real change)."""
    clock = VirtualClock()
    (device,) = make_fleet(entry, clock=clock).devices
    journal = Journal(clock)
    journal.watch(device)
    events = journal.subscribe()
    set_link_online(device, True)
    journal.commit(device)
    event = await anext(aiter(events))
    assert event.kind == "device.changed"
    assert event.data["changes"] == {LINK_FIELD[device.vendor]: [False, True]}
    assert LINK_FIELD[device.vendor] in LINK_FIELDS


@pytest.mark.parametrize(
    "entry",
    [
        hik_entry("hik", hik_connect={"enabled": True, "online": False}),
        dahua_camera("dahua", dahua={"p2p_link": False}),
    ],
    ids=["hikvision", "dahua"],
)
async def test_committing_the_link_field_alone_tells_what_a_whole_commit_would(entry: dict):
    """The link commits its field without building the device's whole entry; the journal
    must then stand where a full commit would have left it, and tell the same change."""
    clock = VirtualClock()
    (device,) = make_fleet(entry, clock=clock).devices
    journal = Journal(clock)
    journal.watch(device)
    events = aiter(journal.subscribe())
    name = LINK_FIELD[device.vendor]
    set_link_online(device, True)
    journal.commit_field(device, name, True)
    assert (await anext(events)).data["changes"] == {name: [False, True]}
    assert journal._seen[device.serial] == orjson.dumps(device_entry(device))
    assert journal.commit_field(device, name, True) is None  # no change: nothing told
    assert journal.commit(device) is None and journal.since(1) == []


async def test_the_link_puts_right_anyone_elses_write_and_knows_its_own(tmp_path: Path):
    async with cloudy("embedded", tmp_path) as c:
        device = c.device("nvr")
        link: CloudLink = c.link
        changes = _changes(c.sim.journal.subscribe(device.serial))
        assert device.hik_connect.online

        # Someone else's write of the link's field: not an echo, so the link looks again
        # and writes back what it achieved...
        device.hik_connect.online = False
        c.sim.journal.commit(device)
        foreign = await anext(changes)
        assert foreign.data["changes"] == {"hik_connect.online": [True, False]}
        assert not link._echo(foreign)
        # ...which the journal tells as the link's own echo.
        echo = await anext(changes)
        assert echo.data["changes"] == {"hik_connect.online": [False, True]}
        assert link._echo(echo)
        assert device.hik_connect.online and c.online_in_cloud("nvr")


async def _changes(subscription):
    async for event in subscription:
        if event.kind == "device.changed":
            yield event


class _SilentBroker:
    """Just enough MQTT 3.1.1 to connect, subscribe and hear a link come online, but no
    PUBACK for a device's status: a broker that has stopped acknowledging. Counts the
    connections it was offered and the statuses it heard."""

    def __init__(self) -> None:
        self.connections = 0
        self.statuses = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                header = await reader.readexactly(1)
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await reader.readexactly(length)
                kind = header[0] >> 4
                if kind == 1:  # CONNECT -> CONNACK, accepted
                    writer.write(b"\x20\x02\x00\x00")
                elif kind == 8:  # SUBSCRIBE -> SUBACK, QoS 1 granted
                    writer.write(b"\x90\x03" + body[:2] + b"\x01")
                elif kind == 3:  # PUBLISH: the link's own status acknowledged, no other
                    size = int.from_bytes(body[:2], "big")
                    topic = body[2 : 2 + size].decode()
                    if topic.startswith(f"{hc.TOPIC_ROOT}/link/"):
                        writer.write(b"\x40\x02" + body[2 + size : 4 + size])
                    else:
                        self.statuses += 1
                elif kind == 12:  # PINGREQ -> PINGRESP
                    writer.write(b"\xd0\x00")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_broker_that_acknowledges_nothing_costs_the_connection(monkeypatch):
    monkeypatch.setattr(link_module, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(link_module, "RECONNECT_DELAY", 0.05)
    broker = _SilentBroker()
    server = await asyncio.start_server(broker.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = VirtualClock()
    fleet = make_fleet(hik_entry("nvr", hik_connect={"enabled": True}), clock=clock)
    (device,) = fleet.devices
    link = await CloudLink(fleet, clock, Journal(clock), "127.0.0.1", port).start()
    try:
        link.device_up(device)
        await until(lambda: broker.statuses >= 1, "the device's status sent")
        await until(lambda: broker.connections >= 2, "the connection given up and made again")
        await until(lambda: broker.statuses >= 2, "and sent again on the new one")
        assert not device.hik_connect.online  # never acknowledged: never online
    finally:
        await link.close()
        server.close()
        await server.wait_closed()


def _cameras(count: int, **hik_connect):
    return make_fleet(
        hik_camera(
            "cam",
            hik_connect={"enabled": True} | hik_connect,
            count=count,
        ),
        address_pool="127.83.0.0/16",
    ).devices


def test_the_per_device_links_files_are_counted_beside_the_devices_own():
    cameras = _cameras(1000)
    assert service.per_device_descriptors(cameras, embedded=False) == 1000
    assert service.per_device_descriptors(cameras, embedded=True) == 2000
    # devices 2,000 + connections 1,000 + 50 open: fits under 4,000 with an external broker
    service.refuse_per_device_beyond(cameras, embedded=False, limit=4000, open_now=50)
    with pytest.raises(ServiceError) as refused:
        service.refuse_per_device_beyond(cameras, embedded=True, limit=4000, open_now=50)
    line = str(refused.value)
    assert "\n" not in line
    assert "1000 devices need 2000 more open files" in line and "4050 in all" in line
    assert "may open 4000" in line and "--mqtt-connections shared" in line
    # a device its cloud cannot know (platform access never enabled) needs no connection
    assert service.per_device_descriptors(_cameras(10, enabled=False), embedded=True) == 0


async def test_nvrsim_run_refuses_a_per_device_link_that_cannot_fit(monkeypatch, tmp_path: Path):
    """Refused before any device listens, not device by device as sockets run out."""
    # As if the process were nearly full once the runner has raised its limit: the one
    # device's web and RTSP sockets would fit, its connection and the broker's end not.
    nearly_full = lambda: resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 3  # noqa: E731
    monkeypatch.setattr(service, "_open_files", nearly_full)
    clock = VirtualClock()
    fleet = make_fleet(hik_entry("nvr", ports={"http": 0, "rtsp": 0}), clock=clock)
    config = ServiceConfig.on_free_ports(
        broker="embedded",
        cloud_port=None,
        mqtt_per_device=True,
    )
    with pytest.raises(ServiceError, match="--mqtt-connections per-device: 1 devices need 2"):
        async with Simulator(fleet, clock, config):
            pass
    (device,) = fleet.devices
    assert device.network.http_port == 0  # never bound: it was refused before listening


_text = st.text(max_size=20)


@given(
    st.builds(
        hc.DeviceStatus,
        serial=_text,
        device_serial=_text,
        model=_text,
        name=_text,
        firmware=_text,
        verification_code=_text,
        bound_account=st.none() | _text,
        online=st.booleans(),
        link=_text,
        address=_text,
    )
)
def test_a_status_is_encoded_as_the_whole_dataclass_and_decodes_back(status: hc.DeviceStatus):
    encoded = status.encode()
    assert encoded == json.dumps(asdict(status), separators=(",", ":")).encode()
    assert hc.DeviceStatus.decode(encoded) == status
