"""The unbind form's image code: the answer drawn as a PNG, bent and speckled (pillow)."""

from __future__ import annotations

import io
import random

WIDTH, HEIGHT = 120, 44


def captcha_png(answer: str, seed: str) -> bytes:
    """`answer` as a PNG a person reads and a naive OCR does not; the same for the same seed."""
    # pillow waits for the first unbind form: a fleet's start never needs it.
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT), (242, 242, 236))
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # strike-through lines
        draw.line(
            [(rng.randrange(WIDTH), rng.randrange(HEIGHT)) for _ in range(2)],
            fill=(rng.randrange(80, 200), rng.randrange(80, 200), rng.randrange(80, 200)),
            width=1,
        )
    font = ImageFont.load_default(size=26)
    x = 8
    for char in answer:
        glyph = Image.new("RGBA", (30, 36), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((4, 2), char, font=font, fill=(30, 40, rng.randrange(60, 160)))
        glyph = glyph.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC)
        image.paste(glyph, (x, rng.randrange(0, 8)), glyph)
        x += 26
    for _ in range(120):  # speckles
        draw.point((rng.randrange(WIDTH), rng.randrange(HEIGHT)), fill=(90, 90, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
