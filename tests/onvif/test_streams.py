"""Every API describes the streams the RTSP server carries, and clients find them.

A running fleet of one camera per vendor, reached over real sockets by real clients:
onvif-zeep-async for ONVIF, amcrest for Dahua's CGI, aiohttp for ISAPI, RPC2, NIPCA and
the control API, ffprobe (Debian's `ffmpeg` package) for the streams themselves, and
Pillow for the snapshots.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import aiohttp
import pytest
from amcrest import AmcrestCamera
from onvif import ONVIFCamera
from PIL import Image

from nvrsim.protocols import nipca
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.onvif.settings import VideoStream
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.dahua.test_dahua_http import login, rpc

PORTS = {"http": 0, "rtsp": 0}
VENDORS = ("hikvision", "dahua", "dlink")
CAMERAS = (
    hik_entry(
        "hik-cam",
        kind="ipc",
        model="DS-2CD2385G1-I",
        firmware="V5.6.2build 190701",
        ip_channels=1,
        disks=0,
        ports=PORTS,
    ),
    {
        "name": "dahua-cam",
        "vendor": "dahua",
        "kind": "ipc",
        "model": "IPC-HFW2431S-S-S2",
        "firmware": "V2.800.0",
        "admin_password": PASSWORD,
        "ports": PORTS,
    },
    {
        "name": "dlink-cam",
        "vendor": "dlink",
        "kind": "ipc",
        "model": "DCS-2332L",
        "firmware": "1.08.02",
        "admin_password": PASSWORD,
        "ports": PORTS,
    },
)
ISAPI = {"i": "http://www.hikvision.com/ver20/XMLSchema"}

needs_ffprobe = pytest.mark.skipif(
    not shutil.which("ffprobe"),
    reason="needs ffprobe from Debian's ffmpeg package (apt-get install ffmpeg)",
)


@pytest.fixture
async def fleet_up():
    # onvif-zeep-async signs its tokens with the host's clock: the device clock starts there.
    clock = VirtualClock(time.time())
    fleet = make_fleet(*CAMERAS, clock=clock, address_pool="127.84.0.0/24")
    config = ServiceConfig.on_free_ports()
    async with Simulator(fleet, clock, config) as sim:
        yield sim


def device_of(sim, vendor: str):
    return next(d for d in sim.fleet if d.vendor == vendor)


def with_credentials(url: str, device) -> str:
    return url.replace("rtsp://", f"rtsp://{device.admin_user}:{quote(PASSWORD, safe='')}@", 1)


def base(device) -> str:
    return f"http://{device.network.ip}:{device.network.http_port}"


async def ffprobe(url: str, transport: str = "tcp") -> dict:
    process = await asyncio.create_subprocess_exec(
        *("ffprobe", "-v", "error", "-rtsp_transport", transport, "-select_streams", "v:0"),
        *("-show_entries", "stream=codec_name,width,height,r_frame_rate", "-of", "json", url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()
    [stream] = json.loads(out)["streams"]
    return stream


def seen(stream: dict) -> tuple[str, int, int, str]:
    return stream["codec_name"], stream["width"], stream["height"], stream["r_frame_rate"]


def described(codec: str, width, height, fps) -> tuple[str, int, int, str]:
    """A description in ffprobe's terms: `H.264` is h264, 25 fps is 25/1."""
    return codec.replace(".", "").lower(), int(width), int(height), f"{int(fps)}/1"


async def onvif_media(device) -> tuple[ONVIFCamera, object]:
    net = device.network
    camera = ONVIFCamera(net.ip, net.http_port, device.admin_user, PASSWORD, no_cache=True)
    await camera.update_xaddrs()
    return camera, await camera.create_media_service()


async def onvif_stream(device) -> tuple[str, object]:
    """The main stream's URI from GetStreamUri, and its profile from GetProfiles."""
    camera, media = await onvif_media(device)
    try:
        [profile] = await media.GetProfiles()
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        uri = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": profile.token})
        return uri.Uri, profile
    finally:
        await camera.close()


# --- each vendor's own description of its channel 1 streams: (url, codec, w, h, fps) -------


