"""The embedded MQTT broker (amqtt), so `nvrsim run` needs nothing installed.

amqtt 0.12 is an asyncio MQTT 3.1.1 broker with retained messages, last wills
and QoS 0/1/2. One gap matters here: its broker never drops a client that goes
silent past its keepalive (MQTT-3.1.2-24), so a peer that vanishes without
closing its socket would never have its will published. `_close_silent` fills
that gap: a connection silent for 1.5 keepalive periods is closed, which sends
its will, as the spec says.
A process killed with `kill -9` closes its sockets at once, so its will goes
out at once either way. Two more are patched below: finished connections
left open, and retained messages of other clients' subscriptions replayed to
every newcomer. The Hik-Connect tests run against amqtt and mosquitto alike.

For a real broker (mosquitto, EMQX), give `--broker mqtt://host:port` instead.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
from urllib.parse import urlsplit

from amqtt.broker import Broker
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler


class BrokerError(ValueError):
    pass


def parse_broker_url(url: str) -> tuple[str, int]:
    """`mqtt://host:port` (port 1883 when absent) → (host, port); BrokerError otherwise."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise BrokerError(f"not mqtt://host:port: {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise BrokerError(f"not mqtt://host:port: {url!r}") from None
    return parts.hostname, port


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


class EmbeddedBroker:
    """amqtt on `host:port` (port 0: any free one), anonymous, as a fleet service."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host, self.port = host, port
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> EmbeddedBroker:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        # amqtt logs every connection at INFO and a client gone without DISCONNECT as a
        # warning: ordinary events for a simulated fleet, not the user's business. A failed
        # start it logs with a traceback; we report it in one line instead.
        logger = logging.getLogger("amqtt")
        logger.setLevel(logging.CRITICAL)
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as exc:
            if "address already in use" in str(exc).lower():
                raise OSError(
                    errno.EADDRINUSE,
                    "the port is taken (by a mosquitto service? `--broker mqtt://HOST:PORT` "
                    "uses that broker, `--broker-port N` moves the embedded one)",
                ) from None
            raise OSError(f"the embedded MQTT broker cannot start: {exc}") from None
        finally:
            logger.setLevel(logging.ERROR)
        self._broker = broker
        server = broker._servers["default"].instance  # the bound port, for port 0
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._broker is not None:
            broker, self._broker = self._broker, None
            await broker.shutdown()

    async def __aenter__(self) -> EmbeddedBroker:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
