"""Deterministic device identities: the same fixture always gives the same fleet."""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("6f1c5a3e-8f0e-4e4b-9a57-6e7672736d00")
_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes)  # uuid5's hash, the namespace fed in


def digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def mac_address(seed: str, name: str, index: int, attempt: int, ouis: tuple[str, ...]) -> str:
    """A MAC under one of the vendor's OUIs."""
    d = digest("mac", seed, name, index, attempt)
    oui = ouis[d[0] % len(ouis)]
    return f"{oui}:{d[1]:02x}:{d[2]:02x}:{d[3]:02x}"


def device_uuid(serial: str) -> uuid.UUID:
    """uuid.uuid5(_NAMESPACE, serial), with the namespace hashed once, not once a device
    (a third less time; a fleet build makes one for each device)."""
    sha1 = _NAMESPACE_SHA1.copy()
    sha1.update(serial.encode())
    return uuid.UUID(bytes=sha1.digest()[:16], version=5)


def device_type_code(model: str) -> int:
    """SADP's numeric DeviceType; real codes are six digits (141945, 142378)."""
    return KNOWN_DEVICE_TYPES.get(model, 130000 + int(digest("type", model)[:4].hex(), 16) % 20000)


KNOWN_DEVICE_TYPES = {"DS-2CD2385G1-I": 141945, "DS-2CD2320D-I": 142378}


def normalise_mac(text: str) -> str:
    """Any of 58-50-ED-1F-E3-85, 58:50:ed:1f:e3:85, 5850ed1fe385 → 58:50:ed:1f:e3:85."""
    hexdigits = "".join(c for c in text.lower() if c not in ":-.")
    if len(hexdigits) != 12 or any(c not in "0123456789abcdef" for c in hexdigits):
        raise ValueError(f"not a MAC address: {text!r}")
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
