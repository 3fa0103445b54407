"""The support portal over HTTP: pages in French and English, and the JSON API for automation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from nvrsim.simulator.clouds.dlink_portal.app import portal_app
from nvrsim.simulator.clouds.dlink_portal.fixture import build_portal
from nvrsim.simulator.clouds.dlink_portal.rules import DAY

SERIAL = "PVRX2A5000412"
KEY = "reseller-key-1"
ADDRESS = {"street": "12 rue de la Paix", "postcode": "75002", "city": "Paris", "country": "France"}


def today(clock) -> str:
    return datetime.fromtimestamp(clock.now(), tz=UTC).date().isoformat()


@pytest.fixture
async def client(clock):
    portal = build_portal({"reseller": [{"name": "Reseller", "key": KEY}]}, now=clock.now())
    async with TestClient(TestServer(portal_app(portal, clock))) as client:
        yield client


async def api(client, method: str, path: str, token: str | None = None, **body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": body} if method == "POST" else {"params": body}
    reply = await client.request(method, path, headers=headers, **kwargs)
    return reply.status, await reply.json()


async def sign_up(client) -> str:
    status, _ = await api(
        client,
        "POST",
        "/api/accounts",
        email="me@example.com",
        password="Secret123",
        name="Me",
        **ADDRESS,
    )
    assert status == 201
    _, session = await api(
        client, "POST", "/api/session", email="me@example.com", password="Secret123"
    )
    return session["token"]


async def test_the_whole_activation_through_the_json_api(client, clock):
    token = await sign_up(client)
    _, sites = await api(client, "GET", "/api/sites", token)
    site = sites[0]["number"]
    status, product = await api(
        client,
        "POST",
        "/api/products",
        token,
        serial=SERIAL,
        model="DCS-2132LB1",
        hardware_version="B1",
        mac="B0:C5:54:12:34:56",
        purchase_date=today(clock),
        proof_of_purchase="facture.pdf",
        site=site,
    )
    assert status == 201 and product["serial"] == SERIAL
    sold_on = (datetime.fromtimestamp(clock.now(), tz=UTC).date() - timedelta(days=5)).isoformat()
    reply = await client.post(
        "/api/reseller/codes",
        headers={"X-Reseller-Key": KEY},
        json={"model": "DCS-2132LB1", "serial": SERIAL, "years": 3, "sold_on": sold_on},
    )
    assert reply.status == 201
    code = (await reply.json())["code"]
    body = {"serial": SERIAL, "code": code, "service_purchase_date": sold_on, "site": site}
    status, refusal = await api(client, "POST", "/api/activations", token, **body)
    assert (status, refusal["error"]) == (403, "terms_not_accepted")
    assert (await api(client, "POST", "/api/terms", token, accept="yes"))[0] == 200
    status, service = await api(client, "POST", "/api/activations", token, **body)
    assert status == 201 and service["status"] == "pending"
    status, again = await api(client, "POST", "/api/activations", token, **body)
    assert (status, again["error"]) == (409, "already_activated")
    clock.advance(2 * DAY)
    _, services = await api(client, "GET", "/api/services", token)
    assert (
        services[0]["status"] == "active" and services[0]["valid_until"] > services[0]["valid_from"]
    )
    _, found = await api(client, "GET", "/api/search", token, q="QAAA1A1000001")
    assert found[0]["verdict"] == "product_not_registered"


async def test_api_refusals_are_json_with_a_status(client):
    status, body = await api(client, "GET", "/api/products")
    assert (status, body["error"]) == (401, "bad_credentials")
    reply = await client.post("/api/accounts", data=b"{not json")
    assert reply.status == 400 and (await reply.json())["error"] == "missing_field"
    reply = await client.post("/api/reseller/codes", json={"serial": SERIAL})
    assert reply.status == 401
    reply = await client.get("/api/nothing")
    assert reply.status == 404 and "error" in await reply.json()


async def test_pages_walk_the_seed_and_switch_language(client, clock):
    reply = await client.get("/home")
    assert str(reply.url.path) == "/login"
    form = {"email": "me@example.com", "password": "Secret123", "name": "Me", "company": ""}
    reply = await client.post("/signup", data=form | ADDRESS)
    assert reply.status == 200 and "Bienvenue" in await reply.text()
    text = await (await client.get("/das")).text()
    assert "Accepter" not in text and "Valider" in text and "Termes et conditions" in text
    reply = await client.post("/das/terms", data={})
    assert reply.status == 400 and "Acceptez d&#39;abord" in await reply.text()
    reply = await client.post("/das/terms", data={"accept": "yes"})
    text = await reply.text()
    assert "Produits enregistrés" in text and "Créer une nouvelle adresse de site" in text
    english = await (await client.get("/das?lang=en")).text()
    assert "Create a new site address" in english and 'lang="en"' in english
    assert 'lang="en"' in await (await client.get("/home")).text()  # remembered by a cookie

    data = FormData()
    for key, value in {
        "serial": SERIAL,
        "model": "DCS-2132LB1",
        "hardware_version": "B1",
        "mac": "B0:C5:54:12:34:56",
        "purchase_date": today(clock),
        "site": "S000001",
    }.items():
        data.add_field(key, value)
    data.add_field("proof_of_purchase", b"%PDF-1.4", filename="facture.pdf")
    reply = await client.post("/products/new", data=data)
    assert str(reply.url.path) == "/products" and SERIAL in await reply.text()

    reply = await client.post(
        "/das/activate",
        data={
            "serial": SERIAL,
            "code": "DAS-0000-0000-0000",
            "service_purchase_date": today(clock),
            "site": "S000001",
        },
    )
    assert reply.status == 400 and "Unknown activation code" in await reply.text()
    text = await (await client.get("/search?q=QAAA1A1000001&lang=fr")).text()
    assert "n&#39;est pas enregistré" in text


async def test_unknown_pages_and_bad_forms_get_portal_pages(client):
    reply = await client.get("/nothing-here")
    assert reply.status == 404 and "D-Link" in await reply.text()
    reply = await client.post("/login", data={"email": "x@example.com", "password": "nope"})
    assert reply.status == 400 and "incorrect" in await reply.text()
    reply = await client.get("/login?next=//evil.example/")
    assert reply.status == 200
