import pytest

from nvrsim.simulator.core.auth import plain
from nvrsim.simulator.hikvision.unbind import UnbindVerdict, unbind, unbind_status
from tests.conftest import PASSWORD, hik_entry, make_fleet

LAN_CLIENT = "127.77.0.200"


def unbind_with(device, clock, password=PASSWORD, client=LAN_CLIENT):
    return unbind(device, client=client, proof=plain(password), now=clock.now())


def test_unbind_succeeds_when_every_precondition_holds(clock):
    device = make_fleet().devices[0]
    assert unbind_status(device) is UnbindVerdict.OK
    outcome = unbind_with(device, clock)
    assert outcome.done
    assert device.hik_connect.bound_account is None
    assert unbind_status(device) is UnbindVerdict.NOT_BOUND


@pytest.mark.parametrize(
    ("overrides", "verdict"),
    [
        ({"hik_connect": {"enabled": True, "online": True}}, UnbindVerdict.NOT_BOUND),
        (
            {"hik_connect": {"enabled": False, "online": True, "bound_account": "a@b.c"}},
            UnbindVerdict.HC_DISABLED,
        ),
        (
            {"hik_connect": {"enabled": True, "online": False, "bound_account": "a@b.c"}},
            UnbindVerdict.OFFLINE,
        ),
        ({"admin_password": None}, UnbindVerdict.NOT_ACTIVATED),
    ],
)
def test_each_failing_precondition_has_its_own_verdict(clock, overrides, verdict):
    device = make_fleet(hik_entry(**overrides)).devices[0]
    before = device.hik_connect.bound_account
    assert unbind_with(device, clock).verdict is verdict
    assert device.hik_connect.bound_account == before


def test_wrong_password_then_lock(clock):
    device = make_fleet().devices[0]
    outcome = unbind_with(device, clock, password="nope")
    assert outcome.verdict is UnbindVerdict.WRONG_PASSWORD
    assert outcome.login.retries_left == 6
    for _ in range(6):
        outcome = unbind_with(device, clock, password="nope")
    assert outcome.verdict is UnbindVerdict.LOCKED
    assert unbind_with(device, clock).verdict is UnbindVerdict.LOCKED
    clock.advance(1800)
    assert unbind_with(device, clock).done


def test_same_lan_is_the_subnet_plus_declared_client_networks(clock):
    device = make_fleet().devices[0]
    assert unbind_with(device, clock, client="10.1.2.3").verdict is UnbindVerdict.NOT_SAME_LAN
    assert unbind_with(device, clock, client="not an ip").verdict is UnbindVerdict.NOT_SAME_LAN
    assert device.hik_connect.bound
    declared = make_fleet(client_networks=["10.1.0.0/16"]).devices[0]
    assert unbind_with(declared, clock, client="10.1.2.3").done


def test_the_lan_check_comes_before_the_password_so_remote_guesses_do_not_lock(clock):
    device = make_fleet().devices[0]
    for _ in range(10):
        unbind_with(device, clock, password="nope", client="10.9.9.9")
    assert device.lockout.retries_left("10.9.9.9", clock.now()) == 7


def test_front_ends_that_do_not_know_the_origin_skip_the_lan_check(clock):
    device = make_fleet().devices[0]
    assert unbind(device, client=None, proof=plain(PASSWORD), now=clock.now()).done


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("ABCDEF", True),
        ("HJKL2345abcd", True),
        ("ABC12", False),
        ("ABCDEFGHJKLMN", False),
        ("ABC 123", False),
        ("ÄBCDEF", False),
        ("", False),
    ],
)
def test_verification_code_rule(code, valid):
    from nvrsim.simulator.hikvision.device import is_valid_verification_code

    assert is_valid_verification_code(code) is valid


def test_the_menu_unbind_uses_the_local_lockout(clock):
    device = make_fleet().devices[0]
    for _ in range(7):
        outcome = unbind(device, client=None, proof=plain("nope"), now=clock.now())
    assert (outcome.verdict, outcome.login.unlock_in) == (UnbindVerdict.LOCKED, 60)
    assert device.lockout.retries_left(LAN_CLIENT, clock.now()) == 7
