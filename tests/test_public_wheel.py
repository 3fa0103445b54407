"""The built wheel in a fresh virtual environment, used by a throwaway project as a user's
own test suite would use it: the plugin through its entry point, the strategies, the
credentials the fixture reports. Slow: it builds, creates a venv and installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PROJECT = """
import os
import socket
import urllib.error
import urllib.request
import uuid

from hypothesis import HealthCheck, given, settings

from nvrsim.protocols import wsdiscovery
from nvrsim.strategies import devices
from nvrsim.testing import running_fleet


def test_login_with_the_reported_credentials(nvrsim_fleet):
    nvr = nvrsim_fleet.device("nvr-4x-bound-online")
    password = os.environ.get("WRONG_PASSWORD") or nvr.admin_password
    handler = urllib.request.HTTPDigestAuthHandler(urllib.request.HTTPPasswordMgrWithDefaultRealm())
    handler.add_password(None, nvr.url, nvr.admin_user, password)
    try:
        with urllib.request.build_opener(handler).open(nvr.url + "/ISAPI/System/deviceInfo") as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    assert status == 200, f"ISAPI login refused: {status}"
    assert nvr.serial.encode() in body


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(devices())
def test_each_generated_device_starts_and_answers_discovery(entry):
    with running_fleet({"device": [entry]}, cloud=False) as fleet:
        (device,) = fleet.devices
        port = int(fleet.services["wsd"].rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(wsdiscovery.build_probe(f"urn:uuid:{uuid.uuid4()}"), ("127.0.0.1", port))
            match = wsdiscovery.decode_announcement(sock.recv(65536))
        assert any(device.address in xaddr for xaddr in match.xaddrs)
"""


_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    # Not pytest's tmp_path: other pytest runs on this machine rotate those folders
    # away, a venv with them, while this module still runs.
    folder = Path(tempfile.mkdtemp(prefix="nvrsim-wheel-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(work: Path) -> Path:
    """A fresh venv (no system site-packages) with the wheel, pytest and hypothesis."""
    # Built from a copy of the checkout: a build leaves build/ and an egg-info behind,
    # which would go stale in the checkout and make pip think nvrsim is installed.
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_SOURCE)
    env = _user_env()
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work, source, cwd=work)
    (wheel,) = work.glob("nvrsim-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work, env=env)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", f"{wheel}[testing]", cwd=work, env=env)
    return python


def _user_env() -> dict[str, str]:
    """This environment without anything that would find nvrsim's checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}


@pytest.fixture(scope="module")
def project(work: Path) -> Path:
    folder = work / "user-project"
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (folder / "test_with_nvrsim.py").write_text(textwrap.dedent(PROJECT))
    return folder


def test_a_users_project_is_green_with_the_installed_wheel(installed, project):
    out = _run(installed, "-m", "pytest", "-q", cwd=project, env=_user_env())
    assert "2 passed" in out
    code = "import nvrsim; print(nvrsim.__file__)"
    where = _run(installed, "-c", code, cwd=project, env=_user_env())
    assert "site-packages" in where and str(ROOT) not in where


def test_the_same_project_fails_with_a_wrong_password(installed, project):
    env = _user_env() | {"WRONG_PASSWORD": "not-the-password"}
    done = subprocess.run(
        [str(installed), "-m", "pytest", "-q", "-k", "credentials"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout
    assert "ISAPI login refused: 401" in done.stdout


def test_the_wheel_installs_one_namespace(installed, project):
    found = _run(
        installed,
        "-c",
        "import importlib.util as u; print([n for n in ('fixtures', 'protocols', 'simulator',"
        " 'firmware_menu') if u.find_spec(n)])",
        cwd=project,
        env=_user_env(),
    )
    assert found.strip() == "[]"  # `import fixtures` there is not nvrsim's: there is none
