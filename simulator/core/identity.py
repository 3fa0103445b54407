"""Deterministic device identities: the same fixture always gives the same fleet."""

from __future__ import annotations

import hashlib
import uuid

# Registered Hikvision OUIs, as seen on real devices' labels.
HIKVISION_OUIS = ("58:50:ed", "44:19:b6", "c0:56:e3", "bc:ad:28", "4c:bd:8f", "e0:ca:3c")
# D-Link OUIs; b0:c5:54 and 28:10:7b are seen on DCS cameras (protocols/onvif-dlink.md §3.1).
DLINK_OUIS = ("b0:c5:54", "28:10:7b", "1c:7e:e5", "c4:a8:1d", "f0:7d:68", "14:d6:4d")
# Dahua OUIs; 4c:11:bf and 38:af:29 are in DHIP and RPC2 captures (protocols/dahua.md).
DAHUA_OUIS = ("4c:11:bf", "38:af:29", "3c:ef:8c", "e0:50:8b", "90:02:a9", "14:a7:8b")
OUIS = {"hikvision": HIKVISION_OUIS, "dlink": DLINK_OUIS, "dahua": DAHUA_OUIS}
_NAMESPACE = uuid.UUID("6f1c5a3e-8f0e-4e4b-9a57-6e7672736d00")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """Model + date made + batch letters + nine digits: DS-2CD2385G1-I20200414AAWRE33842150."""
    d = _digest("serial", seed, name, index, attempt)
    year = 2018 + d[0] % 7
    month = 1 + d[1] % 12
    day = 1 + d[2] % 28
    batch = ("AAWR", "CCWR", "CCRR", "AACH")[d[3] % 4]
    digits = int.from_bytes(d[4:12], "big") % 10**9
    return f"{model}{year}{month:02d}{day:02d}{batch}{digits:09d}"


def dlink_serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """13 characters as on D-Link labels [I]: 4 of plant and product code, a year digit,
    a month (1-9, A-C) and 7 digits: QBTL2A5000123."""
    d = _digest("dlink-serial", seed, name, index, attempt)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    product = "".join(letters[b % len(letters)] for b in _digest("dlink-product", model)[:3])
    plant = "0123456789"[d[0] % 10] if d[0] % 2 else letters[d[0] % len(letters)]
    year = d[1] % 10
    month = "123456789ABC"[d[2] % 12]
    digits = int.from_bytes(d[3:11], "big") % 10**7
    return f"{product}{plant}{year}{month}{digits:07d}"


def dahua_serial_number(model: str, seed: str, name: str, index: int, attempt: int = 0) -> str:
    """15 characters as on Dahua labels (4H01D66PAJ2FA64, 7L02A5EPAZ1C4F0): a digit, a
    letter, two digits, then eleven letters and digits [I]."""
    d = _digest("dahua-serial", seed, model, name, index, attempt)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    mixed = "0123456789" + letters
    head = f"{d[0] % 10}{letters[d[1] % len(letters)]}{d[2] % 100:02d}"
    return head + "".join(mixed[b % len(mixed)] for b in d[3:14])


def pin_code(seed: str, serial: str) -> str:
    """The 6-digit PIN printed on mydlink cameras' labels."""
    return f"{int.from_bytes(_digest('pin', seed, serial)[:4], 'big') % 10**6:06d}"


def mac_address(
    seed: str, name: str, index: int, attempt: int = 0, vendor: str = "hikvision"
) -> str:
    d = _digest("mac", seed, name, index, attempt)
    ouis = OUIS.get(vendor, HIKVISION_OUIS)
    oui = ouis[d[0] % len(ouis)]
    return f"{oui}:{d[1]:02x}:{d[2]:02x}:{d[3]:02x}"


def device_uuid(serial: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, serial)


def device_type_code(model: str) -> int:
    """SADP's numeric DeviceType; real codes are six digits (141945, 142378)."""
    return KNOWN_DEVICE_TYPES.get(model, 130000 + int(_digest("type", model)[:4].hex(), 16) % 20000)


KNOWN_DEVICE_TYPES = {"DS-2CD2385G1-I": 141945, "DS-2CD2320D-I": 142378}


def verification_code(seed: str, serial: str) -> str:
    """Six capital letters, like the code printed on a device label."""
    d = _digest("vc", seed, serial)
    return "".join(chr(ord("A") + b % 26) for b in d[:6])


def normalise_mac(text: str) -> str:
    """Any of 58-50-ED-1F-E3-85, 58:50:ed:1f:e3:85, 5850ed1fe385 → 58:50:ed:1f:e3:85."""
    hexdigits = "".join(c for c in text.lower() if c not in ":-.")
    if len(hexdigits) != 12 or any(c not in "0123456789abcdef" for c in hexdigits):
        raise ValueError(f"not a MAC address: {text!r}")
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
