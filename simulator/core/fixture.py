"""Reading fixture files: one error type whose message names file, device and field."""

from __future__ import annotations

import tomllib
from pathlib import Path


class FixtureError(ValueError):
    """A fixture problem, phrased as `file: device 'name': field: what is wrong`."""


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: not valid TOML: {exc}") from None
