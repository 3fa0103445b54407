"""The one list of vendors nvrsim simulates: a fourth vendor is one folder and one line here.

Everything that differs between vendors (device state, fixture sections, identities,
services, web API, recorder menu) comes from each vendor's `Vendor` record; core,
runtime, control and cli ask this module, never a vendor by name.
"""

from __future__ import annotations

from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.plugin import Vendor
from nvrsim.simulator.dahua.plugin import DAHUA
from nvrsim.simulator.dlink.plugin import DLINK
from nvrsim.simulator.hikvision.plugin import HIKVISION

VENDORS: dict[str, Vendor] = {v.name: v for v in (HIKVISION, DAHUA, DLINK)}


def register(vendor: Vendor) -> None:
    """Add a vendor at run time (a user's plugin, a test's); ValueError if its name is taken."""
    if vendor.name in VENDORS:
        raise ValueError(f"a vendor named {vendor.name!r} is already registered")
    VENDORS[vendor.name] = vendor


def unregister(name: str) -> None:
    VENDORS.pop(name, None)


def vendors() -> tuple[Vendor, ...]:
    """The registered vendors, in order: derived schemas are cached per such tuple."""
    return tuple(VENDORS.values())


def vendor_of(device: Device) -> Vendor:
    return VENDORS[device.vendor]
