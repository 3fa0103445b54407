"""RTSP/1.0 (RFC 2326) messages, RTP packets of H.264 (RFC 6184) and the SDP of one stream.

Pure: bytes in, typed messages out, and back; no sockets, no device, no clock. A
request that cannot be understood raises `RtspError` (or a subclass), whose
`status` is the answer a server gives; nothing else escapes the parser, so a
server answers hostile input with 400 and never with a traceback.

RTP packets are built in two halves so that many sessions can share one clip:
`h264_payloads` cuts an access unit into payloads once, and each session only
prefixes its own 12-byte header (`rtp_header`) with its sequence number,
timestamp and SSRC.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

VERSION = "RTSP/1.0"
# A request head longer than this is refused rather than buffered without end.
MAX_HEAD = 8192
MAX_BODY = 65536
H264_CLOCK = 90000  # RTP clock rate of video (RFC 6184 §8.2.1)

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}


class RtspError(ValueError):
    """A request the server cannot act on; `status` is what it answers."""

    status = 400

    def __init__(self, reason: str, cseq: str | None = None) -> None:
        super().__init__(reason)
        self.cseq = cseq  # echoed in the answer when the request got that far


class MalformedRequest(RtspError):
    status = 400


class UnsupportedVersion(RtspError):
    status = 505


class UnsupportedTransport(RtspError):
    status = 461


# --- headers and requests -----------------------------------------------------------------


class Headers:
    """Header fields in the order received; names compare without case (RFC 2326 §4.2)."""

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields = list(fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self._fields:
            if key.lower() == wanted:
                return value
        return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    @property
    def cseq(self) -> str:
        return self.headers.get("CSeq") or ""

    @property
    def session(self) -> str | None:
        """The session id named by the Session header, without its parameters."""
        value = self.headers.get("Session")
        if value is None:
            return None
        return value.split(";", 1)[0].strip() or None


@dataclass(frozen=True)
class InterleavedFrame:
    """A `$`-framed binary packet on the RTSP connection (§10.12): RTCP reports from the
    client, when it streams over TCP."""

    channel: int
    data: bytes


_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,31}")
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("request head is not UTF-8") from exc


def parse_head(head: bytes) -> tuple[str, str, Headers]:
    """The request line and header fields of one request (without its body)."""
    text = _decode(head)
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise MalformedRequest("empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not all(parts):
        raise MalformedRequest("request line is not METHOD URI RTSP/1.0")
    method, uri, version = parts
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_CHARS.fullmatch(name):
            raise MalformedRequest("malformed header field")
        fields.append((name, value.strip()))
    headers = Headers(fields)
    cseq = _valid_cseq(headers.get("CSeq"))  # echoed in a refusal only when well-formed
    if not _METHOD.fullmatch(method):
        raise MalformedRequest("malformed method", cseq)
    if any(c.isspace() or not c.isprintable() for c in uri):
        raise MalformedRequest("malformed request URI", cseq)
    if version != VERSION:
        if version.startswith("RTSP/"):
            raise UnsupportedVersion("only RTSP/1.0", cseq)
        raise MalformedRequest("not an RTSP request", cseq)
    if cseq is None:
        raise MalformedRequest("missing or malformed CSeq")
    return method, uri, headers


def _valid_cseq(value: str | None) -> str | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    return value


def parse_request(data: bytes) -> Request:
    """One whole request: head, blank line and the body its Content-Length announces."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    method, uri, headers = parse_head(head)
    length = _content_length(headers)
    if len(body) != length:
        raise MalformedRequest(
            "body does not match Content-Length", _valid_cseq(headers.get("CSeq"))
        )
    return Request(method, uri, headers, body)


def _content_length(headers: Headers) -> int:
    value = headers.get("Content-Length")
    if value is None:
        return 0
    if not value.isascii() or not value.isdigit() or int(value) > MAX_BODY:
        raise MalformedRequest("malformed Content-Length", _valid_cseq(headers.get("CSeq")))
    return int(value)


