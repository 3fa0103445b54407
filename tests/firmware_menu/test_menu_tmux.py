# The Russian walk's words are Cyrillic, some letters of which look Latin.
# ruff: noqa: RUF001
"""The real terminal app in a real terminal (tmux): log in, Platform Access, Unbind.

Once standalone on a copy of a fixture, once attached to a running `nvrsim run`,
whose SADP then answers that the device is no longer bound. tmux runs the menu
as a separate process, so these tests wait on it by polling `capture-pane` a
bounded number of times; that short real wait is for the external process, not
for the simulator's clock.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nvrsim.protocols.sadp import Probe, ProbeType
from tests.cli.test_cli import FREE_PORTS
from tests.conftest import PASSWORD
from tests.runtime.test_runner import sadp_ask

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian package `tmux`)"),
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = f"""
[fleet]
seed = "tmux"
address_pool = "127.77.0.0/24"

[[device]]
name = "nvr-tmux"
vendor = "hikvision"
kind = "nvr"
model = "DS-7608NI-K2"
firmware = "V4.30.085 build 200916"
admin_password = "{PASSWORD}"
ip_channels = 8
ports = {{ http = 0, rtsp = 0 }}
hik_connect = {{ enabled = true, online = true, bound_account = "owner@example.com" }}

[[device]]
name = "cam"
vendor = "hikvision"
kind = "ipc"
model = "DS-2CD2385G1-I"
firmware = "V5.6.2build 190701"
admin_password = "{PASSWORD}"
ports = {{ http = 0, rtsp = 0 }}
"""


class Terminal:
    def __init__(self, socket: str, session: str) -> None:
        self.socket, self.session = socket, session

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, *texts: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if all(t in shown for t in texts):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {texts!r}; the screen was:\n{shown}")
            time.sleep(0.1)  # waiting on the tmux process, bounded by the deadline


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(FIXTURE, encoding="utf-8")
    return path


@pytest.fixture
def open_terminal() -> Iterator[Callable[[str], Terminal]]:
    """Run a command in a fresh 120x40 tmux server; it is killed at the end."""
    sockets = []

    def start(command: str) -> Terminal:
        socket = f"nvrsim-test-{uuid.uuid4().hex[:8]}"
        sockets.append(socket)
        new_session = ("new-session", "-d", "-s", "menu", "-x", "120", "-y", "40", "-c", str(ROOT))
        subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *new_session, command],
            check=True,
            timeout=10,
        )
        return Terminal(socket, "menu")

    yield start
    for socket in sockets:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def terminal(fixture_file: Path, open_terminal) -> Terminal:
    return open_terminal(
        f"{sys.executable} -m nvrsim.firmware_menu --fixture {fixture_file} --device nvr-tmux"
    )


def unbind_in_the_menu(terminal: Terminal) -> None:
    terminal.wait_for("Login", "User Name", "admin", "DS-7608NI-K2")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Device Info", "Configuration", "Maintenance", "Logout")
    terminal.keys("Down", "Enter", "Down", "Enter", "Down", "Enter")
    terminal.wait_for("▸  Platform Access", "[ Unbind ]")
    terminal.keys("Up", "Enter")
    terminal.wait_for("Admin Password")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Unbinding succeeded")


def test_log_in_open_platform_access_and_unbind_in_a_real_terminal(terminal):
    terminal.wait_for("Login", "User Name", "admin", "DS-7608NI-K2")
    terminal.type("wrong")
    terminal.keys("Enter")
    terminal.wait_for("6 attempt(s) left")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Device Info", "Configuration", "Maintenance", "Logout")
    terminal.keys("Down", "Enter")
    terminal.wait_for("Main Menu  ▸  Configuration")
    terminal.keys("Down", "Enter")
    terminal.wait_for("▸  Network")
    terminal.keys("Down", "Enter")
    shown = terminal.wait_for("▸  Platform Access", "Verification Code", "[ Unbind ]")
    assert "Online" in shown and "Bound" in shown
    assert "█" in shown  # the QR code
    terminal.keys("Up", "Enter")
    terminal.wait_for("Admin Password")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Unbinding succeeded")
    terminal.keys("Enter")
    terminal.wait_for("Not bound")
    terminal.keys("Escape")
    terminal.wait_for("Platform Access", "More Settings", "General (TCP/IP)")
    terminal.keys("C-q")
    wait_until_closed(terminal)


def test_attached_to_a_running_simulator_the_unbind_is_what_sadp_answers(
    fixture_file: Path, tmp_path: Path, open_terminal
):
    ready = tmp_path / "ready.json"
    run = [sys.executable, "-m", "nvrsim", "run", str(fixture_file), *FREE_PORTS]
    process = subprocess.Popen(
        [*run, "--ready-file", str(ready)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        for line in process.stdout:  # the ready line comes once the file is written
            if line.startswith(b"ready: "):
                break
        described = json.loads(ready.read_text())
        control, sadp = described["services"]["control"], described["services"]["sadp"]
        nvr = next(d for d in described["devices"] if d["name"] == "nvr-tmux")
        probe = Probe("U-tmux", ProbeType.GET_UNBIND_STATUS, mac=nvr["mac"])
        assert asyncio.run(sadp_ask(sadp["port"], probe)).result == "success"
        api = f"http://{control['host']}:{control['port']}"
        terminal = open_terminal(
            f"{sys.executable} -m nvrsim.firmware_menu --api {api} --device nvr-tmux"
        )
        unbind_in_the_menu(terminal)
        assert asyncio.run(sadp_ask(sadp["port"], probe)).result == "notBind"
        terminal.keys("Enter", "C-q")
        wait_until_closed(terminal)
    finally:
        process.kill()
        process.communicate(timeout=10)


def wait_until_closed(terminal: Terminal) -> None:
    deadline = time.monotonic() + 10
    while "menu" in terminal.tmux("list-sessions", "-F", "#{session_name}"):
        assert time.monotonic() < deadline, "Ctrl-Q did not end the app"
        time.sleep(0.1)  # waiting on the tmux process, bounded by the deadline


def test_the_same_walk_in_russian_in_a_real_terminal(fixture_file, open_terminal):
    terminal = open_terminal(
        f"{sys.executable} -m nvrsim.firmware_menu --fixture {fixture_file}"
        " --device nvr-tmux --lang ru"
    )
    terminal.wait_for("Вход", "Имя пользователя", "admin", "DS-7608NI-K2")
    terminal.type("wrong")
    terminal.keys("Enter")
    terminal.wait_for("попыток: 6.")  # the notice wraps in the box
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Конфигурация", "Обслуживание", "Выход")
    terminal.keys("Down", "Enter", "Down", "Enter", "Down", "Enter")
    shown = terminal.wait_for("▸  Доступ к платформе", "Код подтверждения", "[ Отвязать ]")
    assert "Привязано" in shown and "В сети" in shown
    terminal.keys("Up", "Enter")
    terminal.wait_for("Пароль admin")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Устройство отвязано.", "[ OK ]")
    terminal.keys("Enter")
    terminal.wait_for("Не привязано")
    terminal.keys("C-q")
    wait_until_closed(terminal)
