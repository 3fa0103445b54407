"""Time for one DHIP search to be answered by every device of a 1,000-device Dahua fleet.

Each reply leaves from its device's own address (one socket per device), paced
like SADP's. Baseline, in the same run: a bare asyncio UDP server answering one
datagram with the same number of same-size datagrams from one socket.
"""

import asyncio

from bench.common import summary, timed
from bench.sadp_inquiry import _BurstEcho, _client
from protocols import dhip
from simulator.clock import RealClock
from simulator.dhip import DhipResponder, serve_dhip
from simulator.fixtures import build_fleet

DEVICES = 1000
ROUNDS = 15


async def run() -> str:
    fleet = build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": "127.79.0.0/16"},
            "device": [
                {
                    "name": "cam",
                    "count": DEVICES,
                    "vendor": "dahua",
                    "kind": "ipc",
                    "model": "IPC-HDW5831R-ZE",
                    "firmware": "2.800.0000016.0.R",
                    "admin_password": "Bench12345",
                }
            ],
        }
    )
    responder = DhipResponder(fleet, RealClock())
    search = dhip.build_search()

    async def encode_only() -> None:
        responder.handle(search, ("127.0.0.1", 9))

    encoding = await timed(encode_only, ROUNDS)
    server = await serve_dhip(responder, "127.0.0.1", 0)
    transport, collector, ask = await _client(server.port, DEVICES)
    try:
        found = await timed(lambda: ask(search), ROUNDS)
        reply_size = collector.size
    finally:
        transport.close()
        await server.close()

    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(
        lambda: _BurstEcho(DEVICES, reply_size), local_addr=("127.0.0.1", 0)
    )
    transport, _, ask = await _client(echo.get_extra_info("sockname")[1], DEVICES)
    try:
        bare = await timed(lambda: ask(b"?"), ROUNDS)
    finally:
        transport.close()
        echo.close()

    ratio = sorted(found)[len(found) // 2] / sorted(bare)[len(bare) // 2]
    return (
        f"DHIP search, {DEVICES} devices answering ({reply_size} B each), {ROUNDS} rounds\n"
        f"  nvrsim DHIP:                {summary(found)}\n"
        f"  of which the responder:     {summary(encoding)} (replies built, no sockets)\n"
        f"  bare asyncio UDP burst:     {summary(bare)}\n"
        f"  ratio (median):             {ratio:.1f}x the bare burst"
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
