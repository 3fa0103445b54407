"""A model-based test of the device rules: logins, lockout expiry, activation, unbind."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from nvrsim.simulator.core.auth import ActivationResult, LoginResult, plain
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.hikvision.unbind import UnbindVerdict, unbind
from tests.conftest import hik_entry, make_fleet

PASSWORD = "Strong1234"
CLIENTS = st.sampled_from(["127.77.0.50", "127.77.0.51", "10.8.0.1"])
POLICY = {"max_failures": 3, "lock_seconds": 100}


class DeviceRules(RuleBasedStateMachine):
    @initialize(activated=st.booleans())
    def start(self, activated):
        self.clock = VirtualClock()
        entry = hik_entry(admin_password=PASSWORD if activated else None, lockout=POLICY)
        self.device = make_fleet(entry).devices[0]
        self.failures: dict[str, int] = {}
        self.locked_until: dict[str, float] = {}
        self.activated = activated
        self.bound = True

    def _locked(self, client):
        return self.locked_until.get(client, 0) > self.clock.now()

    def _expect_login(self, client, right):
        """The model of one password check; returns the expected LoginResult."""
        if not self.activated:
            return LoginResult.NOT_ACTIVATED
        if client in self.locked_until and not self._locked(client):
            del self.locked_until[client]
            self.failures.pop(client, None)
        if self._locked(client):
            return LoginResult.LOCKED
        if right:
            self.failures.pop(client, None)
            return LoginResult.OK
        self.failures[client] = self.failures.get(client, 0) + 1
        if self.failures[client] >= POLICY["max_failures"]:
            self.locked_until[client] = self.clock.now() + POLICY["lock_seconds"]
            return LoginResult.LOCKED
        return LoginResult.WRONG_PASSWORD

    @rule(client=CLIENTS, right=st.booleans())
    def login(self, client, right):
        expected = self._expect_login(client, right)
        outcome = self.device.login(client, plain(PASSWORD if right else "bad"), self.clock.now())
        assert outcome.result is expected

    @rule(seconds=st.sampled_from([1, 50, 99, 100, 250]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @rule(password=st.sampled_from([PASSWORD, "weak"]))
    def activate(self, password):
        result = self.device.activate(password)
        if self.activated:
            assert result is ActivationResult.ALREADY_ACTIVATED
        elif password == "weak":
            assert result is ActivationResult.RISKY_PASSWORD
        else:
            assert result is ActivationResult.OK
            self.activated = True
            self.failures.clear()
            self.locked_until.clear()

    @rule(
        field=st.sampled_from(["enabled", "online"]),
        value=st.booleans(),
    )
    def platform_changes(self, field, value):
        setattr(self.device.hik_connect, field, value)

    @rule()
    def rebind(self):
        self.device.hik_connect.bound_account = "someone@example.com"
        self.bound = True

    @rule(client=CLIENTS, right=st.booleans())
    def try_unbind(self, client, right):
        hc = self.device.hik_connect
        if not self.device.same_lan(client):
            expected = UnbindVerdict.NOT_SAME_LAN
        elif not self.activated:
            expected = UnbindVerdict.NOT_ACTIVATED
        elif not self.bound:
            expected = UnbindVerdict.NOT_BOUND
        elif not hc.enabled:
            expected = UnbindVerdict.HC_DISABLED
        elif not hc.online:
            expected = UnbindVerdict.OFFLINE
        else:
            expected = {
                LoginResult.OK: UnbindVerdict.OK,
                LoginResult.WRONG_PASSWORD: UnbindVerdict.WRONG_PASSWORD,
                LoginResult.LOCKED: UnbindVerdict.LOCKED,
            }[self._expect_login(client, right)]
        proof = plain(PASSWORD if right else "bad")
        outcome = unbind(self.device, client=client, proof=proof, now=self.clock.now())
        assert outcome.verdict is expected
        if expected is UnbindVerdict.OK:
            self.bound = False

    @invariant()
    def binding_matches_the_model(self):
        if hasattr(self, "device"):
            assert self.device.hik_connect.bound is self.bound

    @invariant()
    def lock_countdown_matches_the_model(self):
        if hasattr(self, "device"):
            for client in ("127.77.0.50", "127.77.0.51", "10.8.0.1"):
                remaining = max(0.0, self.locked_until.get(client, 0) - self.clock.now())
                assert self.device.lockout.unlock_in(client, self.clock.now()) == -(-remaining // 1)


DeviceRules.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_device_rules = DeviceRules.TestCase
