"""The Dahua recorder menu: Main Menu → Network → P2P.

Dahua's P2P page has no unbind (seed 000): a device bound to someone else is
freed only through an Appeal in the DMSS app, so the page says so.
"""

from __future__ import annotations

from nvrsim.firmware_menu import common, qr
from nvrsim.firmware_menu.tree import Item, ItemKind, MenuSession, MenuTree, PageDef, QrPanel

APPEAL_HINT = (
    "Bound to another account? The recorder cannot unbind itself. In the DMSS app, "
    "add the device and tap Appeal: a photo of the device's label (proof of purchase "
    "helps); the review takes about 48 h."
)


def tree() -> MenuTree:
    t = MenuTree(vendor="dahua", look="dahua", brand="dahua", cloud=lambda d: ("P2P", d.p2p_online))
    t.menu("main", "Main Menu", None, ["network", "info", "system", common.logout_item])
    t.menu("network", "Network", "main", ["tcp_ip", "p2p", "port"])
    t.add(PageDef("tcp_ip", "TCP/IP", "network", common.tcp_ip))
    t.add(PageDef("p2p", "P2P", "network", p2p, _qr))
    t.add(PageDef("port", "Port", "network", common.ports))
    t.add(PageDef("info", "Info", "main", common.device_info))
    t.add(PageDef("system", "System", "main", _system))
    t.add(PageDef("general", "General", "system", _general))
    t.add(PageDef("language", "Language", "general", common.languages))
    return t


def p2p(m: MenuSession) -> list[Item]:
    # T2UServer.Enable and the DMSS P2P registration, as RPC2 and the DMSS cloud see them.
    tr = m.tr
    return [
        Item(tr("Enable"), ItemKind.TOGGLE, common.on_off(m, m.device.dahua.t2u_enable), _toggle),
        Item(tr("Status"), value=common.online(m, m.device.p2p_online)),
        Item(tr("Device SN"), value=m.device.serial),
        Item(tr(APPEAL_HINT), ItemKind.NOTE),
    ]


def _qr(m: MenuSession) -> QrPanel:
    return QrPanel(qr.dahua_p2p_content(m.device), (m.tr("Device SN"), m.tr("Scan with DMSS")))


def _toggle(m: MenuSession) -> None:
    m.device.dahua.t2u_enable = not m.device.dahua.t2u_enable


def _system(m: MenuSession) -> list[Item]:
    return [
        Item(m.tr("General"), ItemKind.LINK, run=lambda s: s.open("general"), key="general"),
        Item(m.tr("Reboot"), ItemKind.ACTION, run=common.ask_reboot, key="reboot"),
        Item(m.tr("Default"), ItemKind.ACTION, run=common.ask_restore_defaults, key="default"),
    ]


def _general(m: MenuSession) -> list[Item]:
    return [Item(m.tr("Device Name"), value=m.device.name), common.language_item(m)]
