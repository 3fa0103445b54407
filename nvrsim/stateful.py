"""A hypothesis state machine that drives a running fleet, for a client's own rules.

    class AuditMachine(FleetMachine):
        fleet_source = "path/to/site.toml"

        @rule()
        def audit(self):
            self.report = my_client.audit(self.fleet.devices)

        @invariant()
        def passwords_known(self):
            for device in self.fleet.devices:
                assert self.expected[device.name].password == device.admin_password

    TestAudit = AuditMachine.TestCase

Its rules change the fleet the way the world does, each through the control client:
reboots, network loss, password changes, the cloud going offline and back, binding
and unbinding, and jumps of the clock. `expected` keeps what each device should be
now, so invariants can compare a client's view with it.

Choices where the public record is silent:
- "Network loss" is the device's discovery going silent (every SADP, DHIP and
  WS-Discovery reply dropped) and its cloud link down; its web server still answers,
  as a device behind a broken switch port answers nobody, which the simulator cannot
  do on loopback.
- "Power" is a power cycle: the device is gone for the fleet's `reboot_seconds`, then
  back, with its failed-login counts forgotten, as after a reboot.
- Binding uses each vendor's own cloud account: Hik-Connect's `bound_account`,
  DMSS's `dmss_account`; a D-Link device's mydlink registration is its own doing
  (the control API does not change it), so the machine leaves it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from nvrsim.strategies import passwords
from nvrsim.testing import FleetSource, RunningFleet, running_fleet

__all__ = ["Expected", "FleetMachine"]

_ACCOUNT = {
    "hikvision": ("hik_connect", "bound_account"),
    "dahua": ("dahua", "dmss_account"),
    "dlink": ("mydlink", "account"),
}
_JUMPS = st.sampled_from([1.0, 60.0, 1800.0, 3600.0, 48 * 3600.0, 90 * 86400.0])


@dataclass(frozen=True)
class Expected:
    """What a device should be now, by the rules that ran."""

    password: str | None
    bound_account: str | None
    cloud_online: bool  # its uplink is up (it may still show offline if its cloud is off)
    reachable: bool  # discovery answers


class FleetMachine(RuleBasedStateMachine):
    """A running fleet (`fleet`) and the world's rules; subclass it with your client's."""

    fleet_source: ClassVar[FleetSource] = None  # the bundled demo; see running_fleet()
    cloud: ClassVar[bool] = False  # True: the MQTT broker and Hik-Connect cloud run too
    accounts: ClassVar[tuple[str, ...]] = ("owner@example.com", "new.owner@example.com")

    def __init__(self) -> None:
        super().__init__()
        self._running = running_fleet(self.fleet_source, cloud=self.cloud)
        self.fleet: RunningFleet = self._running.__enter__()
        self.expected: dict[str, Expected] = {
            d.name: Expected(d.admin_password, _bound_account(d.state), True, True)
            for d in self.fleet.devices
        }
        # The API changes Hik-Connect's and DMSS's binding; mydlink's is the device's own.
        self._bindable = sorted(
            d.name for d in self.fleet.devices if d.vendor in ("hikvision", "dahua")
        )

    def teardown(self) -> None:
        self._running.__exit__(None, None, None)

    def _pick(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.expected)), label="device")

    def _expect(self, name: str, **changes: Any) -> None:
        self.expected[name] = replace(self.expected[name], **changes)

    @rule(data=st.data())
    def power_cycle(self, data: st.DataObject) -> None:
        self.fleet.reboot(self._pick(data))

    @rule(data=st.data(), lost=st.booleans())
    def network(self, data: st.DataObject, lost: bool) -> None:
        name = self._pick(data)
        self.fleet.set_fault(name, discovery_drop=100 if lost else 0, cloud_offline=lost)
        self._expect(name, reachable=not lost, cloud_online=not lost)

    @rule(data=st.data(), password=passwords())
    def change_password(self, data: st.DataObject, password: str) -> None:
        name = self._pick(data)
        self.fleet.set_password(name, password)
        self._expect(name, password=password)

    @rule(data=st.data(), online=st.booleans())
    def cloud_link(self, data: st.DataObject, online: bool) -> None:
        name = self._pick(data)
        self.fleet.set_fault(name, cloud_offline=not online)
        self._expect(name, cloud_online=online)

    @precondition(lambda self: bool(self._bindable))
    @rule(data=st.data())
    def bind_or_unbind(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self._bindable), label="device")
        account = data.draw(st.none() | st.sampled_from(self.accounts), label="account")
        section, field = _ACCOUNT[self.fleet.device(name).vendor]
        self.fleet.client.change_device(name, **{section: {field: account}})
        self._expect(name, bound_account=account)

    @rule(seconds=_JUMPS)
    def clock_jump(self, seconds: float) -> None:
        self.fleet.advance_clock(seconds)

    @invariant()
    def fleet_is_as_expected(self) -> None:
        """The simulator agrees with the rules that ran: passwords and bindings."""
        for device in self.fleet.devices:
            want = self.expected[device.name]
            assert device.admin_password == want.password, device.name
            assert _bound_account(device.state) == want.bound_account, device.name


def _bound_account(state: Any) -> str | None:
    section, field = _ACCOUNT.get(state.vendor, ("", ""))
    part = getattr(state, section, None)
    return getattr(part, field, None) if part is not None else None
