"""Sample photos for appeals (`nvrsim photo`): one per case of seed 000, drawn with pillow.

Each photo carries a JPEG comment `nvrsim-photo {"subject": …, "serial": …}`,
the generator's own record of what it drew (a phone camera would write EXIF
instead); the classifier (`photos.assess`) reads it, but measures size and
sharpness on the pixels and finds QR codes with a real detector, so a
screen photo is rejected whatever its comment says.
"""

from __future__ import annotations

import io
import json
import random

import segno
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from nvrsim.simulator.clouds.dmss.photos import COMMENT_PREFIX

# Every case `nvrsim photo` can draw, with what the seed says happens to it.
CASES: dict[str, str] = {
    "label": "the device's chassis with its label (model, S/N): accepted",
    "label-blurry": "the label, out of focus: rejected as low quality",
    "label-small": "the label at 320x240: rejected as low quality",
    "screen-qr": "the QR code on the recorder's screen: rejected as incorrect",
    "box": "the box the recorder came in: rejected as incorrect",
    "app-screenshot": "a DMSS screenshot showing the serial: rejected as incorrect",
    "other": "anything else: rejected as incorrect",
    "receipt": "a proof of purchase (invoice) naming the model and serial",
}

SUBJECTS = {
    "label": "device_label",
    "label-blurry": "device_label",
    "label-small": "device_label",
    "screen-qr": "recorder_screen",
    "box": "box",
    "app-screenshot": "app_screenshot",
    "other": "other",
    "receipt": "receipt",
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _textured(size: tuple[int, int], base: int, rng: random.Random) -> Image.Image:
    """A background with grain, as a real photo has (so sharpness is measurable)."""
    noise = Image.effect_noise(size, 40).point(lambda v: max(0, min(255, v - 128 + base)))
    return Image.merge(
        "RGB", (noise, noise, noise.point(lambda v: min(255, v + rng.randint(0, 9))))
    )


def _qr(content: str, scale: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=scale, border=2)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _label(serial: str, model: str, rng: random.Random) -> Image.Image:
    image = _textured((1280, 960), 150, rng)
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 180, 1160, 800), fill=(28, 28, 30))  # the chassis
    for y in range(200, 780, 24):  # vents
        draw.line((140, y, 420, y), fill=(60, 60, 64), width=6)
    draw.rectangle((470, 260, 1110, 720), fill=(236, 236, 230))  # the label
    lines = [
        "alhua TECHNOLOGY",
        f"Model: {model}",
        f"S/N: {serial}",
        "12V DC  1.5A",
        "Made in China",
    ]
    for i, line in enumerate(lines):
        draw.text((500, 290 + i * 62), line, fill=(10, 10, 10), font=_font(34))
    image.paste(_qr(f"SN:{serial}", 3), (960, 560))  # the label's small P2P QR
    return image


def _screen(serial: str, rng: random.Random) -> Image.Image:
    image = _textured((1280, 960), 90, rng)
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 60, 1180, 900), fill=(15, 15, 15))  # the monitor's bezel
    draw.rectangle((140, 100, 1140, 860), fill=(18, 40, 90))  # the P2P page
    draw.text((170, 120), "P2P  Device SN", fill=(230, 230, 230), font=_font(30))
    qr = _qr(f"SN:{serial}", 18).resize((600, 600), Image.NEAREST)
    image.paste(qr, (340, 200))
    return image


def _box(serial: str, model: str, rng: random.Random) -> Image.Image:
    image = _textured((1280, 960), 200, rng)
    draw = ImageDraw.Draw(image)
    draw.polygon([(200, 250), (1000, 180), (1150, 700), (300, 820)], fill=(178, 134, 84))
    draw.text((330, 330), "alhua", fill=(200, 20, 20), font=_font(90))
    draw.text((330, 470), f"{model}", fill=(20, 20, 20), font=_font(44))
    draw.text((330, 560), f"S/N {serial}", fill=(20, 20, 20), font=_font(32))
    return image


def _screenshot(serial: str, model: str, rng: random.Random) -> Image.Image:
    image = Image.new("RGB", (1080, 2340), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1080, 180), fill=(24, 110, 230))
    draw.text((60, 60), "DMSS      Device Details", fill=(255, 255, 255), font=_font(52))
    for i, (key, value) in enumerate(
        [("Device Name", model), ("SN", serial), ("Status", "Online"), ("Type", "NVR")]
    ):
        draw.text((60, 280 + i * 120), f"{key}: {value}", fill=(30, 30, 30), font=_font(46))
    return image


def _other(rng: random.Random) -> Image.Image:
    image = _textured((1280, 960), 120, rng)
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randint(0, 1200), rng.randint(0, 900)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        draw.ellipse((x, y, x + rng.randint(20, 200), y + rng.randint(20, 200)), fill=colour)
    return image


def _receipt(serial: str, model: str, rng: random.Random) -> Image.Image:
    image = _textured((960, 1280), 215, rng)
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 80, 840, 1200), fill=(252, 252, 248))
    rows = ["INVOICE 2024-00871", "Security Supplies Ltd", "", f"1 x {model}", f"S/N {serial}"]
    rows += ["", "Total  EUR 249.00", "Paid by card  2024-03-14"]
    for i, row in enumerate(rows):
        draw.text((160, 130 + i * 70), row, fill=(20, 20, 20), font=_font(36))
    return image


def make_photo(case: str, serial: str, model: str = "DHI-NVR4208-8P-4KS2", seed: int = 0) -> bytes:
    """The JPEG of one case of CASES for the device `serial`."""
    if case not in CASES:
        raise ValueError(f"unknown photo case {case!r}; known: {', '.join(CASES)}")
    rng = random.Random(f"{case}:{serial}:{seed}")
    if case.startswith("label"):
        image = _label(serial, model, rng)
        if case == "label-blurry":
            image = image.filter(ImageFilter.GaussianBlur(9))
        elif case == "label-small":
            image = image.resize((320, 240), Image.LANCZOS)
    elif case == "screen-qr":
        image = _screen(serial, rng)
    elif case == "box":
        image = _box(serial, model, rng)
    elif case == "app-screenshot":
        image = _screenshot(serial, model, rng)
    elif case == "receipt":
        image = _receipt(serial, model, rng)
    else:
        image = _other(rng)
    comment = COMMENT_PREFIX + json.dumps({"subject": SUBJECTS[case], "serial": serial})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, comment=comment.encode())
    return out.getvalue()
