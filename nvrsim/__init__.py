"""nvrsim: simulated fleets of NVRs, DVRs and IP cameras.

The repository keeps the product's folders at its top level (simulator/, protocols/,
firmware_menu/, fixtures/: DESIGN.md); this package holds them through symbolic links,
so the wheel installs one import namespace and nothing beside it.
"""


def __getattr__(name: str) -> str:
    # importlib.metadata costs 80 ms at import; every command would pay it for a version
    # string only a few ask for.
    if name != "__version__":
        raise AttributeError(f"module 'nvrsim' has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("nvrsim")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
