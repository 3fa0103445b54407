"""How a device speaks ONVIF, the protocol family every vendor's devices mount: its
settings (a section of the device), their fixture schema, and the vendor's stream paths."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from nvrsim.simulator.core.plugin import Section


@dataclass
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


@dataclass(frozen=True)
class VideoStream:
    channel: int  # from 1
    sub: bool  # the sub stream; else the main stream


@dataclass(kw_only=True)
class OnvifDevice:
    """What a vendor's device class adds to speak ONVIF."""

    manufacturer: ClassVar[str] = ""  # as GetDeviceInformation names it
    main_stream: ClassVar[VideoFormat] = VideoFormat(1920, 1080, 25)
    sub_stream: ClassVar[VideoFormat] = VideoFormat(640, 360, 25)
    onvif: Onvif = field(default_factory=Onvif)

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


ONVIF = Section(
    "onvif",
    OnvifSpec,
    OnvifSpec,
    build=lambda spec, _ctx: Onvif(
        **(spec.model_dump() | {"extra_scopes": tuple(spec.extra_scopes)})
    ),
    entry=lambda onvif: asdict(onvif) | {"extra_scopes": list(onvif.extra_scopes)},
    changeable=False,
)
