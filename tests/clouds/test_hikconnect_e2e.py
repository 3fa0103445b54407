"""Hik-Connect end to end (issue 4, seed 001): devices online over MQTT, accounts, adding,
"already added", the app's unbind with captcha, regions. Real sockets throughout: a
broker (embedded amqtt, or a mosquitto the test starts), the simulator's device link,
and the cloud's HTTP API driven by aiohttp as an app would."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.app import CloudServer
from nvrsim.simulator.clouds.mqtt.link import CloudLink
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import PASSWORD, hik_entry, make_fleet, until
from tests.mqtt_brokers import BROKERS, broker
from tests.strategies_isapi import basic_authorization

OWNER, OTHER = "a@example.com", "b@example.com"
SAME_LAN = "127.77.0.200"  # the fleet's devices are in 127.77.0.0/16
OTHER_LAN = "127.66.0.1"
DEADLINE = 10.0  # seconds a test waits for the cloud to see a change


@dataclass
class Cloudy:
    sim: Simulator
    url: str
    clock: VirtualClock

    @property
    def server(self) -> CloudServer:
        return self.sim.services["hikconnect"]  # type: ignore[return-value]

    @property
    def link(self) -> CloudLink:
        return self.sim.services["hiklink"]  # type: ignore[return-value]

    def device(self, name: str) -> Device:
        device = self.sim.fleet.find(name)
        assert device is not None
        return device

    def record(self, name: str):
        return self.server.cloud.registry.find(hc.short_serial(self.device(name).serial))

    async def until(self, condition, what: str) -> None:
        await until(condition, what, DEADLINE)

    def online_in_cloud(self, name: str, region: str = "default") -> bool:
        record = self.record(name)
        return record is not None and self.server.cloud.registry.online(record, region)


def fleet(clock: VirtualClock):
    return make_fleet(
        hik_entry(
            "nvr",
            ports={"http": 0, "rtsp": 0},
            lockout={"max_failures": 3, "lock_seconds": 600},
            hik_connect={"enabled": True, "bound_account": OWNER, "verification_code": "ABCDEF"},
        ),
        hik_entry(
            "nvr-off",
            ports={"http": 0, "rtsp": 0},
            hik_connect={"enabled": True, "bound_account": OWNER},
            faults={"cloud_offline": True},
        ),
        hik_entry(
            "nvr-ru",
            ports={"http": 0, "rtsp": 0},
            web_auth="digest/basic",
            hik_connect={
                "enabled": True,
                "server": "dev.hik-connectru.com",
                "verification_code": "RUSSIA1",
            },
        ),
        clock=clock,
    )


@contextlib.asynccontextmanager
async def cloudy(kind: str, tmp_path: Path, per_device: bool = False) -> AsyncIterator[Cloudy]:
    clock = VirtualClock()
    async with broker(kind, tmp_path) as (host, port):
        config = ServiceConfig.on_free_ports(
            broker=f"mqtt://{host}:{port}",
            mqtt_keepalive=2,
            mqtt_per_device=per_device,
            cloud_test_mode=True,
        )
        async with Simulator(fleet(clock), clock, config) as sim:
            c = Cloudy(sim, "", clock)
            c.url = f"http://127.0.0.1:{c.server.port}"
            await c.until(lambda: c.online_in_cloud("nvr"), "nvr online in the cloud")
            await c.until(lambda: c.online_in_cloud("nvr-ru", "ru"), "nvr-ru online in RU")
            yield c


@pytest.fixture(params=BROKERS)
async def env(request, tmp_path: Path) -> AsyncIterator[Cloudy]:
    async with cloudy(request.param, tmp_path) as c:
        yield c


class App:
    """What the Hik-Connect app does, from a given address (its LAN) and region."""

    def __init__(self, c: Cloudy, source: str = SAME_LAN, host: str | None = None) -> None:
        self.c, self.session_id = c, ""
        self.host = host
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        )

    async def close(self) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, **kwargs) -> dict:
        headers = {"sessionId": self.session_id} if self.session_id else {}
        if self.host:
            headers["Host"] = self.host
        async with self.http.request(
            method, self.c.url + path, headers=headers, **kwargs
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def register(self, account: str, password: str = "Secret123") -> dict:
        md5 = hashlib.md5(password.encode()).hexdigest()
        return await self.call(
            "POST", "/v3/users/regist", data={"account": account, "password": md5}
        )

    async def login(self, account: str, password: str = "Secret123") -> dict:
        md5 = hashlib.md5(password.encode()).hexdigest()
        doc = await self.call(
            "POST",
            "/v3/users/login/v2",
            data={"account": account, "password": md5, "featureCode": "x", "cuName": "x"},
        )
        if doc["meta"]["code"] == 200:
            self.session_id = doc["loginSession"]["sessionId"]
        return doc

    async def devices(self) -> dict:
        return await self.call("GET", "/v3/userdevices/v1/devices/pagelist?offset=0&limit=20")

    async def search(self, serial: str) -> int:
        doc = await self.call("GET", f"/v3/userdevices/v1/devices/search?deviceSerial={serial}")
        return doc["meta"]["code"]

    async def add(self, serial: str, code: str) -> int:
        doc = await self.call(
            "POST",
            "/v3/userdevices/v1/devices/add",
            data={"deviceSerial": serial, "validateCode": code},
        )
        return doc["meta"]["code"]

    async def unbind(self, serial: str, password: str, captcha: str | None = None) -> dict:
        doc = await self.call("POST", "/v3/captcha")
        captcha_id = doc["captchaId"]
        async with self.http.get(self.c.url + doc["imageUrl"]) as image:
            assert image.content_type == "image/png"
            assert (await image.read()).startswith(b"\x89PNG")
        answer = self.c.server.cloud.captchas.peek(captcha_id, self.c.clock.now())
        assert answer is not None
        return await self.call(
            "POST",
            f"/v3/userdevices/v1/devices/{serial}/unbind",
            data={
                "userName": "admin",
                "password": password,
                "captchaId": captcha_id,
                "captchaCode": captcha if captcha is not None else answer.answer.lower(),
            },
        )


@contextlib.asynccontextmanager
async def app(c: Cloudy, account: str, source: str = SAME_LAN, host: str | None = None):
    a = App(c, source, host)
    try:
        assert (await a.register(account))["meta"]["code"] == 200
        assert (await a.login(account))["meta"]["code"] == 200
        yield a
    finally:
        await a.close()


def short(c: Cloudy, name: str) -> str:
    return hc.short_serial(c.device(name).serial)


async def test_the_owner_sees_its_devices_online_and_offline(env: Cloudy):
    async with app(env, OWNER) as owner:
        doc = await owner.devices()
    assert doc["meta"]["code"] == 200
    serials = {d["deviceSerial"] for d in doc["deviceInfos"]}
    assert serials == {short(env, "nvr"), short(env, "nvr-off")}
    assert doc["statusInfos"][short(env, "nvr")]["globalStatus"] == 1
    assert doc["statusInfos"][short(env, "nvr-off")]["globalStatus"] == 0
    # HikConnect.online is what the link achieved, so ISAPI, SADP and the menu agree
    assert env.device("nvr").cloud_online and not env.device("nvr-off").cloud_online


async def test_seed_001_unbind_from_the_app_then_add(env: Cloudy):
    """A owns the device; B gets 120022; B unbinds with admin password + captcha from the
    same LAN; B can add it; the binding changed on the device itself."""
    serial = short(env, "nvr")
    device = env.device("nvr")
    async with app(env, OTHER) as b:
        assert await b.search(serial) == hc.ADDED_BY_OTHER
        assert await b.add(serial, "ABCDEF") == hc.ADDED_BY_OTHER
        doc = await b.unbind(serial, PASSWORD)
        assert doc["meta"]["code"] == 200, doc
        assert device.hik_connect.bound_account is None  # on the device: SADP, ISAPI, menu
        await env.until(lambda: env.record("nvr").status.bound_account is None, "status")
        assert await b.search(serial) == hc.ONLINE_NOT_ADDED
        assert await b.add(serial, "WRONG1") == hc.DEVICE_CODE_WRONG
        assert await b.add(serial, "ABCDEF") == 200
        assert device.hik_connect.bound_account == OTHER
        assert await b.search(serial) == hc.ADDED_BY_YOU
        assert [d["deviceSerial"] for d in (await b.devices())["deviceInfos"]] == [serial]
    async with app(env, "c@example.com") as c:
        assert await c.search(serial) == hc.ADDED_BY_OTHER
    changes = [
        e.data["changes"].get("hik_connect.bound_account")
        for e in env.sim.journal.since(0, device.serial)
        if e.kind == "device.changed"
    ]
    assert [OWNER, None] in changes and [None, OTHER] in changes  # the journal saw both
    cloud_events = [(e.kind, e.data.get("account")) for e in env.sim.journal.since(0)]
    assert ("cloud.account", OTHER) in cloud_events
    assert ("cloud.app_unbind", OTHER) in cloud_events
    assert ("cloud.device.added", OTHER) in cloud_events


async def test_app_unbind_from_another_lan_is_refused(env: Cloudy):
    async with app(env, OTHER, source=OTHER_LAN) as b:
        doc = await b.unbind(short(env, "nvr"), PASSWORD)
    assert doc["meta"]["code"] == hc.UNBIND_NOT_SAME_LAN
    assert env.device("nvr").hik_connect.bound_account == OWNER


async def test_app_unbind_of_an_offline_device_is_120024_and_nothing_changes(env: Cloudy):
    serial = short(env, "nvr-off")
    async with app(env, OTHER) as b:
        assert await b.search(serial) == hc.OFFLINE_ADDED_BY_OTHER
        doc = await b.unbind(serial, PASSWORD)
    assert doc["meta"]["code"] == hc.OFFLINE_ADDED_BY_OTHER
    assert env.device("nvr-off").hik_connect.bound_account == OWNER


async def test_wrong_device_password_is_refused_then_locks_the_device_lockout(env: Cloudy):
    device = env.device("nvr")
    async with app(env, OTHER) as b:
        first = await b.unbind(short(env, "nvr"), "Wrong1234")
        assert first["meta"]["code"] == hc.UNBIND_PASSWORD_WRONG
        assert first["retryTimes"] == 2
        assert (await b.unbind(short(env, "nvr"), "Wrong1234"))["meta"]["code"] == (
            hc.UNBIND_PASSWORD_WRONG
        )
        locked = await b.unbind(short(env, "nvr"), "Wrong1234")
        assert locked["meta"]["code"] == hc.UNBIND_LOCKED and locked["lockTime"] == 600
        # locked: even the right password is refused now, from that address
        assert (await b.unbind(short(env, "nvr"), PASSWORD))["meta"]["code"] == hc.UNBIND_LOCKED
    # the device's own lockout, the one SADP and ISAPI count on
    assert device.lockout.unlock_in(SAME_LAN, env.clock.now()) == 600
    assert device.hik_connect.bound_account == OWNER


async def test_a_wrong_captcha_is_refused_before_the_device_is_asked(env: Cloudy):
    async with app(env, OTHER) as b:
        doc = await b.unbind(short(env, "nvr"), "Wrong1234", captcha="ZZZZZ")
    assert doc["meta"]["code"] == hc.CAPTCHA_WRONG
    assert env.device("nvr").lockout.retries_left(SAME_LAN, env.clock.now()) == 3


async def test_regions_a_device_on_another_regions_server_is_offline_here(env: Cloudy):
    serial = short(env, "nvr-ru")
    async with app(env, OTHER) as b:
        assert await b.search(serial) == hc.OFFLINE_NOT_ADDED
        assert await b.add(serial, "RUSSIA1") == hc.OFFLINE_NOT_ADDED
    ru = "apiirus.hik-connectru.com"
    async with app(env, "ivan@example.ru", host=ru) as ivan:
        assert await ivan.search(serial) == hc.ONLINE_NOT_ADDED
        assert await ivan.add(serial, "RUSSIA1") == 200
    assert env.device("nvr-ru").hik_connect.bound_account == "ivan@example.ru"


async def test_login_codes_and_the_wrong_region_answer(env: Cloudy):
    a = App(env, SAME_LAN, host="apiieu.hik-connect.com")
    try:
        assert (await a.register("eu@example.com"))["meta"]["code"] == 200
        assert (await a.register("eu@example.com"))["meta"]["code"] == hc.ACCOUNT_EXISTS
        assert (await a.login("nobody@example.com"))["meta"]["code"] == hc.NO_ACCOUNT
        assert (await a.login("eu@example.com", "Nope12345"))["meta"]["code"] == hc.WRONG_PASSWORD
        a.host = None  # the default region's API
        doc = await a.login("eu@example.com")
        assert doc["meta"]["code"] == hc.WRONG_REGION
        assert doc["loginArea"]["apiDomain"] == "apiieu.hik-connect.com"
        a.host = doc["loginArea"]["apiDomain"]  # what a client does with 1100
        doc = await a.login("eu@example.com")
        assert doc["meta"]["code"] == 200 and doc["loginArea"]["areaName"] == "Europe"
    finally:
        await a.close()


async def test_the_qr_code_the_device_serves_adds_it(env: Cloudy):
    """The app scans the device's QR code (here: read from the device's own ISAPI)."""
    import xml.etree.ElementTree as ET

    device = env.device("nvr-ru")
    net = device.network
    async with app(env, "ivan@example.ru", host="apiirus.hik-connectru.com") as ivan:
        async with ivan.http.get(
            f"http://{net.ip}:{net.http_port}/ISAPI/System/Network/EZVIZ/QRCode",
            headers={"Authorization": basic_authorization(PASSWORD)},
        ) as response:
            assert response.status == 200
            root = ET.fromstring(await response.read())
        content = root.findtext(f"{{{device.quirks.isapi_namespace}}}content")
        # (XML turns CR LF into LF; the app reads either)
        assert hc.parse_qr(content) == hc.QrContent(short(env, "nvr-ru"), "RUSSIA1", device.model)
        doc = await ivan.call("POST", "/v3/userdevices/v1/devices/add", data={"qrCode": content})
    assert doc["meta"]["code"] == 200
    assert device.hik_connect.bound_account == "ivan@example.ru"


async def test_the_cloud_offline_fault_drops_the_link_and_lifting_it_restores_it(env: Cloudy):
    device = env.device("nvr")
    device.own_faults = device.own_faults.update({"cloud_offline": True})
    env.sim.journal.commit(device)
    await env.until(lambda: not env.online_in_cloud("nvr"), "offline in the cloud")
    assert not device.hik_connect.online
    device.own_faults = device.own_faults.update({"cloud_offline": False})
    env.sim.journal.commit(device)
    await env.until(lambda: env.online_in_cloud("nvr"), "online again")
    assert device.hik_connect.online


async def test_disabling_platform_access_takes_the_device_off_the_cloud(env: Cloudy):
    device = env.device("nvr")
    device.hik_connect.enabled = False
    env.sim.journal.commit(device)
    await env.until(lambda: not env.online_in_cloud("nvr"), "offline in the cloud")
    assert not device.cloud_registered
    device.hik_connect.server = "dev.hik-connectru.com"
    device.hik_connect.enabled = True
    env.sim.journal.commit(device)
    await env.until(lambda: env.online_in_cloud("nvr", "ru"), "online in Russia")
    assert not env.online_in_cloud("nvr", "default")


async def test_the_control_api_shows_the_cloud_and_in_test_mode_captcha_answers(env: Cloudy):
    from nvrsim.simulator.control.app import control_app
    from tests.strategies_isapi import serve

    async with app(env, OTHER) as b, serve(control_app(env.sim)) as control:
        captcha = await b.call("POST", "/v3/captcha")
        http = b.http
        async with http.get(f"{control}/api/cloud/captchas/{captcha['captchaId']}") as r:
            assert r.status == 200
            answer = (await r.json())["answer"]
        doc = await b.call(
            "POST",
            f"/v3/userdevices/v1/devices/{short(env, 'nvr')}/unbind",
            data={
                "userName": "admin",
                "password": PASSWORD,
                "captchaId": captcha["captchaId"],
                "captchaCode": answer,
            },
        )
        assert doc["meta"]["code"] == 200
        async with http.get(f"{control}/api/cloud/captchas/{captcha['captchaId']}") as r:
            assert r.status == 404  # spent
        async with http.get(f"{control}/api/cloud/accounts") as r:
            accounts = {a["name"]: a for a in await r.json()}
        assert accounts[OTHER] == {"name": OTHER, "region": "default", "devices": []}
        async with http.get(f"{control}/api/cloud/devices") as r:
            devices = {d["device_serial"]: d for d in await r.json()}
        assert devices[short(env, "nvr")]["online"] is True
        assert devices[short(env, "nvr-off")]["online"] is False
        env.server.cloud.test_mode = False
        captcha = await b.call("POST", "/v3/captcha")
        async with http.get(f"{control}/api/cloud/captchas/{captcha['captchaId']}") as r:
            assert r.status == 404


async def test_the_owner_deletes_a_device_and_others_cannot(env: Cloudy):
    serial = short(env, "nvr")
    async with app(env, OTHER) as b:
        doc = await b.call("DELETE", f"/v3/userdevices/v1/devices/{serial}")
        assert doc["meta"]["code"] == hc.DEVICE_NOT_EXIST
    assert env.device("nvr").hik_connect.bound_account == OWNER
    async with app(env, OWNER) as a:
        doc = await a.call("DELETE", f"/v3/userdevices/v1/devices/{serial}")
        assert doc["meta"]["code"] == 200
        assert env.device("nvr").hik_connect.bound_account is None
        assert await a.search(serial) == hc.ONLINE_NOT_ADDED


async def test_garbage_on_the_mqtt_topics_is_dropped(env: Cloudy):
    """Nothing that does not parse, or asks a device another link carries, is acted on."""
    import aiomqtt

    device = env.device("nvr")
    link_id = env.link.link_of(device.serial)
    host, port = env.link.host, env.link.port
    before = env.record("nvr").status
    reply_to = hc.reply_topic("intruder")
    async with aiomqtt.Client(host, port) as intruder:
        await intruder.subscribe(reply_to, qos=1)
        for payload in (
            b"\xff\x00garbage",
            b"[]",
            b'{"id":"1","serial":"x","op":"unbind","reply_to":"%s"}' % reply_to.encode(),
            hc.Request("2", "not-here", hc.OP_BIND, reply_to, {"account": "x"}).encode(),
            # the owner's release, but answered over the device's own status: refused whole
            json.dumps(
                {
                    "id": "4",
                    "serial": device.serial,
                    "op": hc.OP_RELEASE,
                    "reply_to": hc.status_topic("default", device.serial),
                    "args": {"account": OWNER},
                }
            ).encode(),
            hc.Request("3", device.serial, hc.OP_UNBIND, reply_to, {"user": 1}).encode(),
        ):
            await intruder.publish(hc.request_topic(link_id), payload, qos=1)
        await intruder.publish(hc.status_topic("default", device.serial), b"{oops", qos=1)
        await intruder.publish(hc.link_topic("nobody"), b"maybe", qos=1)
        # the one well-formed request for this device with bad arguments is answered, so
        # once its answer is here every message before it has been handled
        async with asyncio.timeout(DEADLINE):
            reply = hc.Reply.decode((await anext(intruder.messages)).payload)
    assert (reply.id, reply.result) == ("3", "bad_request")
    assert device.hik_connect.bound_account == OWNER
    assert env.record("nvr").status == before and env.online_in_cloud("nvr")


async def test_a_reboot_takes_the_device_off_the_cloud_and_back(env: Cloudy):
    device = env.device("nvr")
    env.sim.config.reboot_seconds = 0.2
    assert env.sim.reboot(device)
    await env.until(lambda: not env.online_in_cloud("nvr"), "offline while it reboots")
    await env.until(lambda: env.online_in_cloud("nvr"), "online after the reboot")
    assert device.cloud_registered


@pytest.mark.parametrize("kind", BROKERS)
async def test_per_device_connections_come_and_go_with_their_devices(kind: str, tmp_path: Path):
    """One connection (and will) per device on the cloud; a device off the cloud (the
    `cloud_offline` fault, removed) has none, as real hardware whose uplink is down."""
    async with cloudy(kind, tmp_path, per_device=True) as c:
        registry = c.server.cloud.registry
        await c.until(lambda: len(c.link.link_ids) == 2, "nvr and nvr-ru connected, not nvr-off")
        # The broker acknowledged each status; the cloud hears it over its own subscription.
        names = ("nvr", "nvr-ru", "nvr-off")
        await c.until(lambda: all(c.record(n) for n in names), "every status reached the cloud")
        assert not c.online_in_cloud("nvr-off")
        links = {c.record(name).status.link for name in ("nvr", "nvr-ru")}
        assert len(links) == 2 and all(registry.links[link] for link in links)

        device = c.device("nvr")
        first = c.link.link_of(device.serial)
        device.own_faults = device.own_faults.update({"cloud_offline": True})
        c.sim.journal.commit(device)
        await c.until(lambda: not c.online_in_cloud("nvr"), "offline with the fault")
        await c.until(lambda: first not in c.link.link_ids, "its connection dropped")
        device.own_faults = device.own_faults.update({"cloud_offline": False})
        c.sim.journal.commit(device)
        await c.until(lambda: c.online_in_cloud("nvr"), "back with a new connection")
        assert c.link.link_of(device.serial) not in (None, first)

        key = short(c, "nvr")
        await c.sim.remove_device(device)
        await c.until(lambda: not registry.online(registry.find(key)), "removed: offline")
        await c.until(lambda: len(c.link.link_ids) == 1, "its connection closed")
        assert c.online_in_cloud("nvr-ru", "ru")


# The library subclasses aiohttp's ClientSession, which aiohttp warns about: theirs, not ours.
@pytest.mark.filterwarnings("ignore:Inheritance class _HikConnectClient:DeprecationWarning")
async def test_the_hikconnect_client_library_logs_in_and_lists_devices(env: Cloudy):
    """PyPI `hikconnect` (what Home Assistant's integration uses), pointed at our cloud."""
    import datetime

    from hikconnect.api import HikConnect

    async with app(env, OWNER):  # registers the account
        pass
    async with HikConnect() as api:
        api.BASE_URL = env.url  # instead of https://api.hik-connect.com
        await api.login(OWNER, "Secret123")
        # it read the session's exp claim: a week on the cloud's clock
        expires = datetime.datetime.fromtimestamp(int(env.clock.now() + 7 * 86400))
        assert api.login_valid_until == expires
        devices = {d["serial"]: d async for d in api.get_devices()}
        await api.refresh_login()
        again = [d["serial"] async for d in api.get_devices()]
    nvr, off = env.device("nvr"), env.device("nvr-off")
    assert set(devices) == set(again) == {short(env, "nvr"), short(env, "nvr-off")}
    assert devices[short(env, "nvr")] | {"locks": {}} == devices[short(env, "nvr")]
    assert devices[short(env, "nvr")]["id"] == nvr.serial
    assert devices[short(env, "nvr")]["is_online"] is True
    assert devices[short(env, "nvr")]["local_ip"] == nvr.network.ip
    assert devices[short(env, "nvr-off")]["is_online"] is False
    assert devices[short(env, "nvr-off")]["local_ip"] is None
    assert devices[short(env, "nvr-off")]["type"] == off.model


async def test_sessions_expire_on_the_cloud_clock_and_refresh_once(env: Cloudy):
    async with app(env, OWNER) as a:
        assert (await a.devices())["meta"]["code"] == 200
        env.clock.advance(7 * 86400)
        assert (await a.devices())["meta"]["code"] == hc.SESSION_INVALID
        assert (await a.login(OWNER))["meta"]["code"] == 200
        refresh = (await a.login(OWNER))["loginSession"]["rfSessionId"]
        doc = await a.call("PUT", "/v3/apigateway/login", data={"refreshSessionId": refresh})
        assert doc["meta"]["code"] == 200
        a.session_id = doc["sessionInfo"]["sessionId"]
        assert (await a.devices())["meta"]["code"] == 200
        doc = await a.call("PUT", "/v3/apigateway/login", data={"refreshSessionId": refresh})
        assert doc["meta"]["code"] == hc.SESSION_INVALID  # a refresh id is good once


async def test_nvrsim_ctl_cloud_shows_devices_accounts_and_captcha_answers(env: Cloudy, capsys):
    from nvrsim.simulator.cli.main import main
    from nvrsim.simulator.control.app import control_app
    from tests.strategies_isapi import serve

    async with app(env, OTHER) as b, serve(control_app(env.sim)) as control:
        captcha = (await b.call("POST", "/v3/captcha"))["captchaId"]

        async def ctl(*args: str) -> str:
            capsys.readouterr()
            assert await asyncio.to_thread(main, ["ctl", "--api", control, "cloud", *args]) == 0
            return capsys.readouterr().out

        devices = await ctl()
        assert devices.split()[:6] == ["DEVICE", "SERIAL", "MODEL", "REGION", "STATUS", "ACCOUNT"]
        line = next(row for row in devices.splitlines() if short(env, "nvr-off") in row)
        assert line.split()[-2:] == ["offline", OWNER]
        assert OTHER in await ctl("accounts")
        answer = env.server.cloud.captchas.peek(captcha, env.clock.now()).answer
        assert (await ctl("captcha", captcha)).strip() == answer


async def test_accounts_are_kept_with_state_across_a_restart(tmp_path: Path):
    from nvrsim.simulator.runtime.journal import Journal
    from nvrsim.simulator.runtime.state import StateDir

    async with broker("embedded", tmp_path) as (host, port):
        for run in ("first", "second"):
            clock = VirtualClock()
            journal = Journal(clock, StateDir(tmp_path / "state"))
            config = ServiceConfig(
                sadp_port=0, wsd_port=0, broker=f"mqtt://{host}:{port}", cloud_port=0
            )
            try:
                async with Simulator(fleet(clock), clock, config, journal) as sim:
                    c = Cloudy(sim, "", clock)
                    c.url = f"http://127.0.0.1:{c.server.port}"
                    a = App(c)
                    try:
                        if run == "first":
                            assert (await a.register(OTHER))["meta"]["code"] == 200
                            assert (tmp_path / "state" / "cloud.json").exists()
                        assert (await a.login(OTHER))["meta"]["code"] == 200
                    finally:
                        await a.close()
            finally:
                journal.close()


async def test_five_wrong_passwords_then_the_login_image_code(env: Cloudy):
    a = App(env)
    try:
        assert (await a.register(OWNER))["meta"]["code"] == 200
        for _ in range(5):
            assert (await a.login(OWNER, "Nope12345"))["meta"]["code"] == hc.WRONG_PASSWORD
        assert (await a.login(OWNER))["meta"]["code"] == hc.CAPTCHA_WRONG
        query = {"account": OWNER, "featureCode": "deadbeef"}
        async with a.http.get(env.url + "/v3/captcha", params=query) as image:
            assert image.content_type == "image/png"
            captcha_id = image.headers["X-Captcha-Id"]
        answer = env.server.cloud.captchas.peek(captcha_id, env.clock.now()).answer
        md5 = hashlib.md5(b"Secret123").hexdigest()
        form = {"account": OWNER, "password": md5, "featureCode": "deadbeef"}
        doc = await a.call("POST", "/v3/users/login/v2", data=form | {"imageCode": "ZZZZ"})
        assert doc["meta"]["code"] == hc.CAPTCHA_WRONG
        async with a.http.get(env.url + "/v3/captcha", params=query) as image:
            captcha_id = image.headers["X-Captcha-Id"]
        answer = env.server.cloud.captchas.peek(captcha_id, env.clock.now()).answer
        doc = await a.call("POST", "/v3/users/login/v2", data=form | {"imageCode": answer})
        assert doc["meta"]["code"] == 200
        assert (await a.login(OWNER))["meta"]["code"] == 200  # the count starts afresh
    finally:
        await a.close()
