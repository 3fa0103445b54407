"""Public hypothesis strategies (placeholder while moving)."""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError("nvrsim.strategies needs hypothesis: pip install 'nvrsim[testing]'") from exc
