"""The D-Link support portal's rules, in one pure module (seed 002,
docs/protocols/onvif-dlink.md §4).

No I/O and no system clock: every rule that depends on time takes `now`, so the
90-day and 2-day windows run on a VirtualClock in tests. The web pages and the
JSON API only translate forms into these calls and `Refusal`s into messages.

What the seed says, and where it lives here:
- an account on the support portal first (`sign_up`, `log_in`);
- the product registered before any service (`register_product`);
- the D-Link Assist terms accepted with « Valider » (`accept_terms`);
- a reseller's activation code, for that product, used within 90 days of the
  service purchase (`activate`);
- the site address is where the product is; one address per site, made with
  « Créer une nouvelle adresse de site » (`create_site`);
- after « Soumettre » the service needs two days of logistics, then is active,
  listed under « services activés » with its validity dates (`services`);
- search, "already activated" and "product not registered" (`find`).

Choices where the seed is silent [I]: a code is sold for one product (model and
serial) and carries its sale date, which the service purchase date entered must
equal; a product belongs to one account; the validity runs from the day the
service becomes active for the years of the pack; a product is installed at one
of its owner's sites, chosen at registration; sign-up makes the account's own
address site 1.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum

DAY = 86400.0
SERIAL = re.compile(r"^[A-Z0-9]{13}$")  # as identity.dlink_serial_number makes them
MAC = re.compile(r"^([0-9A-F]{2}[:-]?){5}[0-9A-F]{2}$")
HARDWARE_VERSION = re.compile(r"^[A-Z]\d?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Refusal(Enum):
    """Why the portal said no; each has a message in both languages (i18n.py)."""

    MISSING_FIELD = "missing_field"
    BAD_EMAIL = "bad_email"
    EMAIL_TAKEN = "email_taken"
    WEAK_PASSWORD = "weak_password"
    BAD_CREDENTIALS = "bad_credentials"
    BAD_SERIAL = "bad_serial"
    BAD_MAC = "bad_mac"
    BAD_HARDWARE_VERSION = "bad_hardware_version"
    FUTURE_DATE = "future_date"
    NO_PROOF_OF_PURCHASE = "no_proof_of_purchase"
    PRODUCT_TAKEN = "product_taken"
    UNKNOWN_SITE = "unknown_site"
    SITE_EXISTS = "site_exists"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    PRODUCT_NOT_REGISTERED = "product_not_registered"
    ALREADY_ACTIVATED = "already_activated"
    UNKNOWN_CODE = "unknown_code"
    CODE_USED = "code_used"
    CODE_FOR_ANOTHER_PRODUCT = "code_for_another_product"
    PURCHASE_DATE_MISMATCH = "purchase_date_mismatch"
    CODE_EXPIRED = "code_expired"
    NOT_PRODUCT_SITE = "not_product_site"
    UNKNOWN_RESELLER = "unknown_reseller"


class PortalError(Exception):
    def __init__(self, refusal: Refusal, detail: str = "") -> None:
        super().__init__(refusal.value + (f": {detail}" if detail else ""))
        self.refusal = refusal
        self.detail = detail


@dataclass(frozen=True)
class Policy:
    code_validity_days: int = 90  # « dans les 90 jours suivant l'achat du service »
    pending_days: float = 2  # « un délai de deux jours »
    min_password_length: int = 8


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str
    country: str

    @property
    def key(self) -> tuple[str, ...]:
        """Two spellings of one place are one address: case and spacing do not count."""
        return tuple(" ".join(part.casefold().split()) for part in self.astuple())

    def astuple(self) -> tuple[str, str, str, str]:
        return (self.street, self.postcode, self.city, self.country)

    def __str__(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}, {self.country}"


@dataclass
class Site:
    number: str  # « Numéro du site »
    name: str
    address: Address


@dataclass
class Account:
    email: str
    name: str
    company: str
    password_salt: bytes
    password_hash: bytes
    sites: list[Site] = field(default_factory=list)
    terms_accepted_at: float | None = None

    def site(self, number: str) -> Site | None:
        return next((s for s in self.sites if s.number == number), None)


@dataclass
class Product:
    owner: str  # account e-mail
    serial: str
    model: str
    hardware_version: str
    mac: str
    purchase_date: date
    proof_of_purchase: str  # the file's name; the portal keeps only that it was given
    site: str  # site number where it is installed
    registered_at: float


@dataclass
class ActivationCode:
    code: str
    reseller: str
    model: str
    serial: str
    service: str  # the pack, e.g. "D-Link Assist Next Business Day"
    years: int
    sold_on: date  # the service purchase, per the reseller
    used_by: str | None = None  # the activation that used it


@dataclass
class Activation:
    number: str
    owner: str
    serial: str
    model: str
    code: str
    service: str
    service_purchase_date: date
    site: str
    submitted_at: float
    active_from: float
    valid_until: float

    def status(self, now: float) -> str:
        if now < self.active_from:
            return "pending"
        return "active" if now < self.valid_until else "expired"


def _day(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


def _hash(password: str, salt: bytes) -> bytes:
    # [I] 20k rounds: slow enough to mean it, fast enough for a test suite on two cores.
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 20_000)


def normalise_serial(text: str) -> str:
    return text.strip().upper()


def normalise_mac(text: str) -> str:
    digits = re.sub(r"[^0-9A-Fa-f]", "", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _required(**fields: str) -> None:
    missing = [name for name, value in fields.items() if not value or not value.strip()]
    if missing:
        raise PortalError(Refusal.MISSING_FIELD, ", ".join(missing))


@dataclass
class Portal:
    """Everything the portal knows; each method is one rule of the seed."""

    policy: Policy = field(default_factory=Policy)
    accounts: dict[str, Account] = field(default_factory=dict)  # by e-mail, case-folded
    products: dict[str, Product] = field(default_factory=dict)  # by serial
    codes: dict[str, ActivationCode] = field(default_factory=dict)  # by code
    activations: list[Activation] = field(default_factory=list)
    resellers: dict[str, str] = field(default_factory=dict)  # API key → reseller name
    _site_counter: int = 0

    # --- accounts -------------------------------------------------------------------

    def sign_up(
        self, email: str, password: str, name: str, company: str, address: Address
    ) -> Account:
        _required(
            email=email,
            name=name,
            **dict(zip(("street", "postcode", "city", "country"), address.astuple(), strict=True)),
        )
        email = email.strip()
        if not EMAIL.match(email):
            raise PortalError(Refusal.BAD_EMAIL)
        if email.casefold() in self.accounts:
            raise PortalError(Refusal.EMAIL_TAKEN)
        if len(password) < self.policy.min_password_length:
            raise PortalError(Refusal.WEAK_PASSWORD)
        salt = secrets.token_bytes(16)
        account = Account(email, name.strip(), company.strip(), salt, _hash(password, salt))
        self.accounts[email.casefold()] = account
        account.sites.append(self._new_site(name.strip() or company, address))
        return account

    def log_in(self, email: str, password: str) -> Account:
        account = self.accounts.get(email.strip().casefold())
        if account is None or not hmac.compare_digest(
            _hash(password, account.password_salt), account.password_hash
        ):
            raise PortalError(Refusal.BAD_CREDENTIALS)
        return account

    # --- sites ------------------------------------------------------------------------

    def _new_site(self, name: str, address: Address) -> Site:
        self._site_counter += 1
        return Site(f"S{self._site_counter:06d}", name, address)

    def create_site(self, account: Account, name: str, address: Address) -> Site:
        """« Créer une nouvelle adresse de site »: one address per site, so an address
        the account already has is that site, not a new one."""
        _required(
            name=name,
            **dict(zip(("street", "postcode", "city", "country"), address.astuple(), strict=True)),
        )
        existing = next((s for s in account.sites if s.address.key == address.key), None)
        if existing is not None:
            raise PortalError(Refusal.SITE_EXISTS, existing.number)
        site = self._new_site(name.strip(), address)
        account.sites.append(site)
        return site

    def find_sites(self, account: Account, query: str) -> list[Site]:
        """The magnifier of the « Numéro du site » column."""
        q = query.casefold().strip()
        return [
            s
            for s in account.sites
            if not q
            or q in s.number.casefold()
            or q in s.name.casefold()
            or q in str(s.address).casefold()
        ]

    # --- products -----------------------------------------------------------------------

    def register_product(
        self,
        account: Account,
        *,
        serial: str,
        model: str,
        hardware_version: str,
        mac: str,
        purchase_date: date,
        proof_of_purchase: str,
        site: str,
        now: float,
    ) -> Product:
        _required(serial=serial, model=model, hardware_version=hardware_version, mac=mac)
        serial, hardware_version = normalise_serial(serial), hardware_version.strip().upper()
        if not SERIAL.match(serial):
            raise PortalError(Refusal.BAD_SERIAL)
        if not MAC.match(mac.strip().upper()):
            raise PortalError(Refusal.BAD_MAC)
        if not HARDWARE_VERSION.match(hardware_version):
            raise PortalError(Refusal.BAD_HARDWARE_VERSION)
        if purchase_date > _day(now):
            raise PortalError(Refusal.FUTURE_DATE)
        if not proof_of_purchase.strip():
            raise PortalError(Refusal.NO_PROOF_OF_PURCHASE)
        if account.site(site) is None:
            raise PortalError(Refusal.UNKNOWN_SITE)
        if serial in self.products:  # one account per product
            raise PortalError(Refusal.PRODUCT_TAKEN)
        product = Product(
            owner=account.email,
            serial=serial,
            model=model.strip().upper(),
            hardware_version=hardware_version,
            mac=normalise_mac(mac),
            purchase_date=purchase_date,
            proof_of_purchase=proof_of_purchase.strip(),
            site=site,
            registered_at=now,
        )
        self.products[serial] = product
        return product

    def products_of(self, account: Account) -> list[Product]:
        return [p for p in self.products.values() if p.owner == account.email]

    # --- codes ------------------------------------------------------------------------

    def issue_code(
        self,
        reseller_key: str,
        *,
        model: str,
        serial: str,
        service: str,
        years: int,
        sold_on: date,
        code: str | None = None,
    ) -> ActivationCode:
        """A reseller sells a service pack for one product: the code it e-mails the buyer."""
        reseller = self.resellers.get(reseller_key)
        if reseller is None:
            raise PortalError(Refusal.UNKNOWN_RESELLER)
        _required(model=model, serial=serial, service=service)
        if not SERIAL.match(normalise_serial(serial)):
            raise PortalError(Refusal.BAD_SERIAL)
        while code is None or code in self.codes:
            code = "DAS-" + "-".join(secrets.token_hex(2).upper() for _ in range(3))
        issued = ActivationCode(
            code, reseller, model.strip().upper(), normalise_serial(serial), service, years, sold_on
        )
        self.codes[code] = issued
        return issued

    # --- D-Link Assist ------------------------------------------------------------------

    def accept_terms(self, account: Account, now: float) -> None:
        """« Accepter les termes et conditions … avant de cliquer sur Valider »."""
        account.terms_accepted_at = now

    def current_activation(self, serial: str, now: float) -> Activation | None:
        return next(
            (
                a
                for a in self.activations
                if a.serial == normalise_serial(serial) and a.status(now) != "expired"
            ),
            None,
        )

    def activate(
        self,
        account: Account,
        *,
        serial: str,
        code: str,
        service_purchase_date: date,
        site: str,
        now: float,
    ) -> Activation:
        """« Soumettre »: every check of the seed, in the order a user meets them."""
        if account.terms_accepted_at is None:
            raise PortalError(Refusal.TERMS_NOT_ACCEPTED)
        serial = normalise_serial(serial)
        product = self.products.get(serial)
        if product is None or product.owner != account.email:
            raise PortalError(Refusal.PRODUCT_NOT_REGISTERED)
        if self.current_activation(serial, now) is not None:
            raise PortalError(Refusal.ALREADY_ACTIVATED)
        issued = self.codes.get(code.strip().upper())
        if issued is None:
            raise PortalError(Refusal.UNKNOWN_CODE)
        if issued.used_by is not None:
            raise PortalError(Refusal.CODE_USED)
        if (issued.serial, issued.model) != (product.serial, product.model):
            raise PortalError(Refusal.CODE_FOR_ANOTHER_PRODUCT)
        if service_purchase_date != issued.sold_on:
            raise PortalError(Refusal.PURCHASE_DATE_MISMATCH)
        if _day(now) > service_purchase_date + timedelta(days=self.policy.code_validity_days):
            raise PortalError(Refusal.CODE_EXPIRED)
        if account.site(site) is None:
            raise PortalError(Refusal.UNKNOWN_SITE)
        if site != product.site:
            raise PortalError(Refusal.NOT_PRODUCT_SITE)
        active_from = now + self.policy.pending_days * DAY
        activation = Activation(
            number=f"DAS{len(self.activations) + 1:07d}",
            owner=account.email,
            serial=serial,
            model=product.model,
            code=issued.code,
            service=issued.service,
            service_purchase_date=service_purchase_date,
            site=site,
            submitted_at=now,
            active_from=active_from,
            valid_until=active_from + issued.years * 365 * DAY,
        )
        issued.used_by = activation.number
        self.activations.append(activation)
        return activation

    def services(self, account: Account) -> list[Activation]:
        """« services activés »: the account's services, newest first."""
        return [a for a in reversed(self.activations) if a.owner == account.email]

    def find(self, account: Account, query: str, now: float) -> list[Finding]:
        """The search tool: for each product asked about, what can be done with it."""
        q = query.strip().casefold()
        findings = []
        for product in self.products_of(account):
            if q and q not in product.serial.casefold() and q not in product.model.casefold():
                continue
            current = self.current_activation(product.serial, now)
            findings.append(Finding(product.serial, product, current))
        if not findings and q:
            # Not among the account's products: say so, rather than show nothing.
            findings.append(Finding(normalise_serial(query), None, None))
        return findings


@dataclass(frozen=True)
class Finding:
    serial: str
    product: Product | None  # None: not registered to this account
    activation: Activation | None  # a service already pending or active

    @property
    def verdict(self) -> str:
        if self.product is None:
            return Refusal.PRODUCT_NOT_REGISTERED.value
        if self.activation is not None:
            return Refusal.ALREADY_ACTIVATED.value
        return "can_activate"
