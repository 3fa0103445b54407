"""The DMSS cloud end to end: binding, the Appeal of seed 000 on the virtual clock, e-mail.

Every outcome of the seed runs through the HTTP API with the photos `nvrsim photo`
draws; the result e-mails land in the cloud's outbox and, over real SMTP, in an
aiosmtpd server on loopback.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
import subprocess
import sys

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvrsim.simulator.clouds.dmss.app import CONTEXT, dmss_app
from nvrsim.simulator.clouds.dmss.generator import CASES, make_photo
from nvrsim.simulator.clouds.dmss.mailer import Mailer, SmtpSettings
from nvrsim.simulator.clouds.dmss.photos import PhotoError, assess, too_low_quality
from nvrsim.simulator.clouds.dmss.rules import DEMO_PASSWORD, DmssCloud
from nvrsim.simulator.core.faults import Faults
from tests.conftest import PASSWORD, make_fleet, stopped
from tests.dahua.test_dhip import dahua_camera, dahua_entry

OWNER, ME = "previous.owner@example.com", "new.owner@example.com"
HOUR = 3600.0


class Inbox:
    """An aiosmtpd handler: what the SMTP server received, and a way to wait for it."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        self.arrived.set()
        return "250 OK"

    async def wait_for(self, count: int) -> list:
        while len(self.messages) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)
        return self.messages


@pytest.fixture
async def smtp():
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="smtp.test"), "127.0.0.1", 0)
    inbox.port = server.sockets[0].getsockname()[1]
    yield inbox
    server.close()
    await server.wait_closed()


@pytest.fixture
def fleet(clock):
    return make_fleet(
        dahua_entry("nvr", serial="7L02A5EPAZ1C4F0", dahua={"dmss_account": OWNER}),
        dahua_camera("cam"),
        dahua_camera("offline", dahua={"p2p_link": False}),
        clock=clock,
        address_pool="127.86.0.0/24",
    )


@pytest.fixture
def cloud(fleet, clock):
    cloud = DmssCloud(fleet)
    cloud.ensure_fleet_accounts(clock.now())
    return cloud


@pytest.fixture
async def api(cloud, clock, smtp):
    app = dmss_app(cloud, clock, Mailer(SmtpSettings("127.0.0.1", smtp.port)))
    async with TestClient(TestServer(app)) as client:
        yield client


async def session(api, email_: str, password: str = PASSWORD, app: str = "DMSS") -> dict:
    if email_ not in (OWNER,):
        await api.post("/api/v1/accounts", json={"email": email_, "password": password})
    else:
        password = DEMO_PASSWORD
    reply = await api.post(
        "/api/v1/session", json={"email": email_, "password": password, "app": app}
    )
    assert reply.status == 200, await reply.text()
    return {"Authorization": f"Bearer {(await reply.json())['token']}"}


async def appeal(api, headers, serial: str, photo: bytes | None, proof: bytes | None = None):
    form = aiohttp.FormData()
    form.add_field("serial", serial)
    if photo is not None:
        form.add_field("device_photo", photo, filename="photo.jpg", content_type="image/jpeg")
    if proof is not None:
        form.add_field("purchase_proof", proof, filename="invoice.jpg", content_type="image/jpeg")
    return await api.post("/api/v1/appeals", data=form, headers=headers)


# --- photos -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_sample_photo_is_judged_as_the_seed_says(case):
    photo = assess(make_photo(case, "7L02A5EPAZ1C4F0"))
    low = too_low_quality(photo)
    assert low == (case in ("label-blurry", "label-small"))
    expected = {"label": "device_label", "screen-qr": "recorder_screen", "box": "box"}
    if case in expected:
        assert photo.subject == expected[case]


def test_a_screen_photo_is_found_by_its_pixels_without_any_comment():
    from io import BytesIO

    from PIL import Image

    bare = BytesIO()
    Image.open(BytesIO(make_photo("screen-qr", "7L02A5EPAZ1C4F0"))).save(bare, "PNG")
    photo = assess(bare.getvalue())
    assert photo.subject == "recorder_screen" and photo.qr_share > 0.08
    assert "SN:7L02A5EPAZ1C4F0" in photo.qr_codes


def test_what_is_not_a_picture_is_refused():
    with pytest.raises(PhotoError):
        assess(b"GIF89a not really")


