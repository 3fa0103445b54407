"""ONVIF for every simulated device: what it says about itself, and its pure SOAP responder.

`OnvifResponder.handle(service, body, client)` is pure (no sockets; time only
from the clock): it decodes one SOAP request, checks WS-Security through
`simulator.onvif.wsse` and the device's one login rule, and returns the HTTP status
and SOAP document. `simulator.onvif.http` serves it; `simulator.onvif.wsd` announces
the same facts (`discovery_target`) over WS-Discovery.

Choices where docs/protocols/onvif-dlink.md is silent or says [I]:
- Which operations need credentials is per device (`onvif.pre_auth`): "time"
  (default) leaves only GetSystemDateAndTime open, as most firmware does;
  "spec" opens ONVIF's whole PRE_AUTH class. Credentials sent to an open
  operation are ignored, never counted.
- Every fault is sent with HTTP 400, NotAuthorized included (ONVIF's rule when
  only UsernameToken is offered); 500 is kept for a simulator bug, so a test
  can tell one from the other. A device not activated, a locked client and a
  wrong password all get the same NotAuthorized, as real devices tell nothing.
- One H.264 main-stream profile per video channel (`Profile_<n>`), with the size,
  frame rate, bitrate and GOP its device class describes (onvif/settings.py).
  Stream URIs follow the vendor's RTSP path (Hikvision: /Streaming/Channels/<n>01);
  snapshots (the video's test card, at the main stream's size) are served at
  /onvif/snapshot?Profile_<n> beside the SOAP services, behind the ISAPI-style
  HTTP Digest login.
- Scopes: type/video_encoder, Profile/Streaming, name (manufacturer and model),
  hardware (model), MAC (colon separated, lower case) and location (per
  device, default city/hangzhou), all Fixed, then the fixture's extra scopes.
- GetServices with IncludeCapability carries each service's capabilities, the
  same documents GetServiceCapabilities answers: what the simulator does (no
  NTP, no IPv6, UsernameToken and Digest, Resolve and Bye; one profile per
  channel, snapshots, RTSP over TCP, no multicast).
- Media2 and imaging are listed on every device, PTZ only where the model has a
  head (simulator/onvif/ptz.py, imaging.py and media.py hold their operations).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from nvrsim.protocols import (
    onvif,
    onvif_events,
    onvif_imaging,
    onvif_media,
    onvif_ptz,
    wsdiscovery,
)
from nvrsim.protocols.onvif import Fault, SoapRequest
from nvrsim.simulator.core.auth import LoginResult
from nvrsim.simulator.core.clock import Clock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.onvif.device_mgmt import DEVICE_MANAGEMENT
from nvrsim.simulator.onvif.wsse import UsernameTokenChecker
from nvrsim.simulator.runtime.http_auth import Attempt

Service = Literal["device", "media", "media2", "ptz", "imaging"]
DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
EVENTS_PATH = "/onvif/events_service"  # simulator.onvif.events
MEDIA2_PATH = "/onvif/media2_service"
PTZ_PATH = "/onvif/ptz_service"
IMAGING_PATH = "/onvif/imaging_service"
SNAPSHOT_PATH = "/onvif/snapshot"

ONVIF_SCOPE = "onvif://www.onvif.org"
TYPES = (wsdiscovery.NETWORK_VIDEO_TRANSMITTER, wsdiscovery.ONVIF_DEVICE)

# ONVIF Core's PRE_AUTH access class: callable without credentials by the spec.
SPEC_PRE_AUTH = frozenset(
    {
        "GetSystemDateAndTime",
        "GetServices",
        "GetServiceCapabilities",
        "GetCapabilities",
        "GetWsdlUrl",
        "GetHostname",
        "GetEndpointReference",
    }
)


# --- what a device says about itself -------------------------------------------------------


def manufacturer(device: Device) -> str:
    return device.manufacturer or device.vendor


def base_url(device: Device) -> str:
    return f"http://{device.network.ip}:{device.network.http_port}"


def scopes(device: Device) -> list[str]:
    name = quote(f"{manufacturer(device)} {device.model}")
    fixed = [
        "type/video_encoder",
        "Profile/Streaming",
        f"name/{name}",
        f"hardware/{quote(device.model)}",
        f"MAC/{device.mac}",
        f"location/{device.onvif.location}",
    ]
    return [f"{ONVIF_SCOPE}/{s}" for s in fixed] + list(device.onvif.extra_scopes)


def discovery_target(device: Device) -> wsdiscovery.Target:
    return wsdiscovery.Target(
        address=f"urn:uuid:{device.uuid}",
        types=TYPES,
        scopes=tuple(scopes(device)),
        xaddrs=(base_url(device) + DEVICE_PATH,),
    )


def device_clock(device: Device, clock: Clock) -> float:
    """The device's own idea of now: the simulation clock, its skew and the time set on it."""
    return device.local_now(clock.now())


