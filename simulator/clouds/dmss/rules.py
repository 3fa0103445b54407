"""DMSS cloud rules: accounts, binding, the Appeal and its review (seed 000). Pure.

Every method takes `now` from the caller's clock; nothing here reads time or
does I/O. State changes a front end must record go out through `on_device`
(a device's DMSS binding changed: the journal commits it) and `on_event`.

The binding itself is device state (`Device.dahua.dmss_account`), so the
control API, `--state` and every page agree; whether a device is online is
`Device.p2p_online`, the one P2P status (the cloud link drives it once it exists).

Choices [U]/[I], documented in docs/dahua.md (docs/protocols/dahua.md §3.1 is silent):
- Adding a device needs its serial and admin password (checked through
  `Device.login`, so it counts towards the device's lockout), the device
  online on P2P and initialised.
- A device bound to another account: 409 `already_bound`, with an Appeal offered
  only to the DMSS app (`app == "DMSS"`); iDMSS, gDMSS, gDMSS Plus… are told the
  appeal is not available in their app.
- An appeal needs one photo of the device's chassis showing its label, and may
  carry a proof of purchase. One open appeal per device. The current owner is
  notified (in the app and by e-mail) and may accept or refuse while it runs.
- The review ends `review_seconds` after submission (48 h), whatever the owner
  does, and decides, in this order: low-quality photo; incorrect photo; owner
  refused and no proof of purchase; otherwise the device is unbound from the
  owner and bound to the appellant (a refusal with a proof of purchase loses).
- The result goes to the appellant by e-mail; the owner gets one too when the
  device leaves their account.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nvrsim.simulator.clouds.dmss.photos import (
    Photo,
    PhotoError,
    PhotoRules,
    assess,
    shows_device_label,
    too_low_quality,
)
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.core.fleet import Fleet
from nvrsim.simulator.dahua.device import DahuaDevice

REVIEW_SECONDS = 48 * 3600.0
APPEAL_APPS = frozenset({"DMSS"})  # seed 000: "only valid for the DMSS application"
KNOWN_APPS = frozenset({"DMSS", "iDMSS", "gDMSS", "gDMSS Plus", "iDMSS Plus", "SmartPSS"})
DEFAULT_PHOTO_RULES = PhotoRules()
DEMO_PASSWORD = "Demo12345"  # accounts the fleet names get this password


class DmssError(Exception):
    """A refusal the API answers with `status` and a JSON `code`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class AppealStatus(StrEnum):
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED_LOW_QUALITY = "rejected_low_quality"
    REJECTED_INCORRECT_PHOTO = "rejected_incorrect_photo"
    REJECTED_OWNER_REFUSED = "rejected_owner_refused"


class OwnerAnswer(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


@dataclass
class Account:
    email: str
    password_hash: str
    salt: str
    created: float

    def check(self, password: str) -> bool:
        return hmac.compare_digest(self.password_hash, _hash(self.salt, password))


@dataclass
class Mail:
    id: int
    to: str
    subject: str
    body: str
    created: float
    appeal: int | None = None
    delivered: bool = False  # handed to the SMTP server
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "created": self.created,
            "appeal": self.appeal,
            "delivered": self.delivered,
            "error": self.error,
        }


@dataclass
class Appeal:
    id: int
    serial: str
    appellant: str
    owner: str
    submitted: float
    decision_due: float
    photo: Photo
    has_proof: bool
    status: AppealStatus = AppealStatus.UNDER_REVIEW
    owner_answer: OwnerAnswer = OwnerAnswer.PENDING
    decided: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "serial": self.serial,
            "appellant": self.appellant,
            "submitted": self.submitted,
            "decision_due": self.decision_due,
            "status": str(self.status),
            "owner_answer": str(self.owner_answer),
            "proof_of_purchase": self.has_proof,
            "decided": self.decided,
            "photo": {
                "width": self.photo.width,
                "height": self.photo.height,
                "sharpness": round(self.photo.sharpness, 1),
                "subject": self.photo.subject,
            },
        }


@dataclass
class Notification:
    id: int
    account: str
    kind: str
    appeal: int
    serial: str
    created: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "appeal": self.appeal,
            "serial": self.serial,
            "created": self.created,
        }


