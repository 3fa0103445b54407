"""Templates (`count = N`): the identities they give are pinned, the work that does not
depend on the device is done once per entry, and its devices share nothing mutable."""

import gc
import tracemalloc

import pytest

from nvrsim.simulator.core import identity
from nvrsim.simulator.core.fixture import FixtureError
from nvrsim.simulator.core.users import UserLevel
from nvrsim.simulator.runtime.fixtures import build_fleet
from tests.conftest import hik_entry, make_fleet

ENTRIES = [
    {
        "name": "cam",
        "vendor": "hikvision",
        "kind": "ipc",
        "model": "DS-2CD2385G1-I",
        "firmware": "V5.5.0 build 170725",
        "count": 3,
    },
    {
        "name": "dh",
        "vendor": "dahua",
        "kind": "nvr",
        "model": "DHI-NVR4104HS",
        "firmware": "V4.001.0000000.1",
        "count": 3,
    },
    {
        "name": "dl",
        "vendor": "dlink",
        "kind": "ipc",
        "model": "DCS-8000LH",
        "firmware": "2.02.02",
        "count": 3,
    },
    {
        "name": "one",
        "vendor": "hikvision",
        "kind": "nvr",
        "model": "DS-7608NI-K2",
        "firmware": "V4.30.005 build 200528",
    },
]

# What main gave before templates were built once per entry (commit a10b2aa): shards
# (`--shard`) and saved states rely on every process giving each device the same identity.
# label, serial, MAC, address, UUID, name, and the verification code or mydlink PIN.
PINNED = [
    ("cam-1", "DS-2CD2385G1-I20210423CCWR110116789", "e0:ca:3c:ca:9b:49", "127.77.0.2/16",
     "67fda6e3-cd4f-5964-b89e-c77b6a2e9c8d", "IP CAMERA", "HSBZXG"),
    ("cam-2", "DS-2CD2385G1-I20220204CCRR869779398", "58:50:ed:95:92:dc", "127.77.0.3/16",
     "7a3274c2-8517-5955-b5d9-92b7ec5838c9", "IP CAMERA", "YRWYBF"),
    ("cam-3", "DS-2CD2385G1-I20190422AAWR429316030", "58:50:ed:96:d7:fd", "127.77.0.4/16",
     "1125df2b-affe-5614-b2b4-3a367973124f", "IP CAMERA", "GZVNOP"),
    ("dh-1", "2K20JRBX613RC5H", "3c:ef:8c:ef:08:0c", "127.77.0.5/16",
     "4d49b3bb-0daa-58d7-837b-eab33b1695b2", "DHI-NVR4104HS", None),
    ("dh-2", "0R270GTY9PYZ9CA", "e0:50:8b:dc:09:50", "127.77.0.6/16",
     "4ea58b98-f670-507b-9b1a-5909b32b34b7", "DHI-NVR4104HS", None),
    ("dh-3", "7G31ZDR34XS5V8P", "90:02:a9:6c:e3:04", "127.77.0.7/16",
     "7558d5b6-6f19-5d2a-9e7a-55a407696f7f", "DHI-NVR4104HS", None),
    ("dl-1", "QAQS3B4903042", "f0:7d:68:f2:90:51", "127.77.0.8/16",
     "89027801-bbda-5d20-b7de-8f02d555093a", "DCS-8000LH", "152033"),
    ("dl-2", "QAQN974311407", "28:10:7b:1b:c6:44", "127.77.0.9/16",
     "97600384-e88d-588a-8f4c-4788befb18fc", "DCS-8000LH", "021306"),
    ("dl-3", "QAQE814049902", "14:d6:4d:26:39:b3", "127.77.0.10/16",
     "2b94e7ed-bcf8-5f4c-92ac-1a69ffae100e", "DCS-8000LH", "879983"),
    ("one", "DS-7608NI-K220180923CCRR787039447", "4c:bd:8f:d4:88:44", "127.77.0.11/16",
     "6864b941-04f8-5391-b71f-75075963430e", "Network Video Recorder", "PZJRVS"),
]  # fmt: skip


def _code(device) -> str | None:
    if hasattr(device, "hik_connect"):
        return device.hik_connect.verification_code
    return device.mydlink.pin_code if hasattr(device, "mydlink") else None


