"""How a device's web API restarts it: after the reply has gone out, as real firmware does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nvrsim.simulator.core.device import Device

# How the simulator restarts a device: down (Bye), gone a while, up again (Hello).
Restart = Callable[[Device], object]
REPLY_GRACE = 0.1  # seconds for the reply to leave before the device goes down


def restart_after_reply(device: Device, restart: Restart | None, now: float) -> None:
    """Without a simulator (`restart` None) the device restarts in place, never down."""
    if restart is None:
        device.reboot(now)
    else:
        asyncio.get_running_loop().call_later(REPLY_GRACE, restart, device)