def hostname(device: Device) -> str:
    """An RFC 1123 label from the fixture's name for the device."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", device.label or device.model).strip("-")
    return label[:63] or "IPCamera"


def media_profiles(device: Device) -> list[onvif.MediaProfile]:
    main = device.main_stream  # what its RTSP main stream carries
    head = device.ptz  # on the first video source
    ptz_configuration = (
        onvif_ptz.configuration(
            "tt:PTZConfiguration", onvif_ptz.Node(head.node.zoom, head.node.max_presets)
        )
        if head is not None
        else None
    )
    return [
        onvif.MediaProfile(
            token=f"Profile_{n}",
            name=f"mainStream{n}" if device.channels > 1 else "mainStream",
            source_token=f"VideoSource_{n}",
            encoder_token=f"VideoEncoder_{n}",
            width=main.width,
            height=main.height,
            frame_rate=main.fps,
            bitrate=main.bitrate_kbps,
            gov_length=main.gop,
            h264_profile=main.profile,
            ptz_configuration=ptz_configuration if n == 1 else None,
        )
        for n in range(1, max(1, device.channels) + 1)
    ]


def stream_uri(device: Device, channel: int) -> str:
    path = device.main_stream_path(channel)
    return f"rtsp://{device.network.ip}:{device.network.rtsp_port}{path}"


def snapshot_uri(device: Device, profile: str) -> str:
    return f"{base_url(device)}{SNAPSHOT_PATH}?{quote(profile)}"


def profile_channel(device: Device, token: str | None) -> int | None:
    """The channel a profile token names, or None when the device has no such profile."""
    tokens = {p.token: n for n, p in enumerate(media_profiles(device), 1)}
    return tokens.get((token or "").strip())


# --- the responder ------------------------------------------------------------------------


class OnvifFault(Exception):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


@dataclass(frozen=True)
class SoapReply:
    status: int
    body: bytes


Handler = Callable[[Device, SoapRequest, float], str]


class OnvifResponder:
    """SOAP requests for one device in, SOAP documents out; the device's rules decide."""

    def __init__(self, device: Device, clock: Clock) -> None:
        self.device = device
        self.clock = clock
        self.tokens = UsernameTokenChecker(
            device.onvif.freshness, password_text=device.onvif.password_text
        )
        self._operations: dict[Service, dict[str, Handler]] = {
            "device": {
                "GetSystemDateAndTime": _system_date_and_time,
                "GetServices": _services,
                "GetServiceCapabilities": _device_service_capabilities,
                "GetCapabilities": _capabilities,
                "GetDeviceInformation": _device_information,
                "GetNetworkInterfaces": _network_interfaces,
                "GetScopes": _scopes,
                "GetHostname": _hostname,
                **DEVICE_MANAGEMENT,
            },
            "media": {
                "GetServiceCapabilities": _media_service_capabilities,
                "GetProfiles": _profiles,
                "GetStreamUri": _stream_uri,
                "GetSnapshotUri": _snapshot_uri,
            },
        }
        # PTZ, imaging and the media breadth build on this module (OnvifFault, profiles).
        from nvrsim.simulator.onvif import imaging, media, ptz

        self._operations["media"] |= media.OPERATIONS
        self._operations |= {
            "media2": media.MEDIA2_OPERATIONS,
            "ptz": ptz.OPERATIONS,
            "imaging": imaging.OPERATIONS,
        }

    def open_operations(self) -> frozenset[str]:
        if self.device.onvif.pre_auth == "spec":
            return SPEC_PRE_AUTH
        return frozenset({"GetSystemDateAndTime"})

    def handle(self, service: Service, body: bytes, client: str) -> SoapReply:
        try:
            request = onvif.decode_request(body)
            handler = self._operations[service].get(request.operation)
            if handler is None:
                raise OnvifFault(onvif.ACTION_NOT_SUPPORTED)
            device_now = device_clock(self.device, self.clock)
            self.authorize(request, client)
            return SoapReply(200, onvif.envelope(handler(self.device, request, device_now)))
        except onvif.OnvifDecodeError as exc:
            return SoapReply(400, onvif.fault(exc.fault))
        except OnvifFault as exc:
            return SoapReply(400, onvif.fault(exc.fault))

    def authorize(self, request: SoapRequest, client: str) -> None:
        """Raise OnvifFault(NotAuthorized) unless the operation is open or the request's
        token passes the device's login rule (every ONVIF service asks this)."""
        if request.operation not in self.open_operations():
            self._authenticate(request, client, device_clock(self.device, self.clock))

    def _authenticate(self, request: SoapRequest, client: str, device_now: float) -> None:
        examined = self.tokens.examine(request.token, device_now)
        if not isinstance(examined, Attempt):
            raise OnvifFault(onvif.NOT_AUTHORIZED)  # refused unseen: nothing counted
        outcome = self.device.login(client, examined.proof, self.clock.now(), user=examined.user)
        if outcome.result is not LoginResult.OK:
            raise OnvifFault(onvif.NOT_AUTHORIZED)


