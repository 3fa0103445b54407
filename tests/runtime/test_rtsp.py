"""Live video over RTSP from a running fleet, as real clients (ffprobe, ffmpeg) see it.

ffprobe and ffmpeg come from Debian's `ffmpeg` package (.ci/run installs it); the tests
that need them skip, naming it, where it is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from urllib.parse import quote

import pytest

from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet

PORTS = {"http": 0, "rtsp": 0}
CAMERAS = {
    "hikvision": hik_entry(
        "hik-cam",
        kind="ipc",
        model="DS-2CD2385G1-I",
        firmware="V5.6.2build 190701",
        ip_channels=1,
        disks=0,
        ports=PORTS,
    ),
    "dahua": {
        "name": "dahua-cam",
        "vendor": "dahua",
        "kind": "ipc",
        "model": "IPC-HFW2431S-S-S2",
        "firmware": "V2.800.0",
        "admin_password": PASSWORD,
        "ports": PORTS,
    },
    "dlink": {
        "name": "dlink-cam",
        "vendor": "dlink",
        "kind": "ipc",
        "model": "DCS-2332L",
        "firmware": "1.08.02",
        "admin_password": PASSWORD,
        "ports": PORTS,
    },
}

needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffprobe") and shutil.which("ffmpeg")),
    reason="needs ffprobe and ffmpeg from Debian's ffmpeg package (apt-get install ffmpeg)",
)


@pytest.fixture
async def simulator(clock):
    fleet = make_fleet(*CAMERAS.values(), clock=clock, address_pool="127.83.0.0/24")
    config = ServiceConfig.on_free_ports(
        control_port=None,
    )
    async with Simulator(fleet, clock, config) as sim:
        yield sim


def camera(simulator, vendor: str):
    return next(d for d in simulator.fleet if d.vendor == vendor)


def credentialed(device, password: str = PASSWORD) -> str:
    """The ONVIF stream URI with the device's credentials in it, as clients are given it."""
    uri = stream_uri(device, 1)
    return uri.replace("rtsp://", f"rtsp://{device.admin_user}:{quote(password, safe='')}@", 1)


async def run(*argv: str, timeout: float = 30) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, out.decode(), err.decode()


async def ffprobe(url: str, transport: str) -> tuple[int, dict, str]:
    code, out, err = await run(
        "ffprobe",
        "-v",
        "error",
        "-rtsp_transport",
        transport,
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,profile,width,height,r_frame_rate,avg_frame_rate",
        "-of",
        "json",
        url,
    )
    streams = json.loads(out).get("streams", []) if code == 0 else []
    return code, (streams[0] if streams else {}), err


@needs_ffmpeg
@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("vendor", ["hikvision", "dahua", "dlink"])
async def test_ffprobe_sees_h264_of_the_advertised_size_and_rate(simulator, vendor, transport):
    device = camera(simulator, vendor)
    assert device.network.rtsp_port > 0
    code, stream, err = await ffprobe(credentialed(device), transport)
    assert code == 0, err
    main = device.main_stream
    assert stream["codec_name"] == "h264"
    assert stream["profile"] in ("Main", "High")
    assert (stream["width"], stream["height"]) == (main.width, main.height)
    assert stream["r_frame_rate"] == f"{main.fps}/1"


@needs_ffmpeg
async def test_the_sub_stream_has_the_sub_stream_size(simulator):
    device = camera(simulator, "hikvision")
    url = credentialed(device).replace("/Channels/101?", "/Channels/102?")
    code, stream, err = await ffprobe(url, "tcp")
    assert code == 0, err
    sub = device.sub_stream
    assert (stream["width"], stream["height"]) == (sub.width, sub.height)


async def decode(url: str, transport: str, seconds: float) -> tuple[int, int, str]:
    """ffmpeg decodes `seconds` of the stream to nothing: its exit code, the frames it
    decoded (its -progress report) and what it said at level error (any decoding or
    timestamp error shows there)."""
    code, out, err = await run(
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-rtsp_transport",
        transport,
        "-i",
        url,
        "-t",
        str(seconds),
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-",
    )
    frames = [int(line[6:]) for line in out.splitlines() if line.startswith("frame=")]
    return code, (frames[-1] if frames else 0), err


@needs_ffmpeg
@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_ffmpeg_decodes_five_seconds_of_each_vendor_across_the_loop_without_errors(
    simulator, transport
):
    """The test card loops every 2 s, so 5 s cross its loop point twice."""
    devices = [camera(simulator, vendor) for vendor in CAMERAS]
    results = await asyncio.gather(*(decode(credentialed(d), transport, 5) for d in devices))
    for device, (code, frames, err) in zip(devices, results, strict=True):
        assert code == 0, (device.vendor, err)
        assert err.strip() == "", (device.vendor, err)
        assert frames >= 4.5 * device.main_stream.fps, (device.vendor, frames)