def test_nvrsim_photo_draws_every_case(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nvrsim",
            "photo",
            "--serial",
            "7L02A5EPAZ1C4F0",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c}.jpg" for c in CASES)
    assert assess((tmp_path / "label.jpg").read_bytes()).serials == ("7L02A5EPAZ1C4F0",)


# --- binding -------------------------------------------------------------------------------


async def test_binding_needs_the_device_password_online_and_counts_failures(api, fleet, clock):
    me = await session(api, ME)
    cam = fleet.find("cam")
    wrong = await api.post(
        "/api/v1/devices", json={"serial": cam.serial, "password": "nope"}, headers=me
    )
    assert wrong.status == 403 and (await wrong.json())["code"] == "wrong_device_password"
    assert (await wrong.json())["retries_left"] == 4
    offline = fleet.find("offline")
    reply = await api.post(
        "/api/v1/devices", json={"serial": offline.serial, "password": PASSWORD}, headers=me
    )
    assert reply.status == 409 and (await reply.json())["code"] == "device_offline"
    ok = await api.post(
        "/api/v1/devices", json={"serial": cam.serial, "password": PASSWORD}, headers=me
    )
    assert ok.status == 201 and (await ok.json())["online"] is True
    assert cam.dahua.dmss_account == ME
    listed = await (await api.get("/api/v1/devices", headers=me)).json()
    assert [d["serial"] for d in listed] == [cam.serial]
    cam.own_faults = Faults(cloud_offline=True)  # the one P2P status the cloud reads
    assert (await (await api.get("/api/v1/devices", headers=me)).json())[0]["online"] is False


@pytest.mark.parametrize("app", ["gDMSS", "iDMSS", "gDMSS Plus"])
async def test_only_the_dmss_app_offers_the_appeal(api, fleet, app):
    nvr = fleet.find("nvr")
    headers = await session(api, ME, app=app)
    reply = await api.post(
        "/api/v1/devices", json={"serial": nvr.serial, "password": PASSWORD}, headers=headers
    )
    body = await reply.json()
    assert reply.status == 409 and body["code"] == "already_bound"
    assert body["appeal_available"] is False and "only available in the DMSS app" in body["appeal"]
    refused = await appeal(api, headers, nvr.serial, make_photo("label", nvr.serial))
    assert refused.status == 403 and (await refused.json())["code"] == "appeal_not_available"


async def test_dmss_offers_the_appeal_and_the_photo_is_required(api, fleet):
    nvr = fleet.find("nvr")
    me = await session(api, ME)
    reply = await api.post(
        "/api/v1/devices", json={"serial": nvr.serial, "password": PASSWORD}, headers=me
    )
    body = await reply.json()
    assert reply.status == 409 and body["appeal_available"] is True
    missing = await appeal(api, me, nvr.serial, None, make_photo("receipt", nvr.serial))
    assert missing.status == 400 and (await missing.json())["code"] == "photo_required"
    junk = await appeal(api, me, nvr.serial, b"\x00not a picture")
    assert junk.status == 400 and (await junk.json())["code"] == "not_a_picture"
    assert nvr.dahua.dmss_account == OWNER


# --- every outcome of the seed, on the virtual clock ---------------------------------------

OUTCOMES = [
    # (photo case, owner's answer, proof of purchase, status, subject of the result e-mail)
    ("label", None, False, "approved", "Your unbind request was approved"),
    ("label", "accept", False, "approved", "Your unbind request was approved"),
    ("label", "refuse", True, "approved", "Your unbind request was approved"),
    ("label", "refuse", False, "rejected_owner_refused", "Your unbind request was refused"),
    (
        "label-blurry",
        None,
        True,
        "rejected_low_quality",
        "Your unbind request could not be processed",
    ),
    (
        "label-small",
        None,
        False,
        "rejected_low_quality",
        "Your unbind request could not be processed",
    ),
    (
        "screen-qr",
        None,
        False,
        "rejected_incorrect_photo",
        "Your unbind request was not carried out",
    ),
    ("box", None, True, "rejected_incorrect_photo", "Your unbind request was not carried out"),
    (
        "app-screenshot",
        None,
        False,
        "rejected_incorrect_photo",
        "Your unbind request was not carried out",
    ),
    ("other", None, False, "rejected_incorrect_photo", "Your unbind request was not carried out"),
    (
        "label-of-another-device",
        None,
        False,
        "rejected_incorrect_photo",
        "Your unbind request was not carried out",
    ),
]


