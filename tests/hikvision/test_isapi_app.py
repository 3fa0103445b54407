"""The ISAPI app over real sockets (127.0.0.1, port 0) with aiohttp's client."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nvrsim.protocols.isapi import HIKVISION_NAMESPACE, ISAPI_NAMESPACE
from nvrsim.simulator.hikvision.isapi import isapi_app
from tests.conftest import PASSWORD, hik_entry, make_fleet
from tests.strategies_isapi import (
    basic_authorization,
    device_state,
    digest_authorization,
    serve,
)

NS = HIKVISION_NAMESPACE
XML = 'application/xml; charset="UTF-8"'


def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


class Client:
    """An ISAPI client doing Digest by hand, so tests can bend every field."""

    def __init__(self, session: aiohttp.ClientSession, base: str, password: str = PASSWORD):
        self.session, self.base, self.password = session, base, password
        self.nc = 0
        self.challenge: str | None = None

    async def raw(self, method: str, path: str, **kw) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.session.request(method, self.base + path, **kw) as response:
            return response, await response.read()

    async def call(self, method: str, path: str, *, password: str | None = None, **kw):
        """Digest: challenge first (once), then the authenticated request."""
        if self.challenge is None:
            response, _ = await self.raw("GET", "/ISAPI/Security/userCheck")
            self.challenge = response.headers.getall("WWW-Authenticate")[0]
        self.nc += 1
        header = digest_authorization(
            self.challenge,
            method=method,
            uri=path,
            password=self.password if password is None else password,
            nc=self.nc,
        )
        headers = {"Authorization": header} | kw.pop("headers", {})
        return await self.raw(method, path, headers=headers, **kw)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def _fleet(clock, **overrides):
    return make_fleet(hik_entry("dev", **overrides), clock=clock)


async def test_device_info_headers_and_case_insensitive_paths(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        for path in (
            "/ISAPI/System/deviceInfo",
            "/ISAPI/system/deviceinfo",
            "/isapi/SYSTEM/DEVICEINFO",
        ):
            response, body = await client.call("GET", path)
            assert response.status == 200, body
            assert response.headers["Server"] == "Webs"
            assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
            assert response.headers["Content-Type"] == XML
            root = ET.fromstring(body)
            assert root.tag == _q("DeviceInfo") and root.get("version") == "2.0"
            assert root.findtext(_q("serialNumber")) == device.serial
            assert root.findtext(_q("macAddress")) == device.mac
            assert root.findtext(_q("deviceType")) == "NVR"
            assert root.findtext(_q("firmwareVersion")) == "V4.30.085"
            assert root.findtext(_q("firmwareReleasedDate")) == "build 200916"


async def test_namespace_quirk(clock, session):
    (device,) = _fleet(clock, quirks={"isapi_namespace": ISAPI_NAMESPACE})
    async with serve(isapi_app(device, clock)) as base:
        _, body = await Client(session, base).call("GET", "/ISAPI/System/deviceInfo")
        assert ET.fromstring(body).tag == _q("DeviceInfo", ISAPI_NAMESPACE)


async def test_vendor_errors(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        response, body = await client.raw("GET", "/ISAPI/No/Such/Thing")
        assert response.status == 404 and response.headers["Server"] == "Webs"
        root = ET.fromstring(body)
        assert root.findtext(_q("subStatusCode")) == "notSupport"
        assert root.findtext(_q("requestURL")) == "/ISAPI/No/Such/Thing"
        # the legacy prefix-less paths pyhik falls back to do not exist on ISAPI firmware
        response, _ = await client.raw("GET", "/System/deviceInfo")
        assert response.status == 404

        response, body = await client.call("DELETE", "/ISAPI/System/deviceInfo")
        assert response.status == 400
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "methodNotAllowed"

        response, body = await client.raw("GET", "/nope?format=json")
        assert response.headers["Content-Type"] == 'application/json; charset="UTF-8"'
        assert json.loads(body)["subStatusCode"] == "notSupport"

        channel = "/ISAPI/System/Video/inputs/channels/99/motionDetection"
        response, body = await client.call("GET", channel)
        assert response.status == 404
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "invalidID"


async def test_status_discovery_and_network_capabilities(clock, session):
    (device,) = _fleet(clock)
    clock.advance(3600)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        _, body = await client.call("GET", "/ISAPI/System/status")
        assert ET.fromstring(body).findtext(_q("deviceUpTime")) == "3600"
        _, body = await client.call("GET", "/ISAPI/System/discoveryMode")
        assert ET.fromstring(body).findtext(_q("SADP")) == "discoverable"
        _, body = await client.call("GET", "/ISAPI/System/Network/capabilities")
        root = ET.fromstring(body)
        assert root.findtext(_q("isSupportEZVIZ")) == "true"
        assert root.findtext(_q("isSupportEZVIZUnbind")) == "true"


async def test_old_recorder_firmware_has_no_ezviz_unbind(clock, session):
    (device,) = _fleet(clock, firmware="V3.4.106 build 181215")
    async with serve(isapi_app(device, clock)) as base:
        _, body = await Client(session, base).call("GET", "/ISAPI/System/Network/capabilities")
        assert ET.fromstring(body).findtext(_q("isSupportEZVIZUnbind")) == "false"


async def test_user_check_and_lock_reporting(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        response, body = await client.call("GET", "/ISAPI/Security/userCheck")
        assert response.status == 200
        assert ET.fromstring(body).findtext("statusString") == "OK"

        for attempt in range(1, 8):
            response, body = await client.call("GET", "/ISAPI/Security/userCheck", password="wrong")
            assert response.status == 401
            root = ET.fromstring(body)
            assert root.findtext("retryLoginTime") == str(7 - attempt)
        assert root.findtext("lockStatus") == "lock"
        assert root.findtext("unlockTime") == "1800"
        response, body = await client.call("GET", "/ISAPI/Security/userCheck")
        assert response.status == 401
        assert ET.fromstring(body).findtext("lockStatus") == "lock"
        clock.advance(1800)
        client.challenge = None  # the old nonce went stale with the clock
        response, _ = await client.call("GET", "/ISAPI/Security/userCheck")
        assert response.status == 200


async def test_digest_refusals_do_not_count(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        response, body = await client.raw("GET", "/ISAPI/Security/userCheck")
        assert response.status == 401
        assert ET.fromstring(body).findtext("retryLoginTime") == "7"
        challenge = response.headers.getall("WWW-Authenticate")[0]
        uri = "/ISAPI/Security/userCheck"

        async def attempt(**kw):
            kw.setdefault("uri", uri)
            header = digest_authorization(challenge, method="GET", password=PASSWORD, **kw)
            return await client.raw("GET", uri, headers={"Authorization": header})

        for kw in ({"realm": "0" * 24}, {"uri": "/ISAPI/System/deviceInfo"}, {"nc": 1}):
            response, body = await attempt(**kw)
            if kw == {"nc": 1}:
                assert response.status == 200  # the first use of the nonce is fine
                response, body = await attempt(**kw)  # its replay is stale
                assert 'stale="TRUE"' in response.headers.getall("WWW-Authenticate")[0]
            assert response.status == 401, kw
            assert ET.fromstring(body).findtext("retryLoginTime") == "7"
        clock.advance(301)
        response, body = await attempt(nc=2)
        assert response.status == 401
        assert 'stale="TRUE"' in response.headers.getall("WWW-Authenticate")[0]
        assert device_state(device, clock.now())[3] == 7
        # a well-formed digest with the wrong password does count
        client.challenge = None
        response, body = await client.call("GET", uri, password="wrong")
        assert ET.fromstring(body).findtext("retryLoginTime") == "6"


async def test_basic_only_with_digest_basic(clock, session):
    digest_only, both = make_fleet(
        hik_entry("a"), hik_entry("b", web_auth="digest/basic"), clock=clock
    )
    for device, accepted in ((digest_only, False), (both, True)):
        async with serve(isapi_app(device, clock)) as base:
            client = Client(session, base)
            headers = {"Authorization": basic_authorization(PASSWORD)}
            response, _ = await client.raw("GET", "/ISAPI/System/deviceInfo", headers=headers)
            assert (response.status == 200) is accepted
            response, body = await client.raw(
                "GET",
                "/ISAPI/System/deviceInfo",
                headers={"Authorization": basic_authorization("x")},
            )
            assert response.status == 401
            challenges = response.headers.getall("WWW-Authenticate")
            assert challenges[0].startswith("Digest ")
            assert [c.startswith("Basic realm=") for c in challenges[1:]] == (
                [True] if accepted else []
            )
            # a wrong Basic password counts only where Basic is accepted
            assert ET.fromstring(body).findtext("retryLoginTime") == ("6" if accepted else "7")


async def test_not_activated_device(clock, session):
    (device,) = _fleet(clock, admin_password=None)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        response, body = await client.raw("GET", "/ISAPI/System/deviceInfo")
        assert response.status == 403
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "notActivated"
        response, body = await client.raw("GET", "/SDK/activateStatus")
        assert response.status == 200
        assert ET.fromstring(body).findtext(_q("Activated")) == "false"


async def test_motion_detection(clock, session):
    (device,) = _fleet(clock)
    app = isapi_app(device, clock)
    path = "/ISAPI/System/Video/inputs/channels/2/motionDetection"
    async with serve(app) as base:
        client = Client(session, base)
        _, body = await client.call("GET", path)
        document = ET.fromstring(body)
        assert document.findtext(_q("enabled")) == "false"
        document.find(_q("enabled")).text = "true"
        response, body = await client.call("PUT", path, data=ET.tostring(document))
        assert response.status == 200, body
        assert ET.fromstring(body).findtext(_q("statusCode")) == "1"
        assert device.motion_detection == {2}
        response, body = await client.call("PUT", path, data=b"<MotionDetection><enabled>")
        assert response.status == 400
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "badXmlFormat"
        assert device.motion_detection == {2}


async def test_ezviz_read_and_write(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        path = "/ISAPI/System/Network/EZVIZ"
        _, body = await client.call("GET", path)
        root = ET.fromstring(body)
        assert [root.findtext(_q(t)) for t in ("enabled", "registerStatus", "bindStatus")] == [
            "true", "true", "bind"
        ]  # fmt: skip
        assert root.findtext(_q("verificationCode")) == device.hik_connect.verification_code

        update = (
            b"<EZVIZ><enabled>false</enabled><verificationCode>HJKL2345</verificationCode>"
            b"<serverAddress><hostName>dev.hik-connectru.com</hostName></serverAddress></EZVIZ>"
        )
        response, body = await client.call("PUT", path, data=update)
        assert response.status == 200, body
        hc = device.hik_connect
        assert (hc.enabled, hc.verification_code, hc.server) == (
            False, "HJKL2345", "dev.hik-connectru.com"
        )  # fmt: skip
        _, body = await client.call("GET", path)
        assert ET.fromstring(body).findtext(_q("registerStatus")) == "false"

        before = device_state(device, clock.now())
        bad = b"<EZVIZ><enabled>true</enabled><verificationCode>short</verificationCode></EZVIZ>"
        response, body = await client.call("PUT", path, data=bad)
        assert response.status == 400
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "badXmlContent"
        response, body = await client.call("PUT", path + "?format=json", data=b"")
        assert (response.status, json.loads(body)["statusCode"]) == (400, 6)
        assert device_state(device, clock.now()) == before

        _, body = await client.call("GET", path + "/capabilities")
        assert ET.fromstring(body).find(_q("verificationCode")).get("max") == "12"


async def test_ezviz_needs_the_capability(clock, session):
    (device,) = _fleet(clock, capabilities={"hik_connect": False})
    async with serve(isapi_app(device, clock)) as base:
        response, _ = await Client(session, base).call("GET", "/ISAPI/System/Network/EZVIZ")
        assert response.status == 404


async def test_oversized_body(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock)) as base:
        body = b"<EZVIZ><enabled>true</enabled>" + b" " * 70_000 + b"</EZVIZ>"
        response, reply = await Client(session, base).call(
            "PUT", "/ISAPI/System/Network/EZVIZ", data=body
        )
        assert response.status == 413
        assert ET.fromstring(reply).findtext(_q("subStatusCode")) == "badXmlContent"


async def test_alert_stream_sends_heartbeats(clock, session):
    (device,) = _fleet(clock)
    async with serve(isapi_app(device, clock, heartbeat_interval=0.05)) as base:
        client = Client(session, base)
        await client.call("GET", "/ISAPI/Security/userCheck")  # fetch a challenge
        client.nc += 1
        path = "/ISAPI/Event/notification/alertStream"
        header = digest_authorization(
            client.challenge, method="GET", uri=path, password=PASSWORD, nc=client.nc
        )
        async with session.get(base + path, headers={"Authorization": header}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "multipart/mixed; boundary=boundary"
            received = b""
            async with asyncio.timeout(10):
                while received.count(b"</EventNotificationAlert>") < 2:
                    received += await response.content.readany()
    first = received.split(b"--boundary")[1]
    xml = first[first.index(b"<?xml") : first.index(b"</EventNotificationAlert>") + 25]
    root = ET.fromstring(xml)
    assert root.findtext(_q("eventType")) == "videoloss"
    assert root.findtext(_q("eventState")) == "inactive"
    assert root.findtext(_q("macAddress")) == device.mac
    assert root.findtext(_q("dateTime")) == "2023-11-14T22:13:20+00:00"


# ---------------------------------------------------------------- activation (§2.6)


class ActivationClient:
    """The client side of HTTP activation, written from the notes."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    def public_key_body(self) -> bytes:
        modulus = format(self.key.public_key().public_numbers().n, "x").zfill(256)
        encoded = base64.b64encode(modulus.encode()).decode()
        return f"<PublicKey><key>{encoded}</key></PublicKey>".encode()

    def activate_body(self, challenge_document: bytes, password: str) -> bytes:
        key_text = ET.fromstring(challenge_document).findtext(_q("key"))
        secret = bytes.fromhex(base64.b64decode(key_text).decode())
        random_hex = self.key.decrypt(secret, padding.PKCS1v15()).decode()
        aes = Cipher(algorithms.AES(bytes.fromhex(random_hex)), modes.ECB()).encryptor()
        raw = password.encode()
        raw += b"\0" * (-len(raw) % 16)
        encrypted = aes.update(random_hex[:16].encode() + raw) + aes.finalize()
        field = base64.b64encode(encrypted.hex().encode()).decode()
        return f"<ActivateInfo><password>{field}</password></ActivateInfo>".encode()


