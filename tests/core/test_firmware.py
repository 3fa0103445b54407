import pytest

from nvrsim.simulator.core.firmware import FirmwareError, FirmwareVersion, capabilities
from nvrsim.simulator.dahua.device import CAPABILITY_TABLE as DAHUA_TABLE
from nvrsim.simulator.hikvision.device import CAPABILITY_TABLE as HIKVISION_TABLE


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
