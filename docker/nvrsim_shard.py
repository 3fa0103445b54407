#!/usr/bin/env python3
"""`nvrsim-shard ARGS…`: `nvrsim run --shard I/N ARGS…` with I found from where it runs.

N is $NVRSIM_SHARDS. I is $NVRSIM_SHARD_INDEX when set (Kubernetes gives a StatefulSet pod
its ordinal through the downward API), else the replica's number in its container name
(compose names replicas PROJECT-SERVICE-1, -2, … and its DNS answers that name for the
container's own address), counted from 0.
"""

from __future__ import annotations

import os
import re
import socket
import sys


def replica_index(name: str) -> int:
    """0 for `nvrsim-shard-1.nvrsim_default` (compose numbers replicas from 1)."""
    found = re.search(r"[-_](\d+)(?:\.|$)", name)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"no replica number in the container name {name!r}")
    return int(found.group(1)) - 1


def shard_index() -> int:
    if index := os.environ.get("NVRSIM_SHARD_INDEX"):
        return int(index)
    own = socket.gethostbyname(socket.gethostname())
    return replica_index(socket.gethostbyaddr(own)[0])


def main() -> None:
    shards = int(os.environ["NVRSIM_SHARDS"])
    index = shard_index()
    if not 0 <= index < shards:
        sys.exit(f"nvrsim-shard: shard {index} of {shards}: NVRSIM_SHARDS is below the replicas")
    os.execvp("nvrsim", ["nvrsim", "run", "--shard", f"{index}/{shards}", *sys.argv[1:]])


if __name__ == "__main__":
    main()