async def test_activation_end_to_end(clock, session):
    (device,) = _fleet(clock, admin_password=None)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base, password="NewPass123")
        activation = ActivationClient()

        response, _ = await client.raw("PUT", "/ISAPI/System/activate", data=b"<ActivateInfo/>")
        assert response.status == 400  # no password, no challenge: nothing happens
        # the same challenge serves a refused weak password and the real one after it
        response, challenge = await client.raw(
            "POST", "/ISAPI/Security/challenge", data=activation.public_key_body()
        )
        assert response.status == 200, challenge
        weak = activation.activate_body(challenge, "12345678")
        response, body = await client.raw("PUT", "/ISAPI/System/activate", data=weak)
        assert response.status == 400
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "riskPassword"
        assert not device.activated

        strong = activation.activate_body(challenge, "NewPass123")
        response, body = await client.raw("PUT", "/ISAPI/System/activate", data=strong)
        assert response.status == 200, body
        status = ET.fromstring(body)
        assert [status.findtext(_q(t)) for t in ("requestURL", "statusCode", "subStatusCode")] == [
            "/ISAPI/System/activate", "1", "ok"
        ]  # fmt: skip
        assert device.admin_password == "NewPass123"

        response, body = await client.raw("PUT", "/ISAPI/System/activate", data=strong)
        assert response.status == 403
        assert ET.fromstring(body).findtext(_q("subStatusCode")) == "hasActivated"
        _, body = await client.raw("GET", "/SDK/activateStatus")
        assert ET.fromstring(body).findtext(_q("Activated")) == "true"
        response, _ = await client.call("GET", "/ISAPI/System/deviceInfo")
        assert response.status == 200


