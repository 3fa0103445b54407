import textwrap

import pytest

from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.runtime.fixtures import build_fleet, load_fleet
from tests.conftest import hik_entry, make_fleet


def write(tmp_path, text):
    path = tmp_path / "fleet.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_demo_fleet_covers_every_unbind_situation(demo_fleet):
    devices = demo_fleet.devices
    assert any(d.kind == "nvr" and d.firmware.major == 3 for d in devices)
    assert any(d.kind == "nvr" and d.firmware.major == 4 for d in devices)
    assert any(d.kind == "ipc" for d in devices)
    assert any(not d.activated for d in devices)
    assert any(d.hik_connect.bound and d.hik_connect.online for d in devices)
    assert any(d.hik_connect.bound and not d.hik_connect.online for d in devices)
    assert any(not d.hik_connect.enabled for d in devices)
    assert len({d.network.ip for d in devices}) == len(devices)
    assert all(d.network.ip.startswith("127.") for d in devices)


def test_templates_generate_unique_deterministic_identities():
    fleet = make_fleet(hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", count=300))
    again = make_fleet(hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", count=300))
    for attr in ("serial", "mac", "uuid"):
        values = [getattr(d, attr) for d in fleet]
        assert len(set(values)) == 300
        assert values == [getattr(d, attr) for d in again]
    assert len({d.network.ip for d in fleet}) == 300
    first = fleet.devices[0]
    assert first.serial.startswith("DS-2CD2385G1-I20")
    assert len(first.serial) == len("DS-2CD2385G1-I") + 8 + 4 + 9
    assert (first.source.endswith("#1"), first.label) == (True, "cam-001")


def test_another_seed_gives_other_identities():
    a = make_fleet(hik_entry(count=5))
    b = make_fleet(hik_entry(count=5), seed="other")
    assert {d.serial for d in a}.isdisjoint({d.serial for d in b})


def test_explicit_identity_is_kept():
    device = make_fleet(
        hik_entry(
            serial="DS-7608NI-K220200101CCWR000000001",
            mac="58-50-ED-1F-E3-85",
            address="127.5.0.9/16",
        )
    ).devices[0]
    assert (device.serial, device.mac) == ("DS-7608NI-K220200101CCWR000000001", "58:50:ed:1f:e3:85")
    assert (device.network.ip, device.network.netmask) == ("127.5.0.9", "255.255.0.0")
    assert str(device.network.gateway) == "127.5.0.1"


def test_pool_addresses_skip_the_gateway_and_fixed_addresses():
    fleet = make_fleet(hik_entry("a", address="127.77.0.2/24"), hik_entry("b", count=2))
    assert [d.network.ip for d in fleet] == ["127.77.0.2", "127.77.0.3", "127.77.0.4"]
    assert {str(d.network.gateway) for d in fleet} == {"127.77.0.1"}


def test_error_names_file_device_and_field(tmp_path):
    path = write(
        tmp_path,
        """
        [[device]]
        name = "lobby-nvr"
        vendor = "hikvision"
        kind = "nvr"
        model = "DS-7608NI-K2"
        firmware = "V4.30.085 build 200916"
        hik_connect = { enabled = "yes" }
        """,
    )
    with pytest.raises(FixtureError) as info:
        load_fleet(path)
    assert str(info.value) == (
        f"{path}: device 'lobby-nvr' (entry 1): "
        "hik_connect.enabled: Input should be a valid boolean"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"firmware": "four"}, "firmware", "not a firmware version"),
        ({"mac": "zz:zz"}, "mac", "not a MAC address"),
        ({"kind": "toaster"}, "kind", "Input should be"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"capabilities": {"teleport": True}}, "capabilities", "unknown capability 'teleport'"),
        ({"hik_connect": {"verification_code": "ABC"}}, "hik_connect.verification_code", "6 to 12"),
        (
            {"hik_connect": {"verification_code": "ABC 123"}},
            "hik_connect.verification_code",
            "6 to",
        ),
        ({"ports": {"http": 70000}}, "ports.http", "less than or equal to 65535"),
        ({"count": 3, "serial": "X"}, "serial", "cannot be fixed for a template of 3"),
        ({"uuid": "nope"}, "uuid", "not a UUID"),
    ],
)
def test_bad_fields(overrides, field, message):
    with pytest.raises(FixtureError) as info:
        build_fleet({"device": [hik_entry("dev", **overrides)]}, source="f.toml")
    assert f"f.toml: device 'dev' (entry 1): {field}: " in str(info.value)
    assert message in str(info.value)


def test_duplicates_name_both_entries():
    with pytest.raises(FixtureError, match=r"MAC 58:50:ed:1f:e3:85 is already used by .*'one'"):
        build_fleet(
            {
                "device": [
                    hik_entry("one", mac="58:50:ed:1f:e3:85"),
                    hik_entry("two", mac="58:50:ed:1f:e3:85"),
                ]
            },
            source="f.toml",
        )
    with pytest.raises(FixtureError, match="name: another entry is already named 'one'"):
        build_fleet({"device": [hik_entry("one"), hik_entry("one")]}, source="f.toml")


def test_an_exhausted_pool_is_reported():
    with pytest.raises(FixtureError, match="has no free address left"):
        make_fleet(hik_entry(count=3), address_pool="127.9.9.0/30")


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(FixtureError, match="cannot read"):
        load_fleet(tmp_path / "missing.toml")
    with pytest.raises(FixtureError, match="not valid TOML"):
        load_fleet(write(tmp_path, "[[device]\n"))
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"name = '\xe9'\n")
    with pytest.raises(FixtureError, match="not valid TOML"):
        load_fleet(bad)


def test_fleet_level_errors_name_the_field(tmp_path):
    with pytest.raises(FixtureError, match=r"fleet\.address_pool: "):
        load_fleet(write(tmp_path, "[fleet]\naddress_pool = 'nope'\n"))


def test_a_default_gateway_is_never_the_device_itself():
    device = make_fleet(hik_entry(address="192.168.1.1/24")).devices[0]
    assert str(device.network.gateway) == "192.168.1.2"


def test_a_device_is_found_by_serial_or_by_name():
    fleet = make_fleet(hik_entry("lobby"), hik_entry("cam", count=2))
    lobby = fleet.devices[0]
    assert fleet.find(lobby.serial) is lobby and fleet.find("lobby") is lobby
    assert fleet.find("cam-2") is fleet.devices[2]
    assert fleet.find("nope") is None
