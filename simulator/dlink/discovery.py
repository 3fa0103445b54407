"""D-Link discovery: UDP 5978 and SSDP responders, their transport, and a discover client.

Both responders are pure (`handle(datagram, peer) -> replies`, no sockets, no
clock needed): one socket per protocol serves the whole fleet, each reply
naming its own device. A datagram that does not decode, a `S` (run a command)
datagram (CVE-2017-8413: we never reproduce that hole), an answer, or a
search nobody matches gets no reply at all.

Choices [I], also in docs/dlink.md: the 5978 reply format of
`protocols.dlink_discovery`; an inquiry matches when its `M=` is the broadcast
MAC or the device's, and its `D=` is empty, `*`, or a prefix of the model
(`DCS`, `DNR-`); SSDP answers `ssdp:all`, `upnp:rootdevice`, any
`urn:schemas-upnp-org:device:Basic:` version (hass_nipca asks for `Basic:1.0`)
and `uuid:<device>`, at once rather than after a random wait up to MX.
"""

from __future__ import annotations

import logging
import random

from nvrsim.protocols import dlink_discovery as wire
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import DiscoveryReply, shape_reply
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.identity import normalise_mac
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.runtime.udp import DiscoveryServer, Reply, ask, serve_discovery

log = logging.getLogger(__name__)


def _mac_matches(asked: str, device: Device) -> bool:
    if asked.upper() == wire.BROADCAST_MAC:
        return True
    try:
        return normalise_mac(asked) == device.mac
    except ValueError:
        return False


def _type_matches(asked: str, device: Device) -> bool:
    return asked in ("", "*") or device.model.upper().startswith(asked.upper())


def answer_fields(device: Device) -> dict[str, object]:
    net = device.network
    return {
        "M": device.mac.upper(),
        "D": device.model,
        "H": device.hardware_version,
        "F": device.firmware.text,
        "S": device.serial,
        "N": device.name,
        "I": net.ip,
        "K": net.netmask,
        "G": str(net.gateway),
        "P": net.http_port,
        "R": 1 if device.mydlink.registered else 0,
    }


class _Responder:
    """What both D-Link responders share: `handle` gives the replies as the devices
    mean them, `respond` as they go out, each spoilt by its own device's faults."""

    capability = ""

    def __init__(self, fleet: Fleet, rng: random.Random | None = None) -> None:
        self.fleet = fleet
        self.rng = rng or random.Random()  # decides which replies a drop fault loses

    def devices(self) -> list[Device]:
        """The devices that answer: running (not mid-reboot) D-Link ones."""
        return [d for d in self.fleet.of_vendor("dlink") if d.can(self.capability) and d.powered]

    def handle(self, datagram: bytes, peer: tuple[str, int]) -> list[bytes]:
        return [reply for _device, reply in self._answer(datagram)]

    def respond(self, datagram: bytes, peer: tuple[str, int]) -> list[DiscoveryReply]:
        return [
            shaped
            for device, reply in self._answer(datagram)
            if (shaped := shape_reply(reply, device.faults, self.rng)) is not None
        ]

    def _answer(self, datagram: bytes) -> list[tuple[Device, bytes]]:
        raise NotImplementedError


class DldpsResponder(_Responder):
    """UDP 5978 inquiries in, one answer per matching device out."""

    capability = "dlink_discovery"

    def _answer(self, datagram: bytes) -> list[tuple[Device, bytes]]:
        try:
            message = wire.decode_dldps(datagram)
        except wire.DiscoveryDecodeError:
            return []
        if message.kind != wire.INQUIRY:
            return []
        return [
            (d, wire.build_dldps(wire.ANSWER, answer_fields(d)))
            for d in self.devices()
            if _mac_matches(message.mac, d) and _type_matches(message.device_type, d)
        ]


