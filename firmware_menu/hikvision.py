"""The Hikvision recorder menu (4.x style): Configuration → Network → Platform Access.

The Platform Access page follows docs/protocols/hikvision.md §3: Enable, server
address, stream encryption, verification code, status, a QR code for the app,
and Unbind where the firmware has capability `menu_unbind` (4.x recorders,
seed 001). Unbind calls the one unbind rule with the admin password, through the
local console's lockout.
"""

from __future__ import annotations

import re

from firmware_menu import common, qr
from firmware_menu.common import LOGOUT
from firmware_menu.tree import Item, ItemKind, MenuSession, MenuTree, PageDef, QrPanel
from simulator.core.auth import plain
from simulator.hikvision.device import is_valid_verification_code
from simulator.hikvision.unbind import UnbindOutcome, UnbindVerdict, unbind

UNBIND_MESSAGES = {
    UnbindVerdict.OK: "Unbinding succeeded.\n"
    "The device can now be added to another Hik-Connect account.",
    UnbindVerdict.NOT_SAME_LAN: "Unbinding failed. The request must come from the device's LAN.",
    UnbindVerdict.NOT_ACTIVATED: "Unbinding failed. The device is not activated.",
    UnbindVerdict.NOT_BOUND: "The device is not bound to any Hik-Connect account.",
    UnbindVerdict.HC_DISABLED: "Unbinding failed. Hik-Connect is disabled.\n"
    "Enable Hik-Connect and try again.",
    UnbindVerdict.OFFLINE: "Unbinding failed. The device is offline on Hik-Connect.\n"
    "Check the network and the server address, then try again.",
    UnbindVerdict.WRONG_PASSWORD: "Unbinding failed. Incorrect admin password.",
    UnbindVerdict.LOCKED: "Unbinding failed. The admin user is locked.",
}

_SERVER = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$")


def unbind_message(outcome: UnbindOutcome) -> str:
    text = UNBIND_MESSAGES[outcome.verdict]
    login = outcome.login
    if outcome.verdict is UnbindVerdict.WRONG_PASSWORD and login is not None:
        text += f" {login.retries_left} attempt(s) left."
    elif outcome.verdict is UnbindVerdict.LOCKED and login is not None:
        text += f" Try again in {login.unlock_in} s."
    return text


def tree() -> MenuTree:
    t = MenuTree(
        vendor="hikvision",
        look="hikvision",
        brand="HIKVISION",
        serial=qr.short_serial,
        cloud=lambda d: ("Cloud", d.cloud_registered),  # registered: enabled and connected
    )
    t.menu("main", "Main Menu", None, ["device_info", "configuration", "maintenance", LOGOUT])
    t.add(PageDef("device_info", "Device Info", "main", common.device_info))
    t.menu("configuration", "Configuration", "main", ["general", "network"])
    t.add(PageDef("general", "General", "configuration", _general))
    t.menu("network", "Network", "configuration", ["tcp_ip", "platform_access", "more_settings"])
    t.add(PageDef("tcp_ip", "General (TCP/IP)", "network", common.tcp_ip))
    t.add(PageDef("platform_access", "Platform Access", "network", platform_access, _qr))
    t.add(PageDef("more_settings", "More Settings", "network", common.ports))
    t.add(PageDef("maintenance", "Maintenance", "main", _maintenance))
    return t


def _general(m: MenuSession) -> list[Item]:
    return [
        Item("Language", value="English"),
        Item("Device Name", value=m.device.name),
        Item("Device No.", value="255"),
    ]


def _maintenance(_m: MenuSession) -> list[Item]:
    return [
        Item("Reboot", ItemKind.ACTION, run=common.ask_reboot),
        Item("Restore Defaults", ItemKind.ACTION, run=common.ask_restore_defaults),
        Item("Restores all but the network and user settings.", ItemKind.NOTE),
    ]


def platform_access(m: MenuSession) -> list[Item]:
    hc = m.device.hik_connect
    code = hc.verification_code if m.show_code else "*" * len(hc.verification_code)
    items = [
        Item("Access Type", value="Hik-Connect"),
        Item("Enable", ItemKind.TOGGLE, common.on_off(hc.enabled), _toggle_enable),
        Item("Server Address", ItemKind.ACTION, hc.server, _edit_server),
        Item(
            "Stream Encryption", ItemKind.TOGGLE, common.on_off(hc.stream_encryption), _toggle_enc
        ),
        Item("Verification Code", ItemKind.ACTION, code, _toggle_code, key="show_code"),
        Item("Change Verification Code", ItemKind.ACTION, run=_change_code),
        Item("Status", value="Online" if m.device.cloud_registered else "Offline"),
        Item("Bind Status", value="Bound" if hc.bound else "Not bound"),
    ]
    if m.device.can("menu_unbind"):
        items.append(Item("Unbind", ItemKind.ACTION, run=_ask_unbind))
    return items


def _qr(m: MenuSession) -> QrPanel:
    return QrPanel(
        qr.hik_connect_content(m.device),
        ("Scan with the Hik-Connect app", f"Serial No. {qr.short_serial(m.device)}"),
    )


def _toggle_enable(m: MenuSession) -> None:
    hc = m.device.hik_connect
    if hc.enabled:
        m.confirm(
            "Hik-Connect",
            "Disable Hik-Connect? The app will no longer reach the device.",
            _disable,
        )
    elif not is_valid_verification_code(hc.verification_code):
        _change_code(m, then_enable=True)
    else:
        hc.enabled = True


def _disable(m: MenuSession) -> None:
    m.device.hik_connect.enabled = False


def _toggle_enc(m: MenuSession) -> None:
    hc = m.device.hik_connect
    hc.stream_encryption = not hc.stream_encryption


def _toggle_code(m: MenuSession) -> None:
    m.show_code = not m.show_code


def _change_code(m: MenuSession, *, then_enable: bool = False) -> None:
    def save(model: MenuSession, code: str) -> None:
        if not is_valid_verification_code(code):
            model.message("Verification Code", "Invalid code: use 6 to 12 letters or digits.")
            return
        model.device.hik_connect.verification_code = code
        if then_enable:
            model.device.hik_connect.enabled = True
        model.notice = "Verification code changed."

    m.prompt("Verification Code", "Enter a new verification code.", "6 to 12 letters/digits", save)


def _edit_server(m: MenuSession) -> None:
    def save(model: MenuSession, server: str) -> None:
        server = server.strip()
        if not _SERVER.match(server):
            model.message("Server Address", f"Invalid server address: {server!r}.")
            return
        model.device.hik_connect.server = server

    m.prompt(
        "Server Address",
        "Hik-Connect server (e.g. dev.hik-connectru.com for Russia).",
        "Server",
        save,
        entry=m.device.hik_connect.server,
    )


def _ask_unbind(m: MenuSession) -> None:
    m.prompt(
        "Unbind",
        "Unbind the device from its Hik-Connect account.\nEnter the admin password to confirm.",
        "Admin Password",
        _unbind,
        masked=True,
    )


def _unbind(m: MenuSession, password: str) -> None:
    outcome = unbind(m.device, client=None, proof=plain(password), now=m.now())
    m.last_unbind = outcome
    m.message("Unbind", unbind_message(outcome))
