"""Time for one DHIP search to be answered by every device of a 1,000-device Dahua fleet.

Each reply leaves from its device's own address (one socket per device), paced
like SADP's. Baseline, in the same run: a bare asyncio UDP server answering one
datagram with the same number of same-size datagrams from one socket.
"""

import asyncio

from bench.burst import compare
from nvrsim.protocols import dhip
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.dahua.dhip import DhipResponder, serve_dhip
from nvrsim.simulator.runtime.fixtures import build_fleet

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

    return await compare(
        "DHIP search",
        DEVICES,
        ROUNDS,
        lambda: responder.handle(search, ("127.0.0.1", 9)),
        lambda: serve_dhip(responder, "127.0.0.1", 0),
        lambda: search,
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
