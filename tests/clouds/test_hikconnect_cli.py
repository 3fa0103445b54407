"""Seed 001 through `nvrsim run` as a user starts it: the embedded broker and the cloud in
the same process, the app's unbind with the captcha answer read through the control API
(--cloud-test-mode), and the binding changed for SADP and the control API alike."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from nvrsim.protocols import hikconnect as hc
from nvrsim.protocols.sadp import Probe, ProbeType, build_probe
from tests.cli.test_cli import FREE_PORTS

FLEET = """
[fleet]
seed = "hc-cli"
address_pool = "127.84.0.0/24"
client_networks = ["127.0.0.0/8"]

[[device]]
name = "nvr"
vendor = "hikvision"
kind = "nvr"
model = "DS-7608NI-K2"
firmware = "V4.30.085 build 200916"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
hik_connect = { enabled = true, bound_account = "a@example.com", verification_code = "ABCDEF" }
"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _unbind_status(sadp_port: int, mac: str) -> str:
    probe = Probe(str(uuid.uuid4()).upper(), ProbeType.GET_UNBIND_STATUS, mac=mac)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(build_probe(probe), ("127.0.0.1", sadp_port))
        reply = s.recv(4096).decode()
    found = re.search(r"<Result>([^<]*)</Result>", reply)
    assert found, reply
    return found[1]


async def test_seed_001_through_nvrsim_run(tmp_path: Path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET, encoding="utf-8")
    ready = tmp_path / "ready.json"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "nvrsim", "run", str(fleet), *FREE_PORTS),
        *("--cloud-test-mode", "--ready-file", str(ready)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        banner = b""
        async with asyncio.timeout(30):
            assert process.stdout is not None
            while not (line := await process.stdout.readline()).startswith(b"ready: "):
                if not line:
                    pytest.fail(f"nvrsim run did not get ready: {await process.communicate()}")
                banner += line
        assert re.search(rb"^MQTT +mqtt://127\.0\.0\.1:\d+$", banner, re.M)
        assert re.search(rb"^HIKCONNECT +http://127\.0\.0\.1:\d+$", banner, re.M)
        assert re.search(rb"^HIKLINK +mqtt://127\.0\.0\.1:\d+$", banner, re.M)
        described = json.loads(ready.read_text())
        services = described["services"]
        cloud = f"http://127.0.0.1:{services['hikconnect']['port']}"
        control = f"http://127.0.0.1:{services['control']['port']}"
        (nvr,) = described["devices"]
        serial = hc.short_serial(nvr["serial"])
        async with aiohttp.ClientSession() as http:

            async def call(method: str, path: str, session: str = "", **kwargs) -> dict:
                headers = {"sessionId": session} if session else {}
                async with http.request(method, cloud + path, headers=headers, **kwargs) as r:
                    return await r.json()

            form = {"account": "b@example.com", "password": _md5("Secret123")}
            assert (await call("POST", "/v3/users/regist", data=form))["meta"]["code"] == 200
            login = await call("POST", "/v3/users/login/v2", data=form)
            session = login["loginSession"]["sessionId"]
            search = f"/v3/userdevices/v1/devices/search?deviceSerial={serial}"
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while (code := (await call("GET", search, session))["meta"]["code"]) != (
                hc.ADDED_BY_OTHER
            ):  # until the device's link has registered it
                assert code in (hc.OFFLINE_ADDED_BY_OTHER, hc.DEVICE_NOT_EXIST)
                assert loop.time() < deadline, "the device never came online"
                await asyncio.sleep(0.05)
            assert _unbind_status(services["sadp"]["port"], nvr["mac"]) == "success"

            captcha = await call("POST", "/v3/captcha")
            async with http.get(f"{control}/api/cloud/captchas/{captcha['captchaId']}") as r:
                answer = (await r.json())["answer"]
            doc = await call(
                "POST",
                f"/v3/userdevices/v1/devices/{serial}/unbind",
                session,
                data={
                    "userName": "admin",
                    "password": "Demo12345",
                    "captchaId": captcha["captchaId"],
                    "captchaCode": answer,
                },
            )
            assert doc["meta"]["code"] == 200, doc
            assert _unbind_status(services["sadp"]["port"], nvr["mac"]) == "notBind"
            async with http.get(f"{control}/api/devices/nvr") as r:
                state = await r.json()
            assert state["hik_connect"]["bound_account"] is None
            assert state["status"]["cloud_online"] is True
            add = {"deviceSerial": serial, "validateCode": "ABCDEF"}
            doc = await call("POST", "/v3/userdevices/v1/devices/add", session, data=add)
            assert doc["meta"]["code"] == 200
            async with http.get(f"{control}/api/cloud/accounts") as r:
                accounts = {a["name"]: a["devices"] for a in await r.json()}
            assert accounts == {"b@example.com": [serial]}
    finally:
        if process.returncode is None:
            process.terminate()
        _, err = await process.communicate()
    assert b"Traceback" not in err and b"WARNING" not in err, err.decode()


def test_a_broker_that_is_not_a_url_or_not_there_is_one_clear_message(tmp_path: Path):
    import subprocess

    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET, encoding="utf-8")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        for broker, message in (
            ("bogus://x", "argument --broker: not mqtt://host:port: 'bogus://x'"),
            (f"mqtt://127.0.0.1:{port}", f"cannot reach the MQTT broker at 127.0.0.1:{port}"),
        ):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nvrsim",
                    "run",
                    str(fleet),
                    *FREE_PORTS,
                    "--broker",
                    broker,
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 2, result.stderr
            assert message in result.stderr
            assert "Traceback" not in result.stderr
