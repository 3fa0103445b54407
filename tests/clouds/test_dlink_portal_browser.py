"""The whole D-Link Assist activation of seed 002 in headless Chromium, driven by Playwright.

A screenshot of each step is kept under artifacts/das/ (git-ignored). Needs
Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it): Playwright's
own browser download is not used.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvrsim.simulator.clouds.dlink_portal.app import portal_app
from nvrsim.simulator.clouds.dlink_portal.fixture import build_portal
from nvrsim.simulator.clouds.dlink_portal.rules import DAY
from nvrsim.simulator.core.clock import VirtualClock
from tests.strategies_isapi import ServerThread

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "das"
SERIAL = "PVRX2A5000412"
CODE = "DAS-7K3F-9Q2M-XW4P"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason="needs Debian's chromium package (/usr/bin/chromium): apt-get install chromium",
    ),
    pytest.mark.slow,
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.timeout(180)
def test_the_whole_activation_in_a_browser(browser):
    clock = VirtualClock()
    today = datetime.fromtimestamp(clock.now(), tz=UTC).date()
    sold_on = today - timedelta(days=12)
    portal = build_portal(
        {
            "reseller": [{"name": "Demo Distribution", "key": "reseller-key-1"}],
            "code": [
                {
                    "code": CODE,
                    "reseller": "reseller-key-1",
                    "model": "DCS-2132LB1",
                    "serial": SERIAL,
                    "years": 3,
                    "sold_on": sold_on,
                }
            ],
        },
        now=clock.now(),
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proof = ARTIFACTS / "facture.pdf"
    proof.write_bytes(b"%PDF-1.4\n% a reseller's invoice\n")
    steps = iter(range(1, 100))

    with ServerThread(portal_app(portal, clock)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")

        def shot(name: str) -> None:
            page.screenshot(
                path=str(ARTIFACTS / f"step-{next(steps):02d}-{name}.png"), full_page=True
            )

        # 1. An account on the support portal, then log in.
        page.goto(f"{url}/signup")
        for field, value in {
            "email": "installateur@example.com",
            "password": "Secret123",
            "name": "Camille Martin",
            "company": "Martin Sécurité",
            "street": "12 rue de la Paix",
            "postcode": "75002",
            "city": "Paris",
            "country": "France",
        }.items():
            page.fill(f"#{field}", value)
        shot("signup")
        page.click("#create-account")
        page.click("button.link")  # log out, to log in as the seed says
        page.fill("#email", "installateur@example.com")
        page.fill("#password", "Secret123")
        shot("login")
        page.click("#login")
        page.wait_for_url("**/home")
        shot("home")

        # 2. The product is registered first.
        page.click("#tile-register")
        page.fill("#serial", SERIAL)
        page.fill("#model", "DCS-2132LB1")
        page.fill("#hardware_version", "B1")
        page.fill("#mac", "B0:C5:54:12:34:56")
        page.fill("#purchase_date", (today - timedelta(days=40)).isoformat())
        page.set_input_files("#proof_of_purchase", str(proof))
        shot("register-product")
        page.click("#save-product")
        assert SERIAL in page.inner_text("#products")
        shot("registered-products")

        # 3. « Activation des services D-Link »: accept the terms, « Valider ».
        page.click("text=Activation des services D-Link")
        page.check("#accept-terms")
        shot("terms")
        page.click("#validate")
        page.wait_for_selector("#das-products")
        shot("choose-product")

        # 4. « Créer une nouvelle adresse de site », fill, save; find it with the magnifier.
        page.click("#new-site")
        for field, value in {
            "name": "Entrepôt Marseille",
            "street": "3 avenue du Port",
            "postcode": "13002",
            "city": "Marseille",
            "country": "France",
        }.items():
            page.fill(f"#site-{field}", value)
        shot("new-site")
        page.click("#save-site")
        assert "Site créé" in page.inner_text("main")
        new_site = portal.accounts["installateur@example.com"].sites[1].number
        page.fill("#site-search", "Marseille")
        page.click("#site-search-go")
        shot("site-search")

        # 5. The code, the service purchase date and the site; the wrong site is refused.
        row = page.locator(f"#row-{SERIAL}")
        row.locator("input[name=code]").fill(CODE)
        row.locator("input[name=service_purchase_date]").fill(sold_on.isoformat())
        row.locator("select[name=site]").select_option(new_site)
        row.locator("button").click()
        assert "n'est pas celui où le produit est installé" in page.inner_text("[role=alert]")
        shot("refused-wrong-site")
        page.goto(f"{url}/das")
        row = page.locator(f"#row-{SERIAL}")
        row.locator("input[name=code]").fill(CODE)
        row.locator("input[name=service_purchase_date]").fill(sold_on.isoformat())
        row.locator("select[name=site]").select_option("S000001")
        shot("activation-filled")
        row.locator("button").click()  # « Soumettre »

        # 6. Activated: two days of logistics, then active, with validity dates.
        page.wait_for_url("**/services?done=activated_ok")
        assert "deux jours" in page.inner_text("[role=status]")
        assert "En cours de mise en place" in page.inner_text("#services")
        shot("services-pending")
        clock.advance(2 * DAY)
        page.goto(f"{url}/services")
        assert "Actif" in page.inner_text("#services")
        shot("services-active")

        # 7. Search: already activated, and a product not registered.
        page.fill("input[name=q] >> nth=0", SERIAL)
        page.press("input[name=q] >> nth=0", "Enter")
        assert "déjà été activé" in page.inner_text("#findings")
        shot("search-already-activated")
        page.goto(f"{url}/search?q=QAAA1A1000001")
        assert "n'est pas enregistré" in page.inner_text("#findings")
        shot("search-not-registered")

        # 8. The same pages in English.
        page.click("#lang-switch")
        assert "This product is not registered" in page.inner_text("#findings")
        page.goto(f"{url}/services")
        assert "Activated services" in page.inner_text("h1")
        shot("services-english")

    assert portal.activations[0].status(clock.now()) == "active"
    assert len(list(ARTIFACTS.glob("step-*.png"))) >= 16
