"""A fourth vendor written outside nvrsim's package tree, as a user's plugin would be:
its device class with a section of its own, the section's fixture schema, its web API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from nvrsim.simulator.core.device import CloudStatus, Device
from nvrsim.simulator.core.firmware import ALL_KINDS, FOREVER, CapabilityRow
from nvrsim.simulator.core.plugin import Section, Vendor
from nvrsim.simulator.core.residents import Residents


@dataclass
class AcmeCloud:
    account: str | None = None
    tier: str = "basic"


class AcmeCloudSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    account: str | None = None
    tier: str = "basic"


@dataclass(kw_only=True)
class AcmeDevice(Device):
    vendor: ClassVar[str] = "acme"
    capability_table: ClassVar = (
        CapabilityRow(ALL_KINDS, (0, 0, 0), FOREVER, frozenset({"acme_http"})),
    )
    acme_cloud: AcmeCloud = field(default_factory=AcmeCloud)

    @property
    def cloud(self) -> CloudStatus:
        account = self.acme_cloud.account
        return CloudStatus("Acme", "linked" if account else "-", account is not None, account)


def acme_app(residents: Residents, _clock, _options, _mounts) -> web.Application:
    """One app for every Acme device; `residents` says which device a request is for."""

    async def hello(request: web.Request) -> web.Response:
        device = residents.find(request)
        assert device is not None  # the simulator refuses requests for a device gone
        return web.json_response({"serial": device.serial, "tier": device.acme_cloud.tier})

    app = web.Application()
    app.router.add_get("/acme/hello", hello)
    return app


ACME = Vendor(
    name="acme",
    title="Acme",
    device=AcmeDevice,
    sections=(
        Section(
            "acme_cloud",
            AcmeCloudSpec,
            AcmeCloudSpec,
            build=lambda spec, _ctx: AcmeCloud(**spec.model_dump()),
            entry=asdict,
            clearable=frozenset({"account"}),
        ),
    ),
    web=acme_app,
    describe=lambda device: {"acme_cloud": asdict(device.acme_cloud)},
)
