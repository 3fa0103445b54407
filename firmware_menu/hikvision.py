"""The Hikvision recorder menu (4.x style): Configuration → Network → Platform Access.

The Platform Access page follows docs/protocols/hikvision.md §3: Enable, server
address, stream encryption, verification code, status, a QR code for the app,
and Unbind where the firmware has capability `menu_unbind` (4.x recorders,
seed 001). Unbind calls the one unbind rule with the admin password, through the
local console's lockout.
"""

from __future__ import annotations

import re

from nvrsim.firmware_menu import common, qr
from nvrsim.firmware_menu.tree import Item, ItemKind, MenuSession, MenuTree, PageDef, QrPanel
from nvrsim.simulator.core.auth import plain
from nvrsim.simulator.hikvision.device import is_valid_verification_code
from nvrsim.simulator.hikvision.unbind import UnbindOutcome, UnbindVerdict, unbind

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


def unbind_message(m: MenuSession, outcome: UnbindOutcome) -> str:
    text = m.tr(UNBIND_MESSAGES[outcome.verdict])
    login = outcome.login
    if outcome.verdict is UnbindVerdict.WRONG_PASSWORD and login is not None:
        text += " " + m.tr("{n} attempt(s) left.", n=login.retries_left)
    elif outcome.verdict is UnbindVerdict.LOCKED and login is not None:
        text += " " + m.tr("Try again in {n} s.", n=login.unlock_in)
    return text


def tree() -> MenuTree:
    t = MenuTree(
        vendor="hikvision",
        look="hikvision",
        brand="HIKVISION",
        serial=qr.short_serial,
        cloud=lambda d: ("Cloud", d.cloud_registered),  # registered: enabled and connected
    )
    t.menu(
        "main",
        "Main Menu",
        None,
        ["device_info", "configuration", "maintenance", common.logout_item],
    )
    t.add(PageDef("device_info", "Device Info", "main", common.device_info))
    t.menu("configuration", "Configuration", "main", ["general", "network"])
    t.add(PageDef("general", "General", "configuration", _general))
    t.add(PageDef("language", "Language", "general", common.languages))
    t.menu("network", "Network", "configuration", ["tcp_ip", "platform_access", "more_settings"])
    t.add(PageDef("tcp_ip", "General (TCP/IP)", "network", common.tcp_ip))
    t.add(PageDef("platform_access", "Platform Access", "network", platform_access, _qr))
    t.add(PageDef("more_settings", "More Settings", "network", common.ports))
    t.add(PageDef("maintenance", "Maintenance", "main", _maintenance))
    return t


def _general(m: MenuSession) -> list[Item]:
    return [
        common.language_item(m),
        Item(m.tr("Device Name"), value=m.device.name),
        Item(m.tr("Device No."), value="255"),
    ]


def _maintenance(m: MenuSession) -> list[Item]:
    return [
        Item(m.tr("Reboot"), ItemKind.ACTION, run=common.ask_reboot, key="reboot"),
        Item(
            m.tr("Restore Defaults"),
            ItemKind.ACTION,
            run=common.ask_restore_defaults,
            key="restore_defaults",
        ),
        Item(m.tr("Restores all but the network and user settings."), ItemKind.NOTE),
    ]


def platform_access(m: MenuSession) -> list[Item]:
    hc = m.device.hik_connect
    code = hc.verification_code if m.show_code else "*" * len(hc.verification_code)
    tr = m.tr
    items = [
        Item(tr("Access Type"), value="Hik-Connect"),
        Item(tr("Enable"), ItemKind.TOGGLE, common.on_off(m, hc.enabled), _toggle_enable),
        Item(tr("Server Address"), ItemKind.ACTION, hc.server, _edit_server),
        Item(
            tr("Stream Encryption"),
            ItemKind.TOGGLE,
            common.on_off(m, hc.stream_encryption),
            _toggle_enc,
        ),
        Item(tr("Verification Code"), ItemKind.ACTION, code, _toggle_code, key="show_code"),
        Item(tr("Change Verification Code"), ItemKind.ACTION, run=_change_code),
        Item(tr("Status"), value=common.online(m, m.device.cloud_registered)),
        Item(tr("Bind Status"), value=tr("Bound") if hc.bound else tr("Not bound")),
    ]
    if m.device.can("menu_unbind"):
        items.append(Item(tr("Unbind"), ItemKind.ACTION, run=_ask_unbind))
    return items


def _qr(m: MenuSession) -> QrPanel:
    return QrPanel(
        qr.hik_connect_content(m.device),
        (
            m.tr("Scan with the Hik-Connect app"),
            m.tr("Serial No.") + " " + qr.short_serial(m.device),
        ),
    )


def _toggle_enable(m: MenuSession) -> None:
    hc = m.device.hik_connect
    if hc.enabled:
        m.confirm(
            "Hik-Connect",
            m.tr("Disable Hik-Connect? The app will no longer reach the device."),
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
            model.message(
                model.tr("Verification Code"),
                model.tr("Invalid code: use 6 to 12 letters or digits."),
            )
            return
        model.device.hik_connect.verification_code = code
        if then_enable:
            model.device.hik_connect.enabled = True
        model.notice = model.tr("Verification code changed.")

    m.prompt(
        m.tr("Verification Code"),
        m.tr("Enter a new verification code."),
        m.tr("6 to 12 letters/digits"),
        save,
    )


def _edit_server(m: MenuSession) -> None:
    def save(model: MenuSession, server: str) -> None:
        server = server.strip()
        if not _SERVER.match(server):
            model.message(
                model.tr("Server Address"),
                model.tr("Invalid server address: {server}.", server=repr(server)),
            )
            return
        model.device.hik_connect.server = server

    m.prompt(
        m.tr("Server Address"),
        m.tr("Hik-Connect server (e.g. dev.hik-connectru.com for Russia)."),
        m.tr("Server"),
        save,
        entry=m.device.hik_connect.server,
    )


def _ask_unbind(m: MenuSession) -> None:
    m.prompt(
        m.tr("Unbind"),
        m.tr(
            "Unbind the device from its Hik-Connect account.\nEnter the admin password to confirm."
        ),
        m.tr("Admin Password"),
        _unbind,
        masked=True,
    )


def _unbind(m: MenuSession, password: str) -> None:
    outcome = unbind(m.device, client=None, proof=plain(password), now=m.now())
    m.last_unbind = outcome
    m.message(m.tr("Unbind"), unbind_message(m, outcome))
