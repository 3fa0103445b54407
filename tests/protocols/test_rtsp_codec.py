"""RTSP requests and answers, Transport offers, H.264 RTP packets and the SDP."""

import base64
import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols.rtsp import (
    InterleavedFrame,
    MalformedRequest,
    PacketRun,
    Request,
    RtspError,
    SenderReport,
    UnsupportedTransport,
    UnsupportedVersion,
    build_response,
    h264_payloads,
    h264_sdp,
    interleaved,
    is_rtcp,
    parse_request,
    parse_sender_report,
    parse_transport,
    rtcp_sender_report,
    rtp_packets,
    session_header,
    split_annexb,
    take_message,
)

DESCRIBE = (
    b"DESCRIBE rtsp://127.0.0.1:554/Streaming/Channels/101 RTSP/1.0\r\n"
    b"CSeq: 3\r\n"
    b"accept: application/sdp\r\n"
    b"User-Agent: Lavf59.27.100\r\n"
    b"\r\n"
)


def test_a_request_line_and_headers_parse_without_regard_to_case():
    request = parse_request(DESCRIBE)
    assert (request.method, request.uri, request.cseq) == (
        "DESCRIBE",
        "rtsp://127.0.0.1:554/Streaming/Channels/101",
        "3",
    )
    assert request.headers.get("ACCEPT") == "application/sdp"
    assert "user-agent" in request.headers


def test_the_session_id_is_read_without_its_timeout():
    request = parse_request(
        b"PLAY rtsp://h/x RTSP/1.0\r\nCSeq: 5\r\nSession: 1A2B;timeout=60\r\n\r\n"
    )
    assert request.session == "1A2B"
    assert session_header("1A2B") == "1A2B;timeout=60"


def test_messages_are_taken_one_at_a_time_from_a_stream():
    buffer = bytearray(
        DESCRIBE[:20] + DESCRIBE[20:] + interleaved(1, b"rtcp") + b"GET_PARAMETER * RTSP/1.0\r\n"
    )
    first = take_message(buffer)
    assert isinstance(first, Request) and first.method == "DESCRIBE"
    assert take_message(buffer) == InterleavedFrame(1, b"rtcp")
    assert take_message(buffer) is None  # the head is not complete yet
    buffer += b"CSeq: 9\r\nContent-Length: 4\r\n\r\nab"
    assert take_message(buffer) is None  # nor the body
    buffer += b"cd"
    last = take_message(buffer)
    assert isinstance(last, Request) and last.body == b"abcd" and not buffer


