"""The Hik-Connect cloud's HTTP API, as the app and its client libraries call it.

JSON in the real shape: every answer carries `meta.code` (200 or the vendor's
error code) with HTTP 200, as the real API does; unknown paths and methods get
a `meta` document too, and a malformed request gets 1001, never a 500. The
region is the Host header's API domain (`apiieu.hik-connect.com`, …; anything
else is the default region), as clients switch domain after a 1100. A session
travels in the `sessionId` header, as the hikconnect library sends it.

Paths ([V] from hikconnect/pyezvizapi: login, pagelist; [I] the rest):

- POST /v3/users/regist             account, password (MD5 hex): a new account in this region
- POST /v3/users/login/v2           account, password (MD5 hex), featureCode, cuName, imageCode
- POST /v3/users/logout/v2
- PUT  /v3/apigateway/login          refreshSessionId: a new session (sessionInfo)
- GET  /v3/userdevices/v1/devices/pagelist?offset=&limit=
- GET  /v3/userdevices/v1/devices/search?deviceSerial=     (or qrCode=)
- POST /v3/userdevices/v1/devices/add       deviceSerial + validateCode, or qrCode
- DELETE /v3/userdevices/v1/devices/{deviceSerial}
- GET  /v3/captcha?account=&featureCode=   the login's image code (PNG) once a login got
  1015 after 5 wrong passwords; its answer goes in the next login's imageCode
- POST /v3/captcha                  → captchaId and the image's URL
- GET  /v3/captcha/{captchaId}.png
- POST /v3/userdevices/v1/devices/{deviceSerial}/unbind   userName, password, captchaId,
  captchaCode: the app's unbind of a device added by another account.

Same LAN for the app's unbind: the cloud hands the device the address the
request came from (a real cloud sees the phone's public address; on loopback,
the client's own), and the device's unbind rule decides (`Device.same_lan`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aiohttp import web

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.captcha import captcha_png
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.hikconnect.rules import (
    UNBIND_CODES,
    AccountError,
    DeviceRecord,
    add_device_code,
    login_captcha_id,
    valid_device_serial,
)
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.runtime.http_service import HttpService, listen

log = logging.getLogger(__name__)

CLOUD = web.AppKey("cloud", Cloud)
MAX_BODY = 64 * 1024
PAGE_LIMIT = 100


class CloudError(Exception):
    def __init__(self, code: int, status: int = 200, **extra: Any) -> None:
        super().__init__(hc.MESSAGES.get(code, str(code)))
        self.code, self.status, self.extra = code, status, extra


def _answer(code: int = hc.OK, status: int = 200, **body: Any) -> web.Response:
    return web.json_response({"meta": hc.meta(code)} | body, status=status)


async def _form(request: web.Request) -> dict[str, str]:
    """Form fields (urlencoded or multipart) or a JSON object, as strings."""
    if request.content_type == "application/json":
        try:
            doc = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise CloudError(hc.PARAM_ERROR) from None
        if not isinstance(doc, dict):
            raise CloudError(hc.PARAM_ERROR)
        return {str(k): v for k, v in doc.items() if isinstance(v, str)}
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError):
        raise CloudError(hc.PARAM_ERROR) from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _field(form: dict[str, str], name: str, max_length: int = 128) -> str:
    value = form.get(name, "").strip()
    if not value or len(value) > max_length:
        raise CloudError(hc.PARAM_ERROR)
    return value


def _region(request: web.Request) -> hc.Region:
    return hc.region_of_api_host(request.host)


def _cloud(request: web.Request) -> Cloud:
    return request.app[CLOUD]


def _user(request: web.Request) -> str:
    account = _cloud(request).session_account(request.headers.get("sessionId"))
    if account is None:
        raise CloudError(hc.SESSION_INVALID)
    if account.region != _region(request).id:
        raise CloudError(hc.WRONG_REGION, loginArea=hc.login_area(hc.region(account.region)))  # type: ignore[arg-type]
    return account.name


# ---------------------------------------------------------------- accounts


async def register(request: web.Request) -> web.Response:
    form = await _form(request)
    cloud = _cloud(request)
    try:
        account = cloud.accounts.register(
            _field(form, "account"), _field(form, "password"), _region(request)
        )
    except AccountError as exc:
        raise CloudError(exc.code) from None
    await cloud.accounts_changed()
    cloud.event("cloud.account", account=account.name, region=account.region)
    return _answer()


def _feature_code(request: web.Request, fields: dict[str, str]) -> str:
    """The client's own id (the app sends it in a header or a field)."""
    return (fields.get("featureCode") or request.headers.get("featureCode") or "")[:64]


