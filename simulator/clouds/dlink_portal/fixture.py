"""The portal's starting state from TOML: policy, resellers, the codes they sold, demo accounts.

```toml
[portal]
code_validity_days = 90
pending_days = 2

[[reseller]]
name = "Demo Distribution"
key = "demo-reseller-key"       # the X-Reseller-Key of the JSON API

[[code]]
code = "DAS-0001-0002-0003"
reseller = "demo-reseller-key"
model = "DCS-2132LB1"
serial = "QBTL2A5000123"
service = "D-Link Assist Next Business Day"
years = 3
sold_days_ago = 10              # or sold_on = 2026-01-15

[[account]]
email = "demo@example.com"
password = "Demo12345"
name = "Demo"
company = "Demo SARL"
street = "1 rue de la Paix"
postcode = "75002"
city = "Paris"
country = "France"
```
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nvrsim.simulator.clouds.dlink_portal.rules import Address, Policy, Portal, PortalError
from nvrsim.simulator.core.fixture import FixtureError, read_toml


class PortalFixtureError(FixtureError):
    """A portal fixture problem; `nvrsim run` reports it like a fleet fixture's."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PolicySpec(_Strict):
    code_validity_days: Annotated[int, Field(ge=1)] = 90
    pending_days: Annotated[float, Field(ge=0)] = 2
    min_password_length: Annotated[int, Field(ge=1)] = 8


class ResellerSpec(_Strict):
    name: str
    key: Annotated[str, Field(min_length=8)]


class CodeSpec(_Strict):
    code: str
    reseller: str  # the reseller's key
    model: str
    serial: str
    service: str = "D-Link Assist Next Business Day"
    years: Annotated[int, Field(ge=1, le=10)] = 1
    sold_on: date | None = None
    sold_days_ago: Annotated[int, Field(ge=0)] | None = None


class AccountSpec(_Strict):
    email: str
    password: str
    name: str
    company: str = ""
    street: str
    postcode: str
    city: str
    country: str


class PortalFile(_Strict):
    portal: PolicySpec = Field(default_factory=PolicySpec)
    reseller: list[ResellerSpec] = Field(default_factory=list)
    code: list[CodeSpec] = Field(default_factory=list)
    account: list[AccountSpec] = Field(default_factory=list)


def default_portal_fixture() -> Path:
    return Path(str(resources.files("nvrsim.fixtures") / "dlink_portal.toml"))


def load_portal(path: str | Path | None = None, *, now: float) -> Portal:
    path = Path(path) if path is not None else default_portal_fixture()
    return build_portal(read_toml(path), now=now, source=str(path))


def build_portal(raw: dict, *, now: float, source: str = "<portal>") -> Portal:
    try:
        spec = PortalFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PortalFixtureError(f"{source}: {where}: {first['msg']}") from None
    p = spec.portal
    portal = Portal(Policy(p.code_validity_days, p.pending_days, p.min_password_length))
    portal.resellers = {r.key: r.name for r in spec.reseller}
    today = datetime.fromtimestamp(now, tz=UTC).date()
    try:
        for c in spec.code:
            if (c.sold_on is None) == (c.sold_days_ago is None):
                raise PortalFixtureError(f"{source}: code {c.code}: give sold_on or sold_days_ago")
            sold_on = c.sold_on or today - timedelta(days=c.sold_days_ago or 0)
            portal.issue_code(
                c.reseller,
                model=c.model,
                serial=c.serial,
                service=c.service,
                years=c.years,
                sold_on=sold_on,
                code=c.code.upper(),
            )
        for a in spec.account:
            portal.sign_up(
                a.email,
                a.password,
                a.name,
                a.company,
                Address(a.street, a.postcode, a.city, a.country),
            )
    except PortalError as exc:
        raise PortalFixtureError(f"{source}: {exc}") from None
    return portal
