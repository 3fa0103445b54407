"""The test card: one drawing for the video's frames and the snapshots."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageStat

from nvrsim.simulator.core.ptz import Position, PtzHead
from nvrsim.simulator.runtime import clips, testcard


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_snapshot_is_a_baseline_jpeg_of_the_size_asked():
    data = testcard.snapshot(704, 576, 1_700_000_000.4)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert b"\xff\xc0" in data  # baseline, as every client decodes
    image = decoded(data)
    assert (image.format, image.size) == ("JPEG", (704, 576))
    assert max(image.getpixel((704 // 14, 10))) > 150  # the first colour bar, not black


def test_a_snapshot_is_made_once_a_second_and_moves_with_the_clock():
    first = testcard.snapshot(320, 240, 1_700_000_000.1)
    assert testcard.snapshot(320, 240, 1_700_000_000.9) is first  # cached within the second
    assert testcard.snapshot(320, 240, 1_700_000_001.0) != first


def test_the_video_and_the_snapshot_are_the_same_drawing():
    spec = clips.ClipSpec(320, 240, fps=25)
    frame = clips._test_card(spec, 0)
    snapshot = decoded(testcard.snapshot(320, 240, 1_700_000_000))  # an even second: box at 0
    # Same bars and box; only the caption below them differs (frame count against time).
    top = (0, 0, 320, 180)
    difference = ImageStat.Stat(ImageChops.difference(frame.crop(top), snapshot.crop(top)))
    assert max(difference.mean) < 4  # JPEG's loss, not another picture


def test_a_ptz_cameras_snapshot_shows_where_its_head_points():
    head, now = PtzHead(), 1_700_000_000.0
    still = testcard.snapshot(640, 360, now, head)
    assert testcard.snapshot(640, 360, now, head) is still  # same second, same position
    head.move_to(Position(0.5, -0.25, 0.0), now)  # full speed: half a second
    moved = testcard.snapshot(640, 360, now + 0.5, head)  # there by now, in the same second
    assert moved != still and moved != testcard.snapshot(640, 360, now + 0.5)
    assert Image.open(io.BytesIO(moved)).size == (640, 360)