async def login(request: web.Request) -> web.Response:
    form = await _form(request)
    cloud, region = _cloud(request), _region(request)
    name = _field(form, "account")
    passed = False
    if cloud.accounts.captcha_required(name) and form.get("imageCode"):
        captcha_id = login_captcha_id(name, _feature_code(request, form))
        passed = cloud.captchas.check(captcha_id, form["imageCode"], cloud.clock.now())
    try:
        account = cloud.accounts.login(
            name, _field(form, "password"), region, captcha_passed=passed
        )
    except AccountError as exc:
        extra = {"loginArea": hc.login_area(exc.region)} if exc.region else {}
        raise CloudError(exc.code, **extra) from None
    session, refresh = cloud.open_session(account)
    return _answer(
        loginSession={"sessionId": session, "rfSessionId": refresh},
        loginUser={"username": account.name, "areaId": region.area_id},
        loginArea=hc.login_area(region),
    )


async def logout(request: web.Request) -> web.Response:
    _user(request)
    _cloud(request).sessions.close(request.headers.get("sessionId", ""))
    return _answer()


async def refresh_login(request: web.Request) -> web.Response:
    """PUT /v3/apigateway/login: a new session for the refresh id a login gave."""
    form = await _form(request)
    cloud = _cloud(request)
    renewed = cloud.sessions.refresh(_field(form, "refreshSessionId"), cloud.clock.now())
    if renewed is None:
        raise CloudError(hc.SESSION_INVALID)
    session, refresh = renewed
    return _answer(sessionInfo={"sessionId": session, "refreshSessionId": refresh})


# ---------------------------------------------------------------- devices


def _device_info(record: DeviceRecord) -> dict[str, Any]:
    s = record.status
    return {
        "deviceSerial": s.device_serial,
        "fullSerial": s.serial,
        "name": f"{s.model}({s.device_serial})",
        "deviceType": s.model,
        "version": s.firmware,
        "deviceName": s.name,
    }


def _status_info(cloud: Cloud, record: DeviceRecord, region_id: str) -> dict[str, Any]:
    return {"globalStatus": 1 if cloud.registry.online(record, region_id) else 0}


async def pagelist(request: web.Request) -> web.Response:
    user, cloud, region = _user(request), _cloud(request), _region(request)
    offset = _int_query(request, "offset", 0)
    limit = min(_int_query(request, "limit", PAGE_LIMIT), PAGE_LIMIT)
    owned = sorted(cloud.registry.owned_by(user), key=lambda r: r.status.device_serial)
    page = owned[offset : offset + limit]
    return _answer(
        page={
            "offset": offset,
            "limit": limit,
            "totalResults": len(owned),
            "hasNext": offset + limit < len(owned),
        },
        deviceInfos=[_device_info(r) for r in page],
        statusInfos={r.status.device_serial: _status_info(cloud, r, region.id) for r in page},
        connectionInfos={r.status.device_serial: _connection_info(r) for r in page},
    )


def _connection_info(record: DeviceRecord) -> dict[str, Any]:
    # [I] On loopback the device's public address is its own.
    address = record.status.address or "0.0.0.0"
    return {"localIp": address, "netIp": address}