def test_a_bad_request_is_dropped_from_the_stream_and_the_next_one_is_read():
    buffer = bytearray(b"DESCRIBE nocseq RTSP/1.0\r\n\r\n" + DESCRIBE)
    with pytest.raises(MalformedRequest):
        take_message(buffer)
    assert isinstance(take_message(buffer), Request)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\r\n\r\n", MalformedRequest),
        (b"DESCRIBE rtsp://h/ RTSP/1.0\r\n\r\n", MalformedRequest),  # no CSeq
        (b"DESCRIBE rtsp://h/ RTSP/2.0\r\nCSeq: 1\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/1.1\r\nCSeq: 1\r\n\r\n", MalformedRequest),
        (b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: one\r\n\r\n", MalformedRequest),
        (b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nno colon\r\n\r\n", MalformedRequest),
        (b"DESCRIBE  rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n", MalformedRequest),
        (b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n", MalformedRequest),
        (b"\xff\xfe RTSP/1.0\r\nCSeq: 1\r\n\r\n", MalformedRequest),
    ],
)
def test_malformed_requests_raise_the_typed_error(data, error):
    with pytest.raises(error):
        parse_request(data)


def test_an_endless_head_is_refused_rather_than_buffered():
    buffer = bytearray(b"DESCRIBE " + b"x" * 9000)
    with pytest.raises(MalformedRequest):
        take_message(buffer)
    assert not buffer


@given(st.binary(max_size=600))
def test_hostile_bytes_raise_only_the_typed_error(data):
    with contextlib.suppress(RtspError):
        parse_request(data)


_LINE = st.sampled_from(
    [b"DESCRIBE rtsp://h/ RTSP/1.0", b"SETUP * RTSP/1.0", b"PLAY x RTSP/1.1", b"$\x00", b""]
)
_FIELD = st.one_of(
    st.sampled_from(
        [b"CSeq: 1", b"CSeq:", b"Content-Length: 3", b"Content-Length: 99999999", b"Session: ;"]
    ),
    st.binary(max_size=40),
)


@given(st.lists(st.tuples(_LINE, st.lists(_FIELD, max_size=4), st.binary(max_size=8)), max_size=4))
def test_a_hostile_stream_raises_only_the_typed_error_and_always_makes_progress(messages):
    buffer = bytearray(
        b"".join(
            line + b"\r\n" + b"\r\n".join(f) + b"\r\n\r\n" + tail for line, f, tail in messages
        )
    )
    for _ in range(len(buffer) + 1):
        before = len(buffer)
        try:
            if take_message(buffer) is None:
                break
        except RtspError:
            pass
        assert len(buffer) < before


def test_transports_over_udp_and_tcp():
    udp, tcp = parse_transport(
        "RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;unicast;interleaved=0-1"
    )
    assert (udp.tcp, udp.client_port) == (False, (5000, 5001))
    assert (tcp.tcp, tcp.interleaved) == (True, (0, 1))
    assert tcp.reply(0xABC) == "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=00000ABC;mode=play"
    assert udp.reply(1, (6970, 6971)) == (
        "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=00000001;mode=play"
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("RTP/AVP;multicast", UnsupportedTransport),
        ("RAW/RAW/UDP;unicast;client_port=1-2", UnsupportedTransport),
        ("RTP/AVP;unicast", UnsupportedTransport),  # nowhere to send over UDP
        ("RTP/AVP;unicast;client_port=a-b", MalformedRequest),
        ("RTP/AVP/TCP;unicast;interleaved=0-300", MalformedRequest),
    ],
)
def test_transports_we_cannot_serve_raise_the_typed_error(value, error):
    with pytest.raises(error):
        parse_transport(value)


@given(st.text(max_size=200))
def test_hostile_transports_raise_only_the_typed_error(value):
    with contextlib.suppress(RtspError):
        assert parse_transport(value)


def test_an_answer_has_its_cseq_first_and_a_content_length_for_its_body():
    assert build_response(200, "2", [("Public", "OPTIONS")], b"v=0\r\n") == (
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nPublic: OPTIONS\r\nContent-Length: 5\r\n\r\nv=0\r\n"
    )


def test_annexb_splits_on_three_and_four_byte_start_codes():
    stream = b"\x00\x00\x00\x01\x67\x64\x00\x28\x00\x00\x01\x68\xee\x00\x00\x00\x01\x65\x88"
    assert split_annexb(stream) == [b"\x67\x64\x00\x28", b"\x68\xee", b"\x65\x88"]


def _depacketise(payloads: list[bytes]) -> list[bytes]:
    """What a receiver rebuilds (RFC 6184 §5.8), to check the packetiser against."""
    units: list[bytes] = []
    for p in payloads:
        if p[0] & 0x1F == 28:
            if p[1] & 0x80:
                units.append(bytes(((p[0] & 0xE0) | (p[1] & 0x1F),)))
            units[-1] += p[2:]
        else:
            units.append(p)
    return units


@given(st.lists(st.binary(min_size=1, max_size=5000), min_size=1, max_size=5), st.integers(3, 1500))
def test_single_nal_units_and_fu_a_fragments_rebuild_the_access_unit(units, mtu):
    units = [bytes((0x65 | (u[0] & 0x60),)) + u[1:] for u in units]  # forbidden bit clear
    payloads = h264_payloads(units, mtu)
    assert all(len(p) <= mtu for p in payloads)
    assert _depacketise(payloads) == units


