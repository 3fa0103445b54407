"""A model-based test of the DMSS appeal rules (seed 000) on the virtual clock: any order of
appeals, owner answers, time and device changes gives the seed's outcomes, once each."""

from __future__ import annotations

import functools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from nvrsim.simulator.clouds.dmss.generator import make_photo
from nvrsim.simulator.clouds.dmss.photos import assess
from nvrsim.simulator.clouds.dmss.rules import REVIEW_SECONDS, AppealStatus, DmssCloud, DmssError
from nvrsim.simulator.core.clock import VirtualClock
from tests.conftest import PASSWORD
from tests.dahua.test_dhip import dahua_entry

OWNER = "owner@example.com"
PEOPLE = ("a@example.com", "b@example.com")
SERIAL = "7L02A5EPAZ1C4F0"
EXPECTED = {
    "label": None,  # decided by the owner's answer and the proof
    "label-blurry": AppealStatus.REJECTED_LOW_QUALITY,
    "screen-qr": AppealStatus.REJECTED_INCORRECT_PHOTO,
    "box": AppealStatus.REJECTED_INCORRECT_PHOTO,
}


@functools.cache
def photo(case: str):
    return assess(make_photo(case, SERIAL))


class Appeals(RuleBasedStateMachine):
    @initialize()
    def start(self):
        from tests.conftest import make_fleet

        self.clock = VirtualClock()
        fleet = make_fleet(
            dahua_entry("nvr", serial=SERIAL, dahua={"dmss_account": OWNER}), clock=self.clock
        )
        self.device = fleet.devices[0]
        self.cloud = DmssCloud(fleet)
        self.cloud.ensure_fleet_accounts(self.clock.now())
        for person in PEOPLE:
            self.cloud.register(person, PASSWORD, self.clock.now())
        self.open: dict | None = None  # the model of the appeal under review
        self.owner = OWNER
        self.results: dict[int, AppealStatus] = {}

    def _expected(self) -> AppealStatus:
        fixed = EXPECTED[self.open["case"]]
        if fixed is not None:
            return fixed
        if self.open["answer"] == "refused" and not self.open["proof"]:
            return AppealStatus.REJECTED_OWNER_REFUSED
        return AppealStatus.APPROVED

    @rule(
        person=st.sampled_from(PEOPLE),
        case=st.sampled_from(sorted(EXPECTED)),
        proof=st.booleans(),
        app=st.sampled_from(["DMSS", "gDMSS"]),
    )
    def appeal(self, person, case, proof, app):
        account = self.cloud.accounts[person]
        receipt = photo("receipt") if proof else None
        try:
            appeal = self.cloud.submit_appeal(
                account, app, SERIAL, photo(case), receipt, self.clock.now()
            )
        except DmssError as exc:
            if app != "DMSS":
                assert exc.code == "appeal_not_available"
            elif self.owner == person:
                assert exc.code == "not_bound_to_another_account"
            else:
                assert self.open is not None and exc.code == "appeal_under_review"
            return
        assert app == "DMSS" and self.open is None and self.owner != person
        self.open = {
            "id": appeal.id,
            "case": case,
            "proof": proof,
            "answer": "pending",
            "by": person,
            "owner": self.owner,
            "due": self.clock.now() + REVIEW_SECONDS,
        }

    @precondition(lambda self: self.open is not None)
    @rule(accept=st.booleans(), by_owner=st.booleans())
    def answer(self, accept, by_owner):
        who = self.open["owner"] if by_owner else self.open["by"]
        try:
            self.cloud.answer(self.cloud.accounts[who], self.open["id"], accept, self.clock.now())
        except DmssError as exc:
            assert not by_owner or self.clock.now() >= self.open["due"], exc.code
            return
        assert by_owner and self.clock.now() < self.open["due"]
        self.open["answer"] = "accepted" if accept else "refused"

    @rule(hours=st.sampled_from([1, 12, 24, 47, 48]))
    def time_passes(self, hours):
        self.clock.advance(hours * 3600)
        due = self.open is not None and self.clock.now() >= self.open["due"]
        expected = self._expected() if due else None
        decided = self.cloud.settle(self.clock.now())
        if not due:
            assert decided == []
            return
        (appeal,) = decided
        assert appeal.id == self.open["id"] and appeal.status is expected
        self.results[appeal.id] = expected
        if expected is AppealStatus.APPROVED:
            self.owner = self.open["by"]
        self.open = None

    @invariant()
    def binding_and_mail_follow_the_decisions(self):
        if not hasattr(self, "cloud"):
            return
        assert self.device.dahua.dmss_account == self.owner
        for appeal_id, status in self.results.items():
            assert self.cloud.appeals[appeal_id].status is status
            to_appellant = [
                m
                for m in self.cloud.outbox
                if m.appeal == appeal_id and m.to == self.cloud.appeals[appeal_id].appellant
            ]
            assert len(to_appellant) == 1  # exactly one result e-mail per appeal
        if self.open is not None:
            assert self.cloud.appeals[self.open["id"]].status is AppealStatus.UNDER_REVIEW


TestAppeals = Appeals.TestCase
TestAppeals.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