class SsdpResponder(_Responder):
    """M-SEARCH in, one search response per matching D-Link device out."""

    capability = "ssdp"

    @staticmethod
    def answers_to(target: str, device: Device) -> str | None:
        """The ST the device answers a search for `target` with, or None."""
        udn = f"uuid:{device.uuid}"
        if target == "ssdp:all":
            return wire.BASIC_DEVICE
        if target == "upnp:rootdevice" or target.lower() == udn:
            return target
        if target.startswith("urn:schemas-upnp-org:device:Basic:"):
            return target
        return None

    def _answer(self, datagram: bytes) -> list[tuple[Device, bytes]]:
        try:
            search = wire.decode_msearch(datagram)
        except wire.DiscoveryDecodeError:
            return []
        replies = []
        for device in self.devices():
            target = self.answers_to(search.search_target, device)
            if target is None:
                continue
            net = device.network
            version = f"{device.firmware.major}.{device.firmware.minor:02d}"
            reply = wire.build_search_response(
                search_target=target,
                location=f"http://{net.ip}:{net.http_port}{wire.DESCRIPTION_PATH}",
                udn=f"uuid:{device.uuid}",
                server=f"Linux/2.6, UPnP/1.0, {device.model}/{version}",
            )
            replies.append((device, reply))
        return replies


# --- transport -----------------------------------------------------------------------------


async def serve_dldps(
    responder: DldpsResponder,
    host: str = "127.0.0.1",
    port: int = wire.DLDPS_PORT,
    interface: str | None = None,
) -> DiscoveryServer:
    return await serve_discovery(
        "D-Link discovery", responder.respond, host, port, interface=interface
    )


async def serve_ssdp(
    responder: SsdpResponder,
    host: str = "127.0.0.1",
    port: int = wire.SSDP_PORT,
    interface: str | None = None,
) -> DiscoveryServer:
    return await serve_discovery(
        "SSDP", responder.respond, host, port, multicast_group=wire.SSDP_GROUP, interface=interface
    )


# --- discover client -------------------------------------------------------------------------


async def discover_dldps(
    target: str = "255.255.255.255",
    port: int = wire.DLDPS_PORT,
    timeout: float = 2.0,
    interface: str | None = None,
    *,
    limit: int | None = None,
) -> list[dict[str, str]]:
    """One 5978 inquiry; each answer's fields (M, D, S, I, P…), one per MAC; until `timeout`
    (or `limit`)."""

    def read(reply: Reply) -> tuple[str, dict[str, str]] | None:
        try:
            message = wire.decode_dldps(reply[0])
        except wire.DiscoveryDecodeError:
            return None
        return (message.mac, message.fields) if message.kind == wire.ANSWER else None

    inquiry = wire.build_inquiry()
    return await ask(inquiry, target, port, timeout, interface, read=read, limit=limit)


async def discover_ssdp(
    target: str = wire.SSDP_GROUP,
    port: int = wire.SSDP_PORT,
    timeout: float = 2.0,
    interface: str | None = None,
    search_target: str = wire.BASIC_DEVICE,
    *,
    limit: int | None = None,
) -> list[dict[str, str]]:
    """One M-SEARCH; each response's headers (LOCATION, USN, SERVER…), one per USN; until
    `timeout` (or `limit`)."""
    request = (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {wire.SSDP_GROUP}:{wire.SSDP_PORT}\r\n"
        'MAN: "ssdp:discover"\r\n'
        "MX: 1\r\n"
        f"ST: {search_target}\r\n\r\n"
    ).encode()

    def read(reply: Reply) -> tuple[str, dict[str, str]] | None:
        try:
            headers = wire.decode_search_response(reply[0])
        except wire.DiscoveryDecodeError:
            return None
        return headers.get("USN", ""), headers

    return await ask(request, target, port, timeout, interface, read=read, limit=limit)


_COLUMNS = (
    ("IPv4 Address", "I"),
    ("HTTP", "P"),
    ("MAC", "M"),
    ("Model", "D"),
    ("HW", "H"),
    ("Serial", "S"),
    ("Firmware", "F"),
    ("mydlink", "R"),
)
_SSDP_COLUMNS = (("Location", "LOCATION"), ("Server", "SERVER"), ("USN", "USN"))


def format_dlink_table(results: list[dict[str, str]]) -> str:
    """5978 answers or SSDP responses as an aligned text table."""
    columns = _SSDP_COLUMNS if results and "LOCATION" in results[0] else _COLUMNS
    rows = [[title for title, _ in columns]]
    rows += [[r.get(key, "-") for _, key in columns] for r in results]
    return text_table(rows, rule=True)
