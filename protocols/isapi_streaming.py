"""ISAPI's streaming documents: StreamingChannel(List) and AdminAccessProtocolList.

No I/O and no device state, like `protocols.isapi`, whose `render` writes them. Element
order and units follow real devices' replies: `maxFrameRate` in hundredths of a frame
per second (2500 is 25 fps), `keyFrameInterval` in milliseconds, bitrates in kbit/s.

Choices where the public record is silent: every channel is unicast RTSP over TCP or UDP
(no multicast, no audio track), under Digest, with the bitrate as a VBR upper cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from .isapi import PSIA_NAMESPACE, render
from .xmlwrite import Attrs, Element, el, xmlns


@dataclass(frozen=True)
class StreamingChannel:
    id: int  # 101: channel 1's main stream, 102 its sub stream
    name: str
    input_channel: int
    codec: str  # videoCodecType: H.264
    width: int
    height: int
    fps: int
    bitrate_kbps: int
    h264_profile: str
    gop: int  # GovLength, in frames


def _channel(c: StreamingChannel, attrs: Attrs = ()) -> Element:
    transport = el(
        "Transport",
        el("maxPacketSize", 1000),
        el(
            "ControlProtocolList",
            el("ControlProtocol", el("streamingTransport", "RTSP")),
        ),
        el("Unicast", el("enabled", True), el("rtpTransportType", "RTP/TCP")),
        el("Multicast", el("enabled", False)),
        el("Security", el("enabled", True), el("certificateType", "digest")),
    )
    video = el(
        "Video",
        el("enabled", True),
        el("videoInputChannelID", c.input_channel),
        el("videoCodecType", c.codec),
        el("videoScanType", "progressive"),
        el("videoResolutionWidth", c.width),
        el("videoResolutionHeight", c.height),
        el("videoQualityControlType", "VBR"),
        el("constantBitRate", c.bitrate_kbps),
        el("fixedQuality", 60),
        el("vbrUpperCap", c.bitrate_kbps),
        el("vbrLowerCap", 32),
        el("maxFrameRate", c.fps * 100),
        el("keyFrameInterval", c.gop * 1000 // max(1, c.fps)),
        el("snapShotImageType", "JPEG"),
        el("H264Profile", c.h264_profile),
        el("GovLength", c.gop),
        el("SmartCodec", el("enabled", False)),
    )
    return el(
        "StreamingChannel",
        el("id", c.id),
        el("channelName", c.name),
        el("enabled", True),
        transport,
        video,
        el("Audio", el("enabled", False)),
        attrs=attrs,
    )


def streaming_channel(channel: StreamingChannel, namespace: str) -> bytes:
    return render(_channel(channel), namespace)


def streaming_channel_list(channels: list[StreamingChannel], namespace: str) -> bytes:
    """Each channel element carries the version and namespace too, as devices write them."""
    version = "1.0" if namespace == PSIA_NAMESPACE else "2.0"
    attrs = (("version", version), *xmlns({"": namespace}))
    return render(el("StreamingChannelList", *(_channel(c, attrs) for c in channels)), namespace)


@dataclass(frozen=True)
class AdminAccess:
    protocol: str  # HTTP, HTTPS, DEV_MANAGE (the SDK port), RTSP
    port: int
    enabled: bool = True


def admin_accesses(accesses: list[AdminAccess], namespace: str) -> bytes:
    """GET /ISAPI/Security/adminAccesses: the ports the device serves, RTSP among them."""
    return render(
        el(
            "AdminAccessProtocolList",
            *(
                el(
                    "AdminAccessProtocol",
                    el("id", n),
                    el("enabled", a.enabled),
                    el("protocol", a.protocol),
                    el("portNo", a.port),
                )
                for n, a in enumerate(accesses, 1)
            ),
        ),
        namespace,
    )
