"""A fleet: the devices one simulator serves, found by MAC, serial or address."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import NO_FAULTS, Faults
from nvrsim.simulator.core.identity import normalise_mac


class FleetError(ValueError):
    pass


@dataclass
class Fleet:
    devices: list[Device] = field(default_factory=list)
    name: str = "fleet"
    faults: Faults = NO_FAULTS  # suffered by every device, on top of its own
    # The fixture's [fleet] table (seed, address pool, client networks), for devices added later.
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        devices, self.devices = self.devices, []
        self._by_mac: dict[str, Device] = {}
        self._by_serial: dict[str, Device] = {}
        for device in devices:
            self.add(device)

    def check_new(self, device: Device) -> None:
        """FleetError unless `device` could join: its MAC and serial are not taken."""
        for index, key, what in (
            (self._by_mac, device.mac, "MAC"),
            (self._by_serial, device.serial, "serial"),
        ):
            if key in index:
                raise FleetError(
                    f"{device.source or device.serial}: {what} {key} is already used by "
                    f"{index[key].source or index[key].serial}"
                )

    def add(self, device: Device) -> None:
        self.check_new(device)
        self._by_mac[device.mac] = device
        self._by_serial[device.serial] = device
        device.fleet_faults = self.faults
        self.devices.append(device)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        for device in self.devices:
            device.fleet_faults = faults

    def shard(self, index: int, count: int) -> Fleet:
        """Shard `index` of `count`: every `count`-th device from the `index`-th. Shards of
        one fixture split it evenly, and each device keeps the identity (name, serial, MAC,
        address) the whole fleet gives it, so no two shards' devices collide."""
        return Fleet(self.devices[index::count], self.name, self.faults, self.settings)

    def remove(self, device: Device) -> None:
        self.devices.remove(device)
        del self._by_mac[device.mac]
        del self._by_serial[device.serial]

    def by_mac(self, mac: str) -> Device | None:
        try:
            return self._by_mac.get(normalise_mac(mac))
        except ValueError:
            return None

    def by_serial(self, serial: str) -> Device | None:
        return self._by_serial.get(serial)

    def find(self, serial_or_label: str) -> Device | None:
        """A device by what a user types: its serial number or its fixture name."""
        return self.by_serial(serial_or_label) or next(
            (d for d in self.devices if d.label == serial_or_label), None
        )

    def of_vendor(self, *vendors: str) -> Iterable[Device]:
        return (d for d in self.devices if d.vendor in vendors)

    def has_vendor(self, vendor: str) -> bool:
        """Whether any device is `vendor`'s: services only its devices use start then."""
        return any(d.vendor == vendor for d in self.devices)

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)
