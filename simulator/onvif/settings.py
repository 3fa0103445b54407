"""How a device speaks ONVIF, the protocol family every vendor's devices mount: its
settings (a section of the device), their fixture schema, and the vendor's streams.

The streams are described here once per device (`OnvifDevice.streams`): the RTSP server
serves them, and ONVIF, ISAPI, Dahua's Encode config, NIPCA, the ready file, the control
API and the banner all describe them from here.

Choices where the public record is silent:
- A vendor's models share its default main and sub stream, except those its device
  class lists in `video_models` (by model prefix): a VGA camera streams VGA. A
  fixture's `video` table overrides either for one device.
- Every stream is H.264 High profile (what runtime/clips encodes) with a key frame every
  25 frames; the bitrate is what the device advertises (the clip itself is encoded at a
  constant quality, so the bitrate on the wire is lower).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from nvrsim.simulator.core.plugin import Section, record_entry


@dataclass(slots=True)
class Onvif:
    """How the device speaks ONVIF (WS-Discovery and the device/media services)."""

    discoverable: bool = True  # non-discoverable devices neither answer probes nor announce
    clock_skew: float = 0.0  # seconds the device clock runs ahead (negative: behind)
    location: str = "city/hangzhou"  # the path after onvif://www.onvif.org/location/
    extra_scopes: tuple[str, ...] = ()
    hardware_id: str = "88"
    # "time": only GetSystemDateAndTime without credentials, as most firmware does;
    # "spec": ONVIF's whole PRE_AUTH class (GetServices, GetCapabilities, …).
    pre_auth: str = "time"
    password_text: bool = False  # accept #PasswordText tokens as well as digests
    freshness: float = 300.0  # seconds a token's Created may differ from the device clock


@dataclass(frozen=True)
class VideoFormat:
    """What a stream's media profile advertises and its RTSP stream carries (H.264)."""

    width: int
    height: int
    fps: int
    bitrate_kbps: int = 4096
    codec: str = "H.264"
    profile: str = "High"  # the H.264 profile runtime/clips encodes
    gop: int = 25  # frames from one key frame to the next, as runtime/clips encodes

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class VideoStream:
    channel: int  # from 1
    sub: bool  # the sub stream; else the main stream

    @property
    def name(self) -> str:
        return "sub" if self.sub else "main"


@dataclass(frozen=True)
class StreamInfo:
    """One stream a device serves: which it is, its RTSP path and what it carries."""

    stream: VideoStream
    path: str
    video: VideoFormat

    @property
    def channel(self) -> int:
        return self.stream.channel

    @property
    def sub(self) -> bool:
        return self.stream.sub


FULL_HD = VideoFormat(1920, 1080, 25, 4096)
NHD = VideoFormat(640, 360, 25, 512)


@dataclass(slots=True)
class Video:
    """A device's own streams, where its fixture gives them; None: its model's."""

    main: VideoFormat | None = None
    sub: VideoFormat | None = None


