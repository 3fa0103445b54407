"""amqtt's broker with three gaps patched, for the embedded broker (broker.py).

Its broker never drops a client that goes silent past its keepalive
(MQTT-3.1.2-24), so a peer that vanishes without closing its socket would never
have its will published. `_close_silent` fills that gap: a connection silent for
1.5 keepalive periods is closed, which sends its will, as the spec says. A
process killed with `kill -9` closes its sockets at once, so its will goes out at
once either way. Two more are patched below: finished connections left open, and
retained messages of other clients' subscriptions replayed to every newcomer.
"""

from __future__ import annotations

import contextlib
import math

from amqtt.broker import Broker
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler

__all__ = ["Broker"]


def _close_silent(self: BrokerProtocolHandler) -> None:
    # Closing the socket ends the reader with EOF: the broker then sends the will.
    if self.writer is not None:
        with contextlib.suppress(Exception):
            self.writer._writer.transport.abort()  # type: ignore[attr-defined]


_initialize_client_session = Broker._initialize_client_session


async def _with_keepalive_grace(self: Broker, *args, **kwargs):
    handler, session = await _initialize_client_session(self, *args, **kwargs)
    if session is not None and session.keep_alive > 0:
        session.keep_alive = math.ceil(session.keep_alive * 1.5)
    return handler, session


_stream_connected = Broker.stream_connected


async def _closing_stream(self: Broker, reader, writer, *args, **kwargs) -> None:
    # amqtt leaves the server side of a finished connection open (a ResourceWarning).
    try:
        await _stream_connected(self, reader, writer, *args, **kwargs)
    finally:
        writer.close()


_publish_retained = Broker._publish_retained_messages_for_subscription


async def _own_retained_only(self: Broker, subscription, session) -> None:
    # On every connection amqtt replays the retained messages of *every* client's
    # subscriptions to the newcomer; only the newcomer's own filters may match.
    subscribers = self._subscriptions.get(subscription[0], [])
    if any(s.client_id == session.client_id for s, _qos in subscribers):
        await _publish_retained(self, subscription, session)


BrokerProtocolHandler.handle_read_timeout = _close_silent  # type: ignore[method-assign]
Broker._initialize_client_session = _with_keepalive_grace  # type: ignore[method-assign]
Broker.stream_connected = _closing_stream  # type: ignore[method-assign]
Broker._publish_retained_messages_for_subscription = _own_retained_only  # type: ignore[method-assign]
