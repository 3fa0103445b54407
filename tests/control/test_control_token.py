"""The control API's token and health check, as a container runs them: `--control-host`,
`--control-token` / $NVRSIM_CONTROL_TOKEN, a refusal beyond loopback without a token, and
`GET /api/health` answered without one. Real sockets, loopback only (a token works there
too, which is how these tests exercise it)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from nvrsim.simulator.control.app import control_token, operations, start_control
from nvrsim.simulator.control.schema import openapi
from nvrsim.simulator.core.plugin import ServiceError
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.cli.test_cli import FREE_PORTS, NVRSIM
from tests.conftest import hik_entry, make_fleet, stopped

TOKEN = "s3cret-t0ken"


def _fleet():
    return make_fleet(hik_entry(ports={"http": 0, "rtsp": 0}), address_pool="127.84.0.0/24")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.77.0.9", "::1", "localhost"])
def test_loopback_needs_no_token(host):
    assert control_token(host, None) == ""
    assert control_token(host, TOKEN) == TOKEN


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "nvrsim.example"])
def test_beyond_loopback_a_token_is_required(host):
    with pytest.raises(ServiceError, match=f"will not listen on {host} without a token"):
        control_token(host, None)
    with pytest.raises(ServiceError):
        control_token(host, "")  # an empty $NVRSIM_CONTROL_TOKEN is no token
    assert control_token(host, TOKEN) == TOKEN


async def test_with_a_token_every_route_but_health_wants_it(clock):
    config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, token=TOKEN)
    async with Simulator(_fleet(), clock, config) as sim:
        control = sim.services["control"]
        async with aiohttp.ClientSession(f"http://{control.host}:{control.port}") as api:
            async with api.get("/api/health") as reply:
                assert reply.status == 200
                assert await reply.json() == {"status": "serving", "devices": 1}
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                async with api.get("/api/fleet", headers=headers) as reply:
                    assert reply.status == 401
                    assert reply.content_type == "application/json"
                    assert await reply.json() == {
                        "error": "a token is required: Authorization: Bearer <token>",
                        "detail": [],
                    }
            async with api.delete("/api/devices/nvr") as reply:
                assert reply.status == 401
            assert sim.fleet.find("nvr") is not None  # refused, and nothing changed
            for bearer in (f"Bearer {TOKEN}", f"bearer  {TOKEN}"):  # RFC 7235: any case
                async with api.get("/api/fleet", headers={"Authorization": bearer}) as reply:
                    assert reply.status == 200


async def test_health_is_503_until_every_device_listens_and_once_stopping(clock):
    sim = Simulator(_fleet(), clock, ServiceConfig(control_port=0))
    server = await start_control(sim)  # the control API alone: the devices are not up
    try:
        url = f"http://{server.host}:{server.port}/api/health"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as reply:
                assert reply.status == 503
                assert (await reply.json())["error"].startswith("not serving")
            sim.serving = True
            async with http.get(url) as reply:
                assert reply.status == 200
            await sim.stop()  # says it is stopping first: a health check fails from then on
            async with http.get(url) as reply:
                assert reply.status == 503
    finally:
        await server.close()


def test_the_openapi_document_says_health_needs_no_token():
    document = openapi(operations(), token=True)
    health = document["paths"]["/api/health"]["get"]
    assert health["security"] == []
    assert set(health["responses"]) == {"200", "503"}
    assert "401" in document["paths"]["/api/fleet"]["get"]["responses"]


def test_run_refuses_a_control_api_beyond_loopback_without_a_token():
    env = {k: v for k, v in os.environ.items() if k != "NVRSIM_CONTROL_TOKEN"}
    done = subprocess.run(
        [*NVRSIM, "run", "--control-host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # nothing started, nothing listed
    assert done.stderr.splitlines() == [
        "nvrsim: control API: will not listen on 0.0.0.0 without a token "
        "(give --control-token TOKEN or set NVRSIM_CONTROL_TOKEN)"
    ]


def test_run_as_the_container_runs_it(tmp_path: Path):
    """The token from $NVRSIM_CONTROL_TOKEN, kept out of the banner (the container's log);
    the Hik-Connect cloud on the address --cloud-host names."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[fleet]\naddress_pool = "127.84.1.0/24"\n\n[[device]]\nname = "nvr"\n'
        'vendor = "hikvision"\nkind = "nvr"\nmodel = "DS-7608NI-K2"\n'
        'firmware = "V4.30.085 build 200916"\nports = { http = 0, rtsp = 0 }\n',
        encoding="utf-8",
    )
    ready = tmp_path / "ready.json"
    where = ("--ready-file", str(ready))
    process = subprocess.Popen(
        [*NVRSIM, "run", str(fleet), *FREE_PORTS, *("--cloud-host", "127.0.0.2"), *where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"NVRSIM_CONTROL_TOKEN": TOKEN},
    )
    try:
        banner = []
        for line in process.stdout:  # the test's timeout bounds the wait
            banner.append(line)
            if line.startswith("ready: "):
                break
        services = json.loads(ready.read_text())["services"]
        assert services["hikconnect"]["host"] == "127.0.0.2"
        control = services["control"]
        assert control["token"] == TOKEN  # the ready file is the user's own, to script with
        printed = "".join(banner)
        assert "(token required)" in printed and TOKEN not in printed  # not in `docker logs`
        base = f"http://127.0.0.1:{control['port']}"
        with urllib.request.urlopen(f"{base}/api/health", timeout=10) as reply:
            assert json.load(reply) == {"status": "serving", "devices": 1}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/devices", timeout=10)
        with refused.value as error:  # an HTTPError holds the connection open
            assert error.code == 401
        request = urllib.request.Request(
            f"{base}/api/devices", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert [d["name"] for d in json.load(reply)] == ["nvr"]
    finally:
        _, err = stopped(process)
    assert process.returncode == 0, err
