"""Dahua DHIP discovery on UDP 37810: a pure responder, its transport and a discover client.

The responder (`handle(datagram, peer) -> replies`) answers `DHDiscover.search`
with one `client.notifyDevInfo` per matching device and `DHDiscover.setConfig`
(re-IP) for the device it names; anything that does not decode, and any other
method, gets no reply at all.

Replies go unicast to the asker's address and port, **from the device's own
address** and the DHIP port (RRD's client connects its socket to (ip, 37810) and
would not see a reply from elsewhere): `DhipService` keeps one socket per
device bound to (device address, port), which also answers a search sent to
that address alone, beside the fleet socket that hears searches for everyone
(and, with an interface, the multicast group 239.255.255.251 and broadcasts).

Choices [I], also in docs/dahua.md:
- `Init` is `init_bits | 2` on an initialised device and `init_bits | 1` on a
  factory one (§1.4: every initialised capture has `Init & 3 == 2`).
- A search's `mac` may be top level (AIO) or in params (R7); empty: everyone.
- `DHDiscover.setConfig`: the real password hash is unknown (§1.5). Per device
  (`dahua.discovery_password`): "ha1" (default) accepts MD5(`user:Login to
  <serial>:password`) in hex, the HA1 of the device's RPC2/Digest realm, so a
  client that can log in can compute it; "plain" the password as typed; "none"
  no check. An empty password is refused without counting, as NVRs send that
  first; a wrong one counts towards the device's lockout like any login. The
  device matches itself by the top-level `mac` and, when given,
  `IPAddressOld`. The reply is `DHDiscover.setConfig` with `result`, and
  params shaped like the RPC `deviceDiscovery` result (`Mac`, `Result`,
  `DeviceConfig`, `UTC`, `LocaleTime`), or an `error` with Dahua's code.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from nvrsim.protocols import dhip as wire
from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.faults import DiscoveryReply, shape_reply
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.identity import normalise_mac
from nvrsim.simulator.core.plugin import ExchangeHook
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.dahua import hashes
from nvrsim.simulator.dahua.device import DahuaDevice
from nvrsim.simulator.dahua.errors import LOCKED, NOT_INITIALISED, PASSWORD_NOT_VALID
from nvrsim.simulator.dahua.info import device_class, init_flags, software_version
from nvrsim.simulator.runtime.udp import DiscoveryServer, Reply, ask, serve_discovery

log = logging.getLogger(__name__)


def _link_local(mac: str) -> str:
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups) + "/64"


def device_info(device: Device) -> dict[str, Any]:
    """`deviceInfo` of a notifyDevInfo, fields in the order real replies print them."""
    net, recorder = device.network, device.kind != "ipc"
    return {
        "AlarmInputChannels": 4 if recorder else 1,
        "AlarmOutputChannels": 2 if recorder else 1,
        "DeviceClass": device_class(device),
        "DeviceType": device.model,
        "Find": device.dahua.find,
        "FindVersion": 1,
        "HttpPort": net.http_port,
        "IPv4Address": {
            "DefaultGateway": str(net.gateway),
            "DhcpEnable": net.dhcp,
            "IPAddress": net.ip,
            "SubnetMask": net.netmask,
        },
        "IPv6Address": {
            "DefaultGateway": net.ipv6_gateway,
            "DhcpEnable": False,
            "IPAddress": f"{net.ipv6_address}/{net.ipv6_prefix}",
            "LinkLocalAddress": _link_local(device.mac),
        },
        "Init": init_flags(device),
        "MachineName": device.name,
        "Manufacturer": "Private",
        "Port": net.command_port,
        "RemoteVideoInputChannels": device.ip_channels if recorder else 0,
        "SerialNo": device.serial,
        "UnLoginFuncMask": 1,
        "Vendor": device.dahua.vendor_name,
        "Version": software_version(device),
        "VideoInputChannels": device.analog_channels if recorder else 1,
        "VideoOutputChannels": 1 if recorder else 0,
    }


def _mac_matches(asked: str, device: Device) -> bool:
    if not asked:
        return True
    try:
        return normalise_mac(asked) == device.mac
    except ValueError:
        return False


class DhipResponder:
    """DHIP datagrams in, replies out; one responder for the whole fleet."""

    def __init__(
        self,
        fleet: Fleet,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        on_exchange: ExchangeHook | None = None,
        on_network_change: Callable[[Device], None] | None = None,
    ) -> None:
        self.fleet, self.clock = fleet, clock
        self.rng = rng or random.Random()  # decides which replies a drop fault loses
        self.on_exchange = on_exchange
        self.on_network_change = on_network_change

    def devices(self) -> list[Device]:
        """The devices that answer: running Dahua devices with DHIP."""
        return [d for d in self.fleet.of_vendor("dahua") if d.can("dhip") and d.powered]

    def handle(
        self, datagram: bytes, peer: tuple[str, int], only: Device | None = None
    ) -> list[bytes]:
        """The reply datagrams as the devices mean them (faults aside: see `respond`)."""
        return [reply for _device, reply, _source in self._answer(datagram, peer, only)]

    def respond(
        self, datagram: bytes, peer: tuple[str, int], only: Device | None = None
    ) -> list[DiscoveryReply]:
        """As they go out: each from its device's address, spoilt by its own faults."""
        return [
            replace(shaped, source=source)
            for device, reply, source in self._answer(datagram, peer, only)
            if (shaped := shape_reply(reply, device.faults, self.rng)) is not None
        ]

    def _answer(
        self, datagram: bytes, peer: tuple[str, int], only: Device | None
    ) -> list[tuple[Device, bytes, str]]:
        """(device, reply, the address it leaves from) for each reply."""
        try:
            message = wire.decode(datagram)
        except wire.DhipDecodeError:
            return []
        candidates = [only] if only is not None else self.devices()
        candidates = [d for d in candidates if d.powered and d.can("dhip")]
        client = peer[0]
        if message.method == wire.SEARCH:
            asked = wire.search_mac(message)
            answers = [
                (d, wire.build_dev_info(d.mac, device_info(d)), d.network.ip)
                for d in candidates
                if _mac_matches(asked, d)
            ]
            self._report(only, client, wire.SEARCH, f"{len(answers)} devices")
            return answers
        if message.method == wire.SET_CONFIG:
            return self._set_config(message, candidates, client)
        return []

    def _report(self, device: Device | None, client: str, request: str, reply: str) -> None:
        if self.on_exchange is not None:
            self.on_exchange(device, "dhip", client, request, reply)

    # --- DHDiscover.setConfig ---------------------------------------------------------

    def _set_config(
        self, message: wire.DhipMessage, candidates: list[Device], client: str
    ) -> list[tuple[Device, bytes, str]]:
        params = message.params
        config = params.get("deviceConfig")
        ipv4 = config.get("IPv4Address") if isinstance(config, dict) else None
        if not message.mac or not isinstance(ipv4, dict):
            return []
        old = ipv4.get("IPAddressOld")
        device = next(
            (
                d
                for d in candidates
                if _mac_matches(message.mac, d) and (not old or old == d.network.ip)
            ),
            None,
        )
        if device is None:
            return []
        now = self.clock.now()
        error = self._authorise(device, params, client, now)
        if error is not None:
            code, text, extra = error
            document = {
                "error": {"code": code, "message": text},
                "id": message.id,
                "mac": device.mac,
                "method": wire.SET_CONFIG,
                "params": {"Result": False, **extra},
                "result": False,
            }
            self._report(device, client, wire.SET_CONFIG, text)
            reply = wire.build_reply(document, request_id=message.header.request_id)
            return [(device, reply, device.network.ip)]
        try:
            new = _new_network(device, ipv4)
        except ValueError:
            return []
        old_ip = device.network.ip
        net = device.network
        net.address, net.gateway, net.dhcp = new
        port = (config or {}).get("Port")
        if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
            net.command_port = port
        stamp = datetime.fromtimestamp(now, tz=UTC)
        document = {
            "id": message.id,
            "mac": device.mac,
            "method": wire.SET_CONFIG,
            "params": {
                "DeviceConfig": {
                    "IPv4Address": {
                        "DefaultGateway": str(net.gateway),
                        "DhcpEnable": net.dhcp,
                        "IPAddress": net.ip,
                        "IPAddressOld": old_ip,
                        "SubnetMask": net.netmask,
                    }
                },
                "LocaleTime": stamp.strftime("%Y-%m-%d %H:%M:%S"),
                "Mac": device.mac,
                "Result": True,
                "UTC": int(now),
            },
            "result": True,
        }
        # The reply leaves from the old address, before the device moves (as it is sent).
        reply = wire.build_reply(document, request_id=message.header.request_id)
        self._report(device, client, wire.SET_CONFIG, f"RemoteIPModified {old_ip} -> {net.ip}")
        if self.on_network_change is not None and net.ip != old_ip:
            self.on_network_change(device)
        return [(device, reply, old_ip)]

    @staticmethod
    def _authorise(
        device: Device, params: dict[str, Any], client: str, now: float
    ) -> tuple[int, str, dict[str, int]] | None:
        if not device.activated:
            return NOT_INITIALISED.code, NOT_INITIALISED.message, {}
        mode = device.dahua.discovery_password
        if mode == "none":
            return None
        user, sent = params.get("userName"), params.get("password")
        if not isinstance(user, str) or not isinstance(sent, str) or not sent:
            return PASSWORD_NOT_VALID.code, PASSWORD_NOT_VALID.message, {}

        def proof(password: str) -> bool:
            if mode == "plain":
                return hmac.compare_digest(sent.encode(), password.encode())
            expected = hashes.ha1(user, hashes.realm(device), password)
            return hmac.compare_digest(sent.upper().encode(), expected.encode())

        outcome = device.login(client, proof, now, user=user)
        if outcome.granted:
            return None
        extra = {"remainLockSecond": outcome.unlock_in, "remainLoginTimes": outcome.retries_left}
        if outcome.result is LoginResult.LOCKED:
            return LOCKED.code, LOCKED.message, extra
        return PASSWORD_NOT_VALID.code, PASSWORD_NOT_VALID.message, extra


