"""ONVIF media breadth at /onvif/media_service (sources, configurations, encoder options,
one profile, audio sources) and the Media2 service at /onvif/media2_service.

Everything comes from what the device already says: its media profiles
(simulator/onvif/service.py `media_profiles`) and its stream formats (`stream_format`,
the RTSP server's own), so Media2's stream URI is Media's and the resolutions offered
are the ones the streams carry.

Choices where the public record is silent [I]:
- Configuration tokens are the profiles' (`VideoSource_<n>`, `VideoEncoder_<n>`);
  an unknown one is `ter:InvalidArgVal/ter:NoConfig`.
- GetAudioSources on a model without audio is `ter:ActionNotSupported/
  ter:AudioNotSupported`, the specification's fault for it.
- Media2 GetStreamUri serves `RtspUnicast` and `RTSP` (the ver10 name clients
  still send); any other protocol is `ter:InvalidArgVal/ter:InvalidStreamSetup`
  (no multicast, no RTSP over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable

from nvrsim.protocols import onvif, onvif_media
from nvrsim.protocols.onvif import Fault, MediaProfile, SoapRequest
from nvrsim.protocols.onvif_media import CONFIGURATION_TYPES
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.onvif.service import (
    OnvifFault,
    media_profiles,
    profile_channel,
    snapshot_uri,
    stream_uri,
)
from nvrsim.simulator.onvif.settings import VideoStream

NO_CONFIG = Fault("Sender", ("InvalidArgVal", "NoConfig"), "The configuration does not exist")
AUDIO_NOT_SUPPORTED = Fault(
    "Receiver", ("ActionNotSupported", "AudioNotSupported"), "The device has no audio"
)
INVALID_STREAM_SETUP = Fault(
    "Sender", ("InvalidArgVal", "InvalidStreamSetup"), "The stream setup is not supported"
)
STREAM_PROTOCOLS = ("RtspUnicast", "RTSP")

Handler = Callable[[Device, SoapRequest, float], str]


def _profile(device: Device, request: SoapRequest) -> MediaProfile:
    channel = profile_channel(device, request.params.child_text("ProfileToken"))
    if channel is None:
        raise OnvifFault(onvif.NO_PROFILE)
    return media_profiles(device)[channel - 1]


def _configured(device: Device, request: SoapRequest, token_of) -> list[MediaProfile]:
    """The profiles whose configuration a request names by ConfigurationToken or
    ProfileToken; all of them when it names neither."""
    profiles = media_profiles(device)
    token = (request.params.child_text("ConfigurationToken") or "").strip()
    if request.params.child("ProfileToken") is not None:
        return [_profile(device, request)]
    if not token:
        return profiles
    chosen = [p for p in profiles if token_of(p) == token]
    if not chosen:
        raise OnvifFault(NO_CONFIG)
    return chosen


def _sources(device: Device, _request: SoapRequest, _now: float) -> str:
    sources = []
    for n in range(1, max(1, device.channels) + 1):
        main = device.stream_format(VideoStream(n, sub=False))
        sources.append(
            onvif_media.VideoSource(f"VideoSource_{n}", main.width, main.height, main.fps)
        )
    return onvif_media.video_sources_response(sources)


def _source_configurations(device: Device, request: SoapRequest, _now: float) -> str:
    profiles = _configured(device, request, lambda p: p.source_token)
    return onvif_media.video_source_configurations_response(profiles)


def _encoder_configurations(device: Device, request: SoapRequest, _now: float) -> str:
    return onvif_media.video_encoder_configurations_response(media_profiles(device))


def _encoder_configuration(device: Device, request: SoapRequest, _now: float) -> str:
    token = (request.params.child_text("ConfigurationToken") or "").strip()
    chosen = [p for p in media_profiles(device) if p.encoder_token == token]
    if not chosen:
        raise OnvifFault(NO_CONFIG)
    return onvif_media.video_encoder_configuration_response(chosen[0])


def _encoder_options(device: Device, request: SoapRequest, _now: float) -> str:
    profile = _configured(device, request, lambda p: p.encoder_token)[0]
    channel = int(profile.token.rpartition("_")[2])
    main = device.stream_format(VideoStream(channel, sub=False))
    sub = device.stream_format(VideoStream(channel, sub=True))
    resolutions = list(dict.fromkeys([(main.width, main.height), (sub.width, sub.height)]))
    return onvif_media.video_encoder_options_response(resolutions, main.fps)


def _one_profile(device: Device, request: SoapRequest, _now: float) -> str:
    return onvif.profile_response(_profile(device, request))


def _audio_sources(device: Device, _request: SoapRequest, _now: float) -> str:
    if not device.can("audio"):
        raise OnvifFault(AUDIO_NOT_SUPPORTED)
    return onvif_media.audio_sources_response(["AudioSource_1"])


OPERATIONS: dict[str, Handler] = {
    "GetVideoSources": _sources,
    "GetVideoSourceConfigurations": _source_configurations,
    "GetVideoEncoderConfigurations": _encoder_configurations,
    "GetVideoEncoderConfiguration": _encoder_configuration,
    "GetVideoEncoderConfigurationOptions": _encoder_options,
    "GetProfile": _one_profile,
    "GetAudioSources": _audio_sources,
}


# --- media2 ---------------------------------------------------------------------------------


def _media2_capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif_media.media2_service_capabilities_response(len(media_profiles(device)))


def _media2_profiles(device: Device, request: SoapRequest, _now: float) -> str:
    profiles = media_profiles(device)
    token = request.params.child_text("Token")
    if token is not None:
        channel = profile_channel(device, token)
        if channel is None:
            raise OnvifFault(onvif.NO_PROFILE)
        profiles = [profiles[channel - 1]]
    asked = {c.text.strip() for c in request.params.children if c.is_named("Type")}
    types = set(CONFIGURATION_TYPES) if not asked or "All" in asked else asked
    return onvif_media.media2_profiles_response(profiles, types)


def _media2_stream_uri(device: Device, request: SoapRequest, _now: float) -> str:
    protocol = (request.params.child_text("Protocol") or "RtspUnicast").strip()
    if protocol not in STREAM_PROTOCOLS:
        raise OnvifFault(INVALID_STREAM_SETUP)
    channel = profile_channel(device, request.params.child_text("ProfileToken"))
    if channel is None:
        raise OnvifFault(onvif.NO_PROFILE)
    return onvif_media.media2_uri_response("GetStreamUri", stream_uri(device, channel))


def _media2_snapshot_uri(device: Device, request: SoapRequest, _now: float) -> str:
    channel = profile_channel(device, request.params.child_text("ProfileToken"))
    if channel is None:
        raise OnvifFault(onvif.NO_PROFILE)
    uri = snapshot_uri(device, f"Profile_{channel}")
    return onvif_media.media2_uri_response("GetSnapshotUri", uri)


def _media2_encoder_configurations(device: Device, request: SoapRequest, _now: float) -> str:
    profiles = _configured(device, request, lambda p: p.encoder_token)
    return onvif_media.media2_video_encoder_configurations_response(profiles)


def _media2_source_configurations(device: Device, request: SoapRequest, _now: float) -> str:
    profiles = _configured(device, request, lambda p: p.source_token)
    return onvif_media.media2_video_source_configurations_response(profiles)


MEDIA2_OPERATIONS: dict[str, Handler] = {
    "GetServiceCapabilities": _media2_capabilities,
    "GetProfiles": _media2_profiles,
    "GetStreamUri": _media2_stream_uri,
    "GetSnapshotUri": _media2_snapshot_uri,
    "GetVideoEncoderConfigurations": _media2_encoder_configurations,
    "GetVideoSourceConfigurations": _media2_source_configurations,
}
