"""The video every simulated camera streams: a short H.264 test card, made once and cached.

Made with PyAV's bundled libx264 on first use rather than shipped as package data, so
any size and frame rate a model advertises can be had without growing the wheel; the
encoded stream is cached per user (`$NVRSIM_CACHE_DIR`, else `$XDG_CACHE_HOME/nvrsim`
or `~/.cache/nvrsim`) under a name made of its parameters, so later runs only read it.

A clip is split into access units and their RTP payloads once per (size, frame rate)
and shared by every session that plays it: a session only adds its RTP headers.
The encoder settings make a clip easy to serve: no B-frames (decode order is display
order, so timestamps only grow), a key frame every second with SPS and PPS repeated
before it (a session starts on one; a client joins within a second), and access-unit
delimiters, which mark where each frame begins in the cached stream.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from nvrsim.protocols.rtsp import (
    NAL_AUD,
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    PacketRun,
    h264_payloads,
    nal_type,
    split_annexb,
)
from nvrsim.simulator.runtime import testcard

# Raised whenever what a clip looks like or how it is encoded changes, so caches refresh.
CLIP_FORMAT = 1
RTP_MTU = 1400  # payload bytes per RTP packet: under Ethernet's 1500 with IP/UDP/RTP headers


@dataclass(frozen=True)
class ClipSpec:
    width: int
    height: int
    fps: int = 25
    seconds: int = 2
    gop: int = 25  # frames between key frames: one a second at 25 fps

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    @property
    def file_name(self) -> str:
        return (
            f"testcard-v{CLIP_FORMAT}-{self.width}x{self.height}-{self.fps}fps-"
            f"{self.seconds}s-gop{self.gop}.h264"
        )


@dataclass(frozen=True)
class AccessUnit:
    """One frame: its NAL units, the RTP payloads they make (`RTP_MTU`) and those as
    packets every session stamps with its own header fields."""

    units: tuple[bytes, ...]
    payloads: tuple[bytes, ...]
    key: bool
    packets: PacketRun


@dataclass(frozen=True)
class Clip:
    spec: ClipSpec
    access_units: tuple[AccessUnit, ...]
    sps: bytes
    pps: bytes


def cache_dir() -> Path:
    if explicit := os.environ.get("NVRSIM_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nvrsim"


def _test_card(spec: ClipSpec, index: int):
    """Frame `index`: the box crosses the picture once per clip and the caption counts
    frames and seconds, so a viewer sees that the picture moves and loops."""
    caption = f"nvrsim  frame {index:03d}  t={index / spec.fps:05.2f}s"
    return testcard.draw(spec.width, spec.height, index / spec.frames, caption)


def encode(spec: ClipSpec) -> bytes:
    """The clip as an Annex-B H.264 stream (High profile, yuv420p). Blocking: seconds."""
    import av

    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = spec.width, spec.height, "yuv420p"
    context.time_base = Fraction(1, spec.fps)
    context.framerate = Fraction(spec.fps, 1)
    context.gop_size = spec.gop
    context.options = {
        "preset": "veryfast",
        "tune": "zerolatency",  # no B-frames, no look-ahead
        "profile": "high",
        "crf": "26",
        "x264-params": (
            f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0:repeat-headers=1:aud=1:bframes=0"
        ),
    }
    stream = bytearray()
    for index in range(spec.frames):
        frame = av.VideoFrame.from_image(_test_card(spec, index)).reformat(format="yuv420p")
        frame.pts = index
        for packet in context.encode(frame):
            stream += bytes(packet)
    for packet in context.encode(None):
        stream += bytes(packet)
    return bytes(stream)


def parse_clip(spec: ClipSpec, stream: bytes) -> Clip:
    """Split an encoded clip into access units at its delimiters (which are not sent)."""
    frames: list[list[bytes]] = []
    for unit in split_annexb(stream):
        if nal_type(unit) == NAL_AUD:
            frames.append([])
        elif frames:
            frames[-1].append(unit)
    units = [u for frame in frames for u in frame]
    sps = next((u for u in units if nal_type(u) == NAL_SPS), None)
    pps = next((u for u in units if nal_type(u) == NAL_PPS), None)
    if sps is None or pps is None or len(frames) != spec.frames:
        raise ValueError(f"not a {spec.frames}-frame H.264 clip with SPS and PPS")
    access_units = []
    for frame in frames:
        payloads = tuple(h264_payloads(frame, RTP_MTU))
        key = any(nal_type(u) == NAL_IDR for u in frame)
        access_units.append(AccessUnit(tuple(frame), payloads, key, PacketRun.of(payloads)))
    if not access_units[0].key:
        raise ValueError("a clip starts on a key frame")
    return Clip(spec, tuple(access_units), sps, pps)


def load_clip(spec: ClipSpec, directory: Path | None = None) -> Clip:
    """The clip from the cache, encoded and cached first if need be. Blocking."""
    path = (directory or cache_dir()) / spec.file_name
    try:
        return parse_clip(spec, path.read_bytes())
    except (OSError, ValueError):
        pass  # not cached yet, or a damaged file: make it again
    stream = encode(spec)
    clip = parse_clip(spec, stream)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(stream)
        os.replace(tmp, path)  # another process may be writing the same clip
    except OSError:
        pass  # a read-only home still streams; it only encodes again next run
    return clip


class ClipLibrary:
    """Clips by spec, each made at most once per process and shared by every session;
    made off the event loop, so the first DESCRIBE does not stall other devices."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._clips: dict[ClipSpec, asyncio.Future[Clip]] = {}

    async def get(self, spec: ClipSpec) -> Clip:
        future = self._clips.get(spec)
        if future is None or (future.done() and (future.cancelled() or future.exception())):
            loop = asyncio.get_running_loop()
            future = self._clips[spec] = loop.run_in_executor(None, load_clip, spec, self.directory)
        return await asyncio.shield(future)
