"""The user store: rules, the one login rule for every account, factory reset, --state."""

from __future__ import annotations

import pytest

from nvrsim.simulator.control.devices import device_state
from nvrsim.simulator.core.users import MAX_USERS, UserError, UserLevel, UserProblem
from nvrsim.simulator.runtime.state import StateDir
from tests.conftest import PASSWORD, hik_entry, make_fleet

OP = ("op1", "Operat0r1", UserLevel.OPERATOR)


@pytest.fixture
def device(clock):
    return make_fleet(hik_entry(), clock=clock).devices[0]


def proof(password: str):
    return lambda true: true == password


def test_admin_is_one_of_the_users(device):
    (admin,) = device.users()
    assert (admin.id, admin.name, admin.password, admin.level) == (
        1,
        "admin",
        PASSWORD,
        UserLevel.ADMINISTRATOR,
    )


def test_an_added_user_logs_in_and_counts_toward_the_same_lockout(device, clock):
    device.add_users([OP])
    assert device.login("10.0.0.2", proof("Operat0r1"), clock.now(), user="op1").granted
    for _ in range(7):
        device.login("10.0.0.2", proof("nope"), clock.now(), user="op1")
    # the client is locked for every account, admin included
    assert not device.login("10.0.0.2", proof(PASSWORD), clock.now()).granted
    clock.advance(1800)
    assert device.login("10.0.0.2", proof(PASSWORD), clock.now()).granted


def test_unknown_and_disabled_users_fail_like_a_wrong_password(device, clock):
    device.add_users([OP])
    device.change_user("op1", enabled=False)
    for user in ("op1", "ghost"):
        outcome = device.login("10.0.0.3", proof("Operat0r1"), clock.now(), user=user)
        assert outcome.result.value == "wrong_password"


@pytest.mark.parametrize(
    ("users", "problem"),
    [
        ([("admin", "Strong123", UserLevel.USER)], UserProblem.DUPLICATE),
        ([OP, OP], UserProblem.DUPLICATE),
        ([("op2", "short1", UserLevel.USER)], UserProblem.WEAK_PASSWORD),
        ([("op2", "alllowercase", UserLevel.USER)], UserProblem.WEAK_PASSWORD),
        ([("op2", "Aa1" * 22, UserLevel.USER)], UserProblem.PASSWORD_TOO_LONG),
        ([("bad name", "Strong123", UserLevel.USER)], UserProblem.BAD_NAME),
        ([("x:y", "Strong123", UserLevel.USER)], UserProblem.BAD_NAME),
    ],
)
def test_refused_additions_change_nothing(device, users, problem):
    with pytest.raises(UserError) as refused:
        device.add_users([("first", "Strong123", UserLevel.USER), *users])
    assert refused.value.problem is problem
    assert [u.name for u in device.users()] == ["admin"]


def test_at_most_32_accounts(device):
    device.add_users([(f"u{n}", "Strong123", UserLevel.USER) for n in range(MAX_USERS - 1)])
    with pytest.raises(UserError) as refused:
        device.add_users([("one-more", "Strong123", UserLevel.USER)])
    assert refused.value.problem is UserProblem.TOO_MANY


def test_admin_cannot_be_deleted_demoted_or_disabled(device):
    for change in (
        lambda: device.delete_users(["admin"]),
        lambda: device.change_user("admin", level=UserLevel.USER),
        lambda: device.change_user("admin", enabled=False),
    ):
        with pytest.raises(UserError) as refused:
            change()
        assert refused.value.problem is UserProblem.FIXED
    device.change_user("admin", password="NewAdmin99")
    assert device.admin_password == "NewAdmin99"


def test_ids_are_stable_and_not_reused(device):
    device.add_users([OP, ("op2", "Operat0r2", UserLevel.USER)])
    device.delete_users(["op1"])
    device.add_users([("op3", "Operat0r3", UserLevel.USER)])
    assert [(u.id, u.name) for u in device.users()] == [(1, "admin"), (3, "op2"), (4, "op3")]


def test_a_factory_reset_removes_the_users_restore_defaults_keeps_them(device, clock):
    device.add_users([OP])
    device.restore_defaults(clock.now())
    assert device.user("op1") is not None
    device.factory_reset(clock.now())
    assert [u.name for u in device.users()] == ["admin"] and not device.activated


def test_users_and_the_device_clock_outlive_a_restart_with_state(clock, tmp_path):
    fleet = make_fleet(hik_entry(), clock=clock)
    (device,) = fleet
    device.add_users([OP, ("view", "Viewer123", UserLevel.USER)])
    device.change_user("view", enabled=False)
    device.delete_users(["op1"])
    device.add_users([("op4", "Operat0r4", UserLevel.ADMINISTRATOR)])
    device.set_local_time(2_000_000_000.0, device.local_now(clock.now()))
    device.motion_sensitivity[3] = 40
    store = StateDir(tmp_path)
    store.save_all(fleet)
    (loaded,) = store.load(clock.now())
    assert loaded.users() == device.users()
    assert loaded.local_now(clock.now()) == 2_000_000_000.0
    assert loaded.motion_sensitivity == {3: 40}
    loaded.add_users([("op5", "Operat0r5", UserLevel.USER)])
    assert loaded.user("op5").id == 5  # past every id ever given


def test_fixtures_declare_users(clock):
    entry = hik_entry(users=[{"name": "guard", "password": "weak", "level": "Operator"}])
    (device,) = make_fleet(entry, clock=clock)
    assert device.login("10.0.0.4", proof("weak"), clock.now(), user="guard").granted
    with pytest.raises(Exception, match="admin is built in"):
        make_fleet(hik_entry(users=[{"name": "admin", "password": "x"}]), clock=clock)


def test_the_control_api_shows_the_users_and_the_clock(device, clock):
    device.add_users([OP])
    state = device_state(device, clock.now())
    assert state["users"] == [
        {"name": "op1", "password": "Operat0r1", "level": "Operator", "enabled": True, "id": 2}
    ]
    assert state["clock"] == {"offset": 0.0, "mode": "Manual", "ntp_servers": []}