def test_templates_give_the_identities_they_always_gave():
    fleet = build_fleet({"fleet": {"seed": "pin"}, "device": ENTRIES}, source="pin.toml")
    got = [
        (d.label, d.serial, d.mac, str(d.network.address), str(d.uuid), d.name, _code(d))
        for d in fleet
    ]
    assert got == PINNED
    assert {str(d.network.gateway) for d in fleet} == {"127.77.0.1"}
    assert [d.source for d in fleet][:2] == [
        "pin.toml: device 'cam' (entry 1) #1",
        "pin.toml: device 'cam' (entry 1) #2",
    ]


def test_a_small_pool_hands_out_its_hosts_in_order_and_then_says_it_is_full():
    pool = {"seed": "pin", "address_pool": "127.90.0.8/29"}  # hosts .9 (gateway) to .14
    fleet = build_fleet({"fleet": pool, "device": [ENTRIES[0], ENTRIES[1] | {"count": 2}]})
    assert [str(d.network.address) for d in fleet] == [
        f"127.90.0.{host}/29" for host in range(10, 15)
    ]
    with pytest.raises(FixtureError, match=r"device 'dh' \(entry 2\) #3: address: the pool"):
        build_fleet({"fleet": pool, "device": ENTRIES[:2]})


@pytest.mark.parametrize("pool", ["10.9.8.7/32", "10.9.8.6/31"])
def test_pools_without_network_and_broadcast_addresses(pool):
    # Every address of a /31 or /32 is a host; the first is the gateway.
    entries = [hik_entry("a"), hik_entry("b", ip_channels=2)]
    if pool.endswith("/32"):
        with pytest.raises(FixtureError, match="no free address left"):
            build_fleet({"fleet": {"address_pool": pool}, "device": entries[:1]})
    else:
        fleet = build_fleet({"fleet": {"address_pool": pool}, "device": entries[:1]})
        assert [str(d.network.address) for d in fleet] == ["10.9.8.7/31"]


def test_a_bad_template_is_reported_once_naming_file_device_and_field():
    entry = hik_entry("cams", kind="ipc", model="DS-2CD2385G1-I", count=1000)
    with pytest.raises(FixtureError) as bad_field:
        build_fleet({"device": [entry | {"disks": -1}]}, source="big.toml")
    assert str(bad_field.value).splitlines() == [
        "big.toml: device 'cams' (entry 1): disks: Input should be greater than or equal to 0"
    ]
    # A check made on the built device (its event schedules) names the template's first.
    events = {"storage_failure": {"every": "30s"}}
    with pytest.raises(FixtureError) as bad_event:
        build_fleet({"device": [entry | {"events": events}]}, source="big.toml")
    assert str(bad_event.value).splitlines() == [
        "big.toml: device 'cams' (entry 1) #1: events.storage_failure: IPC devices do not raise it"
    ]


def test_what_does_not_depend_on_the_device_is_worked_out_once_per_entry(monkeypatch):
    calls = []
    real = identity.device_type_code

    def counted(model: str) -> int:
        calls.append(model)
        return real(model)

    monkeypatch.setattr(identity, "device_type_code", counted)
    fleet = make_fleet(
        hik_entry("cams", kind="ipc", model="DS-2CD2385G1-I", count=50),
        hik_entry("nvr", model="DS-7608NI-K2"),
    )
    assert calls == ["DS-2CD2385G1-I", "DS-7608NI-K2"]
    assert {d.device_type_code for d in fleet} == {141945, real("DS-7608NI-K2")}


def test_the_devices_of_a_template_share_nothing_they_change():
    entry = hik_entry(
        "cams",
        kind="ipc",
        count=2,
        admin_password="Passw0rd!",
        capabilities={"sadp_unbind": True},
        motion_detection=[1],
        motion_sensitivity={"1": 40},
        users=[{"name": "op", "password": "Operat0r!", "level": "Operator"}],
        events={"motion": {"every": "30s", "for": "5s"}},
    )
    first, second = make_fleet(entry).devices
    first.capability_overrides["sadp_unbind"] = False
    first.motion_detection.add(2)
    first.motion_sensitivity[1] = 90
    first.add_users([("viewer", "Viewer123!", UserLevel.USER)])
    first.lockout.attempt("127.0.0.9", 0.0, lambda _password: False, "")
    first.events.schedules.clear()
    first.imaging.update(1, {"brightness": 10.0})
    first.hik_connect.enabled = False
    first.onvif.discoverable = False
    first.network.http_port = 8080
    assert second.capability_overrides == {"sadp_unbind": True}
    assert (second.motion_detection, second.motion_sensitivity) == ({1}, {1: 40})
    assert [u.name for u in second.accounts] == ["op"]
    assert second.lockout.retries_left("127.0.0.9", 0.0) == second.lockout.policy.max_failures
    assert len(second.events.schedules) == 1
    assert second.imaging.get(1).brightness == 50.0
    assert (second.hik_connect.enabled, second.onvif.discoverable) == (True, True)
    assert second.network.http_port == 80


