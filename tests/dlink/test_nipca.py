"""D-Link devices over NIPCA: info.cgi, Basic and Digest, the challenge login, mydlink, reset."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.protocols import nipca
from nvrsim.simulator.dlink import mydlink
from nvrsim.simulator.dlink.nipca import nipca_app
from nvrsim.simulator.runtime.web import WebOptions, device_app
from tests.conftest import PASSWORD, make_fleet


def dlink_entry(name: str = "cam", **overrides) -> dict:
    entry = {
        "name": name,
        "vendor": "dlink",
        "kind": "ipc",
        "model": "DCS-2132LB1",
        "firmware": "2.13.03",
        "hardware_version": "B1",
        "admin_password": PASSWORD,
        "web_auth": "digest/basic",
    }
    entry.update(overrides)
    return entry


def basic(user: str = "admin", password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


@pytest.fixture
def camera(clock):
    return make_fleet(dlink_entry(), clock=clock).devices[0]


@pytest.fixture
async def client(camera, clock):
    async with TestClient(TestServer(nipca_app(camera, clock))) as client:
        yield client


# --- identity and fixtures -------------------------------------------------------------


def test_dlink_identity_looks_like_a_dlink_label(camera):
    assert len(camera.serial) == 13 and camera.serial.isalnum() and camera.serial.isupper()
    assert camera.mac[:8] in (
        "b0:c5:54",
        "28:10:7b",
        "1c:7e:e5",
        "c4:a8:1d",
        "f0:7d:68",
        "14:d6:4d",
    )
    assert camera.hardware_version == "B1"
    assert len(camera.mydlink.pin_code) == 6 and camera.mydlink.pin_code.isdigit()
    assert {"nipca", "dlink_discovery", "ssdp", "mydlink"} <= camera.capabilities


def test_dlink_has_no_dvr_and_the_web_server_is_nipca(clock):
    from nvrsim.simulator.runtime.fixtures import FixtureError

    with pytest.raises(FixtureError, match="DCS cameras"):
        make_fleet(dlink_entry(kind="dvr"))
    assert device_app(make_fleet(dlink_entry()).devices[0], clock, WebOptions()) is not None


# --- codec ------------------------------------------------------------------------------


def test_fields_round_trip_as_clients_read_them():
    body = nipca.encode_fields({"Model": "DCS-942L", "wireless": True, "name": "a=b"})
    assert body == b"Model=DCS-942L\nwireless=1\nname=a=b\n"
    assert nipca.decode_fields(body) == {"model": "DCS-942L", "wireless": "1", "name": "a=b"}


@pytest.mark.parametrize("body", [b"enable", b"=1", b"a=1&a=2", b"\xff=1", b"a b=1", b"a=\x01"])
def test_requests_that_are_not_key_value_pairs_are_refused(body):
    with pytest.raises(nipca.NipcaDecodeError):
        nipca.parse_request(body)


def test_requests_accept_both_separators():
    assert nipca.parse_request(b"enable=yes\nsensitivity=80") == {
        "enable": "yes",
        "sensitivity": "80",
    }
    assert nipca.parse_request("Led=off&x=a+b") == {"led": "off", "x": "a b"}


# --- HTTP ------------------------------------------------------------------------------


async def test_info_cgi_needs_credentials_and_names_the_device(client, camera):
    reply = await client.get("/common/info.cgi")
    assert reply.status == 401
    assert await reply.text() == "error=unauthorized\n"
    challenges = reply.headers.getall("WWW-Authenticate")
    assert challenges[0].startswith('Digest realm="DCS-2132LB1"')
    assert challenges[1] == 'Basic realm="DCS-2132LB1"'
    reply = await client.get("/common/info.cgi", headers=basic())
    info = nipca.decode_fields(await reply.read())
    assert reply.status == 200 and reply.headers["Server"] == "dcs-lig-httpd"
    assert info["model"] == "DCS-2132LB1" and info["brand"] == "D-Link"
    assert (info["version"], info["build"], info["hw_version"]) == ("2.13", "03", "B")
    assert info["macaddr"] == camera.mac.upper() and info["ipaddr"] == camera.network.ip


async def test_digest_works_and_wrong_passwords_share_the_device_lockout(client, camera):
    auth = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
    async with (
        aiohttp.ClientSession(middlewares=(auth,)) as session,
        session.get(client.make_url("/config/datetime.cgi")) as reply,
    ):
        assert reply.status == 200
        assert nipca.decode_fields(await reply.read())["timeserver"] == "ntp1.dlink.com"
    for _ in range(7):
        reply = await client.get("/common/info.cgi", headers=basic(password="wrong"))
        assert reply.status == 401
    assert camera.lockout.unlock_in("127.0.0.1", 1_700_000_000.0) > 0
    reply = await client.get("/common/info.cgi", headers=basic())
    assert reply.status == 401  # locked, even with the right password


async def test_basic_is_refused_on_a_digest_only_device(clock):
    cam = make_fleet(dlink_entry(web_auth="digest")).devices[0]
    async with TestClient(TestServer(nipca_app(cam, clock))) as client:
        reply = await client.get("/common/info.cgi", headers=basic())
        assert reply.status == 401
        assert len(reply.headers.getall("WWW-Authenticate")) == 1
        assert cam.lockout.retries_left("127.0.0.1", clock.now()) == 7


async def test_the_challenge_login_of_newer_cameras(client, camera):
    reply = await client.get("/common/authentication.cgi?act=request&username=admin")
    fields = nipca.decode_fields(await reply.read())
    assert fields["loginresult"] == "OK"
    uid, public_key, challenge = fields["cookie"], fields["publickey"], fields["challenge"]
    client.session.cookie_jar.update_cookies({"uid": uid})
    wrong = nipca.login_password(public_key, "nope", challenge)
    reply = await client.get(f"/common/authentication.cgi?act=login&loginpassword={wrong}")
    assert reply.status == 401
    good = nipca.login_password(public_key, PASSWORD, challenge)
    reply = await client.get(f"/common/authentication.cgi?act=login&loginpassword={good}")
    assert nipca.decode_fields(await reply.read()) == {"loginresult": "success"}
    key = nipca.private_key(public_key, PASSWORD, challenge)
    ts = "1700000000123"
    sid = nipca.request_signature(key, ts, "/config/stream_info.cgi")
    reply = await client.get(f"/config/stream_info.cgi?sid={sid}&ts={ts}")
    assert reply.status == 200
    assert nipca.decode_fields(await reply.read())["vprofileurl1"].startswith("/video/")
    reply = await client.get(f"/config/stream_info.cgi?sid={'0' * 32}&ts={ts}")
    assert reply.status == 401


async def test_old_firmware_has_no_challenge_login(clock):
    cam = make_fleet(dlink_entry(model="DCS-942L", firmware="1.27.00")).devices[0]
    async with TestClient(TestServer(nipca_app(cam, clock))) as client:
        reply = await client.get("/common/authentication.cgi?act=request&username=admin")
        assert reply.status == 404


async def test_settings_change_with_a_post_body(client, camera):
    reply = await client.post("/config/motion.cgi", data=b"enable=yes", headers=basic())
    assert nipca.decode_fields(await reply.read())["enable"] == "yes"
    assert camera.motion_detection == {1}
    reply = await client.get("/config/rtspurl.cgi?profileid=2", headers=basic())
    assert nipca.decode_fields(await reply.read())["urlentry"] == "live2.sdp"


async def test_unknown_paths_and_methods_get_the_vendor_error(client):
    reply = await client.get("/config/nothing.cgi", headers=basic())
    assert (reply.status, await reply.text()) == (404, "error=not found\n")
    reply = await client.delete("/common/info.cgi", headers=basic())
    assert (reply.status, await reply.text()) == (405, "error=method not allowed\n")
    reply = await client.post("/config/motion.cgi", data=b"x" * 20000, headers=basic())
    assert reply.status == 413 and (await reply.text()).startswith("error=")


_BAD_BODIES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=5).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_BAD_BODIES,
    path=st.sampled_from(
        [
            "/config/motion.cgi",
            "/config/mydlink.cgi",
            "/config/user.cgi",
            "/config/system_reset.cgi",
        ]
    ),
)
async def test_bad_cgi_bodies_get_the_vendor_error_and_change_nothing(client, camera, body, path):
    before = (
        camera.admin_password,
        camera.mydlink.account,
        set(camera.motion_detection),
        camera.boot_time,
    )
    reply = await client.post(path, data=body, headers=basic())
    text = await reply.text()
    assert reply.status in (200, 400, 403, 409, 413)
    if reply.status != 200:
        assert text.startswith("error=")
        assert before == (
            camera.admin_password,
            camera.mydlink.account,
            set(camera.motion_detection),
            camera.boot_time,
        )
    # Put back whatever a well-formed request changed, so every example starts alike.
    camera.set_password(PASSWORD)
    camera.mydlink.account = None
    camera.motion_detection.clear()


# --- mydlink and factory reset ------------------------------------------------------------


def test_mydlink_registration_needs_an_admin_password(clock):
    cam = make_fleet(dlink_entry(admin_password="")).devices[0]
    assert mydlink.register(cam, "me@example.com") is mydlink.Registration.NO_ADMIN_PASSWORD
    cam.set_password("Secret123")
    assert mydlink.register(cam, "not-an-email") is mydlink.Registration.BAD_ACCOUNT
    assert mydlink.register(cam, "me@example.com") is mydlink.Registration.OK
    assert mydlink.register(cam, "other@example.com") is mydlink.Registration.ALREADY_REGISTERED
    assert cam.mydlink.account == "me@example.com"


def test_a_setup_model_has_no_password_after_a_reset(clock):
    cam = make_fleet(dlink_entry(mydlink={"reset_password": "setup"})).devices[0]
    cam.factory_reset(clock.now())
    assert cam.admin_password is None and not cam.activated


async def test_a_factory_reset_camera_must_be_registered_again(client, camera, clock):
    """D-Link FAQ: after a factory reset the camera must be registered with mydlink again."""
    reply = await client.post(
        "/config/mydlink.cgi", data=b"act=register&account=owner@example.com", headers=basic()
    )
    assert nipca.decode_fields(await reply.read()) == {
        "registered": "yes",
        "account": "owner@example.com",
    }

    clock.advance(60)
    reply = await client.post("/config/system_reset.cgi", data=b"reset=go", headers=basic())
    assert (reply.status, await reply.text()) == (200, "reset=ok\n")
    assert camera.admin_password == "" and not camera.mydlink.registered

    # The old password is gone: admin with the blank factory password logs in.
    assert (await client.get("/common/info.cgi", headers=basic())).status == 401
    blank = basic(password="")
    reply = await client.get("/config/mydlink.cgi", headers=blank)
    assert nipca.decode_fields(await reply.read())["registered"] == "no"
    # Registering again is refused until an admin password is set…
    reply = await client.post(
        "/config/mydlink.cgi", data=b"act=register&account=owner@example.com", headers=blank
    )
    assert reply.status == 403 and "admin password" in await reply.text()
    # …then works.
    reply = await client.post(
        "/config/user.cgi", data=b"name=admin&password=NewPass123", headers=blank
    )
    assert reply.status == 200
    reply = await client.post(
        "/config/mydlink.cgi",
        data=b"act=register&account=owner@example.com",
        headers=basic(password="NewPass123"),
    )
    assert nipca.decode_fields(await reply.read())["registered"] == "yes"


async def test_first_setup_of_a_setup_model(clock):
    cam = make_fleet(dlink_entry(admin_password=None, mydlink={"reset_password": "setup"})).devices[
        0
    ]
    async with TestClient(TestServer(nipca_app(cam, clock))) as client:
        reply = await client.get("/common/info.cgi", headers=basic(password=""))
        assert (reply.status, await reply.text()) == (403, "error=admin password not set\n")
        reply = await client.post("/config/user.cgi", data=b"name=admin&password=First1234")
        assert reply.status == 200 and cam.admin_password == "First1234"
        reply = await client.post("/config/user.cgi", data=b"name=admin&password=Stolen123")
        assert reply.status == 401 and cam.admin_password == "First1234"


def test_pin_codes_are_stable_per_serial():
    a = make_fleet(dlink_entry()).devices[0]
    b = make_fleet(dlink_entry()).devices[0]
    assert a.mydlink.pin_code == b.mydlink.pin_code


async def test_a_dlink_camera_speaks_onvif_on_its_own_web_server(camera, clock):
    """ONVIF comes through the shared module, mounted beside NIPCA."""
    from nvrsim.simulator.runtime.web import WebOptions, device_app
    from tests.onvif.test_onvif_service import soap

    app = device_app(camera, clock, WebOptions())
    async with TestClient(TestServer(app)) as web:
        reply = await web.post("/onvif/device_service", data=soap("GetSystemDateAndTime"))
        assert reply.status == 200
        assert b"SystemDateAndTime" in await reply.read()
        assert (await web.get("/common/info.cgi")).status == 401  # NIPCA is still there


@pytest.mark.parametrize(("cgi", "body"), [("system_reboot", "reboot=go"), ("system_reset", "")])
async def test_reboot_and_reset_cgis_take_the_device_down_and_up_through_the_simulator(
    clock, cgi, body
):
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

    fleet = make_fleet(
        dlink_entry(ports={"http": 0, "rtsp": 0}), clock=clock, address_pool="127.81.0.0/24"
    )
    config = ServiceConfig(
        sadp_port=0, wsd_port=0, dlink_port=0, ssdp_port=0, portal_port=0, reboot_seconds=0.2
    )
    async with Simulator(fleet, clock, config) as sim:
        camera = fleet.devices[0]
        events = sim.journal.subscribe(camera.serial)
        base = f"http://{camera.network.ip}:{camera.network.http_port}"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/config/{cgi}.cgi", data=body, headers=basic()) as reply:
                assert reply.status == 200  # the answer goes out before the device does
            async for event in events:
                if event.kind == "device.down":
                    break
            assert not camera.powered
            with pytest.raises(aiohttp.ClientConnectionError):  # nobody listens while it is down
                async with http.get(f"{base}/common/info.cgi"):
                    pass
            async for event in events:
                if event.kind == "device.up":
                    break
        assert camera.powered
