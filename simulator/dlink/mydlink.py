"""mydlink registration: the one rule every D-Link front end calls.

The D-Link FAQs (docs/protocols/onvif-dlink.md §3.3) say two things we reproduce:
registering a camera with mydlink needs an admin password set on it, and after
a factory reset (`Device.factory_reset`) it must be registered again.
[I] A device registered to one account refuses another until it is reset or
unregistered: "one account per device" is not confirmed by D-Link, but the
mydlink app behaves that way.
"""

from __future__ import annotations

from enum import Enum

from nvrsim.simulator.core.device import Device


class Registration(Enum):
    OK = "ok"
    NO_ADMIN_PASSWORD = "no_admin_password"
    ALREADY_REGISTERED = "already_registered"
    BAD_ACCOUNT = "bad_account"
    NOT_SUPPORTED = "not_supported"


def is_account(text: str) -> bool:
    """mydlink accounts are e-mail addresses."""
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain and len(text) <= 254 and text.isprintable())


def register(device: Device, account: str) -> Registration:
    if not device.can("mydlink"):
        return Registration.NOT_SUPPORTED
    if not device.admin_password:  # None (never set) or blank (factory default)
        return Registration.NO_ADMIN_PASSWORD
    if not is_account(account):
        return Registration.BAD_ACCOUNT
    if device.mydlink.registered:
        return (
            Registration.OK
            if device.mydlink.account == account
            else Registration.ALREADY_REGISTERED
        )
    device.mydlink.account = account
    return Registration.OK


def unregister(device: Device) -> None:
    device.mydlink.account = None
