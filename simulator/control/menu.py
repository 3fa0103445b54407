"""A recorder's local menu over a WebSocket, on the live device: what `nvrsim menu` and the
dashboard's terminal drive, and what other browsers watch read-only. Also the device's
snapshot for the dashboard's device page.

Choices where the public record is silent: a session's id is random and short (it is
listed to anyone who may use the control API, so it is a handle, not a secret); the
snapshot is the JPEG the device's own ONVIF snapshot URL serves, without the Digest login a
browser's <img> cannot do, and 503 while the device is down, as its web server is.
"""

from __future__ import annotations

from aiohttp import web

from nvrsim.firmware_menu.i18n import DEFAULT, LANGUAGES
from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.simulator.control.common import MENUS, ApiError, device_of, json_reply, simulator_of
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime import testcard

MENU_SESSIONS = web.AppKey("menu_sessions", dict)  # session id -> MenuSession, to watch


def add_dashboard_routes(app: web.Application) -> None:
    """What the dashboard's device page needs beside the API's resources: the open menu
    sessions to watch, and the device's snapshot."""
    app[MENU_SESSIONS] = {}
    app.router.add_get("/api/menu-sessions", menu_sessions)
    app.router.add_get("/api/devices/{serial}/snapshot", snapshot)


async def menu_session(request: web.Request) -> web.StreamResponse:
    """A recorder's local menu on the live device, for `nvrsim menu` (firmware_menu/live.py);
    `?lang=ru` starts it in that language, `columns` and `rows` at that size; `?watch=ID`
    watches session ID read-only instead."""
    # prompt_toolkit (70 ms at import) is loaded by the first menu, not by every start.
    from nvrsim.firmware_menu.live import DEFAULT_SIZE, MenuSession, serve_menu, terminal_size

    sim, device = simulator_of(request), device_of(request)
    if "watch" in request.query:
        return await _watch(request, request.query["watch"], device.serial)
    lang = request.query.get("lang", DEFAULT)
    if lang not in LANGUAGES:
        raise ApiError(400, f"no menu language {lang!r}: use one of {', '.join(LANGUAGES)}")
    model = MenuModel(device, sim.clock, restart=sim.reboot, lang=lang)
    if model.screen is Screen.NO_MENU:
        raise ApiError(409, f"{device.serial} is a {device.model} ({device.kind}): no local menu")
    ws = _websocket(request)
    await ws.prepare(request)
    size = terminal_size(request.query.get("columns"), request.query.get("rows"))
    session = MenuSession(device.serial, model, size or DEFAULT_SIZE)
    request.app[MENUS].add(ws)
    request.app[MENU_SESSIONS][session.id] = session
    sim.journal.publish("menu.opened", device.serial, session=session.id, lang=lang)
    try:
        after_input = lambda: sim.journal.commit(device)  # noqa: E731
        await serve_menu(ws, model, session.size, after_input, session)
    finally:
        request.app[MENUS].discard(ws)
        del request.app[MENU_SESSIONS][session.id]
        sim.journal.publish("menu.closed", device.serial, session=session.id)
    return ws


async def _watch(request: web.Request, session_id: str, serial: str) -> web.StreamResponse:
    session = request.app[MENU_SESSIONS].get(session_id)
    if session is None or session.serial != serial:
        raise ApiError(404, f"no menu session {session_id!r} on {serial}")
    ws = _websocket(request)
    await ws.prepare(request)
    request.app[MENUS].add(ws)
    try:
        await session.watch(ws)
    finally:
        request.app[MENUS].discard(ws)
    return ws


def _websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "the menu is a WebSocket: connect with `nvrsim menu --device SERIAL`")
    return ws


async def menu_sessions(request: web.Request) -> web.Response:
    """The open menu sessions (`?serial=` for one device's), for watchers to pick from."""
    wanted = request.query.get("serial")
    device = simulator_of(request).fleet.find(wanted) if wanted else None
    if wanted and device is None:
        raise ApiError(404, f"no device {wanted!r} in the fleet")
    return json_reply(
        [
            s.as_dict()
            for s in request.app[MENU_SESSIONS].values()
            if device is None or s.serial == device.serial
        ]
    )


async def snapshot(request: web.Request) -> web.Response:
    """The device's snapshot (its first channel's main stream, now), for the dashboard's
    device page: the same picture the device's own snapshot URLs give."""
    device = device_of(request)
    if not device.powered:
        raise ApiError(503, f"{device.serial} is down (rebooting)")
    if not device.channels:
        raise ApiError(404, f"{device.serial} has no video channel")
    video = device.stream_format(VideoStream(1, False))
    now = simulator_of(request).clock.now()
    body = testcard.snapshot(video.width, video.height, now, device.ptz)
    return web.Response(body=body, content_type="image/jpeg", headers={"Cache-Control": "no-store"})
