"""The embedded MQTT broker (amqtt), so `nvrsim run` needs nothing installed.

amqtt 0.12 is an asyncio MQTT 3.1.1 broker with retained messages, last wills
and QoS 0/1/2, with three gaps patched (amqtt_patched.py); it is imported when the
broker starts (70 ms at import), so a supervisor forks its workers without it and
a fleet on a real broker never loads it. The Hik-Connect tests run against amqtt
and mosquitto alike.

For a real broker (mosquitto, EMQX), give `--broker mqtt://host:port` instead.
"""

from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from amqtt.broker import Broker


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


class EmbeddedBroker:
    """amqtt on `host:port` (port 0: any free one), anonymous, as a fleet service."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host, self.port = host, port
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> EmbeddedBroker:
        from nvrsim.simulator.clouds.mqtt.amqtt_patched import Broker

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