async def hikvision_streams(device) -> list[tuple]:
    auth = aiohttp.DigestAuthMiddleware(device.admin_user, PASSWORD)
    async with aiohttp.ClientSession(base(device), middlewares=(auth,)) as http:
        async with http.get("/ISAPI/Security/adminAccesses") as reply:
            accesses = ET.fromstring(await reply.read())
        async with http.get("/ISAPI/Streaming/channels") as reply:
            channels = ET.fromstring(await reply.read())
        async with http.get("/ISAPI/Streaming/channels/102") as reply:
            one = ET.fromstring(await reply.read())
    [rtsp] = [
        a.findtext("i:portNo", namespaces=ISAPI)
        for a in accesses.findall("i:AdminAccessProtocol", ISAPI)
        if a.findtext("i:protocol", namespaces=ISAPI) == "RTSP"
    ]
    listed = channels.findall("i:StreamingChannel", ISAPI)
    listed[1].tail = None  # the newline after it in the list
    assert ET.tostring(listed[1]) == ET.tostring(one)  # one channel as the list has it
    streams = []
    for channel in listed:
        v = lambda tag, channel=channel: channel.findtext(f"i:Video/i:{tag}", namespaces=ISAPI)  # noqa: E731
        sid = channel.findtext("i:id", namespaces=ISAPI)
        url = f"rtsp://{device.network.ip}:{rtsp}/Streaming/Channels/{sid}"
        fps = int(v("maxFrameRate")) // 100
        streams.append(
            (url, v("videoCodecType"), v("videoResolutionWidth"), v("videoResolutionHeight"), fps)
        )
    return streams


async def dahua_streams(device) -> list[tuple]:
    """Through amcrest (the RTSP URL it builds, the Encode config it reads), checked against
    the same config over RPC2."""
    net = device.network

    def through_amcrest() -> tuple[list[str], str]:
        camera = AmcrestCamera(net.ip, net.http_port, "admin", PASSWORD, retries_connection=0)
        api = camera.camera
        return [api.rtsp_url(channel=1, typeno=n) for n in (0, 1)], api.encode_media

    urls, encode = await asyncio.to_thread(through_amcrest)
    table = dict(line.split("=", 1) for line in encode.split())
    async with aiohttp.ClientSession(base(device)) as http:
        session = (await login(http))["session"]
        document = {"method": "configManager.getConfig", "params": {"name": "Encode"}}
        reply = await rpc(http, "/RPC2", document | {"id": 3, "session": session})
    [channel] = reply["params"]["table"]
    streams = []
    for url, kind in zip(urls, ("MainFormat", "ExtraFormat"), strict=True):
        key = f"table.Encode[0].{kind}[0]"
        assert table[f"{key}.VideoEnable"] == "true"
        video = {k: table[f"{key}.Video.{k}"] for k in ("Compression", "Width", "Height", "FPS")}
        over_rpc = channel[kind][0]["Video"]
        assert {k: str(over_rpc[k]) for k in video} == video  # RPC2 and the CGI agree
        plain = url.replace(f"admin:{PASSWORD}@", "")
        streams.append((plain, video["Compression"], video["Width"], video["Height"], video["FPS"]))
    return streams


async def dlink_streams(device) -> list[tuple]:
    auth = aiohttp.DigestAuthMiddleware(device.admin_user, PASSWORD)
    async with aiohttp.ClientSession(base(device), middlewares=(auth,)) as http:
        async with http.get("/config/stream_info.cgi") as reply:
            info = nipca.decode_fields(await reply.read())
        entries = []
        for n in range(1, int(info["vprofilenum"]) + 1):
            async with http.get(f"/config/rtspurl.cgi?profileid={n}") as reply:
                entries.append(nipca.decode_fields(await reply.read()))
    streams = []
    for n, entry in enumerate(entries[:2], 1):
        assert entry["video_codec"] == info[f"vprofile{n}"]
        width, height = info[f"vprofileres{n}"].split("x")
        url = f"rtsp://{device.network.ip}:{entry['rtspport']}/{entry['urlentry']}"
        streams.append((url, info[f"vprofile{n}"], width, height, info[f"vprofilefps{n}"]))
    return streams


VENDOR_STREAMS = {"hikvision": hikvision_streams, "dahua": dahua_streams, "dlink": dlink_streams}


# --- tests ---------------------------------------------------------------------------------


