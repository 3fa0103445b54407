"""The face: one control API (and dashboard, and event stream) in front of several
simulators, each serving its own control API over its shard of the fleet.

A client sees one simulator: the same routes, documents, errors and OpenAPI description as
control/app.py serves. How each route reaches the shards is decided once, by its kind:
- a device's routes (`/api/devices/{serial}/...`, its snapshot, its menu WebSocket) go to
  the shard that holds it, learned by asking every shard the first time and forgotten when
  that shard no longer has it;
- collections (`GET /api/devices`, menu sessions, the fleet, the scenario) are merged, in
  fleet order (round robin over the shards, the order `Fleet.shard` splits a fixture in);
- fleet-wide writes (the clock, the fleet's faults) go to every shard and succeed only if
  every shard accepts; a supervisor of workers then takes what they answered into its
  own copy of the fleet and its clock (its WS-Discovery and clouds use them);
- `POST /api/devices` adds to the shard with the fewest devices, but not to one with none
  (a clouds-only simulator, such as docker/k8s's nvrsim-clouds) unless every shard has none;
  a supervisor of workers first places the devices in the whole fleet (a worker knows
  only its own share's names, serials, MACs and addresses);
- the rest (the clock and faults as they are, the clouds) from the first shard that has
  them, or the clouds from the face's own process when it serves them (a supervisor of
  workers: they are its services, not any worker's);
- the event stream is the shards' streams and the face's own events merged (face_stream).

Choices where the public record is silent:
- A fleet-wide write some shards refuse is not undone on those that accepted it (a clock
  advance cannot be taken back): the error names the first shard that refused and says
  where the change took, so that the caller can repeat it once that shard answers (setting
  the clock or faults is idempotent; an advance is not). A write every shard refuses the
  same way is answered with that refusal: nothing changed.
- A collection while a shard is down is 503 naming it, not a shorter list: a fleet that
  silently shrinks reads as devices removed.
- A serial no answering shard has is 503 when a shard is down (it may be there), else 404.
- The face's own events carry the wall-clock time (`now`): they are about its processes,
  not the simulated fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain, zip_longest
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from nvrsim.simulator.control import clouds as cloud_routes
from nvrsim.simulator.control.app import api_application, operations
from nvrsim.simulator.control.common import SIM, TOKEN, ApiError, json_reply
from nvrsim.simulator.control.face_stream import MergedStream, resumes_after
from nvrsim.simulator.control.schema import Operation, openapi

__all__ = ["Face", "Shard"]

log = logging.getLogger(__name__)

_DEVICE = "/api/devices/{serial}"
_BROADCAST = {("PUT", "/api/clock"), ("POST", "/api/clock/advance"), ("PUT", "/api/faults")}
_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=5)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Shard:
    name: str  # what messages name: "worker 2" or "shard 2/3"
    url: str  # its own control API, e.g. "http://127.0.0.1:40123"
    token: str = ""  # its control token, if it has one


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    allow: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def response(self) -> web.Response:
        response = web.Response(status=self.status, body=self.body or None)
        if self.body:
            response.content_type = self.content_type
        if self.allow is not None:
            response.headers["Allow"] = self.allow
        return response

    def refusal(self, shard: str) -> ApiError:
        try:
            doc = self.json()
            error, detail = str(doc["error"]), [str(line) for line in doc.get("detail", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            error, detail = f"answered {self.status}", []
        return ApiError(self.status, f"{shard}: {error}", detail)


@dataclass
class _Seat:
    """One shard's place in the face: who sits there now, and the stream following it."""

    name: str
    shard: Shard | None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Face:
    """One control API (and dashboard, and event stream) in front of several simulators."""

    def __init__(
        self,
        shards: Sequence[Shard],
        token: str = "",
        now: Callable[[], float] = time.time,
        supervisor: Any = None,
    ) -> None:
        """`supervisor`: the process the face runs in when it has the clouds and a copy of
        the whole fleet (`nvrsim run --workers`): the clouds' routes are its own, and it
        places devices added (POST /api/devices) in the whole fleet. None: the shards
        serve the clouds, and a shard places what it is given."""
        if not shards:
            raise ValueError("a face needs at least one shard")
        self._supervisor = supervisor
        self._seats = [_Seat(s.name, s) for s in shards]
        self._where: dict[str, int] = {}  # serial or fixture name -> seat
        self._stream = MergedStream(now)
        self._followers: list[asyncio.Task[None]] = []
        self._menus: set[web.WebSocketResponse] = set()
        self._session: aiohttp.ClientSession | None = None
        self.app = self._build(token)

    # --- what the caller (a supervisor, `nvrsim ctl`, `nvrsim face`) uses -------------------

    def replace(self, index: int, shard: Shard | None) -> None:
        """A worker restarted at a new address; None: down for now."""
        seat = self._seats[index]
        seat.shard = shard
        if shard is not None:
            seat.name = shard.name
        seat.changed.set()

    def publish(self, type: str, **fields: object) -> None:
        """An event of the face's own in the merged stream, e.g. "worker.down"."""
        self._stream.add(type, None, dict(fields))

    def add_event(self, event: Any) -> None:
        """An event of the process the face runs in (a supervisor's clouds': a Journal
        Event, on the simulator's clock), in the merged stream."""
        self._stream.add(event.kind, event.serial, event.data, event.time)

    async def change(self, serial: str, change: dict[str, Any]) -> None:
        """PATCH /api/devices/{serial} with `change` on the shard that holds the device; a
        refusal is logged (the caller, a cloud of the face's process, cannot be told)."""
        path = "/api/devices/" + quote(serial, safe="")
        try:
            body = json.dumps(change).encode()
            answer = await self._ask(await self._locate(serial), "PATCH", path, body)
        except ApiError as exc:
            log.warning("%s: %s", serial, exc)
            return
        if answer.status != 200:
            log.warning("%s: %s", serial, answer.refusal(serial))

    async def close(self) -> None:
        for task in self._followers:
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)
        self._followers.clear()
        await self._end_streams()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the app --------------------------------------------------------------------------

    def _build(self, token: str) -> web.Application:
        app = api_application(token)
        own = set()
        if self._supervisor is not None:
            app[SIM] = self._supervisor
            own = {(op.method, op.path) for op in cloud_routes.OPERATIONS}
            own.add(("POST", "/api/devices"))
        for op in operations():
            mine = (op.method, op.path) in own
            app.router.add_route(op.method, op.path, op.handler if mine else self._handler(op))
        app.router.add_get("/api/openapi.json", self._openapi)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/menu-sessions", self._menu_sessions)
        app.router.add_get(_DEVICE + "/snapshot", self._device)
        app.router.add_get(_DEVICE + "/menu", self._menu)
        dashboard = resources.files("nvrsim.simulator.control") / "dashboard"
        app.router.add_get("/", self._dashboard_page)
        app.router.add_static("/static", str(dashboard))
        app.on_shutdown.append(lambda _: self._end_streams())
        return app

    def _handler(self, op: Operation) -> Handler:
        method, path = op.method, op.path
        if path == "/api/health":
            return self._health
        if path.startswith(_DEVICE):
            return self._device
        if (method, path) in _BROADCAST:
            return self._everywhere
        return {
            ("GET", "/api/devices"): self._list_devices,
            ("POST", "/api/devices"): self._add_devices,
            ("GET", "/api/fleet"): self._fleet,
            ("GET", "/api/scenario"): self._scenario,
        }.get((method, path), self._first)

    async def _openapi(self, request: web.Request) -> web.Response:
        return json_reply(openapi(operations(), token=bool(request.app[TOKEN])))

    async def _dashboard_page(self, request: web.Request) -> web.FileResponse:
        page = resources.files("nvrsim.simulator.control") / "dashboard" / "index.html"
        return web.FileResponse(str(page))

    async def _end_streams(self) -> None:
        self._stream.end()
        for ws in list(self._menus):
            await ws.close(message=b"the simulator is stopping")

    # --- asking the shards ----------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=256)
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT, connector=connector)
        return self._session

    def _down(self, index: int, why: object = "") -> ApiError:
        seat = self._seats[index]
        where = f"{seat.shard.url}: {why}" if seat.shard else "it is down for now"
        return ApiError(503, f"{seat.name} does not answer", [f"{seat.name}: {where}"])

    @staticmethod
    def _headers(shard: Shard, body: bytes | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {shard.token}"} if shard.token else {}
        return headers | ({"Content-Type": "application/json"} if body else {})

    async def _ask(self, index: int, method: str, path: str, body: bytes | None = None) -> _Answer:
        """One shard's answer; a shard that does not answer raises the face's 503."""
        shard = self._seats[index].shard
        if shard is None:
            raise self._down(index)
        try:
            async with self._http().request(
                method, shard.url + path, data=body or None, headers=self._headers(shard, body)
            ) as reply:
                return _Answer(
                    reply.status,
                    await reply.read(),
                    reply.headers.get("Content-Type", "application/json").split(";")[0],
                    reply.headers.get("Allow"),
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._down(index, exc or type(exc).__name__) from None

    async def _ask_all(
        self, method: str, path: str, body: bytes | None = None
    ) -> list[_Answer | ApiError]:
        async def one(index: int) -> _Answer | ApiError:
            try:
                return await self._ask(index, method, path, body)
            except ApiError as down:
                return down

        return list(await asyncio.gather(*(one(i) for i in range(len(self._seats)))))

    async def _every(self, method: str, path: str) -> list[Any]:
        """Every shard's 200 document; the first that fails is the face's error."""
        docs = []
        for index, answer in enumerate(await self._ask_all(method, path)):
            if isinstance(answer, ApiError):
                raise answer
            if answer.status != 200:
                raise answer.refusal(self._seats[index].name)
            docs.append(answer.json())
        return docs

    # --- devices --------------------------------------------------------------------------

    def _learn(self, index: int, doc: Any) -> None:
        if isinstance(doc, dict):
            for key in ("serial", "name"):
                if isinstance(doc.get(key), str):
                    self._where[doc[key]] = index

    async def _locate(self, serial: str) -> int:
        """The seat of the shard that holds `serial` (a serial or a fixture name)."""
        if (known := self._where.get(serial)) is not None:
            return known
        answers = await self._ask_all("GET", "/api/devices/" + quote(serial, safe=""))
        for index, answer in enumerate(answers):
            if isinstance(answer, _Answer) and answer.status == 200:
                self._learn(index, answer.json())
                self._where[serial] = index
                return index
        down = next((a for a in answers if isinstance(a, ApiError)), None)
        if down is not None:
            down.detail.append(f"{serial!r} is on none of the shards that answer")
            raise down
        raise ApiError(404, f"no device {serial!r} in the fleet")

    async def _device(self, request: web.Request) -> web.Response:
        serial, body = request.match_info["serial"], await request.read()
        index = await self._locate(serial)
        answer = await self._ask(index, request.method, request.raw_path, body)
        if answer.status == 404 and self._where.get(serial) == index:
            del self._where[serial]  # removed, or moved: ask every shard again
            if (again := await self._locate(serial)) != index:
                answer = await self._ask(again, request.method, request.raw_path, body)
        if request.method == "DELETE" and answer.status == 204:
            self._where = {k: v for k, v in self._where.items() if v != index or k != serial}
        return answer.response()

    async def _list_devices(self, request: web.Request) -> web.Response:
        lists = await self._every("GET", "/api/devices")
        for index, docs in enumerate(lists):
            for doc in docs:
                self._learn(index, doc)
        return json_reply(_fleet_order(lists))

    async def _add_devices(self, request: web.Request) -> web.Response:
        index = await self._emptiest()
        answer = await self._ask(index, "POST", "/api/devices", await request.read())
        if answer.status == 201:
            for doc in answer.json():
                self._learn(index, doc)
        return answer.response()

    async def _emptiest(self) -> int:
        """The shard with the fewest devices; one with none is a clouds-only process, taken
        only when every shard is empty."""
        counts = [
            (a.json().get("devices", 0), index)
            for index, a in enumerate(await self._ask_all("GET", "/api/health"))
            if isinstance(a, _Answer) and a.status == 200
        ]
        if not counts:
            raise self._down(0)
        return min([c for c in counts if c[0]] or counts)[1]

    async def add_devices(self, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add devices, one fixture entry each with its identity fixed (a supervisor placed
        them in the whole fleet), to the shard with the fewest devices: each one's state as
        that shard gives it, all or none (the error is the shard's refusal)."""
        index, added = await self._emptiest(), []
        for entry in entries:
            answer = await self._ask(index, "POST", "/api/devices", json.dumps(entry).encode())
            if answer.status != 201:
                for doc in added:  # all or none, as one simulator adds them
                    await self._ask(index, "DELETE", "/api/devices/" + quote(doc["serial"]))
                raise answer.refusal(self._seats[index].name)
            for doc in answer.json():
                self._learn(index, doc)
                added.append(doc)
        return added

    async def _menu_sessions(self, request: web.Request) -> web.Response:
        return json_reply(list(chain(*await self._every("GET", request.raw_path))))

    async def _menu(self, request: web.Request) -> web.StreamResponse:
        """The menu WebSocket, relayed frame by frame to the device's shard."""
        serial = request.match_info["serial"]
        index = await self._locate(serial)
        shard = self._seats[index].shard
        ws = web.WebSocketResponse(heartbeat=30)
        if shard is None or not ws.can_prepare(request).ok:
            return (await self._ask(index, "GET", request.raw_path)).response()
        try:
            upstream = await self._http().ws_connect(
                shard.url + request.raw_path,
                headers=self._headers(shard),
                timeout=aiohttp.ClientWSTimeout(ws_close=10),
            )
        except aiohttp.WSServerHandshakeError:
            # Refused before the upgrade: the plain request gets the refusal's document.
            return (await self._ask(index, "GET", request.raw_path)).response()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._down(index, exc) from None
        await ws.prepare(request)
        self._menus.add(ws)
        try:
            await _relay(ws, upstream)
        finally:
            self._menus.discard(ws)
            await upstream.close()
            await ws.close()
        return ws

    # --- the fleet ------------------------------------------------------------------------

    async def _everywhere(self, request: web.Request) -> web.Response:
        """A fleet-wide write: every shard, or the error naming who refused."""
        body = await request.read()
        answers = await self._ask_all(request.method, request.raw_path, body)
        took = [
            self._seats[i].name
            for i, a in enumerate(answers)
            if isinstance(a, _Answer) and a.status < 400
        ]
        refusals = [
            a if isinstance(a, ApiError) else a.refusal(self._seats[i].name)
            for i, a in enumerate(answers)
            if isinstance(a, ApiError) or a.status >= 400
        ]
        if not refusals:
            answer = _answered(answers)[0]
            if self._supervisor is not None:  # its copy of the fleet takes it too
                await self._supervisor.fleet_changed(request.path, answer.json())
            return answer.response()
        replies = _answered(answers)
        if not took and len(replies) == len(answers) and len({a.body for a in replies}) == 1:
            return replies[0].response()  # the same refusal everywhere: nothing changed
        error = refusals[0]
        where = f"applied on {', '.join(took)}" if took else "applied nowhere"
        error.detail.append(f"{where}; not on {len(refusals)} of {len(answers)} shards")
        raise error

    async def _health(self, request: web.Request) -> web.Response:
        shards: list[dict[str, Any]] = []
        devices = 0
        answers = await self._ask_all("GET", "/api/health")
        for seat, answer in zip(self._seats, answers, strict=True):
            count, status = None, "down"
            if isinstance(answer, _Answer):
                serving = answer.status == 200
                count = answer.json()["devices"] if serving else None
                status = "serving" if serving else "starting"
            devices += count or 0
            url = seat.shard.url if seat.shard else None
            shards.append({"name": seat.name, "url": url, "status": status, "devices": count})
        quiet = [s for s in shards if s["status"] != "serving"]
        if not quiet:
            return json_reply({"status": "serving", "devices": devices, "shards": shards})
        names = ", ".join(s["name"] for s in quiet)
        detail = [f"{s['name']}: {s['status']}" for s in quiet]
        doc = {"error": f"not serving: {names}", "detail": detail, "shards": shards}
        return json_reply(doc, 503)

    async def _fleet(self, request: web.Request) -> web.Response:
        docs = await self._every("GET", "/api/fleet")
        return json_reply(docs[0] | {"devices": sum(d["devices"] for d in docs)})

    async def _scenario(self, request: web.Request) -> web.Response:
        """Each shard checks the goals on its own devices: a goal is where its device is."""
        answers = await self._ask_all("GET", "/api/scenario")
        docs = [a.json() for a in _answered(answers) if a.status == 200]
        if len(docs) < len(answers):
            return await self._first(request)
        merged = dict(docs[0])
        merged["goals"] = [
            next((g for g in goals if g["reached"]), None)
            or goals[self._where.get(goals[0]["device"], 0)]
            for goals in zip(*(doc["goals"] for doc in docs), strict=False)
        ]
        return json_reply(merged)

    async def _first(self, request: web.Request) -> web.Response:
        """The first shard's answer that is not a refusal, else the first refusal."""
        body = await request.read()
        answers = await self._ask_all(request.method, request.raw_path, body)
        refused = None
        for answer in answers:
            if isinstance(answer, _Answer):
                if answer.status < 400:
                    return answer.response()
                refused = refused or answer
        if refused is None:
            raise answers[0]  # type: ignore[misc]  # every one is down
        return refused.response()

    # --- the event stream -----------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._followers:
            history = resumes_after(request.headers.get("Last-Event-ID")) is not None
            self._followers = [
                asyncio.create_task(self._follow(seat, history)) for seat in self._seats
            ]
        return await self._stream.serve(request)

    async def _follow(self, seat: _Seat, history: bool) -> None:
        def where() -> tuple[str, dict[str, str]] | None:
            shard = seat.shard
            return (shard.url, self._headers(shard)) if shard else None

        await self._stream.follow(seat.name, where, seat.changed, self._http(), history)


def _answered(answers: Sequence[_Answer | ApiError]) -> list[_Answer]:
    return [a for a in answers if isinstance(a, _Answer)]


def _fleet_order(lists: Sequence[list[Any]]) -> list[Any]:
    """Round robin over the shards: the fixture's order for shards made by Fleet.shard."""
    missing = object()
    return [d for row in zip_longest(*lists, fillvalue=missing) for d in row if d is not missing]


async def _relay(ws: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Frames both ways until either side closes."""

    async def down() -> None:
        async for message in upstream:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data)

    async def up() -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await upstream.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await upstream.send_bytes(message.data)

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
    with contextlib.suppress(ConnectionError):
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
