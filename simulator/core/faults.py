"""Faults a tester switches on to see how a client copes with a misbehaving device.

A `Faults` value is set per device and for the whole fleet; what a device
suffers is the two combined (`Faults.combine`): the larger drop rate and
delay, and any switch that either turns on. Each fault is applied in one
place, so every protocol of its kind shows it alike:

- discovery replies (drop, delay, malformed): `DiscoveryReply`/`shape_replies`,
  used by every discovery responder;
- `auth_fail`: `Device.login`, the one login rule, so SADP, ISAPI, ONVIF and
  the cloud all refuse the right password;
- `cloud_offline`: `Device.cloud_online`, so the platform status, unbind and
  every page that shows it agree;
- `http_delay`: the web server's first middleware (`simulator.runtime.web`);
- `event_drop`, `event_delay`: `EventBus` (`simulator.core.events`), so every
  protocol's event stream loses or holds back the same events;
- `rtsp_refuse`, `rtsp_packet_loss`, `rtsp_stall`: the RTSP server
  (`simulator.runtime.rtsp`): its DESCRIBE and the one place it sends a frame;
- `disk_failure`: the storage documents (ISAPI ContentMgmt/Storage, Dahua
  storageDevice): the recorder's first disk reports an error;
- a reboot is an action, not a state: `Simulator.reboot`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Faults:
    discovery_drop: float = 0.0  # percent of discovery replies never sent, 0 to 100
    discovery_delay: float = 0.0  # seconds before a discovery reply goes out
    discovery_malformed: bool = False  # discovery replies cut short, so they do not parse
    auth_fail: bool = False  # every credential is refused, the right one too
    cloud_offline: bool = False  # the device's link to its vendor cloud is down
    http_delay: float = 0.0  # seconds before the web server starts to answer
    event_drop: float = 0.0  # percent of raised events no client ever sees, 0 to 100
    event_delay: float = 0.0  # simulated seconds before a raised event reaches clients
    rtsp_refuse: bool = False  # DESCRIBE answered 503 Service Unavailable
    rtsp_packet_loss: float = 0.0  # percent of RTP packets never sent, 0 to 100
    # Seconds a session streams after PLAY before the video stops (the session and its
    # connection stay up, answering requests); 0: never stalls.
    rtsp_stall: float = 0.0
    disk_failure: bool = False  # the first disk reports an error

    def combine(self, other: Faults) -> Faults:
        """What a device suffers under both: the worse of each fault (for a stall, the
        sooner)."""
        # The usual case, asked several times a request: no new value. Faults that are
        # all off are the one NO_FAULTS (`Faults.of`, `update`), so identity tells; an
        # equal value made otherwise takes the long way to the same answer.
        if other is NO_FAULTS:
            return self
        if self is NO_FAULTS:
            return other
        worse = {f.name: max(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)}
        stalls = [s for s in (self.rtsp_stall, other.rtsp_stall) if s]
        return Faults(**worse | {"rtsp_stall": min(stalls, default=0.0)})

    @classmethod
    def of(cls, **values: Any) -> Faults:
        """Faults with these values: the shared NO_FAULTS when every one is off."""
        return cls(**values).update({})

    def update(self, changes: dict[str, Any]) -> Faults:
        changed = replace(self, **changes)
        return NO_FAULTS if changed == NO_FAULTS else changed

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _NAMES}

    @property
    def any(self) -> bool:
        return self != NO_FAULTS


NO_FAULTS = Faults()
_NAMES = tuple(f.name for f in fields(Faults))  # `fields` each time: a fifth of a journal entry


@dataclass(frozen=True)
class DiscoveryReply:
    """One reply datagram, with the delay the device's faults put on it."""

    data: bytes
    delay: float = 0.0
    # The device address it goes out from, for protocols whose clients check (DHIP);
    # None: from the fleet's socket.
    source: str | None = None


def shape_reply(data: bytes, faults: Faults, rng: random.Random) -> DiscoveryReply | None:
    """`data` as a faulty device sends it: None when it is dropped."""
    if faults.discovery_drop and rng.random() * 100 < faults.discovery_drop:
        return None
    if faults.discovery_malformed:
        data = malformed(data)
    return DiscoveryReply(data, faults.discovery_delay)


def malformed(data: bytes) -> bytes:
    """A reply cut off halfway, as a truncated datagram arrives: never parses."""
    return data[: len(data) // 2]
