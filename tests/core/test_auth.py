import pytest

from nvrsim.simulator.core.auth import (
    ActivationResult,
    Lockout,
    LockoutPolicy,
    LoginResult,
    is_risky_password,
    plain,
)
from tests.conftest import PASSWORD, hik_entry, make_fleet


def test_seven_failures_lock_the_client_for_1800_seconds(clock):
    device = make_fleet().devices[0]
    for attempt in range(1, 7):
        outcome = device.login("10.0.0.9", plain("wrong"), clock.now())
        assert outcome.result is LoginResult.WRONG_PASSWORD
        assert outcome.retries_left == 7 - attempt
    outcome = device.login("10.0.0.9", plain("wrong"), clock.now())
    assert (outcome.result, outcome.retries_left, outcome.unlock_in) == (
        LoginResult.LOCKED,
        0,
        1800,
    )
    # Locked: even the right password is refused, and the countdown runs.
    clock.advance(1799.5)
    outcome = device.login("10.0.0.9", plain(PASSWORD), clock.now())
    assert (outcome.result, outcome.unlock_in, outcome.unlock_in_minutes) == (
        LoginResult.LOCKED,
        1,
        1,
    )
    clock.advance(0.5)
    assert device.login("10.0.0.9", plain(PASSWORD), clock.now()).granted


def test_the_lock_is_per_client_address(clock):
    device = make_fleet().devices[0]
    for _ in range(7):
        device.login("10.0.0.9", plain("wrong"), clock.now())
    assert device.login("10.0.0.10", plain(PASSWORD), clock.now()).granted
    assert not device.login("10.0.0.9", plain(PASSWORD), clock.now()).granted


def test_success_resets_the_failure_count(clock):
    device = make_fleet().devices[0]
    for _ in range(6):
        device.login("c", plain("wrong"), clock.now())
    assert device.login("c", plain(PASSWORD), clock.now()).granted
    assert device.login("c", plain("wrong"), clock.now()).retries_left == 6


def test_policy_comes_from_the_fixture(clock):
    device = make_fleet(hik_entry(lockout={"max_failures": 3, "lock_seconds": 60})).devices[0]
    for _ in range(3):
        outcome = device.login("c", plain("wrong"), clock.now())
    assert (outcome.result, outcome.unlock_in) == (LoginResult.LOCKED, 60)


def test_only_the_admin_user_logs_in(clock):
    device = make_fleet().devices[0]
    outcome = device.login("c", plain(PASSWORD), clock.now(), user="operator")
    assert outcome.result is LoginResult.WRONG_PASSWORD


def test_a_device_that_is_not_activated_refuses_logins_without_counting(clock):
    device = make_fleet(hik_entry(admin_password=None)).devices[0]
    for _ in range(10):
        outcome = device.login("c", plain(""), clock.now())
    assert outcome.result is LoginResult.NOT_ACTIVATED
    assert device.lockout.retries_left("c", clock.now()) == 7


def test_activation(clock):
    device = make_fleet(hik_entry(admin_password=None)).devices[0]
    assert device.activate("12345678") is ActivationResult.RISKY_PASSWORD
    assert not device.activated
    assert device.activate("Abcdef123") is ActivationResult.OK
    assert device.activate("Other12345") is ActivationResult.ALREADY_ACTIVATED
    assert device.login("c", plain("Abcdef123"), clock.now()).granted


@pytest.mark.parametrize(
    ("password", "risky"),
    [
        ("Abcdef123", False),
        ("abcdefg1", False),
        ("abc!defg", False),
        ("abcdefgh", True),  # one kind of character
        ("Ab1", True),  # too short
        ("Abcdefgh12345678X", True),  # too long
        ("myadmin123", True),  # contains the user name
    ],
)
def test_password_strength(password, risky):
    assert is_risky_password(password) is risky


def test_lockout_memory_is_bounded():
    lockout = Lockout(LockoutPolicy())
    for n in range(Lockout.MAX_TRACKED + 50):
        lockout.attempt(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", 0.0, plain("x"), "y")
    assert len(lockout._clients) <= Lockout.MAX_TRACKED


def test_the_local_console_has_its_own_shorter_lockout(clock):
    from nvrsim.simulator.core.device import LOCAL_CONSOLE

    device = make_fleet().devices[0]
    for _ in range(7):
        outcome = device.login(LOCAL_CONSOLE, plain("wrong"), clock.now())
    assert (outcome.result, outcome.unlock_in) == (LoginResult.LOCKED, 60)
    assert device.login("10.0.0.9", plain(PASSWORD), clock.now()).granted
    clock.advance(60)
    assert device.login(LOCAL_CONSOLE, plain(PASSWORD), clock.now()).granted


def test_local_lockout_from_the_fixture(clock):
    from nvrsim.simulator.core.device import LOCAL_CONSOLE

    device = make_fleet(hik_entry(local_lockout={"max_failures": 2, "lock_seconds": 5})).devices[0]
    device.login(LOCAL_CONSOLE, plain("wrong"), clock.now())
    outcome = device.login(LOCAL_CONSOLE, plain("wrong"), clock.now())
    assert (outcome.result, outcome.unlock_in) == (LoginResult.LOCKED, 5)


def test_a_granted_login_reports_a_clean_slate_whatever_other_clients_did():
    lockout = Lockout(LockoutPolicy(max_failures=3, lock_seconds=60))
    assert lockout.attempt("10.0.0.1", 0.0, plain("pw"), "pw").retries_left == 3
    for _ in range(3):  # another client locks itself out
        lockout.attempt("10.0.0.2", 0.0, plain("no"), "pw")
    lockout.attempt("10.0.0.1", 0.0, plain("no"), "pw")  # and this one fails once
    granted = lockout.attempt("10.0.0.1", 1.0, plain("pw"), "pw")
    assert (granted.result, granted.retries_left, granted.unlock_in) == (LoginResult.OK, 3, 0)
    assert lockout.retries_left("10.0.0.1", 1.0) == 3  # its failure is forgotten
    locked = lockout.attempt("10.0.0.2", 1.0, plain("pw"), "pw")  # the right password
    assert (locked.result, locked.unlock_in) == (LoginResult.LOCKED, 59)
    lockout.policy = LockoutPolicy(max_failures=5)  # a policy the vendor's settings changed
    assert lockout.attempt("10.0.0.1", 2.0, plain("pw"), "pw").retries_left == 5
