"""schemathesis against the control API's own OpenAPI document: no server error, and every
answer is one the document lists, with the documented body.

Positive-data acceptance is left out: the document gives each field's type, but
some rules (a firmware string that parses, a verification code's length, a
MAC) live in validators a JSON schema cannot express; such a body is refused
with a documented 400 naming the field, which the other checks do verify."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from nvrsim.simulator.control.app import control_app, operations
from nvrsim.simulator.control.schema import openapi
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet
from tests.strategies_isapi import ServerThread

# /api/health's documented 503 (this fleet is never start()ed) counts as a server error to
# schemathesis, which checks every 5xx; tests/control/test_control_token.py covers it.
schema = schemathesis.openapi.from_dict(openapi(operations(), token=False)).exclude(
    path="/api/health"
)


def _simulator() -> Simulator:
    fleet = make_fleet(
        hik_entry("nvr", ports={"http": 0, "rtsp": 0}),
        hik_entry("cam", kind="ipc", ports={"http": 0, "rtsp": 0}, count=3),
        address_pool="127.83.0.0/24",
    )
    return Simulator(fleet, VirtualClock(), ServiceConfig(reboot_seconds=0.01))


SIM = _simulator()
APP = control_app(SIM)


async def _stop(_app) -> None:
    await SIM.stop()  # the web servers of devices the fuzzer added


APP.on_cleanup.append(_stop)
SERVER = ServerThread(APP)


def setup_module() -> None:
    SERVER.__enter__()


def teardown_module() -> None:
    SERVER.__exit__()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_control_api_keeps_its_documented_promises(case):
    case.call_and_validate(
        base_url=SERVER.url, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
