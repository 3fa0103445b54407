"""Run a Python child inside a throwaway user + network namespace with multicast on `lo`.

Tests that need multicast or broadcast must not touch the host's networks
(DESIGN.md, networking rules). `unshare -rn` gives an empty network namespace
without root; there `lo` gets an address such as 10.200.0.1/24, multicast, and
the route for 224.0.0.0/4, so a server and a client in the same child can talk
multicast. Server and client both run in the child, which prints JSON for the
test to check. Any protocol (SADP, ONVIF, DHIP) can reuse this.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

NETNS_ADDRESS = "10.200.0.1"
NETNS_PREFIX = 24
REPO_ROOT = Path(__file__).resolve().parent.parent


def setup_commands(address: str = NETNS_ADDRESS, prefix: int = NETNS_PREFIX) -> str:
    return " && ".join(
        [
            f"ip addr add {address}/{prefix} dev lo",
            "ip link set lo up",
            "ip link set lo multicast on",
            "ip route add 224.0.0.0/4 dev lo",
        ]
    )


@functools.cache
def netns_unavailable() -> str | None:
    """Why a namespace cannot be made here (naming the package to install), or None."""
    if shutil.which("unshare") is None:
        return "`unshare` not found: install util-linux to run namespace tests"
    if shutil.which("ip") is None:
        return "`ip` not found: install iproute2 to run namespace tests"
    try:
        trial = subprocess.run(
            ["unshare", "-rn", "sh", "-c", setup_commands()],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare -rn` (util-linux) failed: {exc}"
    if trial.returncode:
        return (
            "cannot set up a network namespace with `unshare -rn` (util-linux) and `ip` "
            f"(iproute2); user namespaces may be disabled: {trial.stderr.strip()}"
        )
    return None


def require_netns() -> None:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)


def run_python_in_netns(
    script: str, *args: str, address: str = NETNS_ADDRESS, timeout: float = 40.0
) -> subprocess.CompletedProcess[str]:
    """Run `python -c script args…` in a fresh namespace whose `lo` has `address`."""
    require_netns()
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    }
    # "$@" keeps the script and its arguments away from shell quoting.
    shell = f'{setup_commands(address)} && exec "$@"'
    child = [sys.executable, "-c", script, *args]
    return subprocess.run(
        ["unshare", "-rn", "sh", "-c", shell, "sh", *child],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=env,
    )


def run_json_in_netns(script: str, *args: str, **kwargs: Any) -> Any:
    """Like run_python_in_netns; the child's last stdout line is JSON, returned parsed."""
    done = run_python_in_netns(script, *args, **kwargs)
    assert done.returncode == 0, f"child failed ({done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])
