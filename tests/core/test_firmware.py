import pytest

from nvrsim.simulator.core.firmware import FirmwareError, FirmwareVersion, capabilities
from nvrsim.simulator.dahua.device import CAPABILITY_TABLE as DAHUA_TABLE
from nvrsim.simulator.hikvision.device import CAPABILITY_TABLE as HIKVISION_TABLE
from nvrsim.simulator.runtime.fixtures import build_fleet
from tests.conftest import hik_entry


@pytest.mark.parametrize(
    ("text", "key", "number", "build"),
    [
        ("V4.30.085 build 200916", (4, 30, 85), "V4.30.085", "200916"),
        ("V5.6.2build 190701", (5, 6, 2), "V5.6.2", "190701"),
        ("V3.4.106 build 181215", (3, 4, 106), "V3.4.106", "181215"),
        ("V5.7", (5, 7, 0), "V5.7", ""),
        ("V5.6.2 Build 190701", (5, 6, 2), "V5.6.2", "190701"),
    ],
)
def test_real_firmware_strings_parse(text, key, number, build):
    fw = FirmwareVersion.parse(text)
    assert (fw.key, fw.number, fw.build, fw.text) == (key, number, build, text)


@pytest.mark.parametrize("text", ["", "four", "build 200916", "V.4.1", "V4"])
def test_garbage_is_refused_with_the_text_in_the_message(text):
    with pytest.raises(FirmwareError, match="not a firmware version"):
        FirmwareVersion.parse(text)


def test_local_menu_unbind_only_on_4x_recorders():
    def caps(kind, text):
        return capabilities(HIKVISION_TABLE, kind, FirmwareVersion.parse(text))

    assert "menu_unbind" in caps("nvr", "V4.30.085 build 200916")
    assert "menu_unbind" in caps("dvr", "V4.21.005 build 190520")
    assert "menu_unbind" not in caps("nvr", "V3.4.106 build 181215")
    assert "menu_unbind" not in caps("nvr", "V5.0.0 build 230101")
    assert "menu_unbind" not in caps("ipc", "V5.6.2build 190701")
    assert "local_menu" not in caps("ipc", "V5.6.2build 190701")


def test_sadp_unbind_needs_recent_firmware():
    def caps(kind, text):
        return capabilities(HIKVISION_TABLE, kind, FirmwareVersion.parse(text))

    assert "sadp_unbind" in caps("nvr", "V4.0.0")
    assert "sadp_unbind" not in caps("nvr", "V3.4.106 build 181215")
    assert "sadp_unbind" in caps("ipc", "V5.5.0")
    assert "sadp_unbind" not in caps("ipc", "V5.4.5 build 170124")


def test_unknown_vendor_has_no_capabilities():
    assert capabilities((), "nvr", FirmwareVersion.parse("V4.0.0")) == frozenset()


def test_dahua_recorders_have_a_local_menu_without_unbind():
    caps = capabilities(DAHUA_TABLE, "nvr", FirmwareVersion.parse("V4.001.0000000.1.R"))
    assert "local_menu" in caps and "menu_unbind" not in caps


def _nvr(**overrides):
    return build_fleet({"device": [hik_entry("nvr", **overrides)]}).devices[0]


def test_an_upgrade_is_seen_by_the_next_question_whether_flashed_or_set():
    nvr = _nvr(firmware="V4.30.085 build 200916")
    assert nvr.can("menu_unbind")  # asked once: what it answers is remembered
    nvr.pending_firmware = FirmwareVersion.parse("V5.0.0 build 230101")
    assert nvr.can("menu_unbind")  # uploaded, not running until the reboot
    nvr.reboot(now=1.0)
    assert not nvr.can("menu_unbind")
    nvr.firmware = FirmwareVersion.parse("V4.21.005 build 190520")  # PATCH firmware
    assert nvr.can("menu_unbind")


def test_an_override_changed_in_place_or_replaced_is_seen_by_the_next_question():
    nvr = _nvr()
    assert nvr.can("sadp")
    nvr.capability_overrides["sadp"] = False
    assert not nvr.can("sadp")
    nvr.capability_overrides = {"sadp": True, "ptz": True}
    assert nvr.can("sadp") and nvr.can("ptz")
    nvr.capability_overrides.clear()
    assert not nvr.can("ptz")


def test_devices_of_one_model_and_firmware_keep_their_own_overrides():
    plain, muted = _nvr(), _nvr(capabilities={"sadp": False})
    assert plain.can("sadp") and not muted.can("sadp")
    assert plain.capabilities is _nvr().capabilities  # one answer shared, not one a device