@needs_ffprobe
@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("vendor", VENDORS)
async def test_ffprobe_sees_the_stream_onvif_describes(fleet_up, vendor, transport):
    device = device_of(fleet_up, vendor)
    uri, profile = await onvif_stream(device)
    encoder = profile.VideoEncoderConfiguration
    stream = await ffprobe(with_credentials(uri, device), transport)
    resolution, rate = encoder.Resolution, encoder.RateControl.FrameRateLimit
    assert seen(stream) == described(encoder.Encoding, resolution.Width, resolution.Height, rate)
    main = device.main_stream
    assert (encoder.RateControl.BitrateLimit, encoder.H264.GovLength) == (
        main.bitrate_kbps,
        main.gop,
    )


@needs_ffprobe
@pytest.mark.parametrize("vendor", VENDORS)
async def test_each_vendor_api_describes_what_ffprobe_sees(fleet_up, vendor):
    device = device_of(fleet_up, vendor)
    streams = await VENDOR_STREAMS[vendor](device)
    assert len(streams) == 2  # a camera: its main and its sub stream
    for url, codec, width, height, fps in streams:
        stream = await ffprobe(with_credentials(url, device))
        assert seen(stream) == described(codec, width, height, fps), url
    main, sub = device.main_stream, device.sub_stream
    assert [described(*s[1:]) for s in streams] == [
        described(v.codec, v.width, v.height, v.fps) for v in (main, sub)
    ]


@needs_ffprobe
@pytest.mark.parametrize(
    ("path", "sub"),
    [
        ("/h264/ch1/main/av_stream", False),
        ("/h264/ch1/sub/av_stream", True),
        ("/ISAPI/Streaming/channels/102", True),
    ],
)
async def test_hikvisions_older_and_newer_paths_serve_the_same_streams(fleet_up, path, sub):
    device = device_of(fleet_up, "hikvision")
    net = device.network
    stream = await ffprobe(with_credentials(f"rtsp://{net.ip}:{net.rtsp_port}{path}", device))
    video = device.sub_stream if sub else device.main_stream
    assert seen(stream) == described(video.codec, video.width, video.height, video.fps)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_control_api_lists_the_streams_the_apis_describe(fleet_up, vendor):
    device = device_of(fleet_up, vendor)
    control = fleet_up.services["control"]
    async with (
        aiohttp.ClientSession(f"http://{control.host}:{control.port}") as http,
        http.get(f"/api/devices/{device.serial}") as reply,
    ):
        documents = (await reply.json())["streams"]
    streams = await VENDOR_STREAMS[vendor](device)
    keys = ("codec", "width", "height", "fps")
    assert [(d["url"], described(*(d[k] for k in keys))) for d in documents] == [
        (url, described(*video)) for url, *video in streams
    ]
    assert [(d["channel"], d["stream"]) for d in documents] == [(1, "main"), (1, "sub")]
    assert documents[0]["bitrate_kbps"] == device.main_stream.bitrate_kbps
    uri, _ = await onvif_stream(device)
    assert uri.startswith(documents[0]["url"])  # Hikvision's ONVIF URI adds a query


def jpeg_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole picture: a truncated JPEG raises here
    assert image.format == "JPEG"
    return image.size


SNAPSHOTS = {
    "hikvision": [
        ("/ISAPI/Streaming/channels/101/picture", VideoStream(1, False)),
        ("/ISAPI/Streaming/channels/102/picture", VideoStream(1, True)),
        ("/ISAPI/ContentMgmt/StreamingProxy/channels/101/picture", VideoStream(1, False)),
    ],
    "dlink": [("/image/jpeg.cgi", VideoStream(1, False))],
}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_snapshots_are_the_test_card_at_the_streams_size(fleet_up, vendor):
    device = device_of(fleet_up, vendor)
    main = device.main_stream
    camera, media = await onvif_media(device)
    try:
        [profile] = await media.GetProfiles()
        over_onvif = await camera.get_snapshot(profile.token)
    finally:
        await camera.close()
    assert jpeg_size(over_onvif) == (main.width, main.height)
    if vendor == "dahua":
        net = device.network

        def snapshot() -> bytes:
            camera = AmcrestCamera(net.ip, net.http_port, "admin", PASSWORD, retries_connection=0)
            return camera.camera.snapshot(channel=1, stream=False)

        assert jpeg_size(await asyncio.to_thread(snapshot)) == (main.width, main.height)
        return
    auth = aiohttp.DigestAuthMiddleware(device.admin_user, PASSWORD)
    async with aiohttp.ClientSession(base(device), middlewares=(auth,)) as http:
        for path, stream in SNAPSHOTS[vendor]:
            async with http.get(path) as reply:
                assert (reply.status, reply.content_type) == (200, "image/jpeg")
                video = device.stream_format(stream)
                assert jpeg_size(await reply.read()) == (video.width, video.height)


