"""NIPCA resources of a simulated D-Link camera or recorder, grouped by role.

Handlers only translate device state into `key=value` replies and request
settings into calls of the device's rules. A handler raises `NipcaRequestError`
before touching the device when a setting is unusable, so bad input changes
nothing. [I] Recorders (DNR) answer the same CGIs as cameras.

The video profiles are the streams the device's RTSP server carries (`OnvifDevice.streams`):
profile 2n-1 is channel n's main stream, profile 2n its sub stream. [I] `stream_info.cgi`
names each profile's frame rate and bitrate beside its codec and size
(`vprofilefps<n>`, `vprofilebitrate<n>`); `rtspurl.cgi` gives its RTSP path as `urlentry`
(without the leading slash) and the RTSP port as `rtspport`; `/image/jpeg.cgi` is the
video's test card at the main stream's size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from nvrsim.protocols import nipca
from nvrsim.protocols.dlink_discovery import BasicDevice, device_description
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.restart import Restart, restart_after_reply
from nvrsim.simulator.dlink import events, mydlink
from nvrsim.simulator.onvif.settings import StreamInfo, VideoFormat
from nvrsim.simulator.runtime import testcard

NIPCA_VERSION = "1.9.7"
_PRODUCT = {"ipc": "Network Camera", "nvr": "Network Video Recorder"}


class NipcaRequestError(Exception):
    def __init__(self, error: nipca.NipcaError = nipca.BAD_PARAMETER) -> None:
        super().__init__(error.reason)
        self.error = error


@dataclass
class Call:
    """One request as a handler sees it: the device, the time, and the settings sent."""

    device: Device
    clock: Clock
    params: Mapping[str, str]
    method: str
    base_url: str  # http://ip:port as the client reached us
    restart: Restart | None = None  # how the simulator restarts the device
    request: web.Request | None = None  # for a handler that streams its reply


Handler = Callable[[Call], Awaitable[web.Response]]


def text_response(fields, status: int = 200) -> web.Response:
    return web.Response(
        body=nipca.encode_fields(fields), status=status, content_type=nipca.TEXT_CONTENT_TYPE
    )


def _only(call: Call, *allowed: str) -> None:
    unknown = set(call.params) - set(allowed)
    if unknown:
        raise NipcaRequestError()


def _major_minor_build(device: Device) -> tuple[str, str]:
    fw = device.firmware
    return f"{fw.major}.{fw.minor:02d}", f"{fw.patch:02d}"


# ---------------------------------------------------------------- common


def info_fields(device: Device) -> dict[str, object]:
    version, build = _major_minor_build(device)
    net = device.network
    camera = device.kind == "ipc"
    return {
        "model": device.model,
        "product": _PRODUCT.get(device.kind, "Network Camera"),
        "brand": "D-Link",
        "version": version,
        "build": build,
        "hw_version": device.hardware_version[:1],
        "nipca": NIPCA_VERSION,
        "name": device.name,
        "location": "",
        "macaddr": device.mac.upper(),
        "ipaddr": net.ip,
        "netmask": net.netmask,
        "gateway": str(net.gateway),
        "wireless": "no",
        "inputs": 1 if camera else 0,
        "outputs": 1 if camera else 0,
        "speaker": "no",
        "videoout": "no" if camera else "yes",
        "pir": "no",
        "icr": "yes" if camera else "no",
        "ir": "yes" if camera else "no",
        "mic": "yes" if camera else "no",
        "led": "no",
        "td": "no",
        "playing_music": "no",
        "whitelightled": "no",
    }


async def info(call: Call) -> web.Response:
    return text_response(info_fields(call.device))


async def description(call: Call) -> web.Response:
    device = call.device
    body = device_description(
        BasicDevice(
            friendly_name=device.name,
            model_name=device.model,
            model_number=device.hardware_version,
            model_description=_PRODUCT.get(device.kind, "Network Camera"),
            serial=device.serial,
            udn=f"uuid:{device.uuid}",
            presentation_url=f"{call.base_url}/",
        )
    )
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


async def index(call: Call) -> web.Response:
    d = call.device
    html = (
        f"<!DOCTYPE html><html><head><title>D-LINK SYSTEMS, INC. | WEB CAMERA MANAGEMENT"
        f"</title></head><body><h1>{d.model}</h1><p>Firmware {d.firmware.text}</p></body></html>"
    )
    return web.Response(text=html, content_type="text/html")


# ---------------------------------------------------------------- config


def _codec(video: VideoFormat) -> str:
    return video.codec.replace(".", "")  # NIPCA writes H264, as in its ACVS-H264.cgi


async def stream_info(call: Call) -> web.Response:
    _only(call)
    profiles = call.device.streams()
    videos = [info.video for info in profiles]
    fields: dict[str, object] = {
        "videos": ",".join(dict.fromkeys(v.codec for v in videos)),
        "audios": "G.711",
        "resolutions": ",".join(dict.fromkeys(v.resolution for v in videos)),
        "framerates": ",".join(dict.fromkeys(str(v.fps) for v in videos)),
        "vprofilenum": len(profiles),
    }
    for number, video in enumerate(videos, 1):
        fields[f"vprofile{number}"] = _codec(video)
        fields[f"vprofileurl{number}"] = f"/video/ACVS-H264.cgi?profileid={number}"
        fields[f"vprofileres{number}"] = video.resolution
        fields[f"vprofilefps{number}"] = video.fps
        fields[f"vprofilebitrate{number}"] = video.bitrate_kbps
    fields |= {"aprofilenum": 1, "aprofileurl1": "/audio/ACAS-ULAW.cgi"}
    return text_response(fields)


def _profile(call: Call, name: str = "profileid") -> StreamInfo:
    profiles = call.device.streams()
    text = call.params.get(name, "1")
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= len(profiles)):
        raise NipcaRequestError()
    return profiles[int(text) - 1]


async def snapshot(call: Call) -> web.Response:
    """`/image/jpeg.cgi`: the video's test card now, at channel 1's main stream size."""
    _only(call)
    video = call.device.streams()[0].video
    now, head = call.clock.now(), call.device.ptz
    body = await asyncio.to_thread(testcard.snapshot, video.width, video.height, now, head)
    return web.Response(body=body, content_type="image/jpeg")


async def motion(call: Call) -> web.Response:
    _only(call, "enable")
    if "enable" in call.params:
        enable = call.params["enable"].lower()
        if enable not in ("yes", "no"):
            raise NipcaRequestError()
        (
            call.device.motion_detection.add
            if enable == "yes"
            else call.device.motion_detection.discard
        )(1)
    on = 1 in call.device.motion_detection
    return text_response(
        {"enable": "yes" if on else "no", "mbmask": "F" * 100, "sensitivity": 80, "pir": "no"}
    )


async def datetime_info(call: Call) -> web.Response:
    _only(call)
    now = datetime.fromtimestamp(call.clock.now(), tz=UTC)
    return text_response(
        {
            "method": 1,
            "timeserver": "ntp1.dlink.com",
            "timezone": 0,
            "utcdate": now.strftime("%Y-%m-%d"),
            "utctime": now.strftime("%H:%M:%S"),
            "date": now.strftime("%Y-%m-%d"),
            "time": now.strftime("%H:%M:%S"),
            "dstenable": "no",
            "dstauto": "no",
            "offset": "01:00",
        }
    )


async def rtsp_url(call: Call) -> web.Response:
    _only(call, "profileid")
    info = _profile(call)
    return text_response(
        {
            "profileid": call.params.get("profileid", "1"),
            "urlentry": info.path.lstrip("/"),
            "video_codec": _codec(info.video),
            "audio_codec": "G711",
            "rtspport": call.device.network.rtsp_port,
        }
    )


async def user(call: Call) -> web.Response:
    """The admin account: GET names it, POST name=admin&password=… sets the password."""
    device = call.device
    if call.method == "POST":
        _only(call, "name", "password")
        if call.params.get("name", device.admin_user) != device.admin_user:
            raise NipcaRequestError()
        password = call.params.get("password")
        if password is None or len(password) > 64:
            raise NipcaRequestError()
        device.set_password(password)
    else:
        _only(call)
    return text_response({"name": device.admin_user, "password_set": bool(device.admin_password)})


_REGISTRATION_ERRORS = {
    mydlink.Registration.NO_ADMIN_PASSWORD: nipca.NO_ADMIN_PASSWORD,
    mydlink.Registration.ALREADY_REGISTERED: nipca.ALREADY_REGISTERED,
    mydlink.Registration.BAD_ACCOUNT: nipca.BAD_PARAMETER,
    mydlink.Registration.NOT_SUPPORTED: nipca.NOT_FOUND,
}


async def mydlink_registration(call: Call) -> web.Response:
    """[I] a stand-in for what the mydlink app does through the cloud: GET shows the
    registration, POST act=register&account=… or act=unregister changes it."""
    device = call.device
    if call.method == "POST":
        _only(call, "act", "account")
        act = call.params.get("act")
        if act == "register":
            verdict = mydlink.register(device, call.params.get("account", ""))
            if verdict is not mydlink.Registration.OK:
                raise NipcaRequestError(_REGISTRATION_ERRORS[verdict])
        elif act == "unregister" and "account" not in call.params:
            mydlink.unregister(device)
        else:
            raise NipcaRequestError()
    else:
        _only(call)
    reg = device.mydlink
    return text_response(
        {"registered": "yes" if reg.registered else "no", "account": reg.account or ""}
    )


async def system_reset(call: Call) -> web.Response:
    _only(call, "reset")
    if call.params.get("reset", "go") != "go":
        raise NipcaRequestError()
    call.device.factory_reset(call.clock.now())
    if call.restart is not None:  # the state is reset at once; the device is gone a while
        restart_after_reply(call.device, call.restart, call.clock.now())
    return text_response({"reset": "ok"})


async def system_reboot(call: Call) -> web.Response:
    _only(call, "reboot")
    if call.params.get("reboot", "go") != "go":
        raise NipcaRequestError()
    restart_after_reply(call.device, call.restart, call.clock.now())
    return text_response({"reboot": "ok"})


async def notify_stream(call: Call) -> web.StreamResponse:
    assert call.request is not None
    return await events.notify_stream(call.request, call.device)


@dataclass(frozen=True)
class Route:
    methods: Mapping[str, Handler]
    public: bool = False  # answered without credentials
    before_setup: bool = False  # answered (without credentials) while no password is set


_GET = ("GET",)
_GET_POST = ("GET", "POST")


def _route(handler: Handler, methods=_GET, **flags: bool) -> Route:
    return Route({m: handler for m in methods}, **flags)


# Paths are case-sensitive, as on the cameras' lighttpd.
ROUTES: dict[str, Route] = {
    "/": _route(index),
    "/common/info.cgi": _route(info),
    "/upnp/BasicDevice.xml": _route(description, public=True),
    "/config/stream_info.cgi": _route(stream_info),
    "/config/motion.cgi": _route(motion, _GET_POST),
    "/config/notify_stream.cgi": _route(notify_stream),  # type: ignore[arg-type]
    "/config/datetime.cgi": _route(datetime_info),
    "/config/rtspurl.cgi": _route(rtsp_url),
    "/image/jpeg.cgi": _route(snapshot),
    "/config/user.cgi": _route(user, _GET_POST, before_setup=True),
    "/config/mydlink.cgi": _route(mydlink_registration, _GET_POST),
    "/config/system_reset.cgi": _route(system_reset, _GET_POST),
    "/config/system_reboot.cgi": _route(system_reboot, _GET_POST),
}
