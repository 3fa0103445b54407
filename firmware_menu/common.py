"""Pages and actions every vendor's menu shares: device and network facts, language,
activation, reboot, restore defaults, logout.

Every label and message is English and goes through the session's `tr`.
"""

from __future__ import annotations

from datetime import datetime

from nvrsim.firmware_menu.i18n import LANGUAGES
from nvrsim.firmware_menu.tree import Item, ItemKind, MenuSession
from nvrsim.simulator.core.auth import ActivationResult

PASSWORD_RULE = (
    "8 to 16 characters with at least two kinds of: digits, lower case letters, "
    "upper case letters, symbols; not containing the user name."
)


def on_off(m: MenuSession, flag: bool) -> str:
    return m.tr("ON") if flag else m.tr("OFF")


def online(m: MenuSession, flag: bool) -> str:
    return m.tr("Online") if flag else m.tr("Offline")


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def device_info(m: MenuSession) -> list[Item]:
    d = m.device
    tr = m.tr
    return [
        Item(tr("Device Name"), value=d.name),
        Item(tr("Model"), value=d.model),
        Item(tr("Serial No."), value=d.serial),
        Item(tr("Firmware Version"), value=d.firmware.text),
        Item(tr("Encoding Version"), value=d.dsp_version),
        Item(tr("MAC Address"), value=d.mac),
        Item(
            tr("Channels"),
            value=tr("{analog} analog, {ip} IP", analog=d.analog_channels, ip=d.ip_channels),
        ),
        Item(tr("HDD"), value=str(d.disks)),
        Item(tr("Running Since"), value=timestamp(d.boot_time)),
    ]


def tcp_ip(m: MenuSession) -> list[Item]:
    net = m.device.network
    tr = m.tr
    return [
        Item(tr("DHCP"), value=on_off(m, net.dhcp)),
        Item(tr("IPv4 Address"), value=net.ip),
        Item(tr("IPv4 Subnet Mask"), value=net.netmask),
        Item(tr("IPv4 Default Gateway"), value=str(net.gateway)),
        Item(tr("IPv6 Address"), value=net.ipv6_address),
        Item(tr("MAC Address"), value=m.device.mac),
        Item(tr("(read-only here; change the address with SADP)"), ItemKind.NOTE),
    ]


def ports(m: MenuSession) -> list[Item]:
    net = m.device.network
    tr = m.tr
    return [
        Item(tr("Server Port"), value=str(net.command_port)),
        Item(tr("HTTP Port"), value=str(net.http_port)),
        Item(tr("HTTPS Port"), value=str(net.https_port)),
        Item(tr("RTSP Port"), value=str(net.rtsp_port)),
        Item(tr("SDK over TLS Port"), value=str(net.sdk_tls_port)),
    ]


# --- language ------------------------------------------------------------------------


def language_item(m: MenuSession) -> Item:
    """The general settings' Language: its value is the language now, Enter opens the list.
    Keyed, so the focus stays on it when the language changes under it."""
    return Item(
        m.tr("Language"),
        ItemKind.ACTION,
        LANGUAGES[m.lang],
        lambda s: s.open("language"),
        key="language",
    )


def languages(m: MenuSession) -> list[Item]:
    """The language list: each language in its own name, as recorders list them, drawn as
    radio buttons (toggles, the current one ticked); choosing one switches this session's
    screens at once."""

    def choose(lang: str):
        def run(s: MenuSession) -> None:
            s.lang = lang

        return run

    return [
        Item(name, ItemKind.TOGGLE, "✔" if code == m.lang else "", choose(code), key=code)
        for code, name in LANGUAGES.items()
    ]


# --- actions ---------------------------------------------------------------------


def ask_reboot(m: MenuSession) -> None:
    m.confirm(m.tr("Reboot"), m.tr("Reboot the device now?"), _reboot)


def _reboot(m: MenuSession) -> None:
    m.restart()
    m.logout(m.tr("The device restarted. Please log in again."))


def ask_restore_defaults(m: MenuSession) -> None:
    m.confirm(
        m.tr("Restore Defaults"),
        m.tr(
            "Restore all parameters, except the network and user settings, to the defaults?\n"
            "Hik-Connect will be disabled. The device will reboot."
        ),
        _restore_defaults,
    )


def _restore_defaults(m: MenuSession) -> None:
    m.device.restore_defaults(m.now())
    m.logout(m.tr("Defaults restored. The device restarted. Please log in again."))


def ask_logout(m: MenuSession) -> None:
    m.confirm(m.tr("Logout"), m.tr("Log out of the menu?"), lambda s: s.logout())


def logout_item(m: MenuSession) -> Item:
    return Item(m.tr("Logout"), ItemKind.ACTION, run=ask_logout, key="logout")


def start_activation(m: MenuSession) -> None:
    m.prompt(
        m.tr("Activation"),
        m.tr("Create the admin password.\n{rule}", rule=m.tr(PASSWORD_RULE)),
        m.tr("New Password"),
        _confirm_activation,
        masked=True,
    )


def _confirm_activation(m: MenuSession, password: str) -> None:
    def activate(model: MenuSession, again: str) -> None:
        tr = model.tr
        if again != password:
            model.message(tr("Activation"), tr("The passwords do not match."))
            return
        result = model.device.activate(password)
        model.message(
            tr("Activation"),
            {
                ActivationResult.OK: tr("Activated. Log in with the new admin password."),
                ActivationResult.ALREADY_ACTIVATED: tr("The device is already activated."),
                ActivationResult.RISKY_PASSWORD: tr(
                    "Risky password. Use {rule}", rule=tr(PASSWORD_RULE)
                ),
            }[result],
        )

    m.prompt(
        m.tr("Activation"),
        m.tr("Confirm the admin password."),
        m.tr("Confirm Password"),
        activate,
        masked=True,
    )