def take_message(buffer: bytearray) -> Request | InterleavedFrame | None:
    """Remove the first whole message from what a connection has received so far.

    None: more bytes are needed. A request whose head is unusable raises, with the
    buffer already cleared of it (up to its blank line), so the connection can go on.
    """
    if buffer[:1] == b"$":
        if len(buffer) < 4:
            return None
        channel, length = buffer[1], int.from_bytes(buffer[2:4], "big")
        if len(buffer) < 4 + length:
            return None
        frame = InterleavedFrame(channel, bytes(buffer[4 : 4 + length]))
        del buffer[: 4 + length]
        return frame
    # Clients may send blank lines between requests.
    while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":
        del buffer[: 2 if buffer[:1] == b"\r" else 1]
    end, gap = buffer.find(b"\r\n\r\n"), 4
    bare = buffer.find(b"\n\n")
    if bare != -1 and (end == -1 or bare < end):
        end, gap = bare, 2
    if end == -1:
        if len(buffer) > MAX_HEAD:
            buffer.clear()
            raise MalformedRequest("request head too long")
        return None
    head = bytes(buffer[:end])
    try:
        method, uri, headers = parse_head(head)
        length = _content_length(headers)
    except RtspError:
        del buffer[: end + gap]
        raise
    if len(buffer) < end + gap + length:
        return None
    body = bytes(buffer[end + gap : end + gap + length])
    del buffer[: end + gap + length]
    return Request(method, uri, headers, body)


# --- responses -------------------------------------------------------------------------------


