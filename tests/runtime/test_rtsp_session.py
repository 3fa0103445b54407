"""RTSP sessions as a raw client sees them: RTP and RTCP sender reports over TCP and
UDP, keep-alives and the session timeout, the stream faults (set through the control
API and fixtures), the shared lockout and a reboot."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest

from nvrsim.protocols.rtsp import parse_sender_report
from nvrsim.simulator.core.auth import LoginResult, plain
from nvrsim.simulator.core.faults import NO_FAULTS, Faults
from nvrsim.simulator.onvif.service import stream_uri
from nvrsim.simulator.runtime import rtsp
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, make_fleet, until
from tests.runtime.rtsp_client import RR_OF_NOTHING, Rtp, RtspClient, UdpReceiver
from tests.runtime.test_rtsp import CAMERAS, camera, credentialed, ffprobe, needs_ffmpeg

CONFIG = ServiceConfig.on_free_ports(
    reboot_seconds=0.1,
)


@pytest.fixture
async def simulator(clock):
    fleet = make_fleet(*CAMERAS.values(), clock=clock, address_pool="127.85.0.0/24")
    async with Simulator(fleet, clock, CONFIG) as sim:
        yield sim


async def set_faults(simulator, path: str, **faults) -> None:
    control = simulator.services["control"]
    base = f"http://{control.host}:{control.port}"
    async with aiohttp.ClientSession(base) as api, api.put(path, json=faults) as reply:
        assert reply.status == 200, await reply.text()


def sub_stream_uri(device) -> str:
    return f"rtsp://{device.network.ip}:{device.network.rtsp_port}{device.stream_path(1, sub=True)}"


def device_faults(device) -> str:
    return f"/api/devices/{device.serial}/faults"


async def playing(device, uri: str | None = None) -> tuple[RtspClient, str, int]:
    client = await RtspClient.connect(device)
    session, ssrc = await client.play_tcp(uri or stream_uri(device, 1), device.admin_user, PASSWORD)
    return client, session, ssrc


# --- RTP and RTCP -------------------------------------------------------------------------------


async def test_a_tcp_session_starts_on_a_key_frame_and_gets_sender_reports_on_channel_1(
    simulator, clock
):
    device = camera(simulator, "hikvision")
    client, session, ssrc = await playing(device)
    try:
        first = Rtp.parse(await client.packet(0))
        assert first.ssrc == ssrc
        assert first.payload[0] & 0x1F == 7  # an SPS opens the first frame: a key frame
        report = parse_sender_report(await client.packet(1))
        assert report.ssrc == ssrc
        assert report.packets > 0 and report.octets > 0
        assert report.ntp_time == pytest.approx(clock.now(), abs=1)  # the device's clock
        # Sequence numbers run on without a gap.
        seqs = [first.seq] + [Rtp.parse(await client.packet(0)).seq for _ in range(50)]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
        answer = await client.request("GET_PARAMETER", stream_uri(device, 1), f"Session: {session}")
        assert answer.status == 200
        assert answer.headers["session"] == f"{session};timeout=60"
    finally:
        await client.close()


async def test_a_udp_session_gets_rtp_and_sender_reports_from_the_server_ports(simulator):
    device = camera(simulator, "dahua")
    uri = stream_uri(device, 1)
    rtp, rtcp = await UdpReceiver.open(), await UdpReceiver.open()
    client = await RtspClient.connect(device)
    try:
        assert (await client.login(uri, device.admin_user, PASSWORD)).status == 200
        setup = await client.request(
            "SETUP",
            f"{uri}/trackID=1",
            f"Transport: RTP/AVP;unicast;client_port={rtp.port}-{rtcp.port}",
        )
        assert setup.status == 200
        server_ports = setup.headers["transport"].split("server_port=")[1].split(";")[0]
        rtp_port, rtcp_port = map(int, server_ports.split("-"))
        assert (await client.request("PLAY", uri, f"Session: {setup.session}")).status == 200
        packet, source = await asyncio.wait_for(rtp.datagrams.get(), 5)
        assert source == (device.network.ip, rtp_port)
        report, source = await asyncio.wait_for(rtcp.datagrams.get(), 5)
        assert source == (device.network.ip, rtcp_port)
        assert parse_sender_report(report).ssrc == Rtp.parse(packet).ssrc
    finally:
        await client.close()
        rtp.transport.close()
        rtcp.transport.close()


# --- keep-alive and the session timeout ------------------------------------------------------


async def test_sessions_kept_alive_by_receiver_reports_or_requests_outlive_the_timeout(
    simulator, monkeypatch
):
    """With a 2 s timeout, sessions kept alive by RTCP receiver reports (over TCP and over
    UDP), GET_PARAMETER and OPTIONS stream on; one that says nothing is ended (454)."""
    monkeypatch.setattr(rtsp, "SESSION_TIMEOUT", 2.0)
    device = camera(simulator, "dlink")
    server = simulator._rtsp[device.serial]
    uri = sub_stream_uri(device)  # small frames
    silent, silent_id, _ = await playing(device, uri)
    by_report, report_id, _ = await playing(device, uri)
    by_get, get_id, _ = await playing(device, uri)
    by_options, options_id, _ = await playing(device, uri)

    rtp, rtcp = await UdpReceiver.open(), await UdpReceiver.open()
    by_udp_report = await RtspClient.connect(device)
    assert (await by_udp_report.login(uri, device.admin_user, PASSWORD)).status == 200
    setup = await by_udp_report.request(
        "SETUP",
        f"{uri}/trackID=1",
        f"Transport: RTP/AVP;unicast;client_port={rtp.port}-{rtcp.port}",
    )
    udp_id = setup.session
    server_rtcp = int(setup.headers["transport"].split("server_port=")[1].split("-")[1][:5])
    assert (await by_udp_report.request("PLAY", uri, f"Session: {udp_id}")).status == 200

    async def keep_alive(client: RtspClient | None, say) -> None:
        """Every tenth video packet (about every 0.4 s at 25 fps), say something."""
        count = 0
        while True:
            if client is None:
                await rtp.next()
            else:
                await client.packet(0)
            count += 1
            if count % 10 == 0:
                await say()

    async def get_parameter() -> None:
        by_get.writer.write(
            f"GET_PARAMETER {uri} RTSP/1.0\r\nCSeq: 99\r\nSession: {get_id}\r\n\r\n".encode()
        )

    async def options() -> None:
        by_options.writer.write(
            f"OPTIONS {uri} RTSP/1.0\r\nCSeq: 99\r\nSession: {options_id}\r\n\r\n".encode()
        )

    async def udp_report() -> None:
        rtcp.transport.sendto(RR_OF_NOTHING, (device.network.ip, server_rtcp))

    keepers = [
        asyncio.create_task(keep_alive(by_report, by_report.send_receiver_report)),
        asyncio.create_task(keep_alive(by_get, get_parameter)),
        asyncio.create_task(keep_alive(by_options, options)),
        asyncio.create_task(keep_alive(None, udp_report)),
    ]
    try:
        await until(lambda: silent_id not in server.sessions, "the silent session timed out")
        # Two more timeouts' worth of streaming for the others.
        loop = asyncio.get_running_loop()
        end = loop.time() + 4.5
        await until(lambda: loop.time() > end or any(k.done() for k in keepers), "4.5 s")
        assert not any(k.done() for k in keepers), [k.exception() for k in keepers if k.done()]
        assert {report_id, get_id, options_id, udp_id} <= set(server.sessions)
        silent.cseq = 50
        gone = await silent.request("GET_PARAMETER", uri, f"Session: {silent_id}")
        assert gone.status == 454
    finally:
        for keeper in keepers:
            keeper.cancel()
        for client in (silent, by_report, by_get, by_options, by_udp_report):
            await client.close()
        rtp.transport.close()
        rtcp.transport.close()


async def test_interleaved_junk_is_no_keep_alive(simulator, monkeypatch):
    monkeypatch.setattr(rtsp, "SESSION_TIMEOUT", 1.0)
    device = camera(simulator, "dlink")
    server = simulator._rtsp[device.serial]
    client, session, _ = await playing(device, sub_stream_uri(device))
    try:

        async def junk() -> None:
            while True:
                await client.packet(0)
                client.writer.write(b"$\x01\x00\x04junk")  # not RTCP

        task = asyncio.create_task(junk())
        await until(lambda: session not in server.sessions, "the session timed out")
        assert not task.done()
        task.cancel()
    finally:
        await client.close()


# --- faults -------------------------------------------------------------------------------------


@needs_ffmpeg
async def test_rtsp_refuse_set_through_the_control_api_gets_ffprobe_a_503(simulator):
    device = camera(simulator, "dahua")
    await set_faults(simulator, device_faults(device), rtsp_refuse=True)
    code, _, err = await ffprobe(credentialed(device), "tcp")
    assert code != 0 and "503" in err
    other = camera(simulator, "dlink")  # only that device refuses
    assert (await ffprobe(credentialed(other), "tcp"))[0] == 0
    await set_faults(simulator, device_faults(device), rtsp_refuse=False)
    assert (await ffprobe(credentialed(device), "tcp"))[0] == 0


async def test_rtsp_refuse_from_the_fleet_fixture_refuses_describe_on_every_device(clock):
    fleet = make_fleet(
        *CAMERAS.values(),
        clock=clock,
        address_pool="127.86.0.0/24",
        faults={"rtsp_refuse": True},
    )
    async with Simulator(fleet, clock, CONFIG) as sim:
        for device in sim.fleet:
            client = await RtspClient.connect(device)
            try:
                answer = await client.login(stream_uri(device, 1), device.admin_user, PASSWORD)
                assert answer.status == 503
                assert (await client.request("OPTIONS", "*")).status == 200
            finally:
                await client.close()


async def test_rtsp_packet_loss_drops_that_share_of_rtp_packets(simulator):
    device = camera(simulator, "hikvision")
    await set_faults(simulator, "/api/faults", rtsp_packet_loss=40)  # fleet-wide
    client, _, _ = await playing(device)
    try:
        first = last = Rtp.parse(await client.packet(0)).seq
        received = 1
        while (last - first) & 0xFFFF < 600:
            last = Rtp.parse(await client.packet(0)).seq
            received += 1
        lost = 1 - received / (((last - first) & 0xFFFF) + 1)
        assert 0.25 < lost < 0.55, lost
    finally:
        await client.close()


async def test_rtsp_stall_stops_the_video_but_keeps_the_session(simulator):
    device = camera(simulator, "hikvision")
    await set_faults(simulator, device_faults(device), rtsp_stall=1.0)
    client, session, _ = await playing(device)
    try:
        first = last = Rtp.parse(await client.packet(0))
        while True:  # packets flow, then none for a while
            try:
                last = Rtp.parse(await client.packet(0, timeout=2.0))
            except TimeoutError:
                break
            assert (last.timestamp - first.timestamp) & 0xFFFFFFFF < 3 * 90000, "no stall"
        # About a second of video went out (the RTP clock is 90 kHz), then nothing.
        streamed = ((last.timestamp - first.timestamp) & 0xFFFFFFFF) / 90000
        assert 0.6 <= streamed <= 1.4, streamed
        answer = await client.request("GET_PARAMETER", stream_uri(device, 1), f"Session: {session}")
        assert answer.status == 200 and answer.session == session
        # Cleared, the picture resumes in the same session.
        await set_faults(simulator, device_faults(device), rtsp_stall=0)
        assert Rtp.parse(await client.packet(0)).seq == (last.seq + 1) & 0xFFFF
    finally:
        await client.close()


async def test_auth_fail_refuses_the_right_password(simulator):
    device = camera(simulator, "dlink")
    await set_faults(simulator, device_faults(device), auth_fail=True)
    client = await RtspClient.connect(device)
    try:
        answer = await client.login(stream_uri(device, 1), device.admin_user, PASSWORD)
        assert answer.status == 401
    finally:
        await client.close()


async def test_a_reboot_ends_every_session_udp_ones_too(simulator):
    device = camera(simulator, "hikvision")
    uri = stream_uri(device, 1)
    rtp, rtcp = await UdpReceiver.open(), await UdpReceiver.open()
    client = await RtspClient.connect(device)
    try:
        assert (await client.login(uri, device.admin_user, PASSWORD)).status == 200
        setup = await client.request(
            "SETUP",
            f"{uri}/trackID=1",
            f"Transport: RTP/AVP;unicast;client_port={rtp.port}-{rtcp.port}",
        )
        assert (await client.request("PLAY", uri, f"Session: {setup.session}")).status == 200
        await rtp.next()
        old = simulator._rtsp[device.serial]
        assert simulator.reboot(device)
        await simulator.settled()
        assert not old.sessions
        while not rtp.datagrams.empty():  # what was in flight before the reboot
            rtp.datagrams.get_nowait()
        again = await RtspClient.connect(device)
        try:
            again.authorization = None
            assert (await again.login(uri, device.admin_user, PASSWORD)).status == 200
            answer = await again.request("PLAY", uri, f"Session: {setup.session}")
            assert answer.status == 454  # the session did not survive the reboot
        finally:
            await again.close()
        assert rtp.datagrams.empty()
    finally:
        await client.close()
        rtp.transport.close()
        rtcp.transport.close()


# --- wrong passwords and the shared lockout ------------------------------------------------------


async def test_wrong_passwords_get_fresh_challenges_until_the_shared_lockout_answers(
    simulator, clock
):
    device = camera(simulator, "hikvision")
    uri = stream_uri(device, 1)
    client = await RtspClient.connect(device)
    try:
        nonces = set()
        allowed = device.lockout.policy.max_failures
        for _ in range(allowed - 1):
            client.authorization = None
            answer = await client.login(uri, device.admin_user, "wrong-password")
            assert answer.status == 401
            (digest_challenge,) = [c for c in answer.challenges if c.startswith("Digest ")]
            nonces.add(digest_challenge.split('nonce="')[1].split('"')[0])
        assert len(nonces) == allowed - 1  # a fresh challenge each time
        # The failure that locks, then the right password: the lockout's answer.
        for password in ("wrong-password", PASSWORD):
            client.authorization = None
            locked = await client.login(uri, device.admin_user, password)
            assert locked.status == 403 and not locked.challenges
        # The same lockout as every other protocol of the device: ISAPI, SADP, ONVIF.
        outcome = device.login("127.0.0.1", plain(PASSWORD), clock.now())
        assert outcome.result is LoginResult.LOCKED
        clock.advance(device.lockout.policy.lock_seconds + 1)
        client.authorization = None
        assert (await client.login(uri, device.admin_user, PASSWORD)).status == 200
    finally:
        await client.close()


def test_stream_faults_combine_to_the_worse_and_the_sooner_stall():
    device_own = Faults(rtsp_packet_loss=5, rtsp_stall=30)
    fleet_wide = Faults(rtsp_refuse=True, rtsp_packet_loss=20, rtsp_stall=10)
    assert device_own.combine(fleet_wide) == Faults(
        rtsp_refuse=True, rtsp_packet_loss=20, rtsp_stall=10
    )
    # 0 is "never stalls", not the soonest stall.
    assert Faults(rtsp_stall=10).combine(NO_FAULTS).rtsp_stall == 10
    assert NO_FAULTS.combine(Faults(rtsp_stall=10)).rtsp_stall == 10


async def test_a_session_played_after_the_last_one_timed_out_streams_at_the_frame_rate(
    simulator, monkeypatch
):
    """The timer that ended the last session of its frame rate is the one that sends the
    next session's frames: one timer, not two sending at twice the rate."""
    device = camera(simulator, "dlink")
    server = simulator._rtsp[device.serial]
    monkeypatch.setattr(rtsp, "SESSION_TIMEOUT", 0.3)
    first, first_id, _ = await playing(device, sub_stream_uri(device))
    await until(lambda: first_id not in server.sessions, "the first session timed out")
    monkeypatch.setattr(rtsp, "SESSION_TIMEOUT", 60)
    loop = asyncio.get_running_loop()
    second, _, _ = await playing(device, sub_stream_uri(device))
    try:
        start = loop.time()  # no later than the first frame went out
        begin = Rtp.parse(await second.packet(0)).timestamp
        streamed = 0.0
        while streamed < 2.0:
            timestamp = Rtp.parse(await second.packet(0)).timestamp
            streamed = ((timestamp - begin) & 0xFFFFFFFF) / 90000
        assert streamed / (loop.time() - start) < 1.3
    finally:
        await first.close()
        await second.close()


async def test_pause_stops_and_play_resumes_where_it_stopped(simulator):
    device = camera(simulator, "hikvision")
    uri = sub_stream_uri(device)
    client, session, _ = await playing(device, uri)
    try:
        last = Rtp.parse(await client.packet(0))
        assert (await client.request("PAUSE", uri, f"Session: {session}")).status == 200
        video = client.channel(0)
        while not video.empty():  # what went out before the PAUSE was answered
            last = Rtp.parse(video.get_nowait())
        resumed = await client.request("PLAY", uri, f"Session: {session}")
        assert resumed.status == 200
        info = dict(p.split("=", 1) for p in resumed.headers["rtp-info"].split(";"))
        assert int(info["seq"]) == (last.seq + 1) & 0xFFFF
        assert Rtp.parse(await client.packet(0)).seq == int(info["seq"])
    finally:
        await client.close()
