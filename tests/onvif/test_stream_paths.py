"""Each vendor's RTSP paths: what ONVIF GetStreamUri gives is what the RTSP server serves."""

import pytest

from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.onvif.settings import VideoStream
from tests.conftest import PASSWORD, hik_entry, make_fleet

DAHUA = {"vendor": "dahua", "kind": "ipc", "model": "IPC-HFW2431S-S-S2", "firmware": "V2.800.0"}
DLINK = {"vendor": "dlink", "kind": "ipc", "model": "DCS-2332L", "firmware": "1.08.02"}


def entry(name: str, **fields) -> dict:
    return {"name": name, "admin_password": PASSWORD} | fields


@pytest.fixture(scope="module")
def devices():
    hik, dahua, dlink = make_fleet(
        hik_entry("nvr"),
        entry("dahua", **DAHUA),
        entry("dlink", **DLINK),
    ).devices
    return {"hikvision": hik, "dahua": dahua, "dlink": dlink}


@pytest.mark.parametrize(
    ("vendor", "target", "stream"),
    [
        ("hikvision", "/Streaming/Channels/101", VideoStream(1, False)),
        ("hikvision", "/Streaming/Channels/102", VideoStream(1, True)),
        ("hikvision", "/streaming/channels/801/", VideoStream(8, False)),
        ("hikvision", "/Streaming/Channels/101?transportmode=unicast", VideoStream(1, False)),
        ("hikvision", "/Streaming/Channels/901", None),  # an 8-channel recorder
        ("hikvision", "/h264/ch1/main/av_stream", VideoStream(1, False)),
        ("hikvision", "/H264/ch8/sub/av_stream/", VideoStream(8, True)),
        ("hikvision", "/h264/ch9/main/av_stream", None),
        ("hikvision", "/h264/ch\u0661/main/av_stream", None),  # an Arabic-Indic one
        ("hikvision", "/ISAPI/Streaming/channels/102", VideoStream(1, True)),
        ("hikvision", "/ISAPI/Streaming/channels/901", None),
        ("dahua", "/cam/realmonitor?channel=1&subtype=0", VideoStream(1, False)),
        ("dahua", "/cam/realmonitor?subtype=1&channel=1&unicast=true", VideoStream(1, True)),
        ("dahua", "/cam/realmonitor?channel=2&subtype=0", None),
        ("dlink", "/live1.sdp", VideoStream(1, False)),
        ("dlink", "/live2.sdp", VideoStream(1, True)),
        ("dlink", "/live3.sdp", None),
    ],
)
def test_each_vendor_recognises_its_own_paths(devices, vendor, target, stream):
    assert devices[vendor].stream_at(target) == stream


@pytest.mark.parametrize("vendor", ["hikvision", "dahua", "dlink"])
def test_the_onvif_stream_uri_names_the_main_stream(devices, vendor):
    device = devices[vendor]
    uri = stream_uri(device, 1)
    target = uri.split(str(device.network.rtsp_port), 1)[1]
    assert device.stream_at(target) == VideoStream(1, False)
