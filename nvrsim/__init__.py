"""nvrsim: simulated fleets of NVRs, DVRs and IP cameras.

The repository keeps the product's folders at its top level (simulator/, protocols/,
firmware_menu/, fixtures/: DESIGN.md); this package holds them through symbolic links,
so the wheel installs one import namespace and nothing beside it.
"""

from importlib import metadata

try:
    __version__ = metadata.version("nvrsim")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
