"""The vendor clouds this simulator serves, as a tester reads them: Hik-Connect's accounts,
devices and captcha answers; DMSS's accounts, appeals and outbox."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nvrsim.simulator.clouds.dmss.rules import DmssError
from nvrsim.simulator.control.common import ApiError, body_of, json_reply, simulator_of
from nvrsim.simulator.control.schema import (
    CaptchaAnswer,
    CloudAccount,
    CloudDevice,
    DmssAccount,
    DmssAccountNew,
    DmssAppeal,
    DmssMail,
    Operation,
)

# --- the Hik-Connect cloud, when this simulator serves it --------------------------------------


def _cloud(request: web.Request):
    server = simulator_of(request).services.get("hikconnect")
    if server is None:
        raise ApiError(404, "this simulator serves no Hik-Connect cloud (see --broker)")
    return server.cloud  # type: ignore[attr-defined]


async def cloud_accounts(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    return json_reply(
        [
            {
                "name": a.name,
                "region": a.region,
                "devices": sorted(r.status.device_serial for r in cloud.registry.owned_by(a.name)),
            }
            for a in cloud.accounts.accounts.values()
        ]
    )


async def cloud_devices(request: web.Request) -> web.Response:
    cloud = _cloud(request)
    return json_reply(
        [
            {
                "device_serial": r.status.device_serial,
                "serial": r.status.serial,
                "model": r.status.model,
                "region": r.region,
                "online": cloud.registry.online(r),
                "bound_account": r.status.bound_account,
                "link": r.status.link,
            }
            for r in cloud.registry.records.values()
        ]
    )


async def cloud_captcha(request: web.Request) -> web.Response:
    """A captcha's answer, for tests: only when the run was started with --cloud-test-mode."""
    cloud = _cloud(request)
    if not cloud.test_mode:
        raise ApiError(404, "captcha answers are readable only in test mode (--cloud-test-mode)")
    captcha = cloud.captchas.peek(request.match_info["id"], cloud.clock.now())
    if captcha is None:
        raise ApiError(404, "no such captcha, or it expired or was used")
    return json_reply({"id": captcha.id, "answer": captcha.answer})


# --- the DMSS cloud (when the fleet has Dahua devices) -----------------------------------------


def _dmss(request: web.Request):
    service = simulator_of(request).services.get("dmss")
    if service is None:
        raise ApiError(409, "no DMSS cloud runs: the fleet has no Dahua devices")
    service.settle()  # reviews the clock has ended are decided before anything is read
    return service.cloud


def _account_doc(cloud, account) -> dict[str, Any]:
    return {"email": account.email, "devices": [d.serial for d in cloud.devices_of(account)]}


async def dmss_accounts(request: web.Request) -> web.Response:
    cloud = _dmss(request)
    return json_reply([_account_doc(cloud, a) for a in cloud.accounts.values()])


async def dmss_add_account(request: web.Request) -> web.Response:
    cloud = _dmss(request)
    new: DmssAccountNew = await body_of(request, DmssAccountNew)
    try:
        account = cloud.register(new.email, new.password, simulator_of(request).clock.now())
    except DmssError as exc:
        raise ApiError(exc.status if exc.status == 409 else 400, exc.message) from None
    return json_reply(_account_doc(cloud, account), 201)


async def dmss_appeals(request: web.Request) -> web.Response:
    return json_reply([a.as_dict() for a in _dmss(request).appeals.values()])


async def dmss_outbox(request: web.Request) -> web.Response:
    return json_reply([m.as_dict() for m in _dmss(request).outbox])


OPERATIONS = (
    Operation(
        "GET",
        "/api/dmss/accounts",
        "DMSS cloud accounts and the devices bound to each",
        dmss_accounts,
        returns=[DmssAccount],
        errors=(409,),
    ),
    Operation(
        "POST",
        "/api/dmss/accounts",
        "Create a DMSS cloud account",
        dmss_add_account,
        body=DmssAccountNew,
        ok=201,
        returns=DmssAccount,
        errors=(409,),
    ),
    Operation(
        "GET",
        "/api/dmss/appeals",
        "Every DMSS appeal (advance the clock 48 h to end a review)",
        dmss_appeals,
        returns=[DmssAppeal],
        errors=(409,),
    ),
    Operation(
        "GET",
        "/api/dmss/outbox",
        "Every e-mail the DMSS cloud sent",
        dmss_outbox,
        returns=[DmssMail],
        errors=(409,),
    ),
    Operation(
        "GET",
        "/api/cloud/accounts",
        "Hik-Connect cloud accounts and the devices bound to each",
        cloud_accounts,
        returns=[CloudAccount],
        errors=(404,),
    ),
    Operation(
        "GET",
        "/api/cloud/devices",
        "Every device the Hik-Connect cloud knows, online or not",
        cloud_devices,
        returns=[CloudDevice],
        errors=(404,),
    ),
    Operation(
        "GET",
        "/api/cloud/captchas/{id}",
        "A captcha's answer (test mode only)",
        cloud_captcha,
        returns=CaptchaAnswer,
    ),
)