def _new_network(device: Device, ipv4: dict[str, Any]) -> tuple[IPv4Interface, IPv4Address, bool]:
    net = device.network
    address = ipv4.get("IPAddress", net.ip)
    mask = ipv4.get("SubnetMask", net.netmask)
    gateway = ipv4.get("DefaultGateway", str(net.gateway))
    dhcp = ipv4.get("DhcpEnable", net.dhcp)
    if not all(isinstance(v, str) for v in (address, mask, gateway)) or not isinstance(dhcp, bool):
        raise ValueError("not an address")
    interface = IPv4Interface(f"{address}/{mask}")
    if interface.ip.is_unspecified or interface.ip.is_multicast or interface.ip.is_reserved:
        raise ValueError("not a host address")
    return interface, IPv4Address(gateway), dhcp


# --- transport -----------------------------------------------------------------------------


class DhipService:
    """The fleet's DHIP socket plus one per device, bound to (device address, port)."""

    def __init__(self, responder: DhipResponder, main: DiscoveryServer) -> None:
        self.responder, self._main = responder, main
        self.host, self.port = main.host, main.port
        self._own: dict[str, tuple[str, DiscoveryServer]] = {}  # serial -> (ip, server)
        self._by_ip: dict[str, DiscoveryServer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def outlet(self, ip: str) -> asyncio.DatagramTransport | None:
        server = self._by_ip.get(ip)
        return server.transport if server is not None else None

    async def open(self, device: Device) -> None:
        ip = device.network.ip
        current = self._own.get(device.serial)
        if current is not None and current[0] == ip:
            return
        await self.close_device(device)
        if ip == self.host:
            return  # the fleet socket is the device's own
        try:
            server = await serve_discovery(
                f"DHIP {device.label or device.serial}",
                partial(self.responder.respond, only=device),
                ip,
                self.port,
                outlet=self.outlet,
                # Beside a wildcard fleet socket (an interface named) both must allow it;
                # otherwise a second simulator on the same address must fail to bind.
                reuse=self.host in ("0.0.0.0", ""),
            )
        except OSError as exc:  # an address this host lacks: replies leave from the fleet socket
            log.info("DHIP: %s cannot listen on %s:%d: %s", device.serial, ip, self.port, exc)
            return
        if device.serial in self._own or ip in self._by_ip:  # opened meanwhile by another task
            await server.close()
            return
        self._own[device.serial] = (ip, server)
        self._by_ip[ip] = server

    async def close_device(self, device: Device) -> None:
        entry = self._own.pop(device.serial, None)
        if entry is not None:
            self._by_ip.pop(entry[0], None)
            await entry[1].close()

    def _spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Announcer hooks: the simulator calls them as devices come and go.
    def device_up(self, device: Device) -> None:
        if isinstance(device, DahuaDevice) and device.can("dhip"):
            self._spawn(self.open(device))

    def device_down(self, device: Device) -> None:
        if device.serial in self._own:
            self._spawn(self.close_device(device))

    def moved(self, device: Device) -> None:
        """setConfig gave the device a new address: its socket follows."""
        self._spawn(self.open(device))

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for serial in list(self._own):
            await self._own.pop(serial)[1].close()
        self._by_ip.clear()
        await self._main.close()


async def serve_dhip(
    responder: DhipResponder,
    host: str = "127.0.0.1",
    port: int = wire.DHIP_PORT,
    interface: str | None = None,
) -> DhipService:
    holder: list[DhipService] = []
    main = await serve_discovery(
        "DHIP",
        responder.respond,
        host,
        port,
        multicast_group=wire.MULTICAST_GROUP,
        interface=interface,
        outlet=lambda ip: holder[0].outlet(ip) if holder else None,
    )
    service = DhipService(responder, main)
    holder.append(service)
    moved = responder.on_network_change

    def on_network_change(device: Device) -> None:
        service.moved(device)
        if moved is not None:
            moved(device)

    responder.on_network_change = on_network_change
    for device in responder.devices():
        await service.open(device)
    return service


# --- discover client -------------------------------------------------------------------------


async def discover_dhip(
    target: str = "127.0.0.1",
    port: int = wire.DHIP_PORT,
    timeout: float = 2.0,
    interface: str | None = None,
    mac: str = "",
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """One `DHDiscover.search`; each device's `deviceInfo` (plus `mac` and the address it
    answered from), one per MAC, as ConfigTool dedupes them; until `timeout` (or `limit`)."""

    def read(reply: Reply) -> tuple[str, dict[str, Any]] | None:
        data, addr = reply
        try:
            message = wire.decode(data)
        except wire.DhipDecodeError:
            return None
        info = message.params.get("deviceInfo")
        if message.method != wire.NOTIFY_DEV_INFO or not isinstance(info, dict):
            return None
        return message.mac, {"mac": message.mac, "from": addr[0], **info}

    search = wire.build_search(mac)
    return await ask(search, target, port, timeout, interface, read=read, limit=limit)


_COLUMNS = (
    ("IPv4 Address", lambda r: (r.get("IPv4Address") or {}).get("IPAddress", "-")),
    ("HTTP", lambda r: r.get("HttpPort", "-")),
    ("Port", lambda r: r.get("Port", "-")),
    ("MAC", lambda r: r.get("mac", "-")),
    ("Class", lambda r: r.get("DeviceClass", "-")),
    ("Model", lambda r: r.get("DeviceType", "-")),
    ("Serial", lambda r: r.get("SerialNo", "-")),
    ("Version", lambda r: r.get("Version", "-")),
    ("Initialised", lambda r: "yes" if int(r.get("Init", 0)) & 3 == 2 else "no"),
)


def format_dhip_table(results: list[dict[str, Any]]) -> str:
    def key(result: dict[str, Any]) -> tuple[int, str]:
        address = str(_COLUMNS[0][1](result))
        try:
            return int(IPv4Address(address)), ""
        except ValueError:
            return 1 << 32, address

    rows = [[title for title, _ in _COLUMNS]]
    rows += [[str(get(r)) for _, get in _COLUMNS] for r in sorted(results, key=key)]
    return text_table(rows, rule=True)
