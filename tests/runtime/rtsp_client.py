"""A raw RTSP client for the RTSP tests: requests and answers byte by byte, Digest from
RFC 7616, and the interleaved RTP/RTCP packets of a TCP session as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import struct
from dataclasses import dataclass
from urllib.request import parse_http_list, parse_keqv_list

from nvrsim.protocols.rtsp import is_rtcp

RR_OF_NOTHING = struct.pack("!BBHI", 0x80, 201, 1, 0x1234ABCD)  # an empty receiver report


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    body: bytes
    challenges: tuple[str, ...] = ()

    @property
    def session(self) -> str:
        return self.headers["session"].split(";")[0]


@dataclass(frozen=True)
class Rtp:
    seq: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> Rtp:
        first, second, seq, timestamp, ssrc = struct.unpack_from("!BBHII", data)
        assert first >> 6 == 2, data[:12]
        return cls(seq, timestamp, ssrc, bool(second & 0x80), data[12:])


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    fields = parse_keqv_list(parse_http_list(challenge.removeprefix("Digest ")))
    ha1 = _md5(f"{user}:{fields['realm']}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    nc, cnonce = "00000001", "0a4f113b"
    response = _md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
        f'uri="{uri}", response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}"'
    )


class RtspClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.cseq = reader, writer, 0
        self.channels: dict[int, asyncio.Queue[bytes]] = {}
        self.answers: asyncio.Queue[Answer | None] = asyncio.Queue()
        self.authorization: str | None = None
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, device) -> RtspClient:
        reader, writer = await asyncio.open_connection(device.network.ip, device.network.rtsp_port)
        return cls(reader, writer)

    async def _read(self) -> None:
        """Sort what arrives into answers and interleaved packets (by channel)."""
        try:
            while first := await self.reader.read(1):
                if first == b"$":
                    channel, length = struct.unpack("!BH", await self.reader.readexactly(3))
                    data = await self.reader.readexactly(length)
                    self.channel(channel).put_nowait(data)
                    continue
                head = first + await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers, challenges = {}, []
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.lower()] = value.strip()
                        if name.lower() == "www-authenticate":
                            challenges.append(value.strip())
                body = await self.reader.readexactly(int(headers.get("content-length", 0)))
                status = int(lines[0].split(" ")[1])
                self.answers.put_nowait(Answer(status, headers, body, tuple(challenges)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.answers.put_nowait(None)

    async def send_raw(self, data: bytes) -> Answer:
        self.writer.write(data)
        answer = await asyncio.wait_for(self.answers.get(), 10)
        assert answer is not None, "connection closed"
        return answer

    async def request(self, method: str, uri: str, *headers: str) -> Answer:
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}", *headers]
        if self.authorization:
            lines.append(self.authorization)
        return await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def login(self, uri: str, user: str, password: str) -> Answer:
        """DESCRIBE `uri`, answering the Digest challenge with these credentials."""
        answer = await self.request("DESCRIBE", uri)
        if answer.status == 401:
            challenge = next(c for c in answer.challenges if c.startswith("Digest "))
            self.authorization = (
                f"Authorization: {digest(challenge, 'DESCRIBE', uri, user, password)}"
            )
            answer = await self.request("DESCRIBE", uri)
        return answer

    async def play_tcp(self, uri: str, user: str, password: str) -> tuple[str, int]:
        """DESCRIBE, SETUP interleaved on channels 0-1 and PLAY: the session and its SSRC."""
        assert (await self.login(uri, user, password)).status == 200
        setup = await self.request(
            "SETUP", f"{uri}/trackID=1", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1"
        )
        assert setup.status == 200, setup
        ssrc = int(setup.headers["transport"].split("ssrc=")[1].split(";")[0], 16)
        assert (await self.request("PLAY", uri, f"Session: {setup.session}")).status == 200
        return setup.session, ssrc

    def channel(self, number: int) -> asyncio.Queue[bytes]:
        return self.channels.setdefault(number, asyncio.Queue())

    async def packet(self, channel: int = 0, timeout: float = 5) -> bytes:
        """The next interleaved packet on `channel`."""
        return await asyncio.wait_for(self.channel(channel).get(), timeout)

    async def send_receiver_report(self, channel: int = 1) -> None:
        assert is_rtcp(RR_OF_NOTHING)
        self.writer.write(b"$" + struct.pack("!BH", channel, len(RR_OF_NOTHING)) + RR_OF_NOTHING)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        self._reading.cancel()


class UdpReceiver(asyncio.DatagramProtocol):
    """A client's RTP or RTCP socket."""

    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.datagrams.put_nowait((data, addr))

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> UdpReceiver:
        _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            cls, local_addr=(host, 0)
        )
        return protocol

    @property
    def port(self) -> int:
        return self.transport.get_extra_info("sockname")[1]

    async def next(self, timeout: float = 5) -> bytes:
        return (await asyncio.wait_for(self.datagrams.get(), timeout))[0]
