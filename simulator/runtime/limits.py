"""Open files: each device listens on its own sockets, so a large fleet needs more
descriptors than many systems allow a process by default (often 1,024), and more
than some allow at all (then `nvrsim run --workers` splits it over processes).

Choices where the public record is silent: a spare of 256 descriptors per process for
what is not a device's own (fleet services, the clients they and the devices serve,
files, the event loop); a Dahua device's own DHIP socket is counted where it is
opened: in the process itself, or in the supervisor when workers serve the fleet.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.onvif.settings import OnvifDevice
from nvrsim.simulator.runtime.udp import RELAY

SPARE = 256  # the fleet services, the clients they serve, files, the event loop


def listening_sockets(device: Device, *, discovery: bool = True) -> int:
    """The sockets `device` listens on: its web server, its RTSP server (the vendors
    that stream), and its own DHIP socket (Dahua; `discovery` False in a worker, where
    the supervisor holds it)."""
    rtsp = isinstance(device, OnvifDevice)
    dhip = discovery and device.vendor == "dahua" and device.can("dhip")
    return 1 + rtsp + dhip


def descriptors_needed(devices: Sequence[Device], *, discovery: bool = True) -> int:
    return sum(listening_sockets(d, discovery=discovery) for d in devices) + SPARE


def open_file_limit() -> int:
    """What this process may open once its soft limit is raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)


def workers_needed(devices: Sequence[Device], limit: int | None = None) -> int:
    """How many worker processes `nvrsim run` uses by default: 1 when one process can
    hold the fleet; else one per core, and more while a worker's share (every K-th
    device) would need more descriptors than `limit`."""
    limit = open_file_limit() if limit is None else limit
    if descriptors_needed(devices) <= limit:
        return 1
    workers = os.cpu_count() or 1
    while _widest_share(devices, workers) > limit and workers < len(devices):
        workers += 1
    return workers


def _widest_share(devices: Sequence[Device], workers: int) -> int:
    """The most descriptors one process needs: a worker's share of the devices, or the
    supervisor's (the devices' own discovery sockets, a channel to each worker)."""
    shares = (descriptors_needed(devices[i::workers], discovery=False) for i in range(workers))
    own = sum(listening_sockets(d) - listening_sockets(d, discovery=False) for d in devices)
    return max(*shares, own + workers + SPARE)


def make_room(devices: Sequence[Device], *, workers: int = 1) -> None:
    """Raise the soft open-file limit to the hard one, then ServiceError, before anything
    listens, if `devices` (split over `workers`) still need more than it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # some systems refuse "unlimited": keep what we have
    if soft != resource.RLIM_INFINITY:
        refuse_beyond(devices, soft, workers=workers)


def refuse_beyond(devices: Sequence[Device], limit: int, *, workers: int = 1) -> None:
    """ServiceError, in one line with the two ways out, when a process of `workers` would
    need more than `limit` descriptors."""
    if workers > 1:
        needed = _widest_share(devices, workers)
    else:  # a worker's own share: the supervisor holds its discovery sockets
        needed = descriptors_needed(devices, discovery=RELAY.get() is None)
    if needed <= limit:
        return
    ways = f"raise the limit (ulimit -n {needed}, as root or in limits.conf)"
    enough = workers_needed(devices, limit)
    if _widest_share(devices, enough) <= limit:  # else even the supervisor's part is too much
        ways += f", or split the fleet over processes (nvrsim run --workers {enough})"
    share = f"a worker's share of {len(devices)} devices" if workers > 1 else ""
    raise ServiceError(
        f"{share or f'{len(devices)} devices'} need {needed} open files, but a process "
        f"may open {limit} here: {ways}"
    )