def _int_query(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise CloudError(hc.PARAM_ERROR)
    return int(text)


def _which_device(fields: dict[str, str]) -> tuple[str, str | None]:
    """(9-character serial, verification code or None) from a serial or the device's QR code."""
    if "qrCode" in fields:
        qr = hc.parse_qr(fields["qrCode"])
        if qr is None:
            raise CloudError(hc.DEVICE_SERIAL_INVALID)
        serial, code = qr.device_serial, qr.verification_code
    else:
        serial, code = _field(fields, "deviceSerial"), fields.get("validateCode")
    if not valid_device_serial(serial):
        raise CloudError(hc.DEVICE_SERIAL_INVALID)
    return serial, code


async def search(request: web.Request) -> web.Response:
    user, cloud, region = _user(request), _cloud(request), _region(request)
    serial, _code = _which_device(dict(request.query))
    record = cloud.registry.find(serial)
    online = record is not None and cloud.registry.online(record, region.id)
    code = add_device_code(record, online=online, user=user, verification_code=None)
    body = {"deviceInfo": _device_info(record)} if record is not None else {}
    return _answer(code, **body)


async def add_device(request: web.Request) -> web.Response:
    user, cloud, region = _user(request), _cloud(request), _region(request)
    serial, code = _which_device(await _form(request))
    if code is None:
        raise CloudError(hc.PARAM_ERROR)
    record = cloud.registry.find(serial)
    online = record is not None and cloud.registry.online(record, region.id)
    verdict = add_device_code(record, online=online, user=user, verification_code=code)
    if verdict != hc.OK:
        raise CloudError(verdict)
    assert record is not None
    reply = await cloud.ask(record, hc.OP_BIND, account=user)
    if reply is None:
        raise CloudError(hc.OFFLINE_NOT_ADDED)
    if reply.result != "ok":
        raise CloudError(hc.ADDED_BY_OTHER)
    record.status = _bound(record, user)
    cloud.event("cloud.device.added", record.status.serial, account=user)
    return _answer(deviceInfo=_device_info(record))


async def delete_device(request: web.Request) -> web.Response:
    user, cloud = _user(request), _cloud(request)
    serial = request.match_info["serial"]
    record = cloud.registry.find(serial)
    if record is None or record.status.bound_account != user:
        raise CloudError(hc.DEVICE_NOT_EXIST)
    reply = await cloud.ask(record, hc.OP_RELEASE, account=user)
    if reply is None:
        # [I] The binding lives on the device: it must hear of the deletion.
        raise CloudError(hc.OFFLINE_ADDED_BY_YOU)
    if reply.result != "ok":
        raise CloudError(hc.DEVICE_NOT_EXIST)
    record.status = _bound(record, None)
    cloud.event("cloud.device.deleted", record.status.serial, account=user)
    return _answer()


def _bound(record: DeviceRecord, account: str | None) -> hc.DeviceStatus:
    return replace(record.status, bound_account=account)


# ---------------------------------------------------------------- the app's unbind


async def new_captcha(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    captcha = cloud.captchas.issue(cloud.clock.now())
    return _answer(captchaId=captcha.id, imageUrl=f"/v3/captcha/{captcha.id}.png")


async def login_captcha(request: web.Request) -> web.Response:
    """GET /v3/captcha?account=&featureCode=: the login's image code (after 1015), as a PNG;
    its answer goes in the next login's `imageCode`."""
    cloud = _cloud(request)
    query = dict(request.query)
    account = _field(query, "account")
    captcha_id = login_captcha_id(account, _feature_code(request, query))
    captcha = cloud.captchas.issue(cloud.clock.now(), captcha_id)
    return web.Response(
        body=captcha_png(captcha.answer, captcha.id),
        content_type="image/png",
        headers={"Cache-Control": "no-store", "X-Captcha-Id": captcha.id},
    )


async def captcha_image(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    captcha = cloud.captchas.peek(request.match_info["id"], cloud.clock.now())
    if captcha is None:
        raise CloudError(hc.CAPTCHA_WRONG)
    return web.Response(
        body=captcha_png(captcha.answer, captcha.id),
        content_type="image/png",
        headers={"Cache-Control": "no-store"},
    )


async def app_unbind(request: web.Request) -> web.Response:
    """Seed 001, the app's way: admin + the device password + the image code, same LAN,
    device online here. The device itself checks the password and the LAN."""
    user, cloud, region = _user(request), _cloud(request), _region(request)
    form = await _form(request)
    serial = request.match_info["serial"]
    if not valid_device_serial(serial):
        raise CloudError(hc.DEVICE_SERIAL_INVALID)
    user_name = _field(form, "userName", 32)
    password = _field(form, "password", 64)
    captcha_id, captcha_code = _field(form, "captchaId"), _field(form, "captchaCode", 16)
    if not cloud.captchas.check(captcha_id, captcha_code, cloud.clock.now()):
        raise CloudError(hc.CAPTCHA_WRONG)
    record = cloud.registry.find(serial)
    if record is None:
        raise CloudError(hc.DEVICE_NOT_EXIST)
    owner = record.status.bound_account
    if owner is None:
        raise CloudError(hc.UNBIND_NOT_BOUND)
    if not cloud.registry.online(record, region.id):
        raise CloudError(hc.OFFLINE_ADDED_BY_YOU if owner == user else hc.OFFLINE_ADDED_BY_OTHER)
    reply = await cloud.ask(
        record,
        hc.OP_UNBIND,
        user=user_name,
        password=password,
        client=request.remote or "",
    )
    if reply is None:
        raise CloudError(hc.DEVICE_NO_ANSWER)
    code = UNBIND_CODES.get(reply.result, hc.DEVICE_NO_ANSWER)
    where = {"account": user, "client": request.remote or "", "result": reply.result}
    cloud.event("cloud.app_unbind", record.status.serial, **where)
    if code != hc.OK:
        raise CloudError(code, retryTimes=reply.retries_left, lockTime=reply.unlock_in)
    record.status = _bound(record, None)
    return _answer()


# ---------------------------------------------------------------- the app

_DEVICES = "/v3/userdevices/v1/devices"

ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("POST", "/v3/users/regist", register),
    ("POST", "/v3/users/login/v2", login),
    ("POST", "/v3/users/logout/v2", logout),
    ("PUT", "/v3/apigateway/login", refresh_login),
    ("GET", f"{_DEVICES}/pagelist", pagelist),
    ("GET", f"{_DEVICES}/search", search),
    ("POST", f"{_DEVICES}/add", add_device),
    ("DELETE", _DEVICES + "/{serial}", delete_device),
    ("POST", _DEVICES + "/{serial}/unbind", app_unbind),
    ("POST", "/v3/captcha", new_captcha),
    ("GET", "/v3/captcha", login_captcha),
    ("GET", "/v3/captcha/{id}.png", captcha_image),
)


def cloud_app(cloud: Cloud) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=MAX_BODY)
    app[CLOUD] = cloud
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CloudError as exc:
        return _answer(exc.code, exc.status, **exc.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: hc.NOT_FOUND, 405: hc.METHOD_NOT_ALLOWED}.get(exc.status, hc.PARAM_ERROR)
        return _answer(code, exc.status)


class CloudServer(HttpService):
    """The cloud as a fleet service: its HTTP API on one port, its MQTT connection."""

    def __init__(self, cloud: Cloud, runner: web.AppRunner) -> None:
        super().__init__(runner)
        self.cloud = cloud

    async def close(self) -> None:
        await super().close()
        await self.cloud.close()


async def serve_cloud(cloud: Cloud, host: str, port: int) -> CloudServer:
    """Serve the API of `cloud` (started); ServiceError if it cannot listen, the cloud closed."""
    try:
        return CloudServer(cloud, await listen(cloud_app(cloud), "Hik-Connect cloud", host, port))
    except ServiceError:
        await cloud.close()
        raise
