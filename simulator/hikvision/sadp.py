"""Hikvision SADP: the pure responder, its UDP transport and a discover client.

`SadpResponder.handle(datagram, peer)` is pure (no sockets; time only from the
clock): it decodes one `<Probe>`, asks the device rules (`Device.login`,
`Device.activate`, `simulator.hikvision.unbind`) and returns the reply datagrams. One
socket serves the whole fleet, as one SADP tool sees a LAN full of devices.

Choices where docs/protocols/hikvision.md is silent:
- A datagram that does not decode, an unknown MAC, or Types the firmware does
  not know (`getUnbindStatus`/`ezvizUnbind` without capability `sadp_unbind`)
  get no reply at all, as a real device stays silent.
- `ezvizUnbind` from outside the device's LAN answers `failed`: real SADP is
  link-local and cannot cross routers, so a unicast from elsewhere is refused.
- A password check happens before the values it guards are validated
  (`update`'s network, `SetVerificationCode`'s code), so a client without the
  password learns nothing about them.
- Verification codes are 6 to 12 ASCII letters or digits, as the device UIs say.
- `update` refuses an address another device of the fleet already uses, a
  gateway outside the new subnet, and broken masks, ports or IPv6 values.
- An `exchangecode` whose Code is not a usable RSA key answers `failed`. The
  random it yields is kept per (device MAC, client IP); while one is held,
  `activate`, `SetHCPlatform`, `SetVerificationCode` and `ezvizUnbind` expect
  the activate-style encrypted password, otherwise plaintext. `update` takes
  plaintext, base64 MD5 or the bSalt proof regardless.
- `RetryTimes` and `SurplusLockTime` come with `PasswordError` and `locked`
  only; a success does not repeat them.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid as uuid_module
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from nvrsim.protocols import sadp_crypto
from nvrsim.protocols.sadp import (
    MULTICAST_GROUP,
    SADP_PORT,
    DeviceInfo,
    NetworkParams,
    Probe,
    ProbeType,
    Result,
    SadpDecodeError,
    build_device_match,
    build_inquiry,
    build_result,
    decode_probe,
    decode_probe_match,
    parse_bool,
    parse_mac,
)
from nvrsim.simulator.core.auth import ActivationResult, LoginOutcome, LoginResult, Proof, plain
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device, Network
from nvrsim.simulator.core.faults import DiscoveryReply, shape_reply
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.core.plugin import ExchangeHook
from nvrsim.simulator.core.text import text_table
from nvrsim.simulator.hikvision.device import HikvisionDevice, is_valid_verification_code
from nvrsim.simulator.hikvision.unbind import UnbindVerdict, unbind, unbind_status
from nvrsim.simulator.runtime.udp import DiscoveryServer, Reply, ask, serve_discovery

log = logging.getLogger(__name__)

SADP_VERSION = "3.0"  # v3.1 crypto is unknown; clients choose it from this tag

# Types that older firmware does not know: the device stays silent.
_REQUIRED_CAPABILITY = {
    ProbeType.GET_UNBIND_STATUS: "sadp_unbind",
    ProbeType.EZVIZ_UNBIND: "sadp_unbind",
    ProbeType.SET_HC_PLATFORM: "hik_connect",
    ProbeType.SET_VERIFICATION_CODE: "hik_connect",
}
_UNBIND_RESULTS = {
    UnbindVerdict.OK: Result.SUCCESS,
    UnbindVerdict.NOT_BOUND: Result.NOT_BIND,
    UnbindVerdict.HC_DISABLED: Result.UNENABLE_HC_PLATFORM,
    UnbindVerdict.OFFLINE: Result.OFFLINE_HC_PLATFORM,
    UnbindVerdict.NOT_ACTIVATED: Result.NOT_ACTIVATED,
    UnbindVerdict.NOT_SAME_LAN: Result.FAILED,
    UnbindVerdict.WRONG_PASSWORD: Result.PASSWORD_ERROR,
    UnbindVerdict.LOCKED: Result.LOCKED,
}
_ACTIVATION_RESULTS = {
    ActivationResult.OK: Result.SUCCESS,
    ActivationResult.ALREADY_ACTIVATED: Result.HAS_ACTIVATED,
    ActivationResult.RISKY_PASSWORD: Result.RISK_PASSWORD,
}


def device_info(device: Device, client: str, now: float) -> DeviceInfo:
    """What an inquiry reply says about `device`, as seen by `client`."""
    net, hc = device.network, device.hik_connect
    unbindable = device.can("sadp_unbind")
    return DeviceInfo(
        device_type=device.device_type_code,
        description=device.model,
        serial=device.serial,
        command_port=net.command_port,
        http_port=net.http_port,
        mac=device.mac,
        ipv4_address=net.ip,
        ipv4_subnet_mask=net.netmask,
        ipv4_gateway=str(net.gateway),
        ipv6_address=net.ipv6_address,
        ipv6_gateway=net.ipv6_gateway,
        ipv6_mask_len=net.ipv6_prefix,
        dhcp=net.dhcp,
        analog_channels=device.analog_channels,
        digital_channels=device.ip_channels,
        software_version=device.firmware.text,
        dsp_version=device.dsp_version,
        boot_time=datetime.fromtimestamp(int(device.boot_time)),
        encrypt=True,
        reset_ability=False,
        disks=device.disks,
        activated=device.activated,
        password_reset_ability=True,
        password_reset_mode_second=True,
        detail_oem_code=1,
        support_security_question=True,
        support_hc_platform=device.can("hik_connect"),
        hc_platform_enable=hc.enabled,
        is_modify_verification_code=True,
        salt=device.salt,
        # The lockout is kept per client address, so each tool sees its own lock.
        device_lock=device.lockout.unlock_in(client, now) > 0,
        sdk_over_tls_port=net.sdk_tls_port,
        sdk_server_status=True,
        sdk_over_tls_server_status=True,
        support_mailbox=True,
        support_ezviz_unbind=True if unbindable else None,
        ezviz_bind_status=hc.bound if unbindable else None,
        sadp_version=SADP_VERSION,
    )


class SadpResponder:
    """SADP requests in, reply datagrams out; device rules do all the deciding."""

    # Exchanged randoms kept per (device MAC, client IP); spoofed floods stay bounded.
    MAX_SESSIONS = 1024

    def __init__(
        self,
        fleet: Fleet,
        clock: Clock,
        on_network_change: Callable[[Device], None] | None = None,
        *,
        on_exchange: ExchangeHook | None = None,
        new_random: Callable[[], str] = sadp_crypto.new_random,
        rng: random.Random | None = None,
    ) -> None:
        self.fleet = fleet
        self.clock = clock
        self.on_network_change = on_network_change
        self.on_exchange = on_exchange
        self.rng = rng or random.Random()  # decides which replies a drop fault loses
        self._new_random = new_random
        self._randoms: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._actions: dict[ProbeType, Callable[[Device, Probe, str], bytes]] = {
            ProbeType.EXCHANGE_CODE: self._exchange_code,
            ProbeType.ACTIVATE: self._activate,
            ProbeType.UPDATE: self._update,
            ProbeType.SET_HC_PLATFORM: self._set_hc_platform,
            ProbeType.SET_VERIFICATION_CODE: self._set_verification_code,
            ProbeType.GET_UNBIND_STATUS: self._get_unbind_status,
            ProbeType.EZVIZ_UNBIND: self._ezviz_unbind,
        }

    def devices(self) -> list[Device]:
        """The devices that answer SADP: running (not mid-reboot) Hikvision ones."""
        return [d for d in self.fleet if _answers_sadp(d)]

    def handle(self, datagram: bytes, peer: tuple[str, int]) -> list[bytes]:
        """The reply datagrams, as the devices mean them (faults aside: see `respond`)."""
        return [reply for _device, reply in self._answer(datagram, peer)]

    def respond(self, datagram: bytes, peer: tuple[str, int]) -> Iterator[DiscoveryReply]:
        """The replies as they go out: each device's faults drop, delay or spoil its own."""
        return (
            shaped
            for device, reply in self._answer(datagram, peer)
            if (shaped := shape_reply(reply, device.faults, self.rng)) is not None
        )

    def _answer(self, datagram: bytes, peer: tuple[str, int]) -> Iterator[tuple[Device, bytes]]:
        try:
            probe = decode_probe(datagram)
        except SadpDecodeError:
            return iter(())
        client = peer[0]
        if probe.types.is_inquiry:
            devices, now = self.devices(), self.clock.now()
            self._report(None, client, probe.types, f"{len(devices)} devices")
            # Each reply is written as it is sent (udp paces them), not all before the first.
            return ((d, self._device_match(d, probe, client, now)) for d in devices)
        device = self.fleet.by_mac(probe.mac or "")
        if device is None or not _answers_sadp(device):
            return iter(())
        needed = _REQUIRED_CAPABILITY.get(probe.types)
        if needed and not device.can(needed):
            return iter(())
        reply = self._actions[probe.types](device, probe, client)
        if self.on_exchange is not None:
            self._report(device, client, probe.types, decode_probe_match(reply).result or "")
        return iter([(device, reply)])

    def _report(self, device: Device | None, client: str, request: str, reply: str) -> None:
        if self.on_exchange is not None:
            self.on_exchange(device, "sadp", client, request, reply)

    # --- replies ------------------------------------------------------------

    def _device_match(
        self, device: Device, probe: Probe, client: str, now: float, result: str | None = None
    ) -> bytes:
        info = device_info(device, client, now)
        return build_device_match(
            probe.uuid, probe.types, info, flase=device.quirks.flase, result=result
        )

    @staticmethod
    def _reply(
        probe: Probe,
        result: Result,
        *,
        code: str | None = None,
        retry_times: int | None = None,
        surplus_lock_time: int | None = None,
    ) -> bytes:
        return build_result(
            probe.uuid,
            probe.types,
            result,
            code=code,
            retry_times=retry_times,
            surplus_lock_time=surplus_lock_time,
        )

    def _refused(self, probe: Probe, login: LoginOutcome) -> bytes:
        """The reply to a password that was not accepted, with the lockout feedback."""
        if login.result is LoginResult.NOT_ACTIVATED:
            return self._reply(probe, Result.NOT_ACTIVATED)
        if login.result is LoginResult.LOCKED:
            return self._reply(
                probe, Result.LOCKED, retry_times=0, surplus_lock_time=login.unlock_in_minutes
            )
        return self._reply(probe, Result.PASSWORD_ERROR, retry_times=login.retries_left)

    # --- passwords ------------------------------------------------------------

    def _remember(self, device: Device, client: str, random: str) -> None:
        key = (device.mac, client)
        self._randoms.pop(key, None)
        self._randoms[key] = random
        while len(self._randoms) > self.MAX_SESSIONS:
            self._randoms.popitem(last=False)

    def _client_password(self, device: Device, probe: Probe, client: str) -> str | None:
        """The password the client meant: decrypted when a random was exchanged, else as sent.

        None when it does not decrypt with the exchanged random.
        """
        sent = probe.password or ""
        random = self._randoms.get((device.mac, client))
        if random is None:
            return sent
        try:
            return sadp_crypto.decrypt_password(random, sent)
        except sadp_crypto.SadpCryptoError:
            return None

    def _proof(self, device: Device, probe: Probe, client: str) -> Proof:
        password = self._client_password(device, probe, client)
        return plain(password) if password is not None else _never

    @staticmethod
    def _update_proof(device: Device, probe: Probe) -> Proof:
        sent = probe.password or ""
        if probe.password_salted:
            return lambda true: sadp_crypto.same_proof(
                sent, sadp_crypto.salted_password(true, device.salt, device.admin_user)
            )
        return lambda true: (
            sent == true or sadp_crypto.same_proof(sent, sadp_crypto.legacy_password(true))
        )

    # --- actions -------------------------------------------------------------

    def _exchange_code(self, device: Device, probe: Probe, client: str) -> bytes:
        random = self._new_random()
        try:
            code = sadp_crypto.encrypt_random(probe.code or "", random)
        except sadp_crypto.SadpCryptoError:
            return self._reply(probe, Result.FAILED)
        self._remember(device, client, random)
        return self._reply(probe, Result.SUCCESS, code=code)

    def _activate(self, device: Device, probe: Probe, client: str) -> bytes:
        if device.activated:
            return self._reply(probe, Result.HAS_ACTIVATED)
        password = self._client_password(device, probe, client)
        if password is None:
            return self._reply(probe, Result.FAILED)
        return self._reply(probe, _ACTIVATION_RESULTS[device.activate(password)])

    def _update(self, device: Device, probe: Probe, client: str) -> bytes:
        now = self.clock.now()
        login = device.login(client, self._update_proof(device, probe), now)
        if not login.granted:
            return self._refused(probe, login)
        try:
            network = updated_network(
                device.network,
                probe.network or NetworkParams(),
                in_use={d.network.address.ip for d in self.fleet if d is not device},
            )
        except ValueError:
            return self._reply(probe, Result.FAILED)
        device.network = network
        if self.on_network_change is not None:
            self.on_network_change(device)
        return self._device_match(device, probe, client, now, result=Result.SUCCESS)

    def _set_hc_platform(self, device: Device, probe: Probe, client: str) -> bytes:
        login = device.login(client, self._proof(device, probe, client), self.clock.now())
        if not login.granted:
            return self._refused(probe, login)
        device.hik_connect.enabled = bool(probe.hc_platform_enable)
        return self._reply(probe, Result.SUCCESS)

    def _set_verification_code(self, device: Device, probe: Probe, client: str) -> bytes:
        login = device.login(client, self._proof(device, probe, client), self.clock.now())
        if not login.granted:
            return self._refused(probe, login)
        code = probe.verification_code or ""
        if not is_valid_verification_code(code):
            return self._reply(probe, Result.ILLEGAL_VERIFICATION_CODE)
        device.hik_connect.verification_code = code
        return self._reply(probe, Result.SUCCESS)

    def _get_unbind_status(self, device: Device, probe: Probe, client: str) -> bytes:
        return self._reply(probe, _UNBIND_RESULTS[unbind_status(device)])

    def _ezviz_unbind(self, device: Device, probe: Probe, client: str) -> bytes:
        outcome = unbind(
            device, client=client, proof=self._proof(device, probe, client), now=self.clock.now()
        )
        if outcome.login is not None and not outcome.login.granted:
            return self._refused(probe, outcome.login)
        return self._reply(probe, _UNBIND_RESULTS[outcome.verdict])


