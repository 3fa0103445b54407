"""`nvrsim menu` / `python -m nvrsim.firmware_menu`: choosing the device, and what it refuses."""

from __future__ import annotations

import argparse

from nvrsim.firmware_menu.__main__ import main
from nvrsim.firmware_menu.cli import add_menu_parser, find_device
from tests.conftest import hik_entry, make_fleet


def test_add_menu_parser_adds_the_menu_subcommand_with_help():
    parser = argparse.ArgumentParser(prog="nvrsim")
    menu = add_menu_parser(parser.add_subparsers())
    args = parser.parse_args(["menu", "--device", "nvr-3x", "--telnet", "2323"])
    assert (args.device, args.telnet, args.host) == ("nvr-3x", 2323, "127.0.0.1")
    assert args.fixture is None and args.func.__name__ == "menu_main"
    help_text = menu.format_help()
    for option in ("--fixture", "--device", "--telnet", "--host", "--api", "Platform Access"):
        assert option in help_text
    assert "ru (Русский)" in help_text and args.lang == "en"
    assert parser.parse_args(["menu", "--lang", "fr"]).lang == "fr"


def test_find_device_by_serial_or_name_and_the_first_recorder_by_default():
    fleet = make_fleet(
        hik_entry("cam", kind="ipc", model="DS-2CD2385G1-I", firmware="V5.6.2"),
        hik_entry("nvr-a"),
        hik_entry("nvr-b"),
    )
    cam, a, b = fleet.devices
    assert find_device(fleet, None) is a
    assert find_device(fleet, "nvr-b") is b
    assert find_device(fleet, b.serial) is b
    assert find_device(fleet, "cam") is cam
    assert find_device(fleet, "nope") is None


def test_a_camera_has_no_menu_and_the_command_says_so(capsys):
    assert main(["--fixture", "--device", "camera"]) == 1
    err = capsys.readouterr().err
    assert "has no local menu" in err and "nvr-4x-bound-online" in err


def test_an_unknown_device_lists_the_fleet(capsys):
    assert main(["--fixture", "--device", "no-such-device"]) == 2
    err = capsys.readouterr().err
    assert "no device 'no-such-device'" in err and "dvr-hc-disabled" in err


def test_a_broken_fixture_is_reported(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[device]]\nname = 1\n", encoding="utf-8")
    assert main(["--fixture", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_without_a_running_simulator_the_command_says_how_to_run_standalone(capsys):
    assert main(["--api", "http://127.0.0.1:9", "--device", "nvr-3x"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the control API at http://127.0.0.1:9" in err and "--fixture" in err


def test_without_a_terminal_the_command_suggests_telnet(capsys):
    # pytest captures stdin and stdout, so neither is a terminal here.
    assert main(["--fixture", "--device", "nvr-3x"]) == 2
    assert "--telnet" in capsys.readouterr().err
