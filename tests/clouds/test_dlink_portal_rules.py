"""Every rule of seed 002 (activating a D-Link Assist contract), one test each, virtual clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nvrsim.simulator.clouds.dlink_portal.fixture import build_portal, load_portal
from nvrsim.simulator.clouds.dlink_portal.rules import DAY, Address, Portal, PortalError, Refusal
from nvrsim.simulator.core.clock import VirtualClock

SERIAL = "PVRX2A5000412"
OTHER_SERIAL = "QDNR3B7000088"
KEY = "reseller-key-1"
HOME = Address("12 rue de la Paix", "75002", "Paris", "France")
WAREHOUSE = Address("3 avenue du Port", "13002", "Marseille", "France")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def today(clock: VirtualClock) -> date:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock.now(), tz=UTC).date()


@pytest.fixture
def portal(clock) -> Portal:
    portal = build_portal({"reseller": [{"name": "Reseller", "key": KEY}]}, now=clock.now())
    return portal


@pytest.fixture
def account(portal):
    return portal.sign_up("me@example.com", "Secret123", "Me", "Me SARL", HOME)


def register(portal, account, clock, serial=SERIAL, model="DCS-2132LB1", site=None):
    return portal.register_product(
        account,
        serial=serial,
        model=model,
        hardware_version="B1",
        mac="B0:C5:54:12:34:56",
        purchase_date=today(clock) - timedelta(days=30),
        proof_of_purchase="facture.pdf",
        site=site or account.sites[0].number,
        now=clock.now(),
    )


def sell(portal, clock, serial=SERIAL, model="DCS-2132LB1", days_ago=10, years=3):
    return portal.issue_code(
        KEY,
        model=model,
        serial=serial,
        service="D-Link Assist Next Business Day",
        years=years,
        sold_on=today(clock) - timedelta(days=days_ago),
    )


@pytest.fixture
def ready(portal, account, clock):
    """A registered product, terms accepted, a fresh code for it: all set to « Soumettre »."""
    product = register(portal, account, clock)
    portal.accept_terms(account, clock.now())
    return product, sell(portal, clock)


def activate(portal, account, clock, code, *, serial=SERIAL, sold_on=None, site=None):
    return portal.activate(
        account,
        serial=serial,
        code=code.code,
        service_purchase_date=sold_on or code.sold_on,
        site=site or account.sites[0].number,
        now=clock.now(),
    )


def refused(refusal: Refusal):
    return pytest.raises(PortalError, match=f"^{refusal.value}")


# --- accounts ---------------------------------------------------------------------------------


def test_sign_up_then_log_in(portal, account):
    assert portal.log_in("ME@example.com", "Secret123") is account
    assert account.sites[0].address == HOME  # the account's own address is site 1
    with refused(Refusal.BAD_CREDENTIALS):
        portal.log_in("me@example.com", "wrong-password")


@pytest.mark.parametrize(
    ("email", "password", "refusal"),
    [
        ("me@example.com", "Secret123", Refusal.EMAIL_TAKEN),
        ("not-an-email", "Secret123", Refusal.BAD_EMAIL),
        ("new@example.com", "short", Refusal.WEAK_PASSWORD),
        ("", "Secret123", Refusal.MISSING_FIELD),
    ],
)
def test_sign_up_refusals(portal, account, email, password, refusal):
    with refused(refusal):
        portal.sign_up(email, password, "X", "", HOME)


# --- product registration ---------------------------------------------------------------------


def test_product_registration_keeps_every_field(portal, account, clock):
    product = register(portal, account, clock, serial="pvrx2a5000412")
    assert (product.serial, product.model, product.hardware_version) == (
        SERIAL,
        "DCS-2132LB1",
        "B1",
    )
    assert product.mac == "B0:C5:54:12:34:56" and product.proof_of_purchase == "facture.pdf"
    assert portal.products_of(account) == [product]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"serial": "12345"}, Refusal.BAD_SERIAL),
        ({"mac": "B0:C5:54"}, Refusal.BAD_MAC),
        ({"hardware_version": "rev 2"}, Refusal.BAD_HARDWARE_VERSION),
        ({"purchase_date": "tomorrow"}, Refusal.FUTURE_DATE),
        ({"proof_of_purchase": ""}, Refusal.NO_PROOF_OF_PURCHASE),
        ({"site": "S999999"}, Refusal.UNKNOWN_SITE),
        ({"model": " "}, Refusal.MISSING_FIELD),
    ],
)
def test_product_registration_refusals(portal, account, clock, change, refusal):
    fields = {
        "serial": SERIAL,
        "model": "DCS-2132LB1",
        "hardware_version": "B1",
        "mac": "b0c554123456",
        "purchase_date": today(clock),
        "proof_of_purchase": "facture.pdf",
        "site": account.sites[0].number,
    }
    fields |= change
    if fields["purchase_date"] == "tomorrow":
        fields["purchase_date"] = today(clock) + timedelta(days=1)
    with refused(refusal):
        portal.register_product(account, now=clock.now(), **fields)
    assert portal.products == {}


def test_a_product_belongs_to_one_account(portal, account, clock):
    register(portal, account, clock)
    other = portal.sign_up("other@example.com", "Secret123", "Other", "", WAREHOUSE)
    with refused(Refusal.PRODUCT_TAKEN):
        register(portal, other, clock)


# --- sites ------------------------------------------------------------------------------------


def test_one_address_per_site(portal, account):
    site = portal.create_site(account, "Entrepôt", WAREHOUSE)
    assert site.number != account.sites[0].number
    same_place = Address("3  AVENUE du port", "13002", "marseille", "FRANCE")
    with refused(Refusal.SITE_EXISTS):
        portal.create_site(account, "Entrepôt bis", same_place)
    assert [s.number for s in portal.find_sites(account, "marseille")] == [site.number]
    assert [s.number for s in portal.find_sites(account, site.number)] == [site.number]


# --- D-Link Assist activation ----------------------------------------------------------------


def test_success_pending_two_days_then_active_with_validity_dates(portal, account, clock, ready):
    _, code = ready
    activation = activate(portal, account, clock, code)
    assert activation.status(clock.now()) == "pending"
    assert code.used_by == activation.number
    clock.advance(2 * DAY - 1)
    assert portal.services(account)[0].status(clock.now()) == "pending"
    clock.advance(1)
    assert portal.services(account)[0].status(clock.now()) == "active"
    assert activation.active_from == activation.submitted_at + 2 * DAY
    assert activation.valid_until == activation.active_from + 3 * 365 * DAY


def test_terms_must_be_accepted_first(portal, account, clock):
    register(portal, account, clock)
    code = sell(portal, clock)
    with refused(Refusal.TERMS_NOT_ACCEPTED):
        activate(portal, account, clock, code)


def test_the_product_must_be_registered_first(portal, account, clock):
    portal.accept_terms(account, clock.now())
    code = sell(portal, clock)
    with refused(Refusal.PRODUCT_NOT_REGISTERED):
        activate(portal, account, clock, code)
    assert code.used_by is None


def test_another_accounts_product_counts_as_not_registered(portal, account, clock):
    register(portal, account, clock)
    other = portal.sign_up("other@example.com", "Secret123", "Other", "", HOME)
    portal.accept_terms(other, clock.now())
    with refused(Refusal.PRODUCT_NOT_REGISTERED):
        activate(portal, other, clock, sell(portal, clock), site=other.sites[0].number)


def test_a_product_already_activated_is_refused(portal, account, clock, ready):
    _, code = ready
    activate(portal, account, clock, code)
    with refused(Refusal.ALREADY_ACTIVATED):
        activate(portal, account, clock, sell(portal, clock))


def test_an_unknown_code_is_refused(portal, account, clock, ready):
    _, code = ready
    code_copy = type(code)(**{**code.__dict__, "code": "DAS-0000-0000-0000"})
    with refused(Refusal.UNKNOWN_CODE):
        activate(portal, account, clock, code_copy)


def test_a_code_is_used_once(portal, account, clock, ready):
    _, code = ready
    register(portal, account, clock, serial="PVRX2A5000413")
    activate(portal, account, clock, code)
    with refused(Refusal.CODE_USED):
        activate(portal, account, clock, code, serial="PVRX2A5000413")


def test_code_and_product_must_match(portal, account, clock, ready):
    register(portal, account, clock, serial=OTHER_SERIAL, model="DNR-322L")
    for wrong in (
        sell(portal, clock, serial=OTHER_SERIAL, model="DNR-322L"),  # another product's code
        sell(portal, clock, serial=SERIAL, model="DCS-942L"),  # right serial, wrong model
    ):
        with refused(Refusal.CODE_FOR_ANOTHER_PRODUCT):
            activate(portal, account, clock, wrong)
        assert wrong.used_by is None


def test_the_service_purchase_date_must_be_the_resellers(portal, account, clock, ready):
    _, code = ready
    with refused(Refusal.PURCHASE_DATE_MISMATCH):
        activate(portal, account, clock, code, sold_on=code.sold_on + timedelta(days=5))


def test_the_code_is_used_within_90_days_of_the_service_purchase(portal, account, clock, ready):
    _, code = ready  # sold 10 days ago
    clock.advance(80 * DAY)  # day 90 after the purchase: still good
    snapshot = clock.now()
    other = sell(portal, clock, days_ago=91, serial=SERIAL)
    with refused(Refusal.CODE_EXPIRED):
        activate(portal, account, clock, other)
    assert clock.now() == snapshot
    assert activate(portal, account, clock, code).status(clock.now()) == "pending"


def test_the_site_must_be_the_products_site(portal, account, clock, ready):
    _, code = ready
    warehouse = portal.create_site(account, "Entrepôt", WAREHOUSE)
    with refused(Refusal.NOT_PRODUCT_SITE):
        activate(portal, account, clock, code, site=warehouse.number)
    with refused(Refusal.UNKNOWN_SITE):
        activate(portal, account, clock, code, site="S999999")
    assert code.used_by is None


def test_a_product_at_a_new_site_activates_there(portal, account, clock):
    warehouse = portal.create_site(account, "Entrepôt", WAREHOUSE)
    register(portal, account, clock, site=warehouse.number)
    portal.accept_terms(account, clock.now())
    activation = activate(portal, account, clock, sell(portal, clock), site=warehouse.number)
    assert activation.site == warehouse.number


def test_only_known_resellers_issue_codes(portal, clock):
    with refused(Refusal.UNKNOWN_RESELLER):
        portal.issue_code(
            "guess", model="DCS-2132LB1", serial=SERIAL, service="x", years=1, sold_on=today(clock)
        )


# --- search and guidance ----------------------------------------------------------------------


def test_search_says_not_registered_already_activated_or_can_activate(
    portal, account, clock, ready
):
    register(portal, account, clock, serial=OTHER_SERIAL, model="DNR-322L")
    activate(portal, account, clock, ready[1])
    verdicts = {f.serial: f.verdict for f in portal.find(account, "", clock.now())}
    assert verdicts == {SERIAL: "already_activated", OTHER_SERIAL: "can_activate"}
    assert [f.verdict for f in portal.find(account, "dnr", clock.now())] == ["can_activate"]
    [unknown] = portal.find(account, "QAAA1A1000001", clock.now())
    assert unknown.verdict == "product_not_registered"


def test_an_expired_service_allows_a_new_one(portal, account, clock, ready):
    activate(portal, account, clock, ready[1])
    clock.advance(2 * DAY + 3 * 365 * DAY)
    assert portal.services(account)[0].status(clock.now()) == "expired"
    assert portal.current_activation(SERIAL, clock.now()) is None


def test_the_bundled_portal_fixture_loads(clock):
    portal = load_portal(now=clock.now())
    assert "DAS-7K3F-9Q2M-XW4P" in portal.codes
    assert portal.log_in("demo@example.com", "Demo12345")
    assert portal.policy.code_validity_days == 90 and portal.policy.pending_days == 2
