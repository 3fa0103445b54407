"""ONVIF media beyond profiles and URIs: the ver10 media service's sources, configurations
and encoder options, and the Media2 service (ver20 media WSDL). Documents out; no I/O
and no device state. The profiles themselves are protocols/onvif.py's `MediaProfile`.

Choices where the specification leaves the device free [I]:
- Encoder options: H.264 only, the device's main and sub stream resolutions,
  1 fps to the main stream's rate, GOP 1..400, quality 1..6, bit rate 32 to
  16384 kbit/s; profiles Baseline, Main and High.
- One mono audio source (`AudioSource_1`) where the model has audio.
- Media2 profiles carry the same tokens as Media's (`Profile_<n>`), so either
  service's token works in the other; a GetProfiles Type list other than All
  keeps only the configurations it names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .onvif import MediaProfile, video_encoder_configuration, video_source_configuration
from .xmlwrite import Element, Markup, el, empty, write, xmlns

TR2 = "http://www.onvif.org/ver20/media/wsdl"

QUALITY_RANGE = (1, 6)
GOV_LENGTH_RANGE = (1, 400)
BITRATE_RANGE = (32, 16384)
H264_PROFILES = ("Baseline", "Main", "High")


@dataclass(frozen=True)
class VideoSource:
    token: str
    width: int
    height: int
    frame_rate: int


# --- media (ver10) --------------------------------------------------------------------------


def _fragment(tag: str, *content: Element) -> str:
    return write(el(tag, *content))


def video_sources_response(sources: list[VideoSource]) -> str:
    return _fragment(
        "trt:GetVideoSourcesResponse",
        *(
            el(
                "trt:VideoSources",
                el("tt:Framerate", s.frame_rate),
                el("tt:Resolution", el("tt:Width", s.width), el("tt:Height", s.height)),
                token=s.token,
            )
            for s in sources
        ),
    )


def video_source_configurations_response(profiles: list[MediaProfile]) -> str:
    return _fragment(
        "trt:GetVideoSourceConfigurationsResponse",
        *(video_source_configuration(p, "trt:Configurations") for p in profiles),
    )


def video_encoder_configurations_response(profiles: list[MediaProfile]) -> str:
    return _fragment(
        "trt:GetVideoEncoderConfigurationsResponse",
        *(video_encoder_configuration(p, "trt:Configurations") for p in profiles),
    )


def video_encoder_configuration_response(profile: MediaProfile) -> str:
    return _fragment(
        "trt:GetVideoEncoderConfigurationResponse",
        video_encoder_configuration(profile, "trt:Configuration"),
    )


def _int_range(tag: str, low: int, high: int) -> Element:
    return el(tag, el("tt:Min", low), el("tt:Max", high))


def video_encoder_options_response(resolutions: list[tuple[int, int]], max_fps: int) -> str:
    h264 = (
        *(
            el("tt:ResolutionsAvailable", el("tt:Width", w), el("tt:Height", h))
            for w, h in resolutions
        ),
        _int_range("tt:GovLengthRange", *GOV_LENGTH_RANGE),
        _int_range("tt:FrameRateRange", 1, max_fps),
        _int_range("tt:EncodingIntervalRange", 1, 1),
        *(el("tt:H264ProfilesSupported", p) for p in H264_PROFILES),
    )
    return _fragment(
        "trt:GetVideoEncoderConfigurationOptionsResponse",
        el(
            "trt:Options",
            _int_range("tt:QualityRange", *QUALITY_RANGE),
            el("tt:H264", *h264),
            el(
                "tt:Extension",
                el("tt:H264", *h264, _int_range("tt:BitrateRange", *BITRATE_RANGE)),
            ),
        ),
    )


def audio_sources_response(tokens: list[str]) -> str:
    return _fragment(
        "trt:GetAudioSourcesResponse",
        *(el("trt:AudioSources", el("tt:Channels", 1), token=t) for t in tokens),
    )


# --- media2 (ver20) ---------------------------------------------------------------------------


def _media2(tag: str, *content: Element | Markup) -> str:
    return write(el(f"tr2:{tag}", *content, attrs=xmlns({"tr2": TR2})))


def media2_service_capabilities(profiles: int) -> str:
    return write(
        el(
            "tr2:Capabilities",
            empty(
                "tr2:ProfileCapabilities",
                MaximumNumberOfProfiles=profiles,
                ConfigurationsSupported="VideoSource VideoEncoder PTZ",
            ),
            empty(
                "tr2:StreamingCapabilities",
                RTSPStreaming=True,
                RTPMulticast=False,
                RTP_RTSP_TCP=True,
                NonAggregateControl=False,
                AutoStartMulticast=False,
            ),
            attrs=(
                *xmlns({"tr2": TR2}),
                ("SnapshotUri", "true"),
                ("Rotation", "false"),
                ("VideoSourceMode", "false"),
                ("OSD", "false"),
            ),
        )
    )


def media2_service_capabilities_response(profiles: int) -> str:
    return _media2("GetServiceCapabilitiesResponse", Markup(media2_service_capabilities(profiles)))


def _encoder2(p: MediaProfile, tag: str) -> Element:
    return el(
        tag,
        el("tt:Name", p.encoder_token),
        el("tt:UseCount", 1),
        el("tt:Encoding", "H264"),
        el("tt:Resolution", el("tt:Width", p.width), el("tt:Height", p.height)),
        el(
            "tt:RateControl",
            el("tt:FrameRateLimit", p.frame_rate),
            el("tt:BitrateLimit", p.bitrate),
            ConstantBitRate=False,
        ),
        el("tt:Quality", 3),
        token=p.encoder_token,
        GovLength=p.gov_length,
        Profile="Main",
    )


CONFIGURATION_TYPES = ("VideoSource", "VideoEncoder", "PTZ")


def media2_profiles_response(profiles: list[MediaProfile], types: set[str]) -> str:
    """`types`: the configurations to include (of CONFIGURATION_TYPES)."""

    def configurations(p: MediaProfile) -> list[Element]:
        parts = []
        if "VideoSource" in types:
            parts.append(video_source_configuration(p, "tr2:VideoSource"))
        if "VideoEncoder" in types:
            parts.append(_encoder2(p, "tr2:VideoEncoder"))
        if "PTZ" in types and p.ptz_configuration is not None:
            ptz = p.ptz_configuration
            parts.append(el("tr2:PTZ", *ptz.children, attrs=ptz.attrs))
        return parts

    return _media2(
        "GetProfilesResponse",
        *(
            el(
                "tr2:Profiles",
                el("tr2:Name", p.name),
                el("tr2:Configurations", *configurations(p)),
                token=p.token,
                fixed=True,
            )
            for p in profiles
        ),
    )


def media2_video_encoder_configurations_response(profiles: list[MediaProfile]) -> str:
    return _media2(
        "GetVideoEncoderConfigurationsResponse",
        *(_encoder2(p, "tr2:Configurations") for p in profiles),
    )


def media2_video_source_configurations_response(profiles: list[MediaProfile]) -> str:
    return _media2(
        "GetVideoSourceConfigurationsResponse",
        *(video_source_configuration(p, "tr2:Configurations") for p in profiles),
    )


def media2_uri_response(operation: str, uri: str) -> str:
    """GetStreamUri and GetSnapshotUri answer the bare `tr2:Uri`."""
    return _media2(f"{operation}Response", el("tr2:Uri", uri))
