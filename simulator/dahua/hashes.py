"""The hashes Dahua logins prove a password with (docs/protocols/dahua.md §2.1, §2.3)."""

from __future__ import annotations

import hashlib

from nvrsim.simulator.core.device import Device


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest().upper()


def realm(device: Device) -> str:
    """`Login to <serial>`, as older firmware words both the RPC2 and the Digest realm."""
    return f"Login to {device.serial}"


def ha1(user: str, realm_: str, password: str) -> str:
    return md5_upper(f"{user}:{realm_}:{password}")


def default_login_hash(user: str, password: str, realm_: str, random: str) -> str:
    """`encryption: "Default"`: MD5(user:random:HA1), HA1 = MD5(user:realm:password), both
    upper-case hex. admin / SecretPassword with the captured realm and random gives
    71596D591679A707721AD797437DE105."""
    return md5_upper(f"{user}:{random}:{ha1(user, realm_, password)}")


def gen1_hash(password: str) -> str:
    """The 8-character "OldDigest" hash: MD5, each byte pair (a+b) % 62 as 0-9A-Za-z."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.md5(password.encode("utf-8", "surrogateescape")).digest()
    return "".join(alphabet[(digest[i] + digest[i + 1]) % 62] for i in range(0, 16, 2))
