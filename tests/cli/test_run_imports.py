"""What `nvrsim run` imports before it serves: only what serving a fleet needs.

Each module below costs 10 to 110 ms at import and is used on some paths only (a menu
session, a snapshot, the D-Link portal, a Dahua device, the version string); a fleet of
10,000 cameras must be ready in 3 s (issue 17), so none of them may creep back into the
start through a module-level import.
"""

import json
import subprocess
import sys

import pytest

RUN_PATH = (
    "nvrsim.simulator.cli.main",
    "nvrsim.simulator.cli.run",
    "nvrsim.simulator.runtime.runner",
    "nvrsim.simulator.runtime.workers",
)
NOT_AT_START = {
    "prompt_toolkit": "the menu, loaded by its first session",
    "PIL": "snapshots, captchas and appeal photos, loaded by the first one",
    "segno": "the menus' QR codes",
    "jinja2": "the D-Link portal's templates, for fleets with D-Link devices",
    "aiohttp_jinja2": "the D-Link portal",
    "construct": "Dahua's DHIP, for fleets with Dahua devices",
    "amqtt": "the embedded MQTT broker, imported when it starts (after a supervisor forks)",
    "cryptography": "SADP's and ISAPI's key exchanges and Dahua's RPAC, on their first use",
    "nvrsim.simulator.dahua.http": "Dahua's web API, for fleets with Dahua devices",
    "nvrsim.simulator.dahua.dhip": "Dahua's discovery, for fleets with Dahua devices",
}


def _imported_by(modules: tuple[str, ...], then: str = "") -> set[str]:
    """The modules a fresh interpreter holds after importing `modules` (and running `then`)."""
    code = (
        f"import json, sys\nimport {', '.join(modules)}\n{then}\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.fixture(scope="module")
def at_start() -> set[str]:
    return _imported_by(RUN_PATH)


@pytest.mark.parametrize("module", sorted(NOT_AT_START))
def test_the_run_path_does_not_import(at_start, module):
    assert module not in at_start, f"{module} ({NOT_AT_START[module]}) is imported at start"


def test_the_lazy_modules_still_load_where_they_are_used():
    # The other half: the paths that need them get them (a lazy import that names a
    # module that is gone would only fail there).
    then = (
        "from nvrsim.simulator.runtime import testcard\n"
        "testcard.snapshot(64, 48, 0.0)\n"
        "from nvrsim.firmware_menu import qr\n"
        "qr.matrix('nvrsim')\n"
        "from nvrsim.simulator.vendors import VENDORS\n"
        "VENDORS['dahua'].discovery[0].table([])\n"
        "from nvrsim.protocols import sadp_crypto as c\n"
        "c.encrypt_random(c.encode_public_key(c.new_client_key().public_key()), 'r' * 32)\n"
        "import nvrsim\n"
        "assert nvrsim.__version__ and isinstance(nvrsim.__version__, str)\n"
    )
    loaded = _imported_by(RUN_PATH, then)
    assert {"PIL", "segno", "construct", "cryptography"} <= loaded
