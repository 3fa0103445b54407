"""Pages and actions every vendor's menu shares: device and network facts, activation,
reboot, restore defaults, logout."""

from __future__ import annotations

from datetime import datetime

from firmware_menu.tree import Item, ItemKind, MenuSession
from simulator.core.auth import ActivationResult

PASSWORD_RULE = (
    "8 to 16 characters with at least two kinds of: digits, lower case letters, "
    "upper case letters, symbols; not containing the user name."
)


def on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def device_info(m: MenuSession) -> list[Item]:
    d = m.device
    return [
        Item("Device Name", value=d.name),
        Item("Model", value=d.model),
        Item("Serial No.", value=d.serial),
        Item("Firmware Version", value=d.firmware.text),
        Item("Encoding Version", value=d.dsp_version),
        Item("MAC Address", value=d.mac),
        Item("Channels", value=f"{d.analog_channels} analog, {d.ip_channels} IP"),
        Item("HDD", value=str(d.disks)),
        Item(
            "Running Since", value=datetime.fromtimestamp(d.boot_time).strftime("%Y-%m-%d %H:%M:%S")
        ),
    ]


def tcp_ip(m: MenuSession) -> list[Item]:
    net = m.device.network
    return [
        Item("DHCP", value=on_off(net.dhcp)),
        Item("IPv4 Address", value=net.ip),
        Item("IPv4 Subnet Mask", value=net.netmask),
        Item("IPv4 Default Gateway", value=str(net.gateway)),
        Item("IPv6 Address", value=net.ipv6_address),
        Item("MAC Address", value=m.device.mac),
        Item("(read-only here; change the address with SADP)", ItemKind.NOTE),
    ]


def ports(m: MenuSession) -> list[Item]:
    net = m.device.network
    return [
        Item("Server Port", value=str(net.command_port)),
        Item("HTTP Port", value=str(net.http_port)),
        Item("HTTPS Port", value=str(net.https_port)),
        Item("RTSP Port", value=str(net.rtsp_port)),
        Item("SDK over TLS Port", value=str(net.sdk_tls_port)),
    ]


# --- actions ---------------------------------------------------------------------


def ask_reboot(m: MenuSession) -> None:
    m.confirm("Reboot", "Reboot the device now?", _reboot)


def _reboot(m: MenuSession) -> None:
    m.restart()
    m.logout("The device restarted. Please log in again.")


def ask_restore_defaults(m: MenuSession) -> None:
    m.confirm(
        "Restore Defaults",
        "Restore all parameters, except the network and user settings, to the defaults?\n"
        "Hik-Connect will be disabled. The device will reboot.",
        _restore_defaults,
    )


def _restore_defaults(m: MenuSession) -> None:
    m.device.restore_defaults(m.now())
    m.logout("Defaults restored. The device restarted. Please log in again.")


def ask_logout(m: MenuSession) -> None:
    m.confirm("Logout", "Log out of the menu?", lambda model: model.logout())


LOGOUT = Item("Logout", ItemKind.ACTION, run=ask_logout)


def start_activation(m: MenuSession) -> None:
    m.prompt(
        "Activation",
        f"Create the admin password.\n{PASSWORD_RULE}",
        "New Password",
        _confirm_activation,
        masked=True,
    )


def _confirm_activation(m: MenuSession, password: str) -> None:
    def activate(model: MenuSession, again: str) -> None:
        if again != password:
            model.message("Activation", "The passwords do not match.")
            return
        result = model.device.activate(password)
        model.message(
            "Activation",
            {
                ActivationResult.OK: "Activated. Log in with the new admin password.",
                ActivationResult.ALREADY_ACTIVATED: "The device is already activated.",
                ActivationResult.RISKY_PASSWORD: f"Risky password. Use {PASSWORD_RULE}",
            }[result],
        )

    m.prompt("Activation", "Confirm the admin password.", "Confirm Password", activate, masked=True)