@pytest.mark.parametrize(("case", "answer", "proof", "status", "subject"), OUTCOMES)
async def test_every_appeal_outcome_of_the_seed(
    api, cloud, fleet, clock, smtp, case, answer, proof, status, subject
):
    nvr = fleet.find("nvr")
    me = await session(api, ME)
    photo = (
        make_photo("label", "9Z99ZZZZZZ99999")
        if case == "label-of-another-device"
        else make_photo(case, nvr.serial, nvr.model)
    )
    receipt = make_photo("receipt", nvr.serial, nvr.model) if proof else None
    submitted = await appeal(api, me, nvr.serial, photo, receipt)
    assert submitted.status == 201, await submitted.text()
    body = await submitted.json()
    assert body["status"] == "under_review" and body["decision_due"] == clock.now() + 48 * HOUR

    # The owner is told at once, in the app and by e-mail.
    owner = await session(api, OWNER)
    (note,) = await (await api.get("/api/v1/notifications", headers=owner)).json()
    assert note["kind"] == "unbind_request" and note["serial"] == nvr.serial
    (first,) = await smtp.wait_for(1)
    assert first["To"] == OWNER and first["Subject"] == "Someone asked to unbind your device"
    again = await appeal(api, me, nvr.serial, photo)
    assert again.status == 409 and (await again.json())["code"] == "appeal_under_review"

    clock.advance(47 * HOUR)
    if answer is not None:
        answered = await api.post(
            f"/api/v1/appeals/{body['id']}/answer",
            json={"accept": answer == "accept"},
            headers=owner,
        )
        assert answered.status == 200
    clock.advance(HOUR - 1)
    still = await (await api.get(f"/api/v1/appeals/{body['id']}", headers=me)).json()
    assert still["status"] == "under_review" and nvr.dahua.dmss_account == OWNER
    assert [m["to"] for m in await (await api.get("/api/v1/outbox")).json()] == [OWNER]

    clock.advance(1)  # 48 h after submission
    decided = await (await api.get(f"/api/v1/appeals/{body['id']}", headers=me)).json()
    assert decided["status"] == status and decided["decided"] == clock.now()
    mails = await (await api.get("/api/v1/outbox", params={"to": ME})).json()
    assert [m["subject"] for m in mails] == [subject]
    approved = status == "approved"
    assert nvr.dahua.dmss_account == (ME if approved else OWNER)
    delivered = await smtp.wait_for(3 if approved else 2)
    result = next(m for m in delivered if m["To"] == ME)
    assert result["Subject"] == subject and result["X-DMSS-Appeal"] == str(body["id"])
    if approved:
        assert any(m["To"] == OWNER and "removed" in m["Subject"] for m in delivered)
    late = await api.post(
        f"/api/v1/appeals/{body['id']}/answer", json={"accept": True}, headers=owner
    )
    assert late.status == 409 and (await late.json())["code"] == "appeal_decided"
    await asyncio.gather(*api.server.app[CONTEXT].tasks)  # the SMTP sessions have ended
    outbox = [m for m in cloud.outbox]
    assert outbox and all(m.delivered for m in outbox)


async def test_a_stranger_cannot_answer_for_the_owner(api, fleet):
    nvr = fleet.find("nvr")
    me = await session(api, ME)
    submitted = await (await appeal(api, me, nvr.serial, make_photo("label", nvr.serial))).json()
    reply = await api.post(
        f"/api/v1/appeals/{submitted['id']}/answer", json={"accept": True}, headers=me
    )
    assert reply.status == 404


async def test_hostile_requests_get_json_errors_never_a_500(api):
    for method, path, data in [
        ("POST", "/api/v1/accounts", b"{"),
        ("POST", "/api/v1/session", b"[]"),
        ("POST", "/api/v1/appeals", b"x"),
        ("GET", "/api/v1/appeals/abc", None),
        ("GET", "/api/v1/nothing", None),
        ("DELETE", "/api/v1/outbox", None),
    ]:
        reply = await api.request(method, path, data=data)
        assert 400 <= reply.status < 500 and "code" in await reply.json()


# --- as a service of `nvrsim run` ------------------------------------------------------------

DAHUA_FLEET = """
[fleet]
seed = "dmss-run"
address_pool = "127.87.0.0/24"

[[device]]
name = "nvr"
vendor = "dahua"
kind = "nvr"
model = "DHI-NVR4208-8P-4KS2"
firmware = "4.001.0000000.3.R"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
dahua = { dmss_account = "previous.owner@example.com" }

[[device]]
name = "cam"
count = 3
vendor = "dahua"
kind = "ipc"
model = "IPC-HDW5831R-ZE"
firmware = "2.800.0000016.0.R"
admin_password = "Demo12345"
ports = { http = 0, rtsp = 0 }
"""