def test_rtp_packets_carry_the_marker_on_the_last_packet_of_an_access_unit():
    packets = rtp_packets([b"\x67" * 10, b"\x65" * 3000], seq=65535, timestamp=3600, ssrc=7)
    assert len(packets) == 4  # the SPS alone, the slice in three FU-A fragments
    headers = [struct.unpack("!BBHII", p[:12]) for p in packets]
    assert [h[1] >> 7 for h in headers] == [0, 0, 0, 1]
    assert [h[2] for h in headers] == [65535, 0, 1, 2]  # the sequence number wraps
    assert {(h[0], h[1] & 0x7F, h[3], h[4]) for h in headers} == {(0x80, 96, 3600, 7)}


def test_the_sdp_describes_one_h264_stream():
    sps, pps = b"\x67\x64\x00\x28\xac", b"\x68\xee\x3c\x80"
    sdp = h264_sdp(sps=sps, pps=pps, control="trackID=1", address="127.0.0.1", session_id=1)
    lines = sdp.split("\r\n")
    assert "m=video 0 RTP/AVP 96" in lines
    assert "a=rtpmap:96 H264/90000" in lines
    sprop = f"{base64.b64encode(sps).decode()},{base64.b64encode(pps).decode()}"
    assert (
        f"a=fmtp:96 packetization-mode=1;profile-level-id=640028;sprop-parameter-sets={sprop}"
        in lines
    )
    assert {"a=control:trackID=1", "a=range:npt=0-", "a=framerate:25"} <= set(lines)


# --- packets built once, stamped per session; RTCP -----------------------------------------------


@given(
    st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=4),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 255),
)
def test_a_stamped_packet_run_is_the_packets_rtp_packets_builds(
    units, seq, timestamp, ssrc, channel
):
    units = [bytes([0x41]) + u for u in units]
    payloads = h264_payloads(units)
    run = PacketRun.of(payloads)
    expected = rtp_packets(units, seq=seq, timestamp=timestamp, ssrc=ssrc)
    data = run.stamp(seq=seq, timestamp=timestamp, ssrc=ssrc, channel=channel)
    assert bytes(data) == b"".join(interleaved(channel, p) for p in expected)
    assert [bytes(data[a:b]) for a, b in run.packet_spans()] == expected
    assert len(run) == len(expected)
    assert run.payload_octets == sum(map(len, payloads))


def test_a_sender_report_carries_the_ntp_time_and_counts_and_a_cname():
    report = SenderReport(0xDEADBEEF, 1_700_000_000.25, 123456, 10, 12000)
    packet = rtcp_sender_report(report, cname="DS-2CD2385G1-I20230322CCWR")
    assert parse_sender_report(packet) == report
    assert is_rtcp(packet)
    # Sender report of 28 bytes (length 6), then an SDES chunk padded to 32 bits.
    assert struct.unpack_from("!BBH", packet) == (0x80, 200, 6)
    assert struct.unpack_from("!II", packet, 8) == (1_700_000_000 + 2208988800, 2**30)
    version, kind, length = struct.unpack_from("!BBH", packet, 28)
    assert (version, kind) == (0x81, 202) and len(packet) == 28 + 4 + 4 * length
    assert packet[36:38] == bytes([1, 26]) and packet[38:64] == b"DS-2CD2385G1-I20230322CCWR"


@given(st.binary(max_size=40))
def test_junk_is_not_rtcp_and_does_not_parse_as_a_sender_report(data):
    rtcp = len(data) >= 8 and data[0] >> 6 == 2 and data[1] in (200, 201)
    assert is_rtcp(data) == rtcp
    if not (rtcp and data[1] == 200 and len(data) >= 28):
        with contextlib.suppress(ValueError):
            parse_sender_report(data)
            raise AssertionError("parsed")
