"""The QR codes the menus show, and how a terminal draws them.

What a real recorder encodes is not public (docs/protocols/hikvision.md §3 is a gap),
so the contents are our documented choice:

- Hikvision (Hik-Connect app): four lines joined by CR LF:
  `HIK-CONNECT`, the 9-character device serial the app asks for (the last nine
  characters of the full serial), the verification code, the model.
  Example: `HIK-CONNECT\\r\\n571403700\\r\\nHKTVSV\\r\\nDS-7608NI-K2`.
- Dahua (DMSS app, P2P page): the serial number alone, as the P2P page's
  "Device SN" code.
"""

from __future__ import annotations

from nvrsim.protocols import hikconnect
from nvrsim.simulator.core.device import Device

HIK_QR_TAG = hikconnect.QR_TAG


def short_serial(device: Device) -> str:
    """The serial Hik-Connect shows and asks for: the full serial's last nine characters."""
    return hikconnect.short_serial(device.serial)


def hik_connect_content(device: Device) -> str:
    """The content the cloud's add-device accepts (protocols/hikconnect.py, `parse_qr`)."""
    qr = hikconnect.QrContent(
        short_serial(device), device.hik_connect.verification_code, device.model
    )
    return qr.encode()


def dahua_p2p_content(device: Device) -> str:
    return device.serial


def matrix(content: str) -> list[list[bool]]:
    """The QR modules, True = dark, with a two-module quiet zone."""
    import segno  # loaded by the first code a menu draws, not by every start

    code = segno.make(content, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=2)]


_HALVES = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def half_blocks(content: str) -> list[str]:
    """The code as text, two module rows per line; block glyphs are the dark modules.

    Draw it dark-on-light (e.g. black on white) so phones read it on any terminal theme.
    """
    rows = matrix(content)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return [
        "".join(_HALVES[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]
