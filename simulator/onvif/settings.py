"""How a device speaks ONVIF, the protocol family every vendor's devices mount: its
settings (a section of the device), their fixture schema, and the vendor's stream paths."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from simulator.core.plugin import Section


@dataclass
class Onvif:
    """How the device speaks ONVIF (WS-Discovery and the device/media services)."""

    discoverable: bool = True  # non-discoverable devices neither answer probes nor announce
    clock_skew: float = 0.0  # seconds the device clock runs ahead (negative: behind)
    location: str = "city/hangzhou"  # the path after onvif://www.onvif.org/location/
    extra_scopes: tuple[str, ...] = ()
    hardware_id: str = "88"
    # "time": only GetSystemDateAndTime without credentials, as most firmware does;
    # "spec": ONVIF's whole PRE_AUTH class (GetServices, GetCapabilities, …).
    pre_auth: str = "time"
    password_text: bool = False  # accept #PasswordText tokens as well as digests
    freshness: float = 300.0  # seconds a token's Created may differ from the device clock


@dataclass(kw_only=True)
class OnvifDevice:
    """What a vendor's device class adds to speak ONVIF."""

    manufacturer: ClassVar[str] = ""  # as GetDeviceInformation names it
    onvif: Onvif = field(default_factory=Onvif)

    def main_stream_path(self, channel: int) -> str:
        """The RTSP path of channel `channel`'s main stream; vendors have their own."""
        return f"/stream{channel}"


class OnvifSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    discoverable: bool = True
    clock_skew: Annotated[float, Strict(False)] = 0.0
    location: str = "city/hangzhou"
    extra_scopes: list[str] = Field(default_factory=list)
    hardware_id: str = "88"
    pre_auth: Literal["time", "spec"] = "time"
    password_text: bool = False
    freshness: Annotated[float, Field(gt=0), Strict(False)] = 300.0

    @field_validator("extra_scopes")
    @classmethod
    def _scopes_are_uris(cls, scopes: list[str] | None) -> list[str] | None:
        for scope in scopes or ():
            if not scope or any(c.isspace() for c in scope) or ":" not in scope:
                raise ValueError(f"a scope is a URI without spaces: {scope!r}")
        return scopes


ONVIF = Section(
    "onvif",
    OnvifSpec,
    OnvifSpec,
    build=lambda spec, _ctx: Onvif(
        **(spec.model_dump() | {"extra_scopes": tuple(spec.extra_scopes)})
    ),
    entry=lambda onvif: asdict(onvif) | {"extra_scopes": list(onvif.extra_scopes)},
    changeable=False,
)