# --- operations -----------------------------------------------------------------------------


def _system_date_and_time(device: Device, _request: SoapRequest, now: float) -> str:
    utc = datetime.fromtimestamp(int(now), UTC)
    return onvif.system_date_and_time_response(utc, date_time_type=device.time_mode)


def _services(device: Device, request: SoapRequest, _now: float) -> str:
    include = (request.params.child_text("IncludeCapability") or "").strip() in ("true", "1")
    return onvif.services_response(
        [
            onvif.Service(
                onvif.TDS,
                base_url(device) + DEVICE_PATH,
                2,
                60,
                onvif.device_service_capabilities(),
            ),
            onvif.Service(
                onvif.TRT,
                base_url(device) + MEDIA_PATH,
                2,
                60,
                onvif.media_service_capabilities(len(media_profiles(device))),
            ),
            onvif.Service(
                onvif_events.TEV,
                base_url(device) + EVENTS_PATH,
                2,
                60,
                onvif_events.service_capabilities(),
            ),
            *_more_services(device),
        ],
        include_capability=include,
    )


def _more_services(device: Device) -> list[onvif.Service]:
    """Media2 and imaging on every device; PTZ where the model has a head."""
    base = base_url(device)
    services = [
        onvif.Service(
            onvif_media.TR2,
            base + MEDIA2_PATH,
            2,
            60,
            onvif_media.media2_service_capabilities(len(media_profiles(device))),
        ),
        onvif.Service(
            onvif_imaging.TIMG, base + IMAGING_PATH, 2, 60, onvif_imaging.service_capabilities()
        ),
    ]
    if device.ptz is not None:
        services.append(
            onvif.Service(onvif_ptz.TPTZ, base + PTZ_PATH, 2, 60, onvif_ptz.service_capabilities())
        )
    return services


def _device_service_capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif.service_capabilities_response("tds", onvif.device_service_capabilities())


def _media_service_capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    capabilities = onvif.media_service_capabilities(len(media_profiles(device)))
    return onvif.service_capabilities_response("trt", capabilities)


def _capabilities(device: Device, _request: SoapRequest, _now: float) -> str:
    base = base_url(device)
    return onvif.capabilities_response(
        base + DEVICE_PATH,
        base + MEDIA_PATH,
        events_xaddr=base + EVENTS_PATH,
        imaging_xaddr=base + IMAGING_PATH,
        ptz_xaddr=base + PTZ_PATH if device.ptz is not None else None,
    )


def _device_information(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif.device_information_response(
        onvif.DeviceInformation(
            manufacturer=manufacturer(device),
            model=device.model,
            firmware_version=device.firmware.text,
            serial_number=device.serial,
            hardware_id=device.onvif.hardware_id,
        )
    )


def _network_interfaces(device: Device, _request: SoapRequest, _now: float) -> str:
    net = device.network
    return onvif.network_interfaces_response(
        onvif.NetworkInterface(
            token="eth0",
            name="eth0",
            mac=device.mac,
            address=net.ip,
            prefix_length=net.address.network.prefixlen,
            dhcp=net.dhcp,
        )
    )


def _scopes(device: Device, _request: SoapRequest, _now: float) -> str:
    items = scopes(device)
    extra = len(device.onvif.extra_scopes)
    fixed = len(items) - extra
    return onvif.scopes_response(
        [("Fixed" if i < fixed else "Configurable", item) for i, item in enumerate(items)]
    )


def _hostname(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif.hostname_response(hostname(device), from_dhcp=device.network.dhcp)


def _profiles(device: Device, _request: SoapRequest, _now: float) -> str:
    return onvif.profiles_response(media_profiles(device))


def _channel(device: Device, request: SoapRequest) -> int:
    channel = profile_channel(device, request.params.child_text("ProfileToken"))
    if channel is None:
        raise OnvifFault(onvif.NO_PROFILE)
    return channel


def _stream_uri(device: Device, request: SoapRequest, _now: float) -> str:
    return onvif.stream_uri_response(stream_uri(device, _channel(device, request)))


def _snapshot_uri(device: Device, request: SoapRequest, _now: float) -> str:
    channel = _channel(device, request)
    return onvif.snapshot_uri_response(snapshot_uri(device, f"Profile_{channel}"))
