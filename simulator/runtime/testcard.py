"""The test card every simulated camera shows: one drawing for its video and its snapshots.

`runtime/clips` encodes frames of it to H.264; snapshots (ISAPI `…/picture`, Dahua
`snapshot.cgi`, NIPCA `/image/jpeg.cgi`, ONVIF's snapshot URI) are JPEGs of it at the
stream's size, with the time on the simulation clock and, on a PTZ camera's first
channel, where its head points; made at most once a second per size and position
(`snapshot`), so a client polling a fleet's snapshots costs little.

Choices where the public record is silent: a snapshot's box stands where the video's
would at that second of the clip's loop, and its caption is the device clock's UTC time.
The video itself does not show the head's position: its clips are encoded once per size
and shared by every device (`runtime/clips`), which a per-device picture would undo.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nvrsim.simulator.core.ptz import PtzHead

if TYPE_CHECKING:
    from PIL import Image

BARS = (
    (192, 192, 192),
    (192, 192, 0),
    (0, 192, 192),
    (0, 192, 0),
    (192, 0, 192),
    (192, 0, 0),
    (0, 0, 192),
)
LOOP_SECONDS = 2  # the clips' length: a snapshot's box follows the same loop
JPEG_QUALITY = 80


def draw(width: int, height: int, progress: float, caption: str) -> Image.Image:
    """Colour bars, a box `progress` (0 to 1) of the way across, and a caption."""
    # PIL (35 ms at import) waits for the first picture: most runs never draw one.
    from PIL import Image, ImageDraw, ImageFont

    w, h = width, height
    image = Image.new("RGB", (w, h), (32, 32, 32))
    canvas = ImageDraw.Draw(image)
    for n, colour in enumerate(BARS):
        canvas.rectangle((n * w // 7, 0, (n + 1) * w // 7, h // 3), fill=colour)
    size = max(8, h // 6)
    x = round(progress * (w - size))
    canvas.rectangle((x, h // 2, x + size, h // 2 + size), fill=(255, 200, 0))
    font = ImageFont.load_default(size=max(10, h // 12))
    canvas.text((w // 20, h - h // 5), caption, font=font)
    return image


def snapshot(width: int, height: int, now: float, head: PtzHead | None = None) -> bytes:
    """A JPEG of the card at simulation time `now`, the same for every call in that second
    with the PTZ `head` (if any) pointing the same way."""
    where = ""
    if head is not None:
        pan, tilt, zoom = head.position(now)
        where = f"  PTZ {pan:+.2f} {tilt:+.2f} x{zoom:.2f}"
    return _snapshot(width, height, int(now), where)


@functools.lru_cache(maxsize=64)
def _snapshot(width: int, height: int, second: int, where: str) -> bytes:
    progress = (second % LOOP_SECONDS) / LOOP_SECONDS
    when = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = io.BytesIO()
    caption = f"nvrsim  {when}{where}"
    draw(width, height, progress, caption).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