@needs_ffmpeg
async def test_a_wrong_password_gets_401(simulator):
    device = camera(simulator, "dahua")
    code, _, err = await ffprobe(credentialed(device, "wrong-password"), "tcp")
    assert code != 0
    assert "401" in err


class RtspClient:
    """Just enough of a client to check answers byte by byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.cseq = reader, writer, 0

    @classmethod
    async def connect(cls, device) -> RtspClient:
        reader, writer = await asyncio.open_connection(device.network.ip, device.network.rtsp_port)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(data)
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", 0)))
        return int(lines[0].split(" ")[1]), headers, body

    async def request(self, method: str, uri: str, *headers: str) -> tuple[int, dict, bytes]:
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}", *headers]
        return await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_describe_is_challenged_and_bad_requests_get_400_not_a_dropped_connection(
    simulator,
):
    device = camera(simulator, "hikvision")
    client = await RtspClient.connect(device)
    try:
        status, headers, _ = await client.request("OPTIONS", "*")
        assert status == 200 and "DESCRIBE" in headers["public"]
        status, headers, _ = await client.request("DESCRIBE", stream_uri(device, 1))
        assert status == 401 and headers["www-authenticate"].startswith("Digest ")
        status, headers, _ = await client.send_raw(b"DESCRIBE rtsp://x/ RTSP/1.0\r\n\r\n")
        assert status == 400
        status, _, _ = await client.send_raw(b"\x00\xffGARBAGE\r\n\r\n")
        assert status == 400
        assert (await client.request("FLY", "*"))[0] == 501
        assert (await client.request("RECORD", "*"))[0] == 405
        status, headers, _ = await client.request("OPTIONS", "*")
        assert status == 200 and headers["cseq"] == str(client.cseq)
    finally:
        await client.close()


async def test_a_device_not_activated_refuses(clock):
    entry = dict(CAMERAS["dahua"], admin_password=None)
    fleet = make_fleet(entry, clock=clock, address_pool="127.84.0.0/24")
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=None)
    async with Simulator(fleet, clock, config) as sim:
        device = sim.fleet.devices[0]
        client = await RtspClient.connect(device)
        try:
            # A well-formed Digest, so the login rule itself is asked (and says not activated).
            digest = "Authorization: Digest " + ", ".join(
                [
                    'username="admin"',
                    f'realm="{sim._rtsp[device.serial].auth.realm}"',
                    f'nonce="{sim._rtsp[device.serial].auth.nonces.issue(clock.now())}"',
                    f'uri="{stream_uri(device, 1)}"',
                    'response="00000000000000000000000000000000"',
                    "qop=auth",
                    "nc=00000001",
                    'cnonce="abc"',
                ]
            )
            status, _, _ = await client.request("DESCRIBE", stream_uri(device, 1), digest)
            assert status == 403
        finally:
            await client.close()


async def test_a_reboot_ends_the_connections_and_the_device_streams_again_after(simulator):
    device = camera(simulator, "dlink")
    client = await RtspClient.connect(device)
    try:
        assert (await client.request("OPTIONS", "*"))[0] == 200
        assert simulator.reboot(device, downtime=0.1)
        assert await asyncio.wait_for(client.reader.read(), 5) == b""
    finally:
        await client.close()
    await simulator.settled()
    again = await RtspClient.connect(device)
    try:
        assert (await again.request("OPTIONS", "*"))[0] == 200
    finally:
        await again.close()


async def test_a_pyav_client_decodes_frames_as_home_assistant_streams(simulator):
    """Home Assistant's stream component opens the camera's URL with PyAV over TCP."""
    import av

    device = camera(simulator, "dahua")

    def first_frames(count: int) -> list[tuple[int, int, bool]]:
        options = {"rtsp_transport": "tcp"}
        with av.open(credentialed(device), options=options, timeout=10) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = []
            for frame in container.decode(stream):
                frames.append((frame.width, frame.height, frame.key_frame))
                if len(frames) == count:
                    return frames
        return frames

    frames = await asyncio.to_thread(first_frames, 30)
    main = device.main_stream
    assert len(frames) == 30
    assert frames[0] == (main.width, main.height, True)  # a picture from the first frame
    assert all((w, h) == (main.width, main.height) for w, h, _ in frames)