def _answers_sadp(device: Device) -> bool:
    return isinstance(device, HikvisionDevice) and device.can("sadp") and device.powered


def _never(_password: str) -> bool:
    return False


def updated_network(current: Network, params: NetworkParams, in_use: set[IPv4Address]) -> Network:
    """`current` with the fields `update` sent; ValueError when any of them is unusable."""
    ip = IPv4Address(params.ipv4_address) if params.ipv4_address is not None else current.address.ip
    mask = params.ipv4_subnet_mask if params.ipv4_subnet_mask is not None else current.netmask
    address = IPv4Interface(f"{ip}/{_prefix_of(mask)}")
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        raise ValueError(f"{ip} cannot be a device address")
    if address.network.prefixlen > 30 or ip in (
        address.network.network_address,
        address.network.broadcast_address,
    ):
        raise ValueError(f"{address} is not a host address")
    if ip in in_use:
        raise ValueError(f"{ip} is in use by another device")
    gateway = (
        IPv4Address(params.ipv4_gateway) if params.ipv4_gateway is not None else current.gateway
    )
    if gateway not in address.network or gateway == ip:
        raise ValueError(f"gateway {gateway} is not another host of {address.network}")
    return dataclasses.replace(
        current,
        address=address,
        gateway=gateway,
        dhcp=parse_bool(params.dhcp) if params.dhcp is not None else current.dhcp,
        ipv6_address=_ipv6(params.ipv6_address, current.ipv6_address),
        ipv6_gateway=_ipv6(params.ipv6_gateway, current.ipv6_gateway),
        ipv6_prefix=_number(params.ipv6_mask_len, current.ipv6_prefix, 0, 128),
        command_port=_number(params.command_port, current.command_port, 1, 65535),
        http_port=_number(params.http_port, current.http_port, 1, 65535),
        sdk_tls_port=_number(params.sdk_over_tls_port, current.sdk_tls_port, 1, 65535),
    )


