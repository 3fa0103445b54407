"""ISAPI resources of a simulated Hikvision device, grouped by role.

Handlers only translate: device state into documents, request documents into
calls of the device's rules. A handler that raises `IsapiRequestError` before
touching the device leaves it unchanged; the app turns the error into the
vendor's ResponseStatus.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from uuid import UUID

from aiohttp import BodyPartReader
from aiohttp.web import Request, Response

from nvrsim.protocols import isapi
from nvrsim.protocols.firmware_image import FirmwareImageError, parse_image
from nvrsim.simulator.core.auth import ActivationResult
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.firmware import FirmwareError, FirmwareVersion
from nvrsim.simulator.core.restart import restart_after_reply
from nvrsim.simulator.hikvision import isapi_streaming
from nvrsim.simulator.hikvision.alerts import alert_stream, event_triggers
from nvrsim.simulator.hikvision.device import is_valid_verification_code, qr_content
from nvrsim.simulator.hikvision.isapi_breadth import ROUTES as BREADTH_ROUTES
from nvrsim.simulator.hikvision.isapi_http import (
    IsapiContext,
    Route,
    read_body,
    status_response,
    xml_response,
)

Match = re.Match[str]
ISAPI_NS = isapi.ISAPI_NAMESPACE

_DEVICE_TYPE = {"nvr": "NVR", "dvr": "DVR", "ipc": "IPCamera"}


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")


def _client(request: Request) -> str:
    return request.remote or ""


# ---------------------------------------------------------------- system


def describe(device: Device) -> isapi.DeviceInfo:
    return _described(
        device.name,
        device.uuid,
        device.kind,
        device.model,
        device.serial,
        device.mac,
        device.firmware,
        device.dsp_version,
        device.quirks.isapi_namespace,
    )


# deviceInfo is the most asked-for document: what it says is worked out once per device
# state, keyed on every value it is made of, so a change (a rename, an upgrade) is seen
# by the next request. As many entries as isapi.device_info keeps documents.
@lru_cache(maxsize=1 << 14)
def _described(
    name: str,
    uuid: UUID,
    kind: str,
    model: str,
    serial: str,
    mac: str,
    firmware: FirmwareVersion,
    dsp_version: str,
    namespace: str,
) -> isapi.DeviceInfo:
    encoder, _, encoder_build = dsp_version.partition("build")
    build = firmware.build
    return isapi.DeviceInfo(
        name=name,
        device_id=str(uuid),
        description=_DEVICE_TYPE[kind],
        model=model,
        serial=serial,
        mac=mac,
        firmware_version=firmware.number,
        firmware_released=f"build {build}" if build else "",
        encoder_version=encoder.strip(),
        encoder_released=f"build {encoder_build.strip()}" if encoder_build.strip() else "",
        device_type=_DEVICE_TYPE[kind],
        recorder=kind != "ipc",
        # [I] newer builds add <manufacturer>; they are the ones on the isapi.org namespace
        manufacturer="hikvision" if namespace == ISAPI_NS else None,
    )


async def device_info(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(isapi.device_info(describe(ctx.device), ctx.namespace))


async def device_status(ctx: IsapiContext, request: Request, match: Match) -> Response:
    now = ctx.now()
    uptime = max(0, int(now - ctx.device.boot_time))
    return xml_response(
        isapi.device_status(current_time=_iso(now), uptime=uptime, namespace=ctx.namespace)
    )


async def discovery_mode(ctx: IsapiContext, request: Request, match: Match) -> Response:
    discoverable = ctx.device.can("sadp")
    return xml_response(
        isapi.discovery_mode(sadp_discoverable=discoverable, namespace=ctx.namespace)
    )


async def network_capabilities(ctx: IsapiContext, request: Request, match: Match) -> Response:
    device = ctx.device
    document = isapi.network_capabilities(
        ezviz=device.can("hik_connect"),
        ezviz_unbind=device.can("sadp_unbind"),
        namespace=ctx.namespace,
    )
    return xml_response(document)


# ---------------------------------------------------------------- maintenance

# Firmware files are far larger than ISAPI documents: [I] 256 MiB, read in chunks.
MAX_FIRMWARE = 256 * 1024 * 1024


async def update_firmware(ctx: IsapiContext, request: Request, match: Match) -> Response:
    """Take an image (raw, or the first part of a form upload); it runs after a reboot."""
    data = await _firmware_upload(request)
    try:
        image = parse_image(data)
        version = FirmwareVersion.parse(image.version)
    except (FirmwareImageError, FirmwareError):
        return status_response(ctx, request, isapi.BAD_FIRMWARE)
    device = ctx.device
    if not image.fits(device.vendor, device.kind):
        return status_response(ctx, request, isapi.BAD_FIRMWARE)
    device.pending_firmware = version
    return status_response(ctx, request, isapi.REBOOT_REQUIRED)


async def _firmware_upload(request: Request) -> bytes:
    read = request.content.read  # past the ISAPI body cap: that is for documents
    if request.content_type.startswith("multipart/"):
        part = await (await request.multipart()).next()
        if not isinstance(part, BodyPartReader):
            raise isapi.BadXmlContent("no firmware file in the form")
        read = part.read_chunk
    data = bytearray()
    while chunk := await read(1 << 16):
        data += chunk
        if len(data) > MAX_FIRMWARE:
            raise isapi.IsapiRequestError("firmware too large", isapi.BODY_TOO_LARGE)
    return bytes(data)


async def upgrade_status(ctx: IsapiContext, request: Request, match: Match) -> Response:
    # An upload completes within its request, so the device is never seen mid-way.
    percent = 100 if ctx.device.pending_firmware else 0
    return xml_response(
        isapi.upgrade_status(upgrading=False, percent=percent, namespace=ctx.namespace)
    )


async def reboot(ctx: IsapiContext, request: Request, match: Match) -> Response:
    restart_after_reply(ctx.device, ctx.reboot, ctx.now())
    return status_response(ctx, request, isapi.OK)


# ---------------------------------------------------------------- security and activation


async def user_check(ctx: IsapiContext, request: Request, match: Match) -> Response:
    # Reaching a handler means the credentials passed; failures never get here.
    return xml_response(isapi.user_check_ok())


async def activate_status(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(
        isapi.activate_status(activated=ctx.device.activated, namespace=ctx.namespace)
    )


async def security_challenge(ctx: IsapiContext, request: Request, match: Match) -> Response:
    modulus = isapi.parse_public_key(await read_body(request))
    random_hex = secrets.token_hex(16)  # 32 hex digits: their bytes are the AES-128 key
    key = isapi.encrypt_challenge(modulus, random_hex)
    ctx.challenges.remember(_client(request), random_hex, ctx.now())
    return xml_response(isapi.challenge(key, ctx.namespace))


async def activate(ctx: IsapiContext, request: Request, match: Match) -> Response:
    ciphertext = isapi.parse_activate_info(await read_body(request))
    if ctx.device.activated:
        return status_response(ctx, request, isapi.HAS_ACTIVATED)
    client = _client(request)
    random_hex = ctx.challenges.current(client, ctx.now())
    if random_hex is None:
        raise isapi.BadXmlContent("no challenge was issued to this client, or it expired")
    password = isapi.decrypt_activation_password(ciphertext, random_hex)
    result = ctx.device.activate(password)
    if result is ActivationResult.OK:
        ctx.challenges.forget(client)
        return status_response(ctx, request, isapi.OK)
    if result is ActivationResult.RISKY_PASSWORD:
        return status_response(ctx, request, isapi.RISK_PASSWORD)
    return status_response(ctx, request, isapi.HAS_ACTIVATED)


# ---------------------------------------------------------------- events


# ---------------------------------------------------------------- Hik-Connect platform access


async def get_ezviz(ctx: IsapiContext, request: Request, match: Match) -> Response:
    hc = ctx.device.hik_connect
    settings = isapi.EzvizSettings(
        enabled=hc.enabled,
        registered=ctx.device.cloud_registered,
        server=hc.server,
        verification_code=hc.verification_code,
        bound=hc.bound,
    )
    return xml_response(isapi.ezviz(settings, ctx.namespace))


async def put_ezviz(ctx: IsapiContext, request: Request, match: Match) -> Response:
    # Parsed and validated in full before anything changes: a bad field changes nothing.
    update = isapi.parse_ezviz_update(await read_body(request))
    if update.verification_code is not None and not is_valid_verification_code(
        update.verification_code
    ):
        raise isapi.BadXmlContent("verificationCode must be 6 to 12 letters or digits")
    hc = ctx.device.hik_connect
    if update.enabled is not None:
        hc.enabled = update.enabled
    if update.verification_code is not None:
        hc.verification_code = update.verification_code
    if update.server is not None:
        hc.server = update.server
    return status_response(ctx, request, isapi.OK)


async def ezviz_qr_code(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(isapi.ezviz_qr_code(qr_content(ctx.device).encode(), ctx.namespace))


async def ezviz_capabilities(ctx: IsapiContext, request: Request, match: Match) -> Response:
    return xml_response(isapi.ezviz_capabilities(ctx.namespace))


ROUTES: tuple[Route, ...] = (
    Route("/ISAPI/System/deviceInfo", {"GET": device_info}),
    Route("/ISAPI/System/status", {"GET": device_status}),
    Route("/ISAPI/System/discoveryMode", {"GET": discovery_mode}),
    Route("/ISAPI/System/Network/capabilities", {"GET": network_capabilities}),
    Route("/ISAPI/Security/userCheck", {"GET": user_check}),
    Route("/ISAPI/System/updateFirmware", {"PUT": update_firmware, "POST": update_firmware}),
    Route("/ISAPI/System/upgradeStatus", {"GET": upgrade_status}),
    Route("/ISAPI/System/reboot", {"PUT": reboot}),
    Route("/ISAPI/Event/notification/alertStream", {"GET": alert_stream}),
    Route("/ISAPI/Event/triggers", {"GET": event_triggers}),
    Route(
        "/ISAPI/System/Network/EZVIZ",
        {"GET": get_ezviz, "PUT": put_ezviz},
        capability="hik_connect",
    ),
    Route(
        "/ISAPI/System/Network/EZVIZ/QRCode",
        {"GET": ezviz_qr_code},
        capability="hik_connect",
    ),
    Route(
        "/ISAPI/System/Network/EZVIZ/capabilities",
        {"GET": ezviz_capabilities},
        capability="hik_connect",
    ),
    # Activation happens before there is a password, so these need none (§2.6).
    # The SADP-era app asks /SDK/activateStatus; one tool asks the /ISAPI/System form.
    Route("/SDK/activateStatus", {"GET": activate_status}, public=True),
    Route("/ISAPI/System/activateStatus", {"GET": activate_status}, public=True),
    Route("/ISAPI/Security/challenge", {"POST": security_challenge}, public=True),
    Route("/ISAPI/System/activate", {"PUT": activate}, public=True),
    *isapi_streaming.ROUTES,
    *BREADTH_ROUTES,
)
