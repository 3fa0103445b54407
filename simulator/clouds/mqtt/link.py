"""The devices' side of Hik-Connect: MQTT connections that carry each device to its region.

A device with platform access enabled registers with the region its server
address names (`rules.link_region`): it publishes its status there, retained,
and answers what the cloud asks (add to an account, delete, the app's unbind)
by the device's own rules. `HikConnect.online` is what this link achieved: True
once the broker acknowledged the device's `online` status, False as soon as the
device leaves or its connection drops. Dahua devices register their P2P status
the same way (region `dmss`), and `DahuaSettings.p2p_link` is what it achieved.
Every change goes through the journal.

Connections ("links"), chosen with `per_device`:

- shared (default): one connection per simulator process carries every device.
  Its last will marks the link `offline`; the cloud counts a device online only
  while its own status says so *and* its link is online, so a crashed process
  takes all its devices offline at once, exactly as one will per device would.
  10,000 devices cost one socket and one keepalive.
- per device: one connection (and will) per device, as real hardware does; a
  file descriptor and a keepalive timer each, on the simulator and the broker.

The link notices devices coming and going through the runner's
`device_up`/`device_down` hooks, and every other change (platform access
switched, server changed, the `cloud_offline` fault) through the journal's
event stream, where its own writes come back too (`_echo`: not looked at again).

Choices where the public record is silent: 500 statuses in flight on a connection,
with one 10 s deadline per batch (a broker that acknowledges none of it costs the
connection); 50 connections in their handshake at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiomqtt

from nvrsim.protocols import hikconnect as hc
from nvrsim.protocols.hikconnect import Region
from nvrsim.simulator.clouds.hikconnect.rules import (
    device_operation,
    device_status,
    home_region,
    link_online,
    link_region,
    set_link_online,
)
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.fleet import Fleet

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0  # seconds between tries while the broker is away
BATCH = 500  # statuses in flight at once on one connection
CONNECT_TIMEOUT = 10.0  # seconds for the broker to answer CONNECT, SUBSCRIBE, a batch
# The field `link_online` writes, by vendor, as the journal names it (HikvisionDevice,
# DahuaDevice): the link commits it alone, and a change of it alone, to what the link
# set, is the link's own echo.
LINK_FIELD = {"hikvision": "hik_connect.online", "dahua": "dahua.p2p_link"}
LINK_FIELDS = frozenset(LINK_FIELD.values())
HANDSHAKES = 50  # connections opening at once (CONNECT, SUBSCRIBE, the link's status)
UNTIMED = math.inf  # aiomqtt's "no timeout of its own": the caller holds the deadline


@dataclass
class _Connection:
    link_id: str
    serials: set[str] = field(default_factory=set)  # devices it carries
    client: aiomqtt.Client | None = None
    task: asyncio.Task | None = None
    dirty: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    # Set except while connecting: aiomqtt leaves a half-open client behind if it is
    # cancelled halfway through its handshake, so closing waits for this first.
    calm: asyncio.Event = field(default_factory=lambda: _set(asyncio.Event()))
    closing: bool = False
    # What the broker holds for each device: (region id, status) as last acknowledged.
    published: dict[str, tuple[str, hc.DeviceStatus]] = field(default_factory=dict)


class CloudLink:
    """A fleet service: the MQTT link(s) of every Hik-Connect device of a simulator."""

    def __init__(
        self,
        fleet: Fleet,
        clock: Clock,
        journal: Any,  # simulator.runtime.journal.Journal: commit, publish
        host: str,
        port: int,
        *,
        keepalive: int = 60,
        per_device: bool = False,
    ) -> None:
        self.fleet, self.clock, self.journal = fleet, clock, journal
        self.host, self.port = host, port
        self.keepalive = keepalive
        self.per_device = per_device
        self._shared_id = f"nvrsim-{uuid.uuid4().hex[:12]}"
        self._connections: dict[str, _Connection] = {}  # by link id
        self._carrier: dict[str, _Connection] = {}  # serial -> the connection carrying it
        # serial -> what the broker last acknowledged for it, link aside (per-device mode
        # opens a connection for a device off the cloud only when that is out of date)
        self._told: dict[str, tuple[str, hc.DeviceStatus]] = {}
        self._devices: dict[str, Device] = {}  # serial -> device, while up
        self._achieved: dict[str, bool] = {}  # serial -> link_online as this link last set it
        self._watcher: asyncio.Task | None = None
        self._retiring: set[asyncio.Task] = set()
        # Connections in their handshake at once (per device: 10,000 of them at start
        # would each wait past CONNECT_TIMEOUT for the event loop, give up, and retry).
        self._handshakes = asyncio.Semaphore(HANDSHAKES)
        self._closing = False

    # ---- the fleet service protocol -------------------------------------------------

    async def start(self) -> CloudLink:
        self._watcher = asyncio.get_running_loop().create_task(self._watch_journal())
        return self

    async def close(self) -> None:
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await asyncio.gather(
            *(self._close_connection(c) for c in list(self._connections.values())),
            *self._retiring,
            return_exceptions=True,
        )

    def device_up(self, device: Device) -> None:
        self._devices[device.serial] = device
        self.changed(device.serial)

    def device_down(self, device: Device) -> None:
        self._devices.pop(device.serial, None)
        self.changed(device.serial)

    # ---- what the link does -------------------------------------------------------------

    @property
    def link_ids(self) -> list[str]:
        return list(self._connections)

    def link_of(self, serial: str) -> str | None:
        """The link id carrying `serial` now, if any."""
        conn = self._carrier.get(serial)
        return conn.link_id if conn is not None else None

    def changed(self, serial: str | None = None) -> None:
        """Look at one device again (None: every device) and tell the cloud what changed."""
        serials = [serial] if serial is not None else list(self._devices | self._carrier)
        for s in serials:
            conn = self._carrier.get(s)
            if conn is None:
                device = self._devices.get(s)
                if device is None or (home := home_region(device)) is None:
                    continue  # nothing the cloud knows, nothing to tell it
                told = self._told.get(s)
                if told is not None and link_region(device) is None and told == _gist(home, device):
                    continue  # off the cloud, and the cloud knows it so: no connection
                conn = self._carry(s)
            conn.dirty.add(s)
            conn.wake.set()

    def _carry(self, serial: str) -> _Connection:
        """The connection that will carry `serial`: the shared one, or a new one of its own.

        A per-device connection gets a fresh id each time, so an old one still closing
        can never take over (or be taken over by) the new one's session.
        """
        if self.per_device:
            link_id = f"nvrsim-{serial[-9:]}-{uuid.uuid4().hex[:6]}"
        else:
            link_id = self._shared_id
        conn = self._connections.get(link_id)
        if conn is None:
            conn = self._connections[link_id] = _Connection(link_id)
            conn.task = asyncio.get_running_loop().create_task(self._run(conn))
        conn.serials.add(serial)
        self._carrier[serial] = conn
        return conn

    def _retire(self, conn: _Connection) -> None:
        """Close a per-device connection whose device left the cloud (its own task cannot):
        a real device off the cloud has no connection; coming back opens a new one."""
        self._connections.pop(conn.link_id, None)
        for serial in conn.serials:
            if self._carrier.get(serial) is conn:
                del self._carrier[serial]
        task = asyncio.get_running_loop().create_task(self._close_connection(conn))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _close_connection(self, conn: _Connection) -> None:
        client = conn.client
        if client is not None and conn.connected.is_set():
            # A clean goodbye sends no will: clear the link's retained status ourselves,
            # which the cloud reads as offline and which leaves nothing behind on the broker.
            with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError):
                async with asyncio.timeout(2):
                    await client.publish(hc.link_topic(conn.link_id), b"", qos=1, retain=True)
        conn.closing = True
        if conn.task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT + 1):
                    await conn.calm.wait()
            conn.task.cancel()
            await asyncio.gather(conn.task, return_exceptions=True)
        self._mark_offline(conn)

    async def _run(self, conn: _Connection) -> None:
        will = aiomqtt.Will(hc.link_topic(conn.link_id), hc.LINK_OFFLINE, qos=1, retain=True)
        while not (self._closing or conn.closing):
            try:
                async with contextlib.AsyncExitStack() as stack:
                    async with self._handshakes:
                        conn.calm.clear()
                        client = await stack.enter_async_context(
                            aiomqtt.Client(
                                self.host,
                                self.port,
                                identifier=conn.link_id,
                                keepalive=self.keepalive,
                                will=will,
                                clean_session=True,
                                max_inflight_messages=BATCH,
                                timeout=CONNECT_TIMEOUT,
                            )
                        )
                        client.pending_calls_threshold = BATCH * 2  # our batches: no backlog
                        conn.client = client
                        await client.subscribe(hc.request_topic(conn.link_id), qos=1)
                        await client.publish(
                            hc.link_topic(conn.link_id), hc.LINK_ONLINE, qos=1, retain=True
                        )
                    conn.published.clear()
                    conn.dirty |= conn.serials  # a new session: every status again
                    conn.wake.set()
                    conn.connected.set()
                    conn.calm.set()
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._publisher(conn, client))
                        tasks.create_task(self._answer(conn, client))
            except* aiomqtt.MqttError as group:
                log.info("Hik-Connect link %s: %s", conn.link_id, group.exceptions[0])
            finally:
                conn.calm.set()
                conn.client = None
                conn.connected.clear()
                self._mark_offline(conn)
            await asyncio.sleep(RECONNECT_DELAY)

    def _mark_offline(self, conn: _Connection) -> None:
        conn.published.clear()
        for serial in conn.serials:
            device = self._devices.get(serial) or self.fleet.by_serial(serial)
            if device is not None:
                self._set_online(device, False)

    def _set_online(self, device: Device, online: bool) -> None:
        self._achieved[device.serial] = online
        if link_online(device) != online:
            set_link_online(device, online)
            if self.fleet.by_serial(device.serial) is device:  # not removed meanwhile
                if (name := LINK_FIELD.get(device.vendor)) is not None:
                    self.journal.commit_field(device, name, online)  # not the whole device
                else:
                    self.journal.commit(device)

    async def _publisher(self, conn: _Connection, client: aiomqtt.Client) -> None:
        while True:
            await conn.wake.wait()
            conn.wake.clear()
            while conn.dirty:
                batch = [conn.dirty.pop() for _ in range(min(BATCH, len(conn.dirty)))]
                async with _deadline():
                    await asyncio.gather(*(self._publish(conn, client, s) for s in batch))

    async def _publish(self, conn: _Connection, client: aiomqtt.Client, serial: str) -> None:
        """Bring the broker's status of `serial` in line with the device.

        A device is known in the region its server names even while it cannot reach
        it (rebooting, platform access off, the `cloud_offline` fault): it is there,
        offline, as a cloud remembers a device that registered once.
        """
        device = self._devices.get(serial) or self.fleet.by_serial(serial)
        home = home_region(device) if device is not None else None
        live = device is not None and serial in self._devices and link_region(device) is not None
        old = conn.published.get(serial)
        if old is not None and (home is None or old[0] != home.id) and old[1].online:
            gone = replace(old[1], online=False)
            await client.publish(
                hc.status_topic(old[0], serial), gone.encode(), qos=1, retain=True, timeout=UNTIMED
            )
            conn.published[serial] = (old[0], gone)
        if device is not None and home is not None:
            status = device_status(device, conn.link_id, online=live)
            if conn.published.get(serial) != (home.id, status):
                await client.publish(
                    hc.status_topic(home.id, serial),
                    status.encode(),
                    qos=1,
                    retain=True,
                    timeout=UNTIMED,
                )
                conn.published[serial] = (home.id, status)
            if not live:
                self._told[serial] = _gist(home, device)
        if device is not None:
            self._set_online(device, live)
        if device is None or home is None or serial not in self._devices:
            # removed, or nothing the cloud knows: it keeps the last status, offline
            conn.serials.discard(serial)
            conn.published.pop(serial, None)
            self._achieved.pop(serial, None)
            if self._carrier.get(serial) is conn:
                del self._carrier[serial]
        if self.per_device and not live and self._connections.get(conn.link_id) is conn:
            self._retire(conn)

    async def _answer(self, conn: _Connection, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                request = hc.Request.decode(message.payload)  # type: ignore[arg-type]
            except (hc.PayloadError, TypeError):
                continue  # not ours to guess at: dropped
            device = self._devices.get(request.serial)
            if device is None or request.serial not in conn.serials or not device.cloud_online:
                continue  # a device off the cloud hears nothing; the cloud times out
            reply = device_operation(device, request, self.clock.now())
            summary = f"{request.op} {_args_summary(request)}"
            client_address = request.args.get("client")
            origin = client_address if isinstance(client_address, str) else "cloud"
            self.journal.exchange(device, "hik-connect", origin, summary, reply.result)
            async with _deadline():
                await self._publish(conn, client, device.serial)  # the binding, then the answer
            await client.publish(request.reply_to, reply.encode(), qos=1)

    async def _watch_journal(self) -> None:
        """Changes made by any front end reach the cloud: the journal sees them all."""
        watched = {"device.changed", "device.added", "fleet.faults"}
        while True:
            subscription = self.journal.subscribe(size=100_000)
            try:
                self.changed()  # after a gap, look at everything
                async for event in subscription:
                    if event.kind in watched and not self._echo(event):
                        self.changed(event.serial)
            finally:
                subscription.close()

    def _echo(self, event: Any) -> bool:
        """The journal telling of the link's own write (`_set_online`): nothing to look at
        again. 10,000 devices coming online would otherwise be looked at twice each."""
        changes = event.data.get("changes") if event.kind == "device.changed" else None
        achieved = self._achieved.get(event.serial)
        return bool(changes) and all(
            name in LINK_FIELDS and after == achieved for name, (_, after) in changes.items()
        )


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


@contextlib.asynccontextmanager
async def _deadline() -> AsyncIterator[None]:
    """CONNECT_TIMEOUT for a batch of UNTIMED publishes, failing as aiomqtt's own timeout
    does (MqttError: the connection is dropped and made again). One deadline per batch:
    aiomqtt's per-publish one costs a task per message (asyncio.wait_for)."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            yield
    except TimeoutError:
        raise aiomqtt.MqttError("the broker acknowledged nothing in time") from None


def _gist(home: Region, device: Device) -> tuple[str, hc.DeviceStatus]:
    """What the cloud holds for a device off the cloud, whichever connection said it."""
    return home.id, device_status(device, "", online=False)


def _args_summary(request: hc.Request) -> str:
    shown = {k: v for k, v in request.args.items() if k != "password"}
    return " ".join(f"{k}={v}" for k, v in sorted(shown.items()))
