"""A recorder's local menu over a WebSocket, on the live device: what `nvrsim menu` drives."""

from __future__ import annotations

from aiohttp import web

from nvrsim.firmware_menu.i18n import DEFAULT, LANGUAGES
from nvrsim.firmware_menu.live import DEFAULT_SIZE, serve_menu, terminal_size
from nvrsim.firmware_menu.model import MenuModel, Screen
from nvrsim.simulator.control.common import MENUS, ApiError, device_of, simulator_of


async def menu_session(request: web.Request) -> web.StreamResponse:
    """A recorder's local menu on the live device, for `nvrsim menu` (firmware_menu/live.py);
    `?lang=ru` starts it in that language, `columns` and `rows` at that size."""
    sim, device = simulator_of(request), device_of(request)
    lang = request.query.get("lang", DEFAULT)
    if lang not in LANGUAGES:
        raise ApiError(400, f"no menu language {lang!r}: use one of {', '.join(LANGUAGES)}")
    model = MenuModel(device, sim.clock, restart=sim.reboot, lang=lang)
    if model.screen is Screen.NO_MENU:
        raise ApiError(409, f"{device.serial} is a {device.model} ({device.kind}): no local menu")
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "the menu is a WebSocket: connect with `nvrsim menu --device SERIAL`")
    await ws.prepare(request)
    size = terminal_size(request.query.get("columns"), request.query.get("rows"))
    request.app[MENUS].add(ws)
    try:
        await serve_menu(ws, model, size or DEFAULT_SIZE, lambda: sim.journal.commit(device))
    finally:
        request.app[MENUS].discard(ws)
    return ws
