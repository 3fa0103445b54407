"""Run every benchmark and print its figures beside a baseline measured in the same run."""

import asyncio

from bench import (
    dhip_search,
    event_fanout,
    fleet_build,
    fleet_start,
    fleet_workers,
    hikconnect_online,
    imports,
    isapi_digest,
    isapi_load,
    rtsp_sessions,
    sadp_inquiry,
)


async def main() -> None:
    for bench in (
        sadp_inquiry,
        dhip_search,
        isapi_digest,
        hikconnect_online,
        event_fanout,
        rtsp_sessions,
        imports,
        fleet_build,
        fleet_start,
        isapi_load,
        fleet_workers,
    ):
        print(await bench.run())


if __name__ == "__main__":
    asyncio.run(main())