def _prefix_of(mask: str) -> int:
    """The prefix length of a dotted netmask; contiguous ones only, /1 to /32."""
    bits = int(IPv4Address(mask))
    host_bits = ~bits & 0xFFFFFFFF
    if bits == 0 or host_bits & (host_bits + 1):
        raise ValueError(f"not a netmask: {mask}")
    return 32 - host_bits.bit_length()


def _ipv6(text: str | None, current: str) -> str:
    return current if text is None else str(IPv6Address(text))


def _number(text: str | None, current: int, low: int, high: int) -> int:
    if text is None:
        return current
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ValueError(f"not a number from {low} to {high}: {text!r}")
    return int(text)


# --- transport -----------------------------------------------------------------


async def serve_sadp(
    responder: SadpResponder,
    host: str = "127.0.0.1",
    port: int = SADP_PORT,
    *,
    multicast_interface: str | None = None,
) -> DiscoveryServer:
    """Serve SADP on host:port; with `multicast_interface` (a local IPv4 address)
    also join 239.255.255.250 there, which needs host "0.0.0.0"."""
    return await serve_discovery(
        "SADP",
        responder.respond,
        host,
        port,
        multicast_group=MULTICAST_GROUP,
        interface=multicast_interface,
    )


# --- discover client ----------------------------------------------------------------


