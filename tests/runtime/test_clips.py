"""The test card clips: real H.264 made once, cached, split into access units."""

import asyncio

import pytest

from nvrsim.protocols.rtsp import NAL_PPS, NAL_SPS, nal_type
from nvrsim.simulator.runtime import clips
from nvrsim.simulator.runtime.clips import ClipLibrary, ClipSpec, load_clip

SMALL = ClipSpec(320, 180)


def test_a_clip_has_a_key_frame_a_second_with_its_parameter_sets(tmp_path):
    clip = load_clip(SMALL, tmp_path)
    assert len(clip.access_units) == 50
    assert [n for n, unit in enumerate(clip.access_units) if unit.key] == [0, 25]
    for unit in (clip.access_units[0], clip.access_units[25]):
        assert [nal_type(u) for u in unit.units[:2]] == [NAL_SPS, NAL_PPS]
    assert clip.sps[1] in (77, 100)  # Main or High profile
    assert all(len(p) <= clips.RTP_MTU for u in clip.access_units for p in u.payloads)


def test_a_cached_clip_is_read_back_without_encoding(tmp_path, monkeypatch):
    first = load_clip(SMALL, tmp_path)
    assert (tmp_path / SMALL.file_name).exists()

    def no_encoding(spec):
        raise AssertionError("encoded again")

    monkeypatch.setattr(clips, "encode", no_encoding)
    assert load_clip(SMALL, tmp_path) == first


def test_a_damaged_cache_file_is_made_again(tmp_path):
    (tmp_path / SMALL.file_name).write_bytes(b"\x00\x00\x01\x09garbage")
    assert len(load_clip(SMALL, tmp_path).access_units) == 50


async def test_sessions_share_one_clip_made_once(tmp_path, monkeypatch):
    made = []
    real = clips.encode
    monkeypatch.setattr(clips, "encode", lambda spec: made.append(spec) or real(spec))
    library = ClipLibrary(tmp_path)

    first, second = await asyncio.gather(library.get(SMALL), library.get(SMALL))
    assert first is second and made == [SMALL]


@pytest.mark.parametrize("spec", [ClipSpec(640, 360, fps=10, seconds=1, gop=10)])
def test_file_names_carry_every_parameter(spec):
    assert spec.file_name == "testcard-v1-640x360-10fps-1s-gop10.h264"
