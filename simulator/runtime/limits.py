"""Open files: each device listens on its own sockets, so a large fleet needs more
descriptors than many systems allow a process by default (often 1,024)."""

from __future__ import annotations

import resource

from nvrsim.simulator.core.plugin import ServiceError

PER_DEVICE = 3  # its web server, a discovery socket of its own (DHIP), a client or two
SPARE = 128  # the fleet services, the clients they serve, files, the event loop


def descriptors_needed(devices: int) -> int:
    return devices * PER_DEVICE + SPARE


def make_room(devices: int) -> None:
    """Raise the soft open-file limit to the hard one, then ServiceError, before anything
    listens, if `devices` still need more than it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # some systems refuse "unlimited": keep what we have
    needed = descriptors_needed(devices)
    if soft != resource.RLIM_INFINITY and needed > soft:
        raise ServiceError(
            f"{devices} devices need about {needed} open files, but this process may open "
            f"{soft}: raise the limit (ulimit -n {needed}, as root or in limits.conf), "
            f"or split the fleet over processes (nvrsim run --shard I/{-(-needed // soft)}, "
            "one per shard)"
        )
