"""nvrsim's pytest plugin (entry point `pytest11: nvrsim`): a running fleet as a fixture.

    def test_login(nvrsim_fleet):
        nvr = nvrsim_fleet.device("nvr-4x-bound-online")
        ...  # log in at nvr.url as nvr.admin_user / nvr.admin_password

    @pytest.mark.nvrsim_fleet("hik-sadp-unbind", reboot_seconds=0.5)
    def test_unbind(nvrsim_fleet): ...

- `nvrsim_fleet` (function scope): the fleet the test's `nvrsim_fleet` marker names
  (a bundled scenario, a fixture file, TOML text or a dict, and `running_fleet`'s
  options), else the `nvrsim_fleet` ini option, else the bundled demo.
- `nvrsim_fleet_session` (session scope): one fleet for the whole run, named by the
  `nvrsim_fleet` ini option. Tests that share it share its state.
- Any other scope: `nvrsim.testing.running_fleet()` in a fixture of your own.

Choices where the public record is silent: importing this module imports nothing of
nvrsim's runtime, so a project that installed nvrsim without its test extras keeps a
working pytest; what is missing is named when a test asks for a fleet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nvrsim.testing import RunningFleet

_INI = "nvrsim_fleet"
_OPTIONS = {"clock", "reboot_seconds", "cloud"}  # running_fleet's keywords


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        "the fleet nvrsim_fleet and nvrsim_fleet_session start when no marker names one: "
        "a bundled scenario's name or a fixture file (default: the bundled demo fleet)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "nvrsim_fleet(source=None, *, clock='virtual', reboot_seconds=0.2, cloud=True): "
        "the fleet this test's nvrsim_fleet fixture runs (a bundled scenario's name, a "
        "fixture file, TOML text or a dict)",
    )


def _start(source: Any, options: dict[str, Any]) -> Iterator[RunningFleet]:
    try:
        from nvrsim.testing import running_fleet
    except ImportError as exc:  # a dependency of the simulator itself is missing
        pytest.fail(
            f"nvrsim_fleet: the simulator cannot be imported ({exc}); reinstall nvrsim "
            "(`pip install nvrsim[testing]`)",
            pytrace=False,
        )
    from nvrsim.simulator.core.fixture import FixtureError

    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        pytest.fail(f"nvrsim_fleet: no option {unknown[0]!r}; options: {sorted(_OPTIONS)}")
    fleet = running_fleet(source, **options)
    try:
        running = fleet.__enter__()
    except FixtureError as exc:
        pytest.fail(f"nvrsim_fleet: {exc}", pytrace=False)
    try:
        yield running
    finally:
        fleet.__exit__(None, None, None)


def _ini_source(config: pytest.Config) -> str | None:
    return str(config.getini(_INI)) or None


@pytest.fixture
def nvrsim_fleet(request: pytest.FixtureRequest) -> Iterator[RunningFleet]:
    """A fleet running for this test on free loopback ports; stopped after it."""
    marker = request.node.get_closest_marker("nvrsim_fleet")
    source: Any = _ini_source(request.config)
    options: dict[str, Any] = {}
    if marker is not None:
        if marker.args:
            source = marker.args[0]
        options = dict(marker.kwargs)
        source = options.pop("source", source)
    yield from _start(source, options)


@pytest.fixture(scope="session")
def nvrsim_fleet_session(request: pytest.FixtureRequest) -> Iterator[RunningFleet]:
    """One fleet for the whole session (the `nvrsim_fleet` ini option, else the demo)."""
    yield from _start(_ini_source(request.config), {})
