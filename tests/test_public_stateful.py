"""nvrsim.stateful: the world's rules on a running fleet, and a client's rule beside them."""

from __future__ import annotations

import urllib.error
import urllib.request

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import invariant, rule

from nvrsim.stateful import FleetMachine

SITE = """
[[device]]
name = "nvr"
vendor = "hikvision"
kind = "nvr"
model = "DS-7608NI-K2"
firmware = "V4.30.085 build 200916"
admin_password = "Demo12345"
hik_connect = { enabled = true, online = true, bound_account = "owner@example.com" }

[[device]]
name = "dahua-camera"
vendor = "dahua"
kind = "ipc"
model = "IPC-HDW5831R-ZE"
firmware = "2.800.0000016.0.R"
admin_password = "Demo12345"

[[device]]
name = "dlink-camera"
vendor = "dlink"
kind = "ipc"
model = "DCS-2132LB1"
firmware = "2.13.03"
admin_password = "Demo12345"
web_auth = "digest/basic"
"""


def isapi_status(url: str, password: str) -> int:
    handler = urllib.request.HTTPDigestAuthHandler(urllib.request.HTTPPasswordMgrWithDefaultRealm())
    handler.add_password(None, url, "admin", password)
    try:
        with urllib.request.build_opener(handler).open(url + "/ISAPI/System/deviceInfo") as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


class SiteMachine(FleetMachine):
    """A client that logs into the recorder with the password it was last told."""

    fleet_source = SITE

    @rule()
    def client_logs_in(self):
        nvr = self.fleet.device("nvr")
        self.last_login = isapi_status(nvr.url, self.expected["nvr"].password)

    @invariant()
    def the_recorder_takes_the_password_it_was_given(self):
        if getattr(self, "last_login", None) is not None:
            assert self.last_login == 200


SiteMachine.TestCase.settings = settings(
    max_examples=6,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
TestSite = SiteMachine.TestCase


class BrokenClientMachine(SiteMachine):
    """The same client, had it kept the first password it ever saw (on the recorder
    alone, so that every password change is one it should have heard of)."""

    fleet_source = "[[device]]" + SITE.split("[[device]]")[1]  # the recorder's entry

    @rule()  # an override is a rule only when it says so
    def client_logs_in(self):
        nvr = self.fleet.device("nvr")
        self.last_login = isapi_status(nvr.url, "Demo12345")


def test_a_client_that_ignores_a_password_change_is_caught():
    from hypothesis.stateful import run_state_machine_as_test

    try:
        run_state_machine_as_test(
            BrokenClientMachine,
            settings=settings(
                max_examples=50,
                stateful_step_count=10,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],  # found is enough: no shrinking
            ),
        )
    except AssertionError:
        return
    raise AssertionError("the machine did not find the stale password")
