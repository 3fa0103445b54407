"""What an appeal photo shows, measured on its pixels (seed 000's rejection reasons).

- **Decodable**: pillow opens it (JPEG, PNG, WebP…); otherwise the upload is refused.
- **Low quality**: the shorter side under `min_side` pixels (640 by default), or
  too blurry: the variance of the Laplacian of the grey image (3x3 kernel,
  pillow's ImageFilter, on the image scaled to 1024 px wide so the measure does
  not depend on resolution) under `min_sharpness`.
- **Incorrect**: a QR code that fills a large part of the picture (over 8 % of
  its area, found by zxing-cpp, a real detector) is the recorder's screen,
  whatever else the file says; otherwise the subject is what the photo's
  `nvrsim-photo` comment records (the bundled generator writes it; a phone
  writes no such comment, so a foreign photo is "unknown" and not accepted as
  the device's label); a label must show this device's serial (comment, or
  the label's own small QR code `SN:<serial>`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

# What the bundled generator (dmss/generator.py) writes in a photo's comment, then JSON.
COMMENT_PREFIX = "nvrsim-photo "
MAX_PIXELS = 40_000_000  # decompression bombs are refused
LAPLACIAN = (0, 1, 0, 1, -4, 1, 0, 1, 0)


class PhotoError(ValueError):
    """Not a picture at all."""


@dataclass(frozen=True)
class PhotoRules:
    min_side: int = 640
    min_sharpness: float = 60.0
    screen_qr_share: float = 0.08  # a QR covering more of the frame than this is a screen


@dataclass(frozen=True)
class Photo:
    width: int
    height: int
    sharpness: float
    subject: str  # device_label, recorder_screen, box, app_screenshot, receipt, other, unknown
    serials: tuple[str, ...] = ()  # serial numbers the photo shows
    qr_codes: tuple[str, ...] = field(default=())
    qr_share: float = 0.0  # the largest QR code's share of the frame


def assess(data: bytes, rules: PhotoRules | None = None) -> Photo:
    # pillow waits for the first appeal: a fleet's start never needs it.
    from PIL import Image, ImageFilter, ImageStat, UnidentifiedImageError

    rules = rules or PhotoRules()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("the picture is too large")
            image.load()
            comment = image.info.get("comment", b"")
            grey = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"not a picture: {exc}") from None
    width, height = grey.size
    scaled = grey.resize((1024, max(1, round(height * 1024 / width)))) if width > 1024 else grey
    laplacian = ImageFilter.Kernel((3, 3), LAPLACIAN, scale=1, offset=128)
    sharpness = ImageStat.Stat(scaled.filter(laplacian)).var[0]
    # A QR code that fills the frame survives any reasonable downscale; the detector's
    # time does not scale well with a 48-megapixel phone photo.
    codes, share = _qr_codes(grey if max(grey.size) <= 2048 else _shrunk(grey, 2048))
    recorded = _recorded(comment)
    subject = recorded.get("subject", "unknown")
    serials = {s for s in [recorded.get("serial")] if isinstance(s, str)}
    serials |= {c.removeprefix("SN:") for c in codes if c.startswith("SN:")}
    if share > rules.screen_qr_share:
        subject = "recorder_screen"
    return Photo(width, height, sharpness, str(subject), tuple(sorted(serials)), codes, share)


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def _recorded(comment: bytes | str) -> dict:
    text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else str(comment)
    if not text.startswith(COMMENT_PREFIX):
        return {}
    try:
        value = json.loads(text.removeprefix(COMMENT_PREFIX))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _qr_codes(grey: Image.Image) -> tuple[tuple[str, ...], float]:
    try:  # a real QR detector; wheels for every platform we run on
        import zxingcpp
    except ImportError:  # pragma: no cover - documented: without it no screen is detected
        return (), 0.0
    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    area = grey.width * grey.height
    share = 0.0
    for code in found:
        p = code.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
        share = max(share, (max(xs) - min(xs)) * (max(ys) - min(ys)) / area)
    return tuple(code.text for code in found), share


def too_low_quality(photo: Photo, rules: PhotoRules | None = None) -> bool:
    rules = rules or PhotoRules()
    return min(photo.width, photo.height) < rules.min_side or photo.sharpness < rules.min_sharpness


def shows_device_label(photo: Photo, serial: str) -> bool:
    return photo.subject == "device_label" and serial in photo.serials