def test_a_templates_devices_stay_small():
    # tracemalloc counts the same bytes for the same build: 2.5 KB a device today, 5.4 KB
    # before devices were slotted and their rarely used tables made on first use.
    entry = hik_entry("cams", kind="ipc", model="DS-2CD2385G1-I", count=200)
    make_fleet(entry | {"count": 2})  # what is made once (the fixture's model) is made now
    gc.collect()
    tracemalloc.start()
    try:
        fleet = make_fleet(entry)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(fleet) == 200
    assert kept / 200 < 3500


def test_what_a_device_makes_on_first_use_works_from_then_on():
    device = make_fleet(hik_entry("nvr", count=2)).devices[0]
    assert device.lockout.locked(0.0) == {} and device.events.subscribers == 0
    device.events.close()  # nobody listens yet: nothing to end
    for _ in range(device.lockout.policy.max_failures):
        device.lockout.attempt("127.0.0.9", 0.0, lambda _password: False, "")
    assert device.lockout.locked(0.0) == {"127.0.0.9": 1800}
    device.lockout.clear()
    assert device.lockout.retries_left("127.0.0.9", 0.0) == device.lockout.policy.max_failures
    with device.events.subscribe() as subscriber:
        assert device.events.subscribers == 1
    assert (device.events.subscribers, subscriber.closed) == (0, True)
    device.imaging.update(2, {"brightness": 20.0})
    assert (device.imaging.get(1).brightness, device.imaging.get(2).brightness) == (50.0, 20.0)
    device.imaging.clear()
    assert device.imaging.get(2).brightness == 50.0


def _identities(fleet) -> list[tuple]:
    return [
        (d.label, d.serial, d.mac, str(d.network.address), str(d.network.gateway), d.uuid)
        for d in fleet
    ]


@pytest.mark.parametrize("shard", [(0, 3), (1, 3), (2, 3), (0, 1), (4, 7)])
def test_a_shard_builds_the_devices_the_whole_fleet_gives_it(shard):
    fixture = {
        "fleet": {"seed": "pin"},
        "device": [
            *ENTRIES,
            hik_entry("fixed", address="127.77.0.12/16", mac="58:50:ed:00:00:01"),
            hik_entry("cams", kind="ipc", count=11, events={"motion": {"every": "30s"}}),
        ],
    }
    whole = build_fleet(fixture).shard(*shard)
    alone = build_fleet(fixture, shard=shard)
    assert _identities(alone) == _identities(whole)
    assert [len(d.events.schedules) for d in alone] == [len(d.events.schedules) for d in whole]
    assert (alone.name, alone.settings, alone.faults) == (whole.name, whole.settings, whole.faults)


@pytest.mark.parametrize("shard", [(0, 2), (1, 2)])
def test_every_shard_finds_the_files_errors(shard):
    # Each error is in a device the other shard builds, or in none.
    mac = "58:50:ed:1f:e3:85"
    twice = {"device": [hik_entry("a", mac=mac), hik_entry("b", mac=mac)]}
    with pytest.raises(FixtureError, match=rf"'b' \(entry 2\): MAC {mac} is already used by .*'a'"):
        build_fleet(twice, source="f.toml", shard=shard)
    events = {"storage_failure": {"every": "30s"}}
    cams = {"device": [hik_entry("cams", kind="ipc", count=3, events=events)]}
    with pytest.raises(FixtureError, match=r"'cams' \(entry 1\) #1: events.storage_failure"):
        build_fleet(cams, shard=shard)
    small = {"fleet": {"address_pool": "127.9.9.0/30"}, "device": [hik_entry(count=3)]}
    with pytest.raises(FixtureError, match=r"#2: address: the pool 127\.9\.9\.0/30 has no free"):
        build_fleet(small, shard=shard)