async def test_activation_without_a_matching_challenge_changes_nothing(clock, session):
    (device,) = _fleet(clock, admin_password=None)
    async with serve(isapi_app(device, clock)) as base:
        client = Client(session, base)
        first, second = ActivationClient(), ActivationClient()
        _, challenge = await client.raw(
            "POST", "/ISAPI/Security/challenge", data=first.public_key_body()
        )
        await client.raw("POST", "/ISAPI/Security/challenge", data=second.public_key_body())
        # the second challenge replaced the first: a password for the first is refused
        body = first.activate_body(challenge, "NewPass123")
        response, reply = await client.raw("PUT", "/ISAPI/System/activate", data=body)
        assert response.status == 400
        assert ET.fromstring(reply).findtext(_q("subStatusCode")) == "badXmlContent"
        assert not device.activated
        clock.advance(301)
        _, challenge = await client.raw(
            "POST", "/ISAPI/Security/challenge", data=first.public_key_body()
        )
        clock.advance(301)  # the challenge expired
        response, _ = await client.raw(
            "PUT", "/ISAPI/System/activate", data=first.activate_body(challenge, "NewPass123")
        )
        assert response.status == 400 and not device.activated


async def test_a_mounted_protocol_answers_before_the_isapi_catch_all(clock, session):
    """Protocols every vendor serves (ONVIF) share the device's web server under a prefix."""
    (device,) = _fleet(clock)

    async def mounted(_request):
        return aiohttp.web.Response(text="mounted")

    other = aiohttp.web.Application()
    other.router.add_get("/device_service", mounted)
    async with serve(isapi_app(device, clock, mounts=[("/onvif", other)])) as base:
        async with session.get(base + "/onvif/device_service") as reply:
            assert (reply.status, await reply.text()) == (200, "mounted")
            assert reply.headers["Server"] == "Webs"  # one web server for both
        async with session.get(base + "/onvif/nothing-here") as reply:
            assert reply.status == 404
        async with session.get(base + "/ISAPI/System/deviceInfo") as reply:
            assert reply.status == 401  # ISAPI itself is untouched
