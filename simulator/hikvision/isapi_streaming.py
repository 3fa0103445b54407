"""ISAPI's live-video resources: the streaming channels, their snapshots, and the ports.

Each document describes the streams the device's RTSP server carries, from the one
description of them (`OnvifDevice.streams`, simulator/onvif/settings.py); a snapshot is
the same test card as the video (runtime/testcard) at the stream's size.

Choices where the public record is silent: a recorder lists its channels' streams under
/ISAPI/Streaming/channels as a camera does (real NVRs also proxy them under
/ISAPI/ContentMgmt/StreamingProxy); `adminAccesses` lists HTTP, HTTPS, the SDK port
(DEV_MANAGE) and RTSP.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp.web import Request, Response

from nvrsim.protocols import isapi, isapi_streaming
from nvrsim.protocols.isapi_streaming import AdminAccess, StreamingChannel
from nvrsim.simulator.hikvision.isapi_http import IsapiContext, Route, xml_response
from nvrsim.simulator.onvif.settings import StreamInfo
from nvrsim.simulator.runtime.testcard import snapshot

Match = re.Match[str]


def channel_id(info: StreamInfo) -> int:
    """101 for channel 1's main stream, 102 for its sub stream (the RTSP path's number)."""
    return info.channel * 100 + (2 if info.sub else 1)


def streaming_channel(info: StreamInfo) -> StreamingChannel:
    video = info.video
    return StreamingChannel(
        id=channel_id(info),
        name=f"Camera {info.channel:02d}",
        input_channel=info.channel,
        codec=video.codec,
        width=video.width,
        height=video.height,
        fps=video.fps,
        bitrate_kbps=video.bitrate_kbps,
        h264_profile=video.profile,
        gop=video.gop,
    )


def _stream(ctx: IsapiContext, match: Match) -> StreamInfo:
    text = match["id"]
    if text.isascii() and text.isdigit():
        for info in ctx.device.streams():
            if channel_id(info) == int(text):
                return info
    raise isapi.IsapiRequestError("no such streaming channel", isapi.INVALID_ID)


async def channels(ctx: IsapiContext, request: Request, match: Match) -> Response:
    device = ctx.device
    listed = [streaming_channel(info) for info in device.streams()]
    return xml_response(isapi_streaming.streaming_channel_list(listed, ctx.namespace))


async def channel(ctx: IsapiContext, request: Request, match: Match) -> Response:
    info = _stream(ctx, match)
    document = streaming_channel(info)
    return xml_response(isapi_streaming.streaming_channel(document, ctx.namespace))


async def picture(ctx: IsapiContext, request: Request, match: Match) -> Response:
    info = _stream(ctx, match)
    video, head = info.video, ctx.device.ptz if info.stream.channel == 1 else None
    body = await asyncio.to_thread(snapshot, video.width, video.height, ctx.now(), head)
    return Response(body=body, content_type="image/jpeg")


async def admin_accesses(ctx: IsapiContext, request: Request, match: Match) -> Response:
    net = ctx.device.network
    accesses = [
        AdminAccess("HTTP", net.http_port),
        AdminAccess("HTTPS", net.https_port),
        AdminAccess("DEV_MANAGE", net.command_port),
        AdminAccess("RTSP", net.rtsp_port),
    ]
    return xml_response(isapi_streaming.admin_accesses(accesses, ctx.namespace))


ROUTES: tuple[Route, ...] = (
    Route("/ISAPI/Streaming/channels/?", {"GET": channels}),
    Route("/ISAPI/Streaming/channels/(?P<id>[^/]+)", {"GET": channel}),
    Route("/ISAPI/Streaming/channels/(?P<id>[^/]+)/picture", {"GET": picture}),
    # pyhik's fallback for a recorder's channels (docs/protocols/hikvision.md §2.5)
    Route("/ISAPI/ContentMgmt/StreamingProxy/channels/(?P<id>[^/]+)/picture", {"GET": picture}),
    Route("/ISAPI/Security/adminAccesses", {"GET": admin_accesses}),
)