@dataclass(kw_only=True)
class OnvifDevice:
    """What a vendor's device class adds to speak ONVIF."""

    manufacturer: ClassVar[str] = ""  # as GetDeviceInformation names it
    # The vendor's main and sub stream, and the models that differ: (model prefix, main, sub).
    default_streams: ClassVar[tuple[VideoFormat, VideoFormat]] = (FULL_HD, NHD)
    video_models: ClassVar[tuple[tuple[str, VideoFormat, VideoFormat], ...]] = ()
    onvif: Onvif = field(default_factory=Onvif)
    video: Video = field(default_factory=Video)

    def _formats(self) -> tuple[VideoFormat, VideoFormat]:
        main, sub = self.default_streams
        model = str(getattr(self, "model", "")).upper()
        for prefix, model_main, model_sub in self.video_models:
            if model.startswith(prefix.upper()):
                main, sub = model_main, model_sub
                break
        return self.video.main or main, self.video.sub or sub

    @property
    def main_stream(self) -> VideoFormat:
        return self._formats()[0]

    @property
    def sub_stream(self) -> VideoFormat:
        return self._formats()[1]

    def streams(self) -> list[StreamInfo]:
        """Every stream the device serves: each channel's main, then its sub stream."""
        return [
            StreamInfo(
                stream, self.stream_path(stream.channel, stream.sub), self.stream_format(stream)
            )
            for channel in range(1, max(1, getattr(self, "channels", 1)) + 1)
            for stream in (VideoStream(channel, False), VideoStream(channel, True))
        ]

    def stream_url(self, stream: VideoStream) -> str:
        """The stream's RTSP URL on the device's own address and RTSP port."""
        net = self.network  # type: ignore[attr-defined]  # Device's, beside this mixin
        return f"rtsp://{net.ip}:{net.rtsp_port}{self.stream_path(stream.channel, stream.sub)}"

    def clock_skew(self) -> float:
        """The fixture's skew (`Device.local_now` adds it to every protocol's clock)."""
        return self.onvif.clock_skew

    def stream_path(self, channel: int, sub: bool = False) -> str:
        """The RTSP path (and query) of a channel's stream; vendors have their own, and
        `stream_at` recognises whatever this returns."""
        return f"/stream{channel}" + ("/sub" if sub else "")

    def main_stream_path(self, channel: int) -> str:
        """The main stream's path as ONVIF GetStreamUri gives it."""
        return self.stream_path(channel)

    def stream_format(self, stream: VideoStream) -> VideoFormat:
        return self.sub_stream if stream.sub else self.main_stream

    def stream_at(self, target: str) -> VideoStream | None:
        """The stream an RTSP request target (path and query) names, or None.

        The path compares without case, as firmware does; the query must carry the
        parameters of `stream_path` and may carry more (Hikvision's ONVIF URI adds
        `transportmode` and `profile`, clients add their own).
        """
        try:
            parts = urlsplit(target)
        except ValueError:
            return None
        path = parts.path.rstrip("/").lower()
        query = set(parse_qsl(parts.query))
        for channel in range(1, max(1, getattr(self, "channels", 1)) + 1):
            for sub in (False, True):
                own = urlsplit(self.stream_path(channel, sub))
                if own.path.lower() == path and set(parse_qsl(own.query)) <= query:
                    return VideoStream(channel, sub)
        return None


def stream_docs(device: object) -> list[dict[str, Any]]:
    """Each stream as the control API, the ready file and the banner give it; none for a
    device whose class has no streams."""
    if not isinstance(device, OnvifDevice):
        return []
    return [
        {
            "channel": info.channel,
            "stream": info.stream.name,
            "url": device.stream_url(info.stream),
            "codec": info.video.codec,
            "width": info.video.width,
            "height": info.video.height,
            "fps": info.video.fps,
            "bitrate_kbps": info.video.bitrate_kbps,
        }
        for info in device.streams()
    ]


class OnvifSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    discoverable: bool = True
    clock_skew: Annotated[float, Strict(False)] = 0.0
    location: str = "city/hangzhou"
    extra_scopes: list[str] = Field(default_factory=list)
    hardware_id: str = "88"
    pre_auth: Literal["time", "spec"] = "time"
    password_text: bool = False
    freshness: Annotated[float, Field(gt=0), Strict(False)] = 300.0

    @field_validator("extra_scopes")
    @classmethod
    def _scopes_are_uris(cls, scopes: list[str] | None) -> list[str] | None:
        for scope in scopes or ():
            if not scope or any(c.isspace() for c in scope) or ":" not in scope:
                raise ValueError(f"a scope is a URI without spaces: {scope!r}")
        return scopes


class VideoFormatSpec(BaseModel):
    """One stream as a fixture gives it. Even sizes: H.264 in 4:2:0 needs them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    width: Annotated[int, Field(ge=16, le=3840, multiple_of=2)]
    height: Annotated[int, Field(ge=16, le=2160, multiple_of=2)]
    fps: Annotated[int, Field(ge=1, le=60)] = 25
    bitrate_kbps: Annotated[int, Field(ge=32, le=32768)] = 4096


class VideoSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    main: VideoFormatSpec | None = None
    sub: VideoFormatSpec | None = None


def _video_format(spec: VideoFormatSpec | None) -> VideoFormat | None:
    return VideoFormat(**spec.model_dump()) if spec is not None else None


def _video_entry(video: Video) -> dict[str, Any]:
    fields = ("width", "height", "fps", "bitrate_kbps")
    return {
        name: {f: getattr(value, f) for f in fields}
        for name, value in (("main", video.main), ("sub", video.sub))
        if value is not None
    }


VIDEO = Section(
    "video",
    VideoSpec,
    VideoSpec,
    build=lambda spec, _ctx: Video(_video_format(spec.main), _video_format(spec.sub)),
    entry=_video_entry,
    changeable=False,  # a running session keeps the clip it started with
)


ONVIF = Section(
    "onvif",
    OnvifSpec,
    OnvifSpec,
    build=lambda spec, _ctx: Onvif(
        **(spec.model_dump() | {"extra_scopes": tuple(spec.extra_scopes)})
    ),
    entry=record_entry,
    changeable=False,
)
