"""Hostile HTTP stays quiet: one short line per malformed request, a few a minute."""

from __future__ import annotations

import asyncio
import logging

from nvrsim.simulator.runtime.quiet import QuietBadRequests
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet
from tests.runtime.test_runner import isapi_get

JUNK = (
    b"GET / HTTP/9.9\r\n\r\n",  # a version nobody speaks
    b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost\r\n\r\n",  # a header without a colon
    b"GET /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 4,  # TLS on the HTTP port
)


async def test_600_junk_requests_make_a_few_short_lines_and_the_device_still_answers(clock, caplog):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=None)
    fleet = make_fleet(hik_entry(ports={"http": 0, "rtsp": 0}), clock=clock)
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    async with Simulator(fleet, clock, config):
        nvr = fleet.devices[0]
        for number in range(600):
            reader, writer = await asyncio.open_connection(nvr.network.ip, nvr.network.http_port)
            writer.write(JUNK[number % len(JUNK)])
            await writer.drain()
            assert (await reader.read(12)).startswith(b"HTTP/1.")  # answered 400, not dropped
            writer.close()
            await writer.wait_closed()
        status, _ = await isapi_get(nvr, "/ISAPI/System/deviceInfo")
        assert status == 200
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert 1 <= len(lines) <= 10
    for record in lines:
        assert record.exc_info is None and "\n" not in record.getMessage()
        assert record.getMessage().startswith("malformed HTTP request from 127.")


def test_a_minute_shows_at_most_its_share_then_says_how_many_were_left_out():
    from aiohttp.http_exceptions import BadStatusLine

    now = [0.0]
    quiet = QuietBadRequests(per_minute=3, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        exc = BadStatusLine("GET / HTTP/9.9")
        return logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling request from %s",
            ("127.0.0.1",),
            (type(exc), exc, None),
        )

    shown = [r for r in (record() for _ in range(10)) if quiet.filter(r)]
    assert len(shown) == 3 and all(r.levelno == logging.WARNING for r in shown)
    assert [r.getMessage().endswith("(more this minute will be left out)") for r in shown] == [
        False,
        False,
        True,
    ]
    now[0] = 61.0
    later = record()
    assert quiet.filter(later) and "(7 more left out)" in later.getMessage()
    other = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "boom", (), None)
    assert quiet.filter(other) and other.getMessage() == "boom"  # not a malformed request