async def test_a_snapshot_changes_with_the_simulation_clock_and_is_cached_within_a_second(
    fleet_up,
):
    device = device_of(fleet_up, "hikvision")
    auth = aiohttp.DigestAuthMiddleware(device.admin_user, PASSWORD)
    path = "/ISAPI/Streaming/channels/102/picture"
    async with aiohttp.ClientSession(base(device), middlewares=(auth,)) as http:

        async def picture() -> bytes:
            async with http.get(path) as reply:
                return await reply.read()

        first = await picture()
        assert await picture() == first  # the same second: the same JPEG
        fleet_up.clock.advance(1)
        assert await picture() != first  # the card's time and box moved on


def test_a_fixture_gives_a_device_its_own_streams_and_odd_sizes_are_refused():
    from nvrsim.simulator.core.fixture import FixtureError

    main = {"width": 480, "height": 270, "fps": 10, "bitrate_kbps": 768}
    own, model = make_fleet(hik_entry("own", video={"main": main}), hik_entry("model")).devices
    assert (own.main_stream.width, own.main_stream.fps, own.main_stream.bitrate_kbps) == (
        480,
        10,
        768,
    )
    assert own.sub_stream == model.sub_stream  # the model's, where the fixture says nothing
    with pytest.raises(FixtureError, match=r"video\.main\.width"):
        make_fleet(hik_entry("odd", video={"main": main | {"width": 481}}))


@needs_ffprobe
async def test_ffprobe_sees_the_streams_a_fixture_gives(clock):
    main = {"width": 480, "height": 270, "fps": 10, "bitrate_kbps": 768}
    entry = hik_entry("own", kind="ipc", ip_channels=1, ports=PORTS, video={"main": main})
    fleet = make_fleet(entry, clock=clock, address_pool="127.84.1.0/24")
    async with Simulator(fleet, clock, ServiceConfig(sadp_port=0, wsd_port=0)) as sim:
        device = sim.fleet.devices[0]
        [(url, *video), _] = await hikvision_streams(device)
        assert described(*video) == described("H.264", 480, 270, 10)
        assert seen(await ffprobe(with_credentials(url, device))) == described(*video)


def test_the_openapi_schema_describes_a_devices_streams():
    from nvrsim.simulator.control.app import operations
    from nvrsim.simulator.control.schema import openapi

    schemas = openapi(operations(), token=False)["components"]["schemas"]
    stream = schemas["StreamDoc"]
    assert set(stream["required"]) == {
        *("channel", "stream", "url", "codec", "width", "height", "fps", "bitrate_kbps")
    }
    assert stream["properties"]["stream"]["enum"] == ["main", "sub"]
    state = schemas["DeviceState"]["properties"]["streams"]
    assert state["items"] == {"$ref": "#/components/schemas/StreamDoc"}


async def test_encode_is_read_only_over_the_cgi_and_rpc2(fleet_up):
    device = device_of(fleet_up, "dahua")
    before = device.streams()
    auth = aiohttp.DigestAuthMiddleware(device.admin_user, PASSWORD)
    cgi = "/cgi-bin/configManager.cgi?action=setConfig&Encode[0].MainFormat[0].Video.FPS=5"
    async with (
        aiohttp.ClientSession(base(device), middlewares=(auth,)) as http,
        http.get(cgi) as reply,
    ):
        assert (reply.status, await reply.text()) == (400, "Error\r\nBad Request!\r\n")
    async with aiohttp.ClientSession(base(device)) as http:
        session = (await login(http))["session"]
        table = [{"MainFormat": [{"Video": {"FPS": 5}}]}]
        params = {"name": "Encode", "table": table}
        document = {"method": "configManager.setConfig", "params": params}
        reply = await rpc(http, "/RPC2", document | {"id": 4, "session": session})
    assert reply["result"] is False and "error" in reply
    assert device.streams() == before
