"""Time for one SADP inquiry to be answered by every device of a 1,000-device fleet.

The simulator paces large bursts (32 replies, then 2 ms) so that a client with
a default receive buffer loses nothing; the figure includes that pacing, and
the responder's own time is printed apart. Baseline, in the same run: a bare
asyncio UDP server that answers one datagram with the same number of datagrams
of the same size, the floor for any simulator answering from one socket.
"""

import asyncio
import uuid

from bench.burst import compare
from nvrsim.simulator.core.clock import RealClock
from nvrsim.simulator.hikvision.sadp import SadpResponder, serve_sadp
from nvrsim.simulator.runtime.fixtures import build_fleet

DEVICES = 1000
ROUNDS = 15


def _inquiry() -> bytes:
    guid = str(uuid.uuid4()).upper()
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{guid}</Uuid>'
        "<Types>inquiry</Types></Probe>"
    ).encode()


async def run() -> str:
    fleet = build_fleet(
        {
            "fleet": {"seed": "bench", "address_pool": "127.78.0.0/16"},
            "device": [
                {
                    "name": "cam",
                    "count": DEVICES,
                    "vendor": "hikvision",
                    "kind": "ipc",
                    "model": "DS-2CD2385G1-I",
                    "firmware": "V5.6.2build 190701",
                    "admin_password": "Bench12345",
                }
            ],
        }
    )
    responder = SadpResponder(fleet, RealClock())

    return await compare(
        "SADP inquiry",
        DEVICES,
        ROUNDS,
        lambda: responder.handle(_inquiry(), ("127.0.0.1", 9)),
        lambda: serve_sadp(responder, "127.0.0.1", 0),
        _inquiry,
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
