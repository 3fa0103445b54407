"""Hostile input to the Hik-Connect cloud API over real sockets: random paths, methods,
hosts, sessions and bodies. Every answer is the vendor's JSON with a `meta.code`, never
a 500, and nothing refused changes an account or a binding."""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols import hikconnect as hc
from nvrsim.simulator.clouds.hikconnect.app import cloud_app
from nvrsim.simulator.clouds.hikconnect.cloud import Cloud
from nvrsim.simulator.clouds.hikconnect.rules import DeviceRecord, md5_hex
from nvrsim.simulator.core.clock import VirtualClock
from tests.strategies_isapi import ServerThread

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
SERIAL = "571403700"
CAPTCHA = "fixed-captcha"

PATHS = [
    "/v3/users/regist",
    "/v3/users/login/v2",
    "/v3/users/logout/v2",
    "/v3/apigateway/login",
    "/v3/userdevices/v1/devices/pagelist",
    "/v3/userdevices/v1/devices/search",
    "/v3/userdevices/v1/devices/add",
    f"/v3/userdevices/v1/devices/{SERIAL}",
    f"/v3/userdevices/v1/devices/{SERIAL}/unbind",
    "/v3/captcha",
    "/v3/captcha/abc.png",
    f"/v3/captcha/{CAPTCHA}.png",
]
FIELDS = [
    "account",
    "password",
    "deviceSerial",
    "validateCode",
    "qrCode",
    "userName",
    "captchaId",
    "captchaCode",
    "offset",
    "limit",
    "refreshSessionId",
    "imageCode",
    "featureCode",
]
texts = st.text(max_size=40) | st.sampled_from(
    ["", SERIAL, md5_hex("x"), "ABCDEF", "0" * 200, "a@example.com", CAPTCHA, "ЖЖЖЖ"]
)
paths = st.sampled_from(PATHS) | st.text(max_size=30).map(lambda t: "/" + quote(t))
queries = st.dictionaries(st.sampled_from(FIELDS), texts, max_size=4)
bodies = st.one_of(
    queries.map(lambda d: ("application/x-www-form-urlencoded", _form(d))),
    queries.map(lambda d: ("application/json", json.dumps(d).encode())),
    st.binary(max_size=200).map(lambda b: ("application/json", b)),
    st.binary(max_size=200).map(lambda b: ("multipart/form-data; boundary=x", b)),
    st.binary(max_size=200).map(lambda b: ("application/x-www-form-urlencoded", b)),
)
hosts = st.sampled_from([r.api_domain for r in hc.REGIONS] + ["127.0.0.1", "", "x" * 300])


def _form(fields: dict[str, str]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode()


def _cloud() -> tuple[Cloud, str]:
    cloud = Cloud(VirtualClock(), "127.0.0.1", 1)  # never started: the device never answers
    account = cloud.accounts.register("a@example.com", md5_hex("Secret123"), hc.DEFAULT_REGION)
    status = hc.DeviceStatus(
        serial="DS-7608NI-K220231013CCWR" + SERIAL,
        device_serial=SERIAL,
        model="DS-7608NI-K2",
        name="nvr",
        firmware="V4.30.085 build 200916",
        verification_code="ABCDEF",
        bound_account="a@example.com",
        online=True,
        link="l1",
    )
    cloud.registry.records[SERIAL] = DeviceRecord("default", status)
    cloud.registry.links["l1"] = True
    cloud.captchas.ttl = 1e12  # one that stays, under a name the strategies know
    cloud.captchas.issue(0, CAPTCHA)
    return cloud, cloud.open_session(account)[0]


def test_hostile_requests_get_vendor_documents_and_change_nothing():
    cloud, session = _cloud()
    with ServerThread(cloud_app(cloud)) as url:
        parts = urlsplit(url)

        @SETTINGS
        @given(
            method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
            path=paths,
            query=queries,
            body=bodies,
            host=hosts,
            with_session=st.booleans(),
        )
        def check(method, path, query, body, host, with_session):
            accounts = {k: vars(v).copy() for k, v in cloud.accounts.accounts.items()}
            binding = cloud.registry.records[SERIAL].status.bound_account
            content_type, payload = body
            headers = {"Content-Type": content_type, "Host": host}
            if with_session:
                headers["sessionId"] = session
            target = path + ("?" + _form(query).decode() if query else "")
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            try:
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            finally:
                connection.close()
            assert response.status != 500, raw
            if response.getheader("Content-Type", "").startswith("image/png"):
                return
            doc = json.loads(raw)
            assert isinstance(doc["meta"]["code"], int), doc
            if doc["meta"]["code"] != 200:
                assert {k: vars(v) for k, v in cloud.accounts.accounts.items()} == accounts
            assert cloud.registry.records[SERIAL].status.bound_account == binding

        check()
