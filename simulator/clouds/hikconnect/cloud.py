"""The Hik-Connect cloud's state and its side of the MQTT link.

It knows devices only from what they publish (`registry`), asks them to change
their binding over their link (`ask`) and waits for their answer; accounts,
sessions and captchas are its own (accounts are kept with `--state`; sessions
and captchas live in memory). The HTTP API a client app talks to is `app.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiomqtt

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.rules import (
    Account,
    Accounts,
    Captchas,
    DeviceRecord,
    Sessions,
)
from nvrsim.simulator.core.clock import Clock

# Journal.publish, for the cloud's own events: (kind, serial, **data).
EventHook = Callable[..., object]
# Journal.save: runs `function(*args)` on the state writer; a future, or None without --state.
Saver = Callable[..., "Future[None] | None"]


def save_accounts(path: Path, accounts: Accounts) -> None:
    doc = {name: vars(account) for name, account in sorted(accounts.accounts.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"accounts": doc}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_accounts(path: Path) -> Accounts:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Accounts({name: Account(**fields) for name, fields in doc["accounts"].items()})


log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0
CONNECT_TIMEOUT = 10.0


@dataclass
class Registry:
    """Every device any region has heard of, by its 9-character serial."""

    records: dict[str, DeviceRecord] = field(default_factory=dict)
    links: dict[str, bool] = field(default_factory=dict)  # link id -> online

    def on_status(self, region_id: str, serial: str, payload: bytes) -> None:
        if not payload:  # a retained status cleared: forget it there
            record = self.records.get(hc.short_serial(serial))
            if record is not None and record.region == region_id:
                del self.records[hc.short_serial(serial)]
            return
        try:
            status = hc.DeviceStatus.decode(payload)
        except hc.PayloadError:
            return
        if status.serial != serial or hc.region(region_id) is None:
            return
        current = self.records.get(status.device_serial)
        if not status.online and current is not None and current.region != region_id:
            # Gone from an old region while registered elsewhere: keep the live one, but
            # learn its binding, which is the device's wherever it is.
            current.status = _with_binding(current.status, status.bound_account)
            return
        self.records[status.device_serial] = DeviceRecord(region_id, status)

    def on_link(self, link_id: str, payload: bytes) -> None:
        if payload == hc.LINK_ONLINE:
            self.links[link_id] = True
        elif payload == hc.LINK_OFFLINE:
            self.links[link_id] = False
        elif not payload:
            self.links.pop(link_id, None)

    def find(self, device_serial: str) -> DeviceRecord | None:
        return self.records.get(device_serial)

    def online(self, record: DeviceRecord, region_id: str | None = None) -> bool:
        """Online (in `region_id`, when given): its status says so and its link lives."""
        return (
            record.status.online
            and self.links.get(record.status.link, False)
            and (region_id is None or record.region == region_id)
        )

    def owned_by(self, account: str) -> list[DeviceRecord]:
        return [r for r in self.records.values() if r.status.bound_account == account]


def _with_binding(status: hc.DeviceStatus, account: str | None) -> hc.DeviceStatus:
    return replace(status, bound_account=account)


class Cloud:
    """Accounts, sessions, captchas and devices of every region, on one MQTT connection."""

    def __init__(
        self,
        clock: Clock,
        host: str,
        port: int,
        *,
        keepalive: int = 60,
        request_timeout: float = 5.0,
        test_mode: bool = False,
        on_event: EventHook | None = None,
        store: Path | None = None,
        save: Saver | None = None,
    ) -> None:
        self.clock = clock
        self.host, self.port, self.keepalive = host, port, keepalive
        self.request_timeout = request_timeout
        self.test_mode = test_mode  # captcha answers readable through the control API
        self.id = f"cloud-{uuid.uuid4().hex[:12]}"
        self.registry = Registry()
        self.accounts = Accounts()
        self.captchas = Captchas()
        self.sessions = Sessions()
        self._on_event = on_event
        # --state: accounts kept in `store` (a JSON file), written by `save` (the journal's
        # writer, in order with every other write); without, they live in memory.
        self.store, self._save = store, save
        if store is not None and store.exists():
            self.accounts = load_accounts(store)
        self._client: aiomqtt.Client | None = None
        self._pending: dict[str, asyncio.Future[hc.Reply]] = {}
        self._task: asyncio.Task | None = None
        self._connected = asyncio.Event()
        self._calm = asyncio.Event()  # clear while connecting (see link.py, _Connection.calm)
        self._last_error: Exception | None = None
        self._closing = False

    # ---- lifecycle ------------------------------------------------------------------

    async def start(self, wait: bool = True) -> Cloud:
        """Connect to the broker; with `wait`, OSError unless the first attempt succeeds
        (afterwards the cloud reconnects by itself whenever the broker goes away)."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        if wait:
            await self._calm.wait()  # the first attempt's outcome
            if not self._connected.is_set():
                error = self._last_error
                await self.close()
                raise OSError(
                    f"cannot reach the MQTT broker at {self.host}:{self.port}: {error}"
                ) from None
        return self

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT + 1):
                    await self._calm.wait()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for future in self._pending.values():
            future.cancel()

    async def _run(self) -> None:
        while not self._closing:
            self._calm.clear()
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.id,
                    keepalive=self.keepalive,
                    clean_session=True,
                    timeout=CONNECT_TIMEOUT,
                ) as client:
                    await client.subscribe(
                        [
                            (hc.STATUS_FILTER, 1),
                            (hc.LINK_FILTER, 1),
                            (hc.reply_topic(self.id), 1),
                        ]
                    )
                    self._client = client
                    self._connected.set()
                    self._calm.set()
                    async for message in client.messages:
                        self._on_message(message.topic.value, message.payload)
            except aiomqtt.MqttError as exc:
                self._last_error = exc
                log.info("Hik-Connect cloud: MQTT: %s", exc)
            finally:
                self._calm.set()
                self._client = None
                self._connected.clear()
            await asyncio.sleep(RECONNECT_DELAY)

    def _on_message(self, topic: str, payload: object) -> None:
        if not isinstance(payload, bytes | bytearray):
            payload = b"" if payload is None else str(payload).encode()
        payload = bytes(payload)
        if (where := hc.parse_status_topic(topic)) is not None:
            self.registry.on_status(*where, payload)
        elif (link_id := hc.parse_link_topic(topic)) is not None:
            self.registry.on_link(link_id, payload)
        elif topic == hc.reply_topic(self.id):
            try:
                reply = hc.Reply.decode(payload)
            except hc.PayloadError:
                return
            future = self._pending.get(reply.id)
            if future is not None and not future.done():
                future.set_result(reply)

    # ---- asking a device --------------------------------------------------------------

    async def ask(self, record: DeviceRecord, op: str, **args: object) -> hc.Reply | None:
        """Send `op` to the device over its link; None when it does not answer in time."""
        client = self._client
        if client is None:
            return None
        request = hc.Request(
            id=uuid.uuid4().hex,
            serial=record.status.serial,
            op=op,
            reply_to=hc.reply_topic(self.id),
            args=dict(args),
        )
        future: asyncio.Future[hc.Reply] = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            async with asyncio.timeout(self.request_timeout):
                await client.publish(hc.request_topic(record.status.link), request.encode(), qos=1)
                return await future
        except (TimeoutError, aiomqtt.MqttError):
            return None
        finally:
            self._pending.pop(request.id, None)

    # ---- what happened ------------------------------------------------------------------

    def event(self, kind: str, serial: str | None = None, **data: object) -> None:
        """Tell the simulator's journal (event stream, dashboard), when there is one."""
        if self._on_event is not None:
            self._on_event(kind, serial, **data)

    async def accounts_changed(self) -> None:
        """Keep the accounts (with --state); returns once they are on disk."""
        if self.store is not None and self._save is not None:
            write = self._save(save_accounts, self.store, self.accounts)
            if write is not None:
                await asyncio.wrap_future(write)

    # ---- accounts and sessions ----------------------------------------------------------

    def open_session(self, account: Account) -> tuple[str, str]:
        """(session id, refresh id)."""
        return self.sessions.open(account.name, self.clock.now())

    def session_account(self, session: str | None) -> Account | None:
        name = self.sessions.account(session, self.clock.now())
        return self.accounts.accounts.get(name) if name else None
