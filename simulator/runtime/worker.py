"""One worker of `nvrsim run --workers N` (runtime/workers.py): its share of the fleet,
of `--state DIR`, and its discovery through the supervisor's sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.runtime import relay
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.journal import DEVICE_STATE, Event
from nvrsim.simulator.runtime.state import StateDir, _serial, device_entry
from nvrsim.simulator.runtime.udp import RELAY

POWER = frozenset({"device.down", "device.up"})  # a reboot's, published by the runner


class ShareOfState(StateDir):
    """A worker's view of `--state DIR`: its devices' files; fleet.json is the supervisor's."""

    def save_fleet(self, fleet: Fleet) -> None:
        self.devices.mkdir(parents=True, exist_ok=True)

    def load_share(self, index: int, count: int, now: float = 0.0) -> Fleet:
        """Worker `index` of `count`'s devices, as `Fleet.shard` would pick them from the
        whole: every `count`-th of the fleet's order (a device added at run time, which
        the order lacks, goes to the worker that takes its turn after them). Only their
        files are read."""
        settings = self._read(self.path / "fleet.json")
        order = settings.pop("order", [])
        listed = set(order)
        added = sorted(
            serial for f in self.devices.glob("*.json") if (serial := _serial(f)) not in listed
        )
        share = [*order, *added][index::count]
        entries = [
            self._read(self._file(serial)) for serial in share if self._file(serial).exists()
        ]
        source = str(self.devices)
        return build_fleet({"fleet": settings, "device": entries}, source=source, now=now)


async def serve_worker(simulator: Any, channel: int, ready_file: str, stop: asyncio.Event) -> None:
    """Serve `simulator`'s devices, their discovery through the supervisor's sockets,
    until `stop` or until the supervisor is gone."""
    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=channel))
    spoke = relay.Spoke(writer)
    RELAY.set(spoke.serve)
    listening = asyncio.create_task(_hear(reader, spoke, stop))
    simulator.journal.forward(_Mirror(simulator.fleet, writer).offer, DEVICE_STATE | POWER)
    try:
        async with simulator:
            simulator.write_ready_file(ready_file)
            writer.write(relay.message({"ready": ready_file}))
            await stop.wait()
    finally:
        listening.cancel()
        writer.close()


class _Mirror:
    """The supervisor's copy of this worker's devices (what WS-Discovery and the clouds read
    there) follows them: a device the journal saw change is sent as its entry, once a turn
    of the loop however often it changed meanwhile (None: removed); one going down or up
    (a reboot) at once."""

    def __init__(self, fleet: Fleet, writer: asyncio.StreamWriter) -> None:
        self.fleet, self.writer = fleet, writer
        self.changed_now: set[str] = set()

    def offer(self, event: Event) -> None:
        if event.kind in POWER and event.serial is not None:  # a reboot: at once, in order
            powered = event.kind == "device.up"
            self._say({"serial": event.serial, "powered": powered})
        if event.kind not in DEVICE_STATE or event.serial is None:
            return
        if not self.changed_now:
            asyncio.get_running_loop().call_soon(self._send)
        self.changed_now.add(event.serial)

    def _send(self) -> None:
        for serial in self.changed_now:
            device = self.fleet.by_serial(serial)
            entry = device_entry(device) if device is not None else None
            self._say({"serial": serial, "entry": entry})
        self.changed_now.clear()

    def _say(self, message: dict) -> None:
        if not self.writer.is_closing():
            self.writer.write(relay.message(message))


async def _hear(reader: asyncio.StreamReader, spoke: relay.Spoke, stop: asyncio.Event) -> None:
    async for body in relay.frames(reader):
        kind, name, peer, data = relay.parse(body)
        if kind == relay.DATAGRAM:
            spoke.heard(name, peer, data)
    stop.set()  # the supervisor is gone: so are we