def _hash(salt: str, password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


_RESULTS = {
    AppealStatus.APPROVED: (
        "Your unbind request was approved",
        "The device {serial} has been unbound from its previous account and added to yours. "
        "You can now use it in DMSS.",
    ),
    AppealStatus.REJECTED_LOW_QUALITY: (
        "Your unbind request could not be processed",
        "The unbinding of {serial} could not be processed because the picture you sent is of "
        "low quality. Take the photo again with good light and no glare on the label; if you "
        "focused on the label only, step back to show part of the chassis; use the phone's "
        "camera app (not the macro lens) and then DMSS; or try from another phone.",
    ),
    AppealStatus.REJECTED_INCORRECT_PHOTO: (
        "Your unbind request was not carried out",
        "The unbinding of {serial} was not carried out because the picture you sent is not "
        "correct. QR codes from the recorder's screen, photos of the box, DMSS screenshots "
        "showing the serial number and any photo that is not of the physical device showing "
        "its label are rejected. The photo must show the device's chassis with its label "
        "(model, serial number…) visible.",
    ),
    AppealStatus.REJECTED_OWNER_REFUSED: (
        "Your unbind request was refused",
        "The unbinding of {serial} was refused because the current owner of the DMSS account "
        "it is bound to rejected the request, and no proof of purchase was provided.",
    ),
}


class DmssCloud:
    def __init__(
        self,
        fleet: Fleet,
        *,
        review_seconds: float = REVIEW_SECONDS,
        photo_rules: PhotoRules = DEFAULT_PHOTO_RULES,
        on_device: Callable[[Device], None] | None = None,
        on_event: Callable[..., None] | None = None,
    ) -> None:
        self.fleet = fleet
        self.review_seconds = review_seconds
        self.photo_rules = photo_rules
        self.on_device = on_device or (lambda _d: None)
        self.on_event = on_event or (lambda *_a, **_k: None)
        self.accounts: dict[str, Account] = {}
        self.appeals: dict[int, Appeal] = {}
        self.outbox: list[Mail] = []
        self.notifications: list[Notification] = []
        self._ids = itertools.count(1)
        self._mail_ids = itertools.count(1)

    # --- accounts -------------------------------------------------------------------

    def register(self, email: str, password: str, now: float) -> Account:
        email = email.strip().lower()
        if "@" not in email or len(email) > 128 or any(c.isspace() for c in email):
            raise DmssError(400, "invalid_email", "not an e-mail address")
        if not 8 <= len(password) <= 64:
            raise DmssError(400, "weak_password", "a password has 8 to 64 characters")
        if email in self.accounts:
            raise DmssError(409, "account_exists", "an account with this e-mail exists")
        salt = secrets.token_hex(8)
        account = self.accounts[email] = Account(email, _hash(salt, password), salt, now)
        self.on_event("dmss.account", None, email=email)
        return account

    def ensure_fleet_accounts(self, now: float) -> None:
        """Every account a device is bound to exists, with DEMO_PASSWORD, so owners can log in."""
        for device in self.fleet.of_vendor("dahua"):
            email = device.dahua.dmss_account
            if email and email.lower() not in self.accounts:
                with contextlib.suppress(DmssError):  # not an e-mail address: nobody logs in
                    self.register(email, DEMO_PASSWORD, now)

    def authenticate(self, email: str, password: str) -> Account:
        account = self.accounts.get(email.strip().lower())
        if account is None or not account.check(password):
            raise DmssError(401, "bad_credentials", "wrong e-mail or password")
        return account

    # --- devices --------------------------------------------------------------------

    def _device(self, serial: str) -> Device:
        device = self.fleet.by_serial(serial)
        if device is None or not isinstance(device, DahuaDevice) or not device.can("dmss_p2p"):
            raise DmssError(404, "device_not_found", "no device with this serial number")
        return device

    def devices_of(self, account: Account) -> list[Device]:
        return [d for d in self.fleet.of_vendor("dahua") if _owner(d) == account.email]

    def add_device(
        self, account: Account, app: str, serial: str, password: str, client: str, now: float
    ) -> Device:
        device = self._device(serial)
        owner = _owner(device)
        if owner == account.email:
            return device
        if not device.activated:
            raise DmssError(409, "device_not_initialised", "initialise the device first")
        if not device.p2p_online:
            raise DmssError(409, "device_offline", "the device is offline")
        if owner is not None:
            offered = app in APPEAL_APPS
            raise DmssError(
                409,
                "already_bound",
                "The device is already bound to another account",
                appeal_available=offered,
                appeal=(
                    "Tap Appeal: a photo of the device's label, proof of purchase if you have it"
                    if offered
                    else "Unbinding by appeal is only available in the DMSS app"
                ),
            )
        sent = password.encode("utf-8", "surrogateescape")
        outcome = device.login(
            f"dmss:{client}", lambda pw: hmac.compare_digest(pw.encode(), sent), now
        )
        if not outcome.granted:
            raise DmssError(
                403,
                "device_locked" if outcome.result.value == "locked" else "wrong_device_password",
                "the device refused the password",
                retries_left=outcome.retries_left,
                unlock_in=outcome.unlock_in,
            )
        self._bind(device, account.email)
        return device

    def remove_device(self, account: Account, serial: str) -> None:
        device = self._device(serial)
        if _owner(device) != account.email:
            raise DmssError(404, "device_not_found", "this device is not in your account")
        self._bind(device, None)

    def _bind(self, device: Device, email: str | None) -> None:
        device.dahua.dmss_account = email
        self.on_device(device)

    # --- appeals --------------------------------------------------------------------

    def check_appeal(self, account: Account, app: str, serial: str, now: float) -> str:
        """May `account` appeal for `serial` from `app`? The current owner, or DmssError."""
        self.settle(now)
        if app not in APPEAL_APPS:
            raise DmssError(
                403, "appeal_not_available", "Unbinding by appeal is only available in the DMSS app"
            )
        device = self._device(serial)
        owner = _owner(device)
        if owner is None or owner == account.email:
            raise DmssError(409, "not_bound_to_another_account", "nothing to appeal: add it")
        if any(
            a.serial == serial and a.status is AppealStatus.UNDER_REVIEW
            for a in self.appeals.values()
        ):
            raise DmssError(409, "appeal_under_review", "an appeal for this device is under review")
        return owner

    def judge(self, upload: bytes | None) -> Photo | None:
        """An uploaded picture measured (None for no upload); DmssError when it is none.
        Pure but slow on big pictures: the API runs it off the event loop."""
        if not upload:
            return None
        try:
            return assess(upload, self.photo_rules)
        except PhotoError as exc:
            raise DmssError(400, "not_a_picture", str(exc)) from None

    def submit_appeal(
        self,
        account: Account,
        app: str,
        serial: str,
        device_photo: bytes | Photo | None,
        proof_of_purchase: bytes | Photo | None,
        now: float,
    ) -> Appeal:
        """Photos as uploaded bytes, or already judged (`judge`)."""
        owner = self.check_appeal(account, app, serial, now)
        if not device_photo:
            raise DmssError(400, "photo_required", "a photo of the device's label is required")
        photo = device_photo if isinstance(device_photo, Photo) else self.judge(device_photo)
        if isinstance(proof_of_purchase, bytes):
            self.judge(proof_of_purchase)
        assert photo is not None
        appeal = Appeal(
            id=next(self._ids),
            serial=serial,
            appellant=account.email,
            owner=owner,
            submitted=now,
            decision_due=now + self.review_seconds,
            photo=photo,
            has_proof=bool(proof_of_purchase),
        )
        self.appeals[appeal.id] = appeal
        self.notifications.append(
            Notification(next(self._ids), owner, "unbind_request", appeal.id, serial, now)
        )
        self._mail(
            owner,
            "Someone asked to unbind your device",
            f"A DMSS user asked to unbind the device {serial} from your account. Open DMSS to "
            f"accept or refuse before {_when(appeal.decision_due)}.",
            now,
            appeal.id,
        )
        self.on_event("dmss.appeal", serial, appeal=appeal.id, status=str(appeal.status))
        return appeal

    def answer(self, account: Account, appeal_id: int, accept: bool, now: float) -> Appeal:
        self.settle(now)
        appeal = self.appeals.get(appeal_id)
        if appeal is None or appeal.owner != account.email:
            raise DmssError(404, "appeal_not_found", "no such request for your devices")
        if appeal.status is not AppealStatus.UNDER_REVIEW:
            raise DmssError(409, "appeal_decided", "the review has ended")
        appeal.owner_answer = OwnerAnswer.ACCEPTED if accept else OwnerAnswer.REFUSED
        self.on_event(
            "dmss.owner_answer", appeal.serial, appeal=appeal.id, answer=str(appeal.owner_answer)
        )
        return appeal

    def decide(self, appeal: Appeal) -> AppealStatus:
        """The review's decision (pure): the seed's reasons, in its order."""
        if too_low_quality(appeal.photo, self.photo_rules):
            return AppealStatus.REJECTED_LOW_QUALITY
        if not shows_device_label(appeal.photo, appeal.serial):
            return AppealStatus.REJECTED_INCORRECT_PHOTO
        if appeal.owner_answer is OwnerAnswer.REFUSED and not appeal.has_proof:
            return AppealStatus.REJECTED_OWNER_REFUSED
        return AppealStatus.APPROVED

    def settle(self, now: float) -> list[Appeal]:
        """End every review whose time has come; returns the appeals decided now."""
        decided = []
        for appeal in self.appeals.values():
            if appeal.status is AppealStatus.UNDER_REVIEW and now >= appeal.decision_due:
                appeal.status = self.decide(appeal)
                appeal.decided = now
                decided.append(appeal)
                subject, body = _RESULTS[appeal.status]
                self._mail(
                    appeal.appellant, subject, body.format(serial=appeal.serial), now, appeal.id
                )
                if appeal.status is AppealStatus.APPROVED:
                    device = self._device(appeal.serial)
                    if _owner(device) == appeal.owner:
                        self._bind(device, appeal.appellant)
                    self._mail(
                        appeal.owner,
                        "A device was removed from your account",
                        f"The device {appeal.serial} was unbound from your DMSS account after "
                        "a verified appeal by its holder.",
                        now,
                        appeal.id,
                    )
                self.on_event(
                    "dmss.appeal", appeal.serial, appeal=appeal.id, status=str(appeal.status)
                )
        return decided

    def _mail(self, to: str, subject: str, body: str, now: float, appeal: int | None) -> None:
        self.outbox.append(Mail(next(self._mail_ids), to, subject, body, now, appeal))

    # --- --state ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the cloud knows, as JSON (`--state DIR/dmss.json`)."""
        return {
            "accounts": [vars(a) for a in self.accounts.values()],
            "appeals": [
                vars(a)
                | {
                    "photo": vars(a.photo)
                    | {"serials": list(a.photo.serials), "qr_codes": list(a.photo.qr_codes)}
                }
                for a in self.appeals.values()
            ],
            "outbox": [m.as_dict() for m in self.outbox],
            "notifications": [vars(n) for n in self.notifications],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """The cloud as `snapshot` left it; ValueError when the state does not fit."""
        try:
            accounts = [Account(**a) for a in state.get("accounts", [])]
            appeals = []
            for raw in state.get("appeals", []):
                photo = raw["photo"] | {
                    "serials": tuple(raw["photo"]["serials"]),
                    "qr_codes": tuple(raw["photo"]["qr_codes"]),
                }
                appeals.append(
                    Appeal(
                        **raw
                        | {
                            "photo": Photo(**photo),
                            "status": AppealStatus(raw["status"]),
                            "owner_answer": OwnerAnswer(raw["owner_answer"]),
                        }
                    )
                )
            outbox = [Mail(**m) for m in state.get("outbox", [])]
            notes = [Notification(**n) for n in state.get("notifications", [])]
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"not a DMSS cloud state: {exc}") from None
        self.accounts = {a.email: a for a in accounts}
        self.appeals = {a.id: a for a in appeals}
        self.outbox, self.notifications = outbox, notes
        last = max([a.id for a in appeals] + [n.id for n in notes] + [0])
        self._ids = itertools.count(last + 1)
        self._mail_ids = itertools.count(max([m.id for m in outbox] + [0]) + 1)


def _owner(device: Device) -> str | None:
    """The account a device is bound to, as accounts are keyed (e-mail, lower case)."""
    account = device.dahua.dmss_account
    return account.strip().lower() if account else None


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