def build_response(
    status: int,
    cseq: str | None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """An answer: status line, CSeq first (as devices send it), the headers, the body."""
    lines = [f"{VERSION} {status} {REASONS.get(status, 'Unknown')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def session_header(session_id: str, timeout: int = 60) -> str:
    return f"{session_id};timeout={timeout}"


# --- Transport (§12.39) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Transport:
    """One transport a client offers: RTP over UDP to `client_port`, or interleaved in
    the RTSP connection on the `interleaved` channels."""

    tcp: bool
    client_port: tuple[int, int] | None = None
    interleaved: tuple[int, int] | None = None
    parameters: tuple[str, ...] = field(default=(), compare=False)

    def reply(self, ssrc: int, server_port: tuple[int, int] | None = None) -> str:
        """The Transport header of the SETUP answer."""
        if self.tcp:
            low, high = self.interleaved or (0, 1)
            return f"RTP/AVP/TCP;unicast;interleaved={low}-{high};ssrc={ssrc:08X};mode=play"
        low, high = self.client_port or (0, 0)
        server = f";server_port={server_port[0]}-{server_port[1]}" if server_port else ""
        return f"RTP/AVP;unicast;client_port={low}-{high}{server};ssrc={ssrc:08X};mode=play"


def _port_pair(value: str, limit: int) -> tuple[int, int]:
    """`a-b` (or a lone `a`, meaning `a-(a+1)`), each at most `limit`."""
    low_text, dash, high_text = value.partition("-")
    texts = (low_text, high_text) if dash else (low_text,)
    if not all(t.isascii() and t.isdigit() and len(t) <= 5 for t in texts):
        raise MalformedRequest(f"malformed port pair {value!r}")
    low = int(low_text)
    high = int(high_text) if dash else low + 1
    if low > limit or high > limit:
        raise MalformedRequest(f"port pair out of range {value!r}")
    return low, high


def parse_transport(value: str) -> list[Transport]:
    """The transports a SETUP offers, in the client's order of preference. Those that are
    not unicast RTP/AVP over UDP or TCP are left out; none left raises 461."""
    offers: list[Transport] = []
    for spec in value.split(","):
        parts = [p.strip() for p in spec.split(";") if p.strip()]
        if not parts:
            continue
        protocol = parts[0].upper()
        if protocol not in ("RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"):
            continue
        params = {}
        for part in parts[1:]:
            name, _, arg = part.partition("=")
            params[name.strip().lower()] = arg.strip()
        if "multicast" in params:
            continue
        tcp = protocol == "RTP/AVP/TCP"
        if tcp:
            channels = params.get("interleaved")
            pair = _port_pair(channels, 255) if channels else None
            offers.append(Transport(True, interleaved=pair, parameters=tuple(parts)))
        else:
            ports = params.get("client_port")
            if not ports:
                continue  # over UDP we must know where to send
            offers.append(Transport(False, _port_pair(ports, 65535), parameters=tuple(parts)))
    if not offers:
        raise UnsupportedTransport("no unicast RTP/AVP transport offered")
    return offers


# --- H.264 elementary stream -------------------------------------------------------------------

NAL_SPS, NAL_PPS, NAL_IDR, NAL_AUD = 7, 8, 5, 9
_FU_A = 28


def split_annexb(stream: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream, without their start codes."""
    units: list[bytes] = []
    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", stream)]
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(stream)
        unit = stream[start:end]
        # A four-byte start code leaves its leading zero on the unit before.
        if n + 1 < len(starts) and unit.endswith(b"\x00"):
            unit = unit.rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


def h264_payloads(units: Sequence[bytes], mtu: int = 1400) -> list[bytes]:
    """RTP payloads for one access unit (RFC 6184 packetization-mode 1): a NAL unit that
    fits is sent alone (§5.6), a larger one in FU-A fragments (§5.8). `mtu` bounds the
    payload, the 12-byte RTP header excluded."""
    if mtu < 3:
        raise ValueError("an FU-A fragment needs at least 3 bytes")
    payloads: list[bytes] = []
    for unit in units:
        if not unit:
            continue
        if len(unit) <= mtu:
            payloads.append(unit)
            continue
        indicator = (unit[0] & 0xE0) | _FU_A
        kind = unit[0] & 0x1F
        body = unit[1:]
        step = mtu - 2
        for offset in range(0, len(body), step):
            start = 0x80 if offset == 0 else 0
            end = 0x40 if offset + step >= len(body) else 0
            header = bytes((indicator, start | end | kind))
            payloads.append(header + body[offset : offset + step])
    return payloads


_RTP = struct.Struct("!BBHII")


def rtp_header(*, marker: bool, payload_type: int, seq: int, timestamp: int, ssrc: int) -> bytes:
    """The fixed RTP header (RFC 3550 §5.1): version 2, no padding, extension or CSRC."""
    return _RTP.pack(
        0x80,
        (0x80 if marker else 0) | (payload_type & 0x7F),
        seq & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc & 0xFFFFFFFF,
    )


def rtp_packets(
    units: Sequence[bytes],
    *,
    seq: int,
    timestamp: int,
    ssrc: int,
    payload_type: int = 96,
    mtu: int = 1400,
) -> list[bytes]:
    """Whole RTP packets of one access unit; the marker bit is on its last (§5.1)."""
    payloads = h264_payloads(units, mtu)
    last = len(payloads) - 1
    return [
        rtp_header(
            marker=n == last,
            payload_type=payload_type,
            seq=seq + n,
            timestamp=timestamp,
            ssrc=ssrc,
        )
        + payload
        for n, payload in enumerate(payloads)
    ]


def interleaved(channel: int, packet: bytes) -> bytes:
    """A packet framed for the RTSP connection (§10.12)."""
    return b"$" + bytes((channel,)) + len(packet).to_bytes(2, "big") + packet


_STAMP = struct.Struct("!HII")  # sequence number, timestamp, SSRC: bytes 2 to 12 of the header


@dataclass(frozen=True)
class PacketRun:
    """The RTP packets of one access unit, made once for every session that sends it.

    `data` holds each packet framed for the RTSP connection (§10.12, channel 0), its
    sequence number, timestamp and SSRC left blank; a session `stamp`s a copy (one
    memory copy and a fixed field write per packet) and writes it whole over TCP, or
    sends the packets one by one (`packet_spans`) over UDP.
    """

    data: bytes
    offsets: tuple[int, ...]  # where each packet's RTP header starts in `data`
    payload_octets: int  # what an RTCP sender report counts (RFC 3550 §6.4.1)

    @classmethod
    def of(cls, payloads: Sequence[bytes], payload_type: int = 96) -> PacketRun:
        parts, offsets, at = [], [], 0
        last = len(payloads) - 1
        for n, payload in enumerate(payloads):
            header = rtp_header(
                marker=n == last, payload_type=payload_type, seq=0, timestamp=0, ssrc=0
            )
            parts.append(interleaved(0, header + payload))
            offsets.append(at + 4)
            at += 4 + len(header) + len(payload)
        return cls(b"".join(parts), tuple(offsets), sum(map(len, payloads)))

    def __len__(self) -> int:
        return len(self.offsets)

    def stamp(self, *, seq: int, timestamp: int, ssrc: int, channel: int = 0) -> bytearray:
        """The packets of one session: sequence numbers from `seq` on."""
        data = bytearray(self.data)
        pack = _STAMP.pack_into
        for n, offset in enumerate(self.offsets):
            pack(data, offset + 2, (seq + n) & 0xFFFF, timestamp, ssrc)
        if channel:
            for offset in self.offsets:
                data[offset - 3] = channel
        return data

    def packet_spans(self) -> Iterator[tuple[int, int]]:
        """(start, end) of each RTP packet in `data`, without its interleaved framing."""
        ends = (*(o - 4 for o in self.offsets[1:]), len(self.data))
        return zip(self.offsets, ends, strict=True)


# --- RTCP (RFC 3550 §6) --------------------------------------------------------------------------

RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE, RTCP_APP = 200, 201, 202, 203, 204
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 (NTP's epoch) to 1970
_SR = struct.Struct("!BBHIIIIII")


@dataclass(frozen=True)
class SenderReport:
    ssrc: int
    ntp_time: float  # Unix seconds, from the report's 64-bit NTP timestamp
    rtp_timestamp: int  # the same instant on the RTP clock
    packets: int
    octets: int


def rtcp_sender_report(report: SenderReport, cname: str) -> bytes:
    """A compound RTCP packet (§6.1): a sender report without report blocks (we receive
    nothing), then SDES with the CNAME every compound packet must carry (§6.5.1)."""
    ntp = report.ntp_time + NTP_UNIX_OFFSET
    mask = 0xFFFFFFFF
    sr = _SR.pack(
        0x80,
        RTCP_SR,
        6,  # length in 32-bit words, less one
        report.ssrc & mask,
        int(ntp) & mask,
        int((ntp % 1) * 2**32) & mask,
        report.rtp_timestamp & mask,
        report.packets & mask,
        report.octets & mask,
    )
    text = cname.encode()[:255]
    chunk = struct.pack("!IBB", report.ssrc & mask, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)  # the item list ends with a null, then pads (§6.5)
    return sr + struct.pack("!BBH", 0x81, RTCP_SDES, len(chunk) // 4) + chunk


def parse_sender_report(data: bytes) -> SenderReport:
    """The sender report that opens a compound RTCP packet; ValueError if it does not."""
    if len(data) < _SR.size:
        raise ValueError("shorter than a sender report")
    first, kind, _, ssrc, seconds, fraction, timestamp, packets, octets = _SR.unpack_from(data)
    if first >> 6 != 2 or kind != RTCP_SR:
        raise ValueError("not an RTCP sender report")
    ntp_time = seconds - NTP_UNIX_OFFSET + fraction / 2**32
    return SenderReport(ssrc, ntp_time, timestamp, packets, octets)


def is_rtcp(data: bytes) -> bool:
    """Whether `data` opens as a compound RTCP packet must (§6.1): version 2, then a
    sender or receiver report. A client's reports keep its session alive; junk does not."""
    return len(data) >= 8 and data[0] >> 6 == 2 and data[1] in (RTCP_SR, RTCP_RR)


# --- SDP (RFC 4566) of one H.264 stream ----------------------------------------------------------


def h264_sdp(
    *,
    sps: bytes,
    pps: bytes,
    control: str,
    address: str,
    session_id: int,
    session_name: str = "Media Presentation",
    framerate: int = 25,
    payload_type: int = 96,
) -> str:
    """The session description a DESCRIBE returns: one video stream, H.264 mode 1."""
    if len(sps) < 4:
        raise ValueError("an SPS has at least 4 bytes")
    profile_level_id = sps[1:4].hex().upper()
    sprop = ",".join(base64.b64encode(unit).decode() for unit in (sps, pps))
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {address}",
        f"s={session_name}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "a=range:npt=0-",
        f"m=video 0 RTP/AVP {payload_type}",
        f"a=rtpmap:{payload_type} H264/{H264_CLOCK}",
        f"a=fmtp:{payload_type} packetization-mode=1;profile-level-id={profile_level_id};"
        f"sprop-parameter-sets={sprop}",
        f"a=control:{control}",
        f"a=framerate:{framerate}",
    ]
    return "\r\n".join(lines) + "\r\n"
