"""The firmware files simulated devices accept for an upgrade (`nvrsim firmware build`).

Real images (Hikvision's digicap.dav, Dahua's .bin) are signed and opaque;
what an upgrade test needs is a file that names what it is for. Ours: the
magic `NVRSIMFW`, a 4-byte big-endian header length, a JSON header
`{"vendor", "kinds", "version"}`, then padding so the upload has a realistic
size. A device refuses an image for another vendor or kind, as real ones
refuse another model's firmware.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

MAGIC = b"NVRSIMFW"
_LENGTH = struct.Struct(">I")
MAX_HEADER = 4096


class FirmwareImageError(ValueError):
    pass


@dataclass(frozen=True)
class FirmwareImage:
    vendor: str
    kinds: tuple[str, ...]
    version: str

    def fits(self, vendor: str, kind: str) -> bool:
        return self.vendor == vendor and kind in self.kinds


def build_image(image: FirmwareImage, size: int = 64 * 1024) -> bytes:
    header = json.dumps(
        {"vendor": image.vendor, "kinds": list(image.kinds), "version": image.version}
    ).encode()
    data = MAGIC + _LENGTH.pack(len(header)) + header
    return data + bytes(max(0, size - len(data)))


def parse_image(data: bytes) -> FirmwareImage:
    """The image's header; FirmwareImageError for anything else."""
    start = len(MAGIC) + _LENGTH.size
    if not data.startswith(MAGIC) or len(data) < start:
        raise FirmwareImageError("not a firmware image")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if length > MAX_HEADER or len(data) < start + length:
        raise FirmwareImageError("firmware image header cut short")
    try:
        header = json.loads(data[start : start + length])
        image = FirmwareImage(
            vendor=header["vendor"], kinds=tuple(header["kinds"]), version=header["version"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise FirmwareImageError(f"bad firmware image header: {exc}") from None
    if not all(isinstance(v, str) for v in (image.vendor, image.version, *image.kinds)):
        raise FirmwareImageError("bad firmware image header: strings expected")
    return image
