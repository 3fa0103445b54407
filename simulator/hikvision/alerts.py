"""ISAPI's alertStream and event triggers, written from the device's one event model.

`GET /ISAPI/Event/notification/alertStream` is an endless multipart stream: one
EventNotificationAlert per event (simulator.core.events), a heartbeat while nothing
happens, and each active event posted again every second with a growing
activePostCount, as Hikvision devices do and pyhik expects (it marks an event
inactive after 5 s without a post).

Choices where the public record is silent:
- The heartbeat (videoloss inactive on channel 1, §2.5) is sent only while nothing is
  active: an active event's own posts keep the client's watchdog fed, and a heartbeat
  must not contradict a real video loss on channel 1.
- Alarm inputs are reported with inputIOPortID; a disk error with channelID set to
  the disk number. Descriptions follow the "<type> alarm" pattern of the captures we
  know (VMD: "Motion alarm").
- An event stopped before it was delivered (event_delay) is still posted in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime

from aiohttp import hdrs, web
from aiohttp.web import Request, Response

from nvrsim.protocols import isapi
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.events import (
    DeviceEvent,
    EventState,
    EventType,
    channels_of,
    event_types,
)
from nvrsim.simulator.hikvision.isapi_http import IsapiContext, xml_response

# eventType and eventDescription of each event type, as ISAPI names them.
ALERT_TYPES: dict[EventType, tuple[str, str]] = {
    EventType.MOTION: ("VMD", "Motion alarm"),
    EventType.LINE_CROSSING: ("linedetection", "linedetection alarm"),
    EventType.INTRUSION: ("fielddetection", "fielddetection alarm"),
    EventType.TAMPER: ("tamperdetection", "tamperdetection alarm"),
    EventType.DIGITAL_INPUT: ("IO", "IO alarm"),
    EventType.VIDEO_LOSS: ("videoloss", "videoloss alarm"),
    EventType.STORAGE_FAILURE: ("diskerror", "diskerror alarm"),
}
_CHANNEL_TAG = {EventType.DIGITAL_INPUT: "inputIOPortID"}
REPOST = 1.0  # real seconds between posts of an event still active


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")


def triggers(device: Device) -> list[isapi.EventTrigger]:
    """Every event the device raises, on each of its channels; a recorder's IP channels
    are dynamic."""
    recorder = device.kind != "ipc"
    found = []
    for type_ in event_types(device):
        for channel in range(1, channels_of(device, type_) + 1):
            video = type_ not in (EventType.DIGITAL_INPUT, EventType.STORAGE_FAILURE)
            dynamic = video and recorder and channel > device.analog_channels
            tag = _CHANNEL_TAG.get(type_)
            found.append(isapi.EventTrigger(ALERT_TYPES[type_][0], channel, dynamic, tag))
    return found


async def event_triggers(ctx: IsapiContext, request: Request, match: re.Match[str]) -> Response:
    return xml_response(isapi.event_triggers(triggers(ctx.device), ctx.namespace))


def alert(ctx: IsapiContext, event: DeviceEvent | None, posts: int = 1) -> bytes:
    """One part of the stream: `event`, or the heartbeat when None."""
    net, mac = ctx.device.network, ctx.device.mac
    if event is None:
        body = isapi.Alert(net.ip, net.http_port, mac, 1, _iso(ctx.now()))
    else:
        event_type, description = ALERT_TYPES[event.type]
        body = isapi.Alert(
            net.ip,
            net.http_port,
            mac,
            event.channel,
            _iso(event.time),
            event_type=event_type,
            event_state="active" if event.active else "inactive",
            description=description,
            active_post_count=posts if event.active else 0,
            channel_tag=_CHANNEL_TAG.get(event.type, "channelID"),
        )
    return isapi.multipart_part(isapi.event_alert(body, ctx.namespace))


async def alert_stream(
    ctx: IsapiContext, request: Request, match: re.Match[str]
) -> web.StreamResponse:
    """Until the client leaves or the app stops: events as they come, heartbeats between."""
    response = web.StreamResponse(
        headers={hdrs.CONTENT_TYPE: f"multipart/mixed; boundary={isapi.ALERT_BOUNDARY}"}
    )
    response.force_close()  # devices close the connection when the stream ends
    await response.prepare(request)
    bus = ctx.device.events
    # What is active, with the posts sent of it: one joining mid-motion hears it too.
    posts = {key: (event, 0) for key, event in bus.active.items()}
    closing = asyncio.ensure_future(ctx.closing.wait())
    with bus.subscribe() as events, contextlib.suppress(ConnectionError):
        try:
            if not posts:
                await response.write(alert(ctx, None))
            quiet = 0.0  # seconds since the last heartbeat or repost
            step = min(REPOST, ctx.heartbeat_interval)
            while not ctx.closing.is_set() and request.transport is not None:
                # a second at most at a time: a client that left is noticed without a write
                arrived = asyncio.ensure_future(events.wait(step))
                await asyncio.wait({arrived, closing}, return_when=asyncio.FIRST_COMPLETED)
                if not arrived.done():
                    arrived.cancel()
                    break
                for event in events.take():
                    key = (event.type, event.channel)
                    if event.state is EventState.START:
                        posts[key] = (event, 1)
                    else:
                        posts.pop(key, None)
                    await response.write(alert(ctx, event))
                if arrived.result():
                    continue
                quiet += step
                if posts and quiet >= REPOST:
                    for key, (event, count) in list(posts.items()):
                        posts[key] = (event, count + 1)
                        await response.write(alert(ctx, event, count + 1))
                    quiet = 0.0
                elif not posts and quiet >= ctx.heartbeat_interval:
                    await response.write(alert(ctx, None))
                    quiet = 0.0
        finally:
            closing.cancel()
    return response
