"""The event stream (server-sent events): every change and exchange the journal records."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp_sse import sse_response

from nvrsim.simulator.control.common import simulator_of


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every change and exchange, replayed from Last-Event-ID."""
    journal = simulator_of(request).journal
    serial = request.query.get("serial") or None
    subscription = journal.subscribe(serial)
    try:
        async with sse_response(request, ping_interval=10) as stream:
            last, sent = stream.last_event_id or "", 0
            if last.isdigit():
                for event in journal.since(int(last), serial):
                    await _send(stream, event)
                    sent = event.id
            async for event in subscription:
                if event.id > sent:  # else replayed already: it came while the stream opened
                    await _send(stream, event)
    except ConnectionError:
        pass
    finally:
        subscription.close()
    return stream


async def _send(stream, event) -> None:
    await stream.send(json.dumps(event.as_dict()), id=str(event.id), event=event.kind)
