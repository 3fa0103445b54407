"""`nvrsim run --workers N`: one fleet over N processes, behind one face.

A process may hold only so many sockets (here 20,000, two or three a device), so a large
fleet is served by worker processes, each `nvrsim run --shard I/N` over its share of the
devices (every N-th, each with the identity the whole fleet gives it). The supervisor
owns what is fleet-wide and the workers own the devices:

- supervisor: the embedded MQTT broker and the clouds (Hik-Connect, DMSS, the D-Link
  portal), WS-Discovery (answered from its copy of the fleet), every other discovery
  socket (relayed to the workers: runtime/relay.py), the control API and dashboard (a
  Face over the workers' own, which answers the clouds' routes itself), one banner,
  one ready file, `--state`'s fleet.json;
- a worker: its devices' HTTP and RTSP sockets, their Hik-Connect link (over the
  supervisor's broker), their discovery responders (fed by the relay), a control API of
  its own on a free loopback port with a random token, its devices' files in `--state`.

The supervisor's copy of the fleet follows the workers' devices: each device a worker's
journal sees change (added, removed) comes over the channel as its entry, and the copy
becomes it (`_mirror`; a DHIP socket follows a moved device). A change a supervisor's
service makes on its copy (a DMSS binding) goes to the worker as PATCH /api/devices/{serial}
(`device_changed`), which makes it, stores it and sends it back. The supervisor's own
events (its clouds') join the face's one stream.

Start-up: the supervisor reads the fixture and plans the processes from its outline
(runtime/limits.py), then forks the workers, each of which builds its own share at once;
it starts the broker, gives the workers their orders, and builds its own copy of the
fleet while they start serving theirs. So both cores are busy from the fork on, and no
worker's memory is a copy of the supervisor's pages (which it would touch, device by
device, and so copy).

A worker that dies is started again with its devices' state from `--state` (or from the
fixture, which the banner says), and the Face's event stream says `worker.down` then
`worker.restarted`.

Choices where the public record is silent: a worker's output other than its errors is
not shown (the supervisor's banner is the fleet's); workers run in their own process
group, so that Ctrl-C reaches the supervisor alone, which stops them. In `--state DIR`
the supervisor writes fleet.json (the fleet's order) once, and each worker its own
devices' files; a device added at run time is loaded after the ordered ones, a removed
one's file is gone. A clock change through the face reaches every worker alike, so any
of them may write clock.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from nvrsim.simulator.control.face import Face, Shard
from nvrsim.simulator.core.clock import Clock, ScaledClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import Faults
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.plugin import FleetService, ServiceError
from nvrsim.simulator.runtime import heap, relay
from nvrsim.simulator.runtime.fixtures import Fixture, build_devices
from nvrsim.simulator.runtime.http_service import HttpService, listen
from nvrsim.simulator.runtime.journal import Journal, durable, kept_json
from nvrsim.simulator.runtime.runner import (
    ServiceConfig,
    describe_services,
    fleet_services,
    write_ready_file,
)
from nvrsim.simulator.runtime.state import device_entry
from nvrsim.simulator.runtime.udp import RELAY

log = logging.getLogger(__name__)

# Answered once for the whole fleet by the supervisor; a worker starts none of them.
SUPERVISOR_ONLY = frozenset({"wsd", "portal", "dmss", "mqtt", "hikconnect"})
# Each worker's own: its devices' cloud link and its control API (the Face's shards).
WORKER_ONLY = frozenset({"hiklink", "control"})
BROKER = "mqtt"  # started first: the workers' orders name it
# A device's state that its entry does not say: the supervisor's copy keeps its own.
_NOT_IN_ENTRY = frozenset({"powered", "boot_time", "events", "imaging", "_ptz", "fleet_faults"})

# argv of worker `index` of `count`, given its channel's descriptor, its ready file and
# the supervisor's services (the ports its discovery sockets and broker got).
WorkerArgv = Callable[[int, int, int, str, dict[str, FleetService]], list[str]]


def worker_services() -> frozenset[str]:
    return frozenset(fleet_services()) - SUPERVISOR_ONLY


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process | Forked | None = None
    shard: Shard | None = None
    # Its devices as its ready document describes them, by serial, each kept as the JSON
    # it is in the supervisor's (as objects, a 10,000-device fleet's took 2.5 KB a device,
    # and parsing them again was most of each ready file's writing).
    devices: dict[str, orjson.Fragment] = field(default_factory=dict)
    reading: asyncio.Task[None] | None = None  # its channel
    forked: Forked | None = None  # forked before the loop, waiting for its command line
    echoing: asyncio.Task[None] | None = None  # its stderr
    token: str = ""  # its control API's, as ordered

    @property
    def name(self) -> str:
        return f"worker {self.index}"


class FaceServer(HttpService):
    def __init__(self, runner: Any, token: str, face: Face) -> None:
        super().__init__(runner)
        self.token, self.face = token, face


@dataclass
class Supervisor:
    """The fleet-wide services, and `count` workers serving the devices of the fleet that
    `build` makes (called while they start: `start`)."""

    build: Callable[[], Fleet]
    clock: Clock
    config: ServiceConfig
    journal: Journal
    count: int
    argv: WorkerArgv
    # Where a restarted worker's devices come from ("--state DIR" or "the fixture").
    restored_from: str = "the fixture"

    def __post_init__(self) -> None:
        self.fleet = Fleet()  # built by `start`
        self.services: dict[str, FleetService] = {}
        self.hub = relay.Hub()
        self.workers = [Worker(i) for i in range(self.count)]
        self.serving = False
        self._dir = tempfile.TemporaryDirectory(prefix="nvrsim-workers-")
        self._watching: set[asyncio.Task[None]] = set()
        self.face: Face | None = None
        self.on_ready: Callable[[], None] = lambda: None  # told when the ready file changes

    # --- what a fleet service gets (ServiceContext) ----------------------------------------

    def network_changed(self, device: Device) -> None:
        pass  # the worker that holds the device moves it

    def reboot(self, device: Device, downtime: float | None = None) -> bool:
        return False  # the worker's to do

    # --- start and stop ---------------------------------------------------------------------

    async def start(self) -> None:
        """The broker, then the workers' orders (a forked worker builds its share before it
        needs them), then the whole fleet is built while they start on them, then the
        other fleet-wide services; done once every worker's devices listen."""
        RELAY.set(self.hub.serve)
        try:
            services = {n: s for n, s in fleet_services().items() if n not in WORKER_ONLY}
            await self._start_service(BROKER, services.pop(BROKER))  # the orders name it
            ordered = await asyncio.gather(*(self._order(w) for w in self.workers))
            self.fleet = self.build()
            heap.settle()  # it lives as long as the process
            for name, definition in services.items():
                await self._start_service(name, definition)
            pairs = zip(self.workers, ordered, strict=True)
            await asyncio.gather(*(self._until_ready(worker, ready) for worker, ready in pairs))
            shards = [w.shard for w in self.workers if w.shard]
            self.face = Face(shards, self.config.token or "", supervisor=self)
            self.journal.forward(self.face.add_event)  # its clouds' events, in the one stream
            if self.config.control_port is not None:
                where = (self.config.control_host, self.config.control_port)
                runner = await listen(self.face.app, "control API", *where, reuse_address=False)
                self.services["control"] = FaceServer(runner, self.config.token or "", self.face)
            for worker in self.workers:
                self._watch(worker)
            for device in self.fleet:  # listening, on the ports the workers got: Hello
                self._announce("device_up", device)
        except BaseException:
            await self.stop()
            raise
        self.serving = True

    async def _start_service(self, name: str, definition: Any) -> None:
        service = await definition.start(self)
        if service is not None:
            self.services[name] = service

    async def stop(self) -> list[str]:
        """Stop every worker within `config.stop_seconds` (SIGTERM), then kill the rest;
        their names are returned. Then the fleet-wide services."""
        if self.serving:  # every device says goodbye, as one process's do (WS-Discovery's Bye)
            for device in self.fleet:
                if device.powered:
                    self._announce("device_down", device)
        self.serving = False
        for task in self._watching:
            task.cancel()
        running = {w.name: w.process for w in self.workers if _alive(w.process)}
        for process in running.values():
            process.terminate()
        waits = {name: asyncio.ensure_future(p.wait()) for name, p in running.items()}
        if waits:
            await asyncio.wait(waits.values(), timeout=self.config.stop_seconds)
        killed = []
        for name, process in running.items():
            if not waits[name].done():
                process.kill()
                killed.append(f"{name} (pid {process.pid})")
                await process.wait()
        for worker in self.workers:
            for task in (worker.reading, worker.echoing):
                if task is not None:
                    task.cancel()
        if self.face is not None:
            await self.face.close()
        for name in reversed(list(self.services)):
            await self.services.pop(name).close()
        self._dir.cleanup()
        return killed

    # --- the workers ----------------------------------------------------------------------

    def fork(
        self, run: Callable[[list[str], Fleet], int], share: Callable[[int, int], Fleet]
    ) -> None:
        """Fork the first workers now, before any event loop runs: each inherits the code
        already imported (a preforking server's preload), builds its `share` of the fleet
        at once, on a core of its own while the supervisor starts, then waits on its
        channel for the command line a spawned worker would get and `run`s it over that
        share. Where a process cannot be awaited by descriptor (no pidfd), workers are
        spawned."""
        if not hasattr(os, "pidfd_open"):
            return
        for worker in self.workers:
            ours, theirs = socket.socketpair()
            errors, errors_in = os.pipe()
            channel = theirs.fileno()  # the same number in the worker
            pid = os.fork()
            if pid == 0:  # the worker
                code = 1
                try:
                    ours.close()
                    os.close(errors)
                    code = _forked_worker(worker.index, theirs, errors_in, self, run, share)
                finally:
                    os._exit(code)
            theirs.close()
            os.close(errors_in)
            worker.forked = Forked(pid, ours, channel, errors)

    async def _start_worker(self, worker: Worker) -> None:
        """Start `worker` and wait until its devices listen; ServiceError with its own
        words when it cannot."""
        await self._until_ready(worker, await self._order(worker))

    async def _order(self, worker: Worker) -> asyncio.Future[dict[str, Any]]:
        """Give `worker` its command line (spawning it, unless it was forked); the future
        of its "ready" message."""
        ready_path = str(Path(self._dir.name) / f"worker-{worker.index}.json")
        token = secrets.token_urlsafe(16)
        forked, worker.forked = worker.forked, None  # a restart is spawned
        if forked is not None:
            argv = self.argv(worker.index, self.count, forked.channel, ready_path, self.services)
            worker.process = forked.attach()
            reader, writer = await asyncio.open_unix_connection(sock=forked.ours)
            writer.write(relay.message({"argv": argv, "token": token}))
        else:
            ours, theirs = socket.socketpair()
            argv = self.argv(worker.index, self.count, theirs.fileno(), ready_path, self.services)
            try:
                worker.process = await asyncio.create_subprocess_exec(
                    *argv,
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # Ctrl-C is the supervisor's to pass on
                    env=os.environ | {"NVRSIM_CONTROL_TOKEN": token},
                )
            finally:
                theirs.close()
            reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker.token = token
        self.hub.workers[worker.index] = writer
        ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        worker.reading = asyncio.create_task(self._read(worker, reader, ready))
        return ready

    async def _until_ready(self, worker: Worker, ready: asyncio.Future[dict[str, Any]]) -> None:
        assert worker.process is not None
        exited = asyncio.ensure_future(worker.process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            assert worker.process.stderr is not None
            said = (await worker.process.stderr.read()).decode(errors="replace").strip()
            self.hub.workers.pop(worker.index, None)
            raise ServiceError(f"{worker.name}: {said or f'exited ({exited.result()})'}")
        exited.cancel()
        document = orjson.loads(Path(ready.result()["ready"]).read_bytes())
        worker.devices = {d["serial"]: orjson.Fragment(kept_json(d)) for d in document["devices"]}
        control = document["services"]["control"]
        url = f"http://{control['host']}:{control['port']}"
        worker.shard = Shard(worker.name, url, control.get("token", worker.token))
        self._adopt_ports(document["devices"])
        assert worker.process.stderr is not None
        worker.echoing = asyncio.create_task(_echo(worker.name, worker.process.stderr))

    async def _read(
        self, worker: Worker, reader: asyncio.StreamReader, ready: asyncio.Future[dict[str, Any]]
    ) -> None:
        async for body in relay.frames(reader):
            if body[:1] == relay.MESSAGE:
                said = json.loads(body[1:])
                if "powered" in said:  # a reboot: down, then up again
                    self._power(said["serial"], said["powered"])
                elif "serial" in said:
                    try:
                        self._mirror(worker.name, said["serial"], said["entry"])
                    except Exception:  # the copy lags; the relay must not stop for it
                        log.exception("%s: %s: the supervisor's copy", worker.name, said["serial"])
                elif not ready.done():
                    ready.set_result(said)
                continue
            kind, name, to, data = relay.parse(body)
            if kind == relay.REPLY:
                self.hub.send(name, to, data)

    def _mirror(self, source: str, serial: str, entry: dict[str, Any] | None) -> None:
        """A worker's device as it is now (None: removed there): the supervisor's copy,
        which WS-Discovery and the clouds read, becomes it; a service that follows a
        device's address (DHIP's own socket) is told when it moved, and those that
        announce devices when one came or went."""
        copy = self.fleet.by_serial(serial)
        if entry is None:
            if copy is not None:
                self._announce("device_down", copy)
                self.fleet.remove(copy)
            return
        settings = {"fleet": self.fleet.settings, "device": [entry]}
        now = Fixture(settings, source=source, now=self.clock.now()).build().devices[0]
        if copy is None:
            self.fleet.add(now)
            self._announce("device_up", now)
            return
        moved = copy.network.address != now.network.address
        for part in fields(copy):
            if part.name not in _NOT_IN_ENTRY:
                setattr(copy, part.name, getattr(now, part.name))
        if moved:
            for service in self.services.values():
                if (follow := getattr(service, "moved", None)) is not None:
                    follow(copy)

    async def add_devices(self, entries: list, source: str = "<request>") -> list[Device]:
        """POST /api/devices through the face: the entries' devices placed in the whole
        fleet (against the supervisor's copy, so FixtureError says what one process
        would), then added to the worker with the fewest devices, each an entry with its
        identity fixed. The copy holds them meanwhile, so that no other request takes
        their identities, and then as the worker made them (the ports it got)."""
        assert self.face is not None
        devices = build_devices(entries, self.fleet, source=source, now=self.clock.now())
        for device in devices:
            self.fleet.add(device)
        try:
            docs = await self.face.add_devices([device_entry(d) for d in devices])
        except BaseException:
            for device in devices:
                self.fleet.remove(device)
            raise
        for device, doc in zip(devices, docs, strict=True):
            self._mirror("the face", device.serial, {k: doc[k] for k in device_entry(device)})
            self._announce("device_up", device)
        return devices

    async def fleet_changed(self, path: str, doc: dict[str, Any]) -> None:
        """A fleet-wide write every worker took through the face (`path`: its route; `doc`:
        the state a worker answered): the supervisor's copy takes it as they did, so that
        its WS-Discovery suffers the fleet's faults and its clouds keep the fleet's time.
        The faults are stored in `--state`'s fleet.json, which is the supervisor's (the
        workers store the clock)."""
        if path == "/api/faults":
            self.fleet.set_faults(Faults.of(**doc))
            if (store := self.journal.store) is not None:
                await durable(self.journal.save(store.save_faults, self.fleet.faults))
            return
        if isinstance(self.clock, ScaledClock) and doc["speed"] is not None:
            self.clock.speed = doc["speed"]
        self.clock.set(doc["now"])  # as the worker read it as it answered: ms behind

    def _power(self, serial: str, powered: bool) -> None:
        copy = self.fleet.by_serial(serial)
        if copy is not None and copy.powered != powered:
            copy.powered = powered
            self._announce("device_up" if powered else "device_down", copy)

    def _announce(self, event: str, device: Device) -> None:
        """A device up or down (the fleet started or stops; a device added, removed or
        rebooted in a worker): the services that announce devices or hold sockets of
        theirs (WS-Discovery's Hello and Bye, DHIP's own socket) are told, as one
        process tells them."""
        for service in self.services.values():
            if (hook := getattr(service, event, None)) is not None:
                hook(device)

    def device_changed(self, device: Device, change: dict[str, Any]) -> None:
        """A service changed the supervisor's copy of `device` (DMSS bound it): the worker
        that holds the device makes the change, stores it and sends it back (`_mirror`)."""
        if self.face is not None:
            task = asyncio.get_running_loop().create_task(self.face.change(device.serial, change))
            self._watching.add(task)
            task.add_done_callback(self._watching.discard)

    def _adopt_ports(self, docs: list[dict[str, Any]]) -> None:
        """The ports the worker's devices got (port 0 in a fixture: any free one)."""
        for doc in docs:
            device = self.fleet.by_serial(doc["serial"])
            if device is not None:
                device.network.http_port = doc["ports"]["http"]
                device.network.rtsp_port = doc["ports"]["rtsp"]

    def _watch(self, worker: Worker) -> None:
        task = asyncio.create_task(self._restart_when_down(worker))
        self._watching.add(task)
        task.add_done_callback(self._watching.discard)

    async def _restart_when_down(self, worker: Worker) -> None:
        assert worker.process is not None and self.face is not None
        while True:
            code = await worker.process.wait()
            self.hub.workers.pop(worker.index, None)
            self.face.replace(worker.index, None)
            pid = worker.process.pid
            self.face.publish("worker.down", worker=worker.index, pid=pid, code=code)
            log.warning(
                "%s (pid %d) exited (%s): restarting it", worker.name, worker.process.pid, code
            )
            try:
                await self._start_worker(worker)
            except ServiceError as exc:
                log.error("%s", exc)
                self.face.publish("worker.failed", worker=worker.index, error=str(exc))
                return
            self.face.replace(worker.index, worker.shard)
            self.on_ready()  # the ready file names it before anyone hears it is back
            self.face.publish(
                "worker.restarted",
                worker=worker.index,
                pid=worker.process.pid,
                restored_from=self.restored_from,
            )

    # --- what the ready file says -----------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The same document a single process writes, over every worker's devices (in
        the fleet's order), plus each worker's pid and control API."""
        described = {serial: doc for w in self.workers for serial, doc in w.devices.items()}
        return {
            "pid": os.getpid(),
            "services": describe_services(self.services),
            "devices": [described[d.serial] for d in self.fleet if d.serial in described],
            "workers": [
                {
                    "index": w.index,
                    "pid": w.process.pid if w.process else None,
                    "control": w.shard.url if w.shard else None,
                    "devices": len(w.devices),
                }
                for w in self.workers
            ],
        }

    def write_ready_file(self, path: str | Path) -> None:
        write_ready_file(path, self.describe())


def _alive(process: asyncio.subprocess.Process | Forked | None) -> bool:
    return process is not None and process.returncode is None


async def _echo(name: str, stream: asyncio.StreamReader) -> None:
    """A worker's errors, on the supervisor's stderr, named."""
    async for line in stream:
        log.warning("%s: %s", name, line.decode(errors="replace").rstrip())


class Forked:
    """A worker forked by `Supervisor.fork`: as much of asyncio's Process as the supervisor
    uses (pid, returncode, wait, terminate, kill, stderr), its exit heard through a pidfd."""

    def __init__(self, pid: int, ours: socket.socket, channel: int, errors: int) -> None:
        self.pid, self.ours, self.channel, self.errors = pid, ours, channel, errors
        self.returncode: int | None = None
        self.stderr = asyncio.StreamReader()
        self._exited: asyncio.Future[int] | None = None

    def attach(self) -> Forked:
        """Heard from the running loop: its errors, and its exit."""
        loop = asyncio.get_running_loop()
        self._exited = loop.create_future()
        pidfd = os.pidfd_open(self.pid)
        loop.add_reader(pidfd, self._reap, pidfd)
        loop.add_reader(self.errors, self._read_errors)
        return self

    def _read_errors(self) -> None:
        data = os.read(self.errors, 65536)
        if data:
            self.stderr.feed_data(data)
            return
        asyncio.get_running_loop().remove_reader(self.errors)
        os.close(self.errors)
        self.stderr.feed_eof()

    def _reap(self, pidfd: int) -> None:
        asyncio.get_running_loop().remove_reader(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        assert self._exited is not None
        self._exited.set_result(self.returncode)

    async def wait(self) -> int:
        assert self._exited is not None
        return await asyncio.shield(self._exited)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)


def _forked_worker(
    index: int,
    channel: socket.socket,
    errors: int,
    supervisor: Supervisor,
    run: Callable[[list[str], Fleet], int],
    share: Callable[[int, int], Fleet],
) -> int:
    """In the forked worker: build its share, wait for its command line, run it."""
    os.setsid()  # Ctrl-C is the supervisor's to pass on, as for a spawned worker
    for other in supervisor.workers:  # the channels of those forked before: not ours to hold
        if other.forked is not None:
            other.forked.ours.close()
            os.close(other.forked.errors)
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)
    os.dup2(errors, 2)
    own = share(index, supervisor.count)
    orders = _first_message(channel)
    if orders is None:
        return 1  # the supervisor is gone before it said anything
    os.environ["NVRSIM_CONTROL_TOKEN"] = orders["token"]
    channel.detach()  # the worker reads it by number from here on, as a spawned one
    return run(orders["argv"], own)


def _first_message(channel: socket.socket) -> dict[str, Any] | None:
    head = _read_exactly(channel, relay.LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(channel, relay.LENGTH.unpack(head)[0])
    if body is None or body[:1] != relay.MESSAGE:
        return None
    return json.loads(body[1:])


def _read_exactly(channel: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        more = channel.recv(size - len(data))
        if not more:
            return None
        data += more
    return data
