"""A baseline JPEG encoder for flat-toned 8x8 blocks: the snapshot a simulated camera serves.

Snapshots need to be real JPEG files (clients decode them, Home Assistant
shows them), not pictures of anything. Every 8x8 block is one grey level, so
only DC coefficients are coded: a grey test card of vertical bars costs a few
hundred bytes and no imaging library. Tables: quantisation all ones, the DC
luminance Huffman table of ITU-T T.81 Annex K.3, and an AC table holding only
end-of-block.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

# T.81 Table K.3: code lengths 1..16 and the DC categories they code.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
_AC_BITS = (1,) + (0,) * 15  # a single one-bit code…
_AC_VALUES = (0x00,)  # …for end-of-block


def _codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (T.81 Annex C): symbol → (code, length)."""
    table, code, index = {}, 0, 0
    for length, count in enumerate(bits, 1):
        for _ in range(count):
            table[values[index]] = (code, length)
            code, index = code + 1, index + 1
        code <<= 1
    return table


_DC_CODES = _codes(_DC_BITS, _DC_VALUES)
_EOB = _codes(_AC_BITS, _AC_VALUES)[0x00]


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._count = 0

    def write(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | (value & ((1 << length) - 1))
        self._count += length
        while self._count >= 8:
            self._count -= 8
            byte = (self._acc >> self._count) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)  # stuffed, so the data never looks like a marker
        self._acc &= (1 << self._count) - 1

    def flush(self) -> bytes:
        if self._count:
            self.write(0xFF, 8 - self._count)  # pad with one bits
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _huffman_table(table_class: int, bits: tuple[int, ...], values: tuple[int, ...]) -> bytes:
    return bytes([table_class << 4, *bits, *values])


def encode_blocks(width: int, height: int, level: Callable[[int, int], int]) -> bytes:
    """A greyscale JPEG of widthxheight pixels; `level(bx, by)` is block (bx, by)'s grey, 0-255."""
    if not (0 < width <= 65535 and 0 < height <= 65535):
        raise ValueError("a JPEG side is 1 to 65535 pixels")
    bits, previous = _BitWriter(), 0
    for by in range((height + 7) // 8):
        for bx in range((width + 7) // 8):
            # With quantisation 1 a flat block's DC coefficient is 8 x (level - 128).
            dc = 8 * (max(0, min(255, level(bx, by))) - 128)
            diff, previous = dc - previous, dc
            category = abs(diff).bit_length()
            bits.write(*_DC_CODES[category])
            if category:
                bits.write(diff if diff > 0 else diff - 1, category)
            bits.write(*_EOB)
    frame = struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, bytes([0]) + bytes([1] * 64)),
            _segment(0xC0, frame),
            _segment(0xC4, _huffman_table(0, _DC_BITS, _DC_VALUES)),
            _segment(0xC4, _huffman_table(1, _AC_BITS, _AC_VALUES)),
            _segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])),
            bits.flush(),
            b"\xff\xd9",
        ]
    )


def test_card(width: int = 320, height: int = 240, bars: int = 8) -> bytes:
    """Vertical grey bars from white to black, like a camera's test pattern."""
    columns = (width + 7) // 8
    return encode_blocks(
        width, height, lambda bx, _by: 255 - (bx * bars // columns) * 255 // max(1, bars - 1)
    )
