"""A fourth vendor is one record: registered from outside the package tree (here, from the
tests), it joins fleets, the control API, --state and the ready file, with no change to
core, runtime, control or cli."""

import json

import aiohttp
import pytest

from nvrsim.simulator import vendors
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.runtime.fixtures import build_fleet
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from nvrsim.simulator.runtime.state import device_entry
from tests.conftest import PASSWORD, hik_entry
from tests.plugins.acme_vendor import ACME, AcmeDevice

ROCKET = {
    "name": "rocket",
    "vendor": "acme",
    "kind": "ipc",
    "model": "AC-1",
    "firmware": "V1.0.0 build 250101",
    "admin_password": PASSWORD,
    "ports": {"http": 0, "rtsp": 0},
    "acme_cloud": {"account": "wile@example.com"},
}


@pytest.fixture
def acme():
    vendors.register(ACME)
    yield ACME
    vendors.unregister(ACME.name)


def test_unknown_until_registered():
    with pytest.raises(FixtureError, match=r"device 'rocket' \(entry 1\): vendor: "):
        build_fleet({"device": [ROCKET]}, source="f.toml")


def test_its_section_is_validated_and_belongs_to_it(acme):
    bad = ROCKET | {"acme_cloud": {"tier": 3}}
    with pytest.raises(FixtureError, match=r"'rocket' \(entry 1\): acme_cloud.tier: "):
        build_fleet({"device": [bad]}, source="f.toml")
    with pytest.raises(FixtureError, match="acme_cloud: only Acme devices have it"):
        build_fleet({"device": [hik_entry("nvr", acme_cloud={})]}, source="f.toml")
    with pytest.raises(ValueError, match="already registered"):
        vendors.register(ACME)


async def test_it_joins_the_fleet_control_api_state_and_ready_file(acme, clock, tmp_path):
    fleet = build_fleet(
        {"device": [ROCKET, hik_entry("nvr", ports={"http": 0, "rtsp": 0})]}, now=clock.now()
    )
    rocket = fleet.find("rocket")
    assert isinstance(rocket, AcmeDevice) and rocket.acme_cloud.account == "wile@example.com"
    again = build_fleet({"device": [device_entry(rocket)]}).devices[0]  # --state's round trip
    assert device_entry(again) == device_entry(rocket)

    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0)
    async with Simulator(fleet, clock, config) as sim, aiohttp.ClientSession() as http:
        sim.write_ready_file(tmp_path / "ready.json")
        ready = json.loads((tmp_path / "ready.json").read_text())
        described = next(d for d in ready["devices"] if d["name"] == "rocket")
        assert described["vendor"] == "acme"
        assert described["acme_cloud"] == {"account": "wile@example.com", "tier": "basic"}

        web = f"http://{rocket.network.ip}:{rocket.network.http_port}"
        async with http.get(f"{web}/acme/hello") as reply:
            assert await reply.json() == {"serial": rocket.serial, "tier": "basic"}

        control = sim.services["control"]
        api = f"http://{control.host}:{control.port}/api"
        async with http.get(f"{api}/devices/rocket") as reply:
            state = await reply.json()
        assert state["acme_cloud"]["account"] == "wile@example.com"
        assert state["cloud"] == {
            "name": "Acme",
            "state": "linked",
            "online": True,
            "bound_account": "wile@example.com",
        }
        patch = {"acme_cloud": {"tier": "gold", "account": None}}
        async with http.patch(f"{api}/devices/rocket", json=patch) as reply:
            assert reply.status == 200
        assert (rocket.acme_cloud.tier, rocket.acme_cloud.account) == ("gold", None)
        async with http.patch(f"{api}/devices/nvr", json=patch) as reply:
            assert (
                reply.status == 400
                and "acme_cloud: only Acme devices have it" in await reply.text()
            )
        added = ROCKET | {"name": "coyote", "acme_cloud": {"tier": "gold"}}
        async with http.post(f"{api}/devices", json=added) as reply:
            assert reply.status == 201
        assert isinstance(sim.fleet.find("coyote"), AcmeDevice)
        async with http.get(f"{api}/openapi.json") as reply:
            schemas = (await reply.json())["components"]["schemas"]
        assert "acme_cloud" in schemas["DeviceSpec"]["properties"]