def test_nvrsim_run_prints_dhip_and_dmss_and_both_answer(tmp_path):
    import json
    import re
    import urllib.request

    from tests.cli.test_cli import FREE_PORTS, NVRSIM

    fleet_file, ready = tmp_path / "fleet.toml", tmp_path / "ready.json"
    fleet_file.write_text(DAHUA_FLEET, encoding="utf-8")
    process = subprocess.Popen(
        [*NVRSIM, "run", str(fleet_file), *FREE_PORTS, "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("ready: "):
                break
        out = "".join(banner)
        assert re.search(r"^DHIP +udp://127\.0\.0\.1:\d+$", out, re.M), out
        assert re.search(r"^DMSS +http://127\.0\.0\.1:\d+$", out, re.M), out
        assert re.search(r"^RPC2 +http://<ADDRESS>:<HTTP>/RPC2_Login", out, re.M), out
        services = json.loads(ready.read_text())["services"]
        found = subprocess.run(
            [*NVRSIM, "discover", "dhip", "--port", str(services["dhip"]["port"]), "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert len(json.loads(found.stdout)) == 4
        dmss = f"http://127.0.0.1:{services['dmss']['port']}/api/v1/session"
        login = json.dumps({"email": OWNER, "password": DEMO_PASSWORD, "app": "DMSS"}).encode()
        request = urllib.request.Request(dmss, login, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.loads(reply.read())["email"] == OWNER
    finally:
        stopped(process, signal.SIGTERM)


async def test_a_binding_changed_by_the_cloud_goes_through_the_journal(fleet, clock):
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=None)
    async with Simulator(fleet, clock, config) as sim:
        cloud = sim.services["dmss"].cloud
        subscription = sim.journal.subscribe()
        me = cloud.register(ME, PASSWORD, clock.now())
        cam = fleet.find("cam")
        cloud.add_device(me, "DMSS", cam.serial, PASSWORD, "127.0.0.1", clock.now())
        events = []
        async for event in subscription:
            events.append(event)
            if event.kind == "device.changed":
                break
        assert events[-1].serial == cam.serial
        assert events[-1].data["changes"]["dahua.dmss_account"] == [None, ME]


async def test_the_control_api_shows_accounts_appeals_and_outbox(fleet, clock):
    from nvrsim.simulator.control.app import control_app
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator

    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=None)
    async with (
        Simulator(fleet, clock, config) as sim,
        TestClient(TestServer(control_app(sim))) as control,
    ):
        nvr = fleet.find("nvr")
        accounts = await (await control.get("/api/dmss/accounts")).json()
        assert accounts == [{"email": OWNER, "devices": [nvr.serial]}]
        made = await control.post("/api/dmss/accounts", json={"email": ME, "password": PASSWORD})
        assert made.status == 201 and (await made.json()) == {"email": ME, "devices": []}
        again = await control.post("/api/dmss/accounts", json={"email": ME, "password": PASSWORD})
        assert again.status == 409
        cloud = sim.services["dmss"].cloud
        me = cloud.accounts[ME]
        cloud.submit_appeal(
            me, "DMSS", nvr.serial, make_photo("label", nvr.serial), None, clock.now()
        )
        (pending,) = await (await control.get("/api/dmss/appeals")).json()
        assert pending["status"] == "under_review"
        await control.post("/api/clock/advance", json={"seconds": 48 * HOUR})
        (decided,) = await (await control.get("/api/dmss/appeals")).json()
        assert decided["status"] == "approved" and nvr.dahua.dmss_account == ME
        outbox = await (await control.get("/api/dmss/outbox")).json()
        assert [m["to"] for m in outbox] == [OWNER, ME, OWNER]
        state = await (await control.get(f"/api/devices/{nvr.serial}")).json()
        assert state["dahua"]["dmss_account"] == ME and state["status"]["p2p_online"] is True
        patched = await control.patch(
            f"/api/devices/{nvr.serial}",
            json={"dahua": {"dmss_account": None, "p2p_link": False, "lock_login_times": 2}},
        )
        assert patched.status == 200
        assert nvr.dahua.dmss_account is None and not nvr.p2p_online
        assert nvr.lockout.policy.max_failures == 2
        hik = await control.patch(f"/api/devices/{nvr.serial}", json={"dahua": {"bogus": 1}})
        assert hik.status == 400


async def test_the_control_api_says_when_no_dmss_cloud_runs(clock):
    from nvrsim.simulator.control.app import control_app
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
    from tests.conftest import hik_entry

    fleet = make_fleet(hik_entry("hik", ports={"http": 0, "rtsp": 0}), clock=clock)
    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=None)
    async with (
        Simulator(fleet, clock, config) as sim,
        TestClient(TestServer(control_app(sim))) as c,
    ):
        assert (await c.get("/api/dmss/outbox")).status == 409


def test_nvrsim_ctl_shows_the_dmss_cloud_and_dahua_devices(fleet, clock, cloud, capsys):
    import json

    from nvrsim.simulator.cli.main import main
    from nvrsim.simulator.control.app import control_app
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
    from tests.strategies_isapi import ServerThread

    class Service:  # the started service's face, without starting the fleet's sockets
        def __init__(self) -> None:
            self.cloud, self.host, self.port = cloud, "127.0.0.1", 0

        def settle(self) -> None:
            cloud.settle(clock.now())

    sim = Simulator(fleet, clock, ServiceConfig())
    sim.services["dmss"] = Service()
    nvr = fleet.find("nvr")
    cloud.register(ME, PASSWORD, clock.now())
    cloud.submit_appeal(
        cloud.accounts[ME], "DMSS", nvr.serial, make_photo("box", nvr.serial), None, clock.now()
    )
    with ServerThread(control_app(sim)) as url:
        assert main(["ctl", "--api", url, "dmss", "appeals"]) == 0
        (appeal_doc,) = json.loads(capsys.readouterr().out)
        assert appeal_doc["status"] == "under_review" and appeal_doc["photo"]["subject"] == "box"
        clock.advance(48 * HOUR)
        assert main(["ctl", "--api", url, "dmss", "outbox"]) == 0
        subjects = [m["subject"] for m in json.loads(capsys.readouterr().out)]
        assert subjects[-1] == "Your unbind request was not carried out"
        assert main(["ctl", "--api", url, "devices"]) == 0
        table = capsys.readouterr().out
        assert OWNER in table and "p2p" in table


async def test_an_appeal_under_review_outlives_a_restart_with_state(fleet, clock, tmp_path):
    from nvrsim.simulator.runtime.journal import Journal
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
    from nvrsim.simulator.runtime.state import StateDir

    config = ServiceConfig(sadp_port=0, wsd_port=0, dhip_port=0, dmss_port=0, control_port=None)
    store = StateDir(tmp_path / "state")
    store.save_all(fleet)
    journal = Journal(clock, store)
    async with Simulator(fleet, clock, config, journal) as sim:
        cloud = sim.services["dmss"].cloud
        me = cloud.register(ME, PASSWORD, clock.now())
        nvr = fleet.find("nvr")
        cloud.submit_appeal(
            me, "DMSS", nvr.serial, make_photo("label", nvr.serial), None, clock.now()
        )
    journal.close()

    clock.advance(48 * HOUR)
    again = store.load(now=clock.now())
    journal = Journal(clock, store)
    async with Simulator(again, clock, config, journal) as sim:
        cloud = sim.services["dmss"].cloud
        assert cloud.authenticate(ME, PASSWORD).email == ME
        (appeal_,) = cloud.settle(clock.now())
        assert appeal_.status == "approved"
        assert again.find(nvr.serial).dahua.dmss_account == ME
        assert [m.to for m in cloud.outbox] == [OWNER, ME, OWNER]
    journal.close()
    assert StateDir(tmp_path / "state").load_dmss()["appeals"][0]["status"] == "approved"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    path=st.sampled_from(
        ["/api/v1/accounts", "/api/v1/session", "/api/v1/devices", "/api/v1/appeals/1/answer"]
    ),
    body=st.dictionaries(
        st.sampled_from(["email", "password", "app", "serial", "accept"]) | st.text(max_size=5),
        json_values,
        max_size=4,
    )
    | json_values,
)
async def test_hostile_json_gets_a_dmss_error_never_a_500(api, path, body):
    reply = await api.post(path, json=body, headers=await session(api, ME))
    assert reply.status < 500
    if reply.status >= 400:
        assert "code" in await reply.json()