async def discover_sadp(
    target: str = MULTICAST_GROUP,
    port: int = SADP_PORT,
    timeout: float = 2.0,
    interface: str | None = None,
    *,
    limit: int | None = None,
) -> list[dict[str, str]]:
    """Send one inquiry and collect ProbeMatch replies until `timeout` (or `limit` devices).

    Each result is the reply's fields by tag, plus `peer` ("ip:port" it came from);
    one per MAC. `interface` (a local IPv4 address) picks the multicast interface.
    """
    inquiry_id = str(uuid_module.uuid4()).upper()

    def read(reply: Reply) -> tuple[str, dict[str, str]] | None:
        data, addr = reply
        try:
            match = decode_probe_match(data)
            mac = parse_mac(match.fields.get("MAC", ""))
        except SadpDecodeError:
            return None
        if match.uuid.upper() != inquiry_id:  # the echoed Uuid: an answer to this inquiry
            return None
        return mac, match.fields | {"peer": f"{addr[0]}:{addr[1]}"}

    inquiry = build_inquiry(inquiry_id)
    return await ask(inquiry, target, port, timeout, interface, read=read, limit=limit)


_TABLE_COLUMNS = (
    ("IPv4 Address", "IPv4Address"),
    ("Port", "CommandPort"),
    ("HTTP", "HttpPort"),
    ("MAC", "MAC"),
    ("Model", "DeviceDescription"),
    ("Serial", "DeviceSN"),
    ("Firmware", "SoftwareVersion"),
    ("Activated", "Activated"),
    ("Hik-Connect", "HCPlatformEnable"),
    ("Bound", "EZVIZBindStatus"),
)
_BOOLEAN_TAGS = {"Activated", "HCPlatformEnable", "EZVIZBindStatus"}


def format_sadp_table(results: list[dict[str, str]]) -> str:
    """Discover results as an aligned text table, sorted by address."""
    if not results:
        return "No SADP device answered."

    def cell(result: dict[str, str], tag: str) -> str:
        value = result.get(tag, "-")
        if tag in _BOOLEAN_TAGS and value != "-":
            try:
                return "yes" if parse_bool(value) else "no"
            except SadpDecodeError:
                return value
        return value

    def address_key(result: dict[str, str]) -> tuple[int, str]:
        try:
            return (int(IPv4Address(result.get("IPv4Address", ""))), "")
        except ValueError:
            return (1 << 32, result.get("IPv4Address", ""))

    rows = [[title for title, _ in _TABLE_COLUMNS]]
    rows += [[cell(r, tag) for _, tag in _TABLE_COLUMNS] for r in sorted(results, key=address_key)]
    return text_table(rows, rule=True)
