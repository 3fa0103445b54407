"""The "RPAC" envelope the web UI uses to initialise a device (docs/protocols/dahua.md §1.6).

`Security.getEncryptInfo` hands out the device's RSA public key as
`N:<hex>,E:010001`; the client picks a random numeric key (32 digits, 16 on
older baselines), sends it RSA-PKCS#1-v1.5-encrypted as `salt` (lower-case hex)
and the params as `content` = base64(AES-CBC(key's ASCII bytes, IV "0000000000000000",
zero padding)). `cipher` names it: "RPAC-256" (or "RPAC-128").
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = b"0000000000000000"


class EnvelopeError(ValueError):
    """Not an envelope this device can open."""


class DeviceKey:
    """One device's RSA key pair, made when a client first asks for it."""

    def __init__(self, bits: int = 1024) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def encrypt_info(self) -> dict[str, Any]:
        n = self._key.public_key().public_numbers().n
        return {
            "AESPadding": ["ZERO", "PKCS7"],
            "asymmetric": "RSA",
            "cipher": ["AES", "RPAC"],
            "pub": f"N:{n:X},E:010001",
            "suggestedAsymmetric": "RSA",
        }

    def open(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """The params inside an envelope; EnvelopeError when it does not open."""
        salt, content = envelope.get("salt"), envelope.get("content")
        if not isinstance(salt, str) or not isinstance(content, str):
            raise EnvelopeError("salt and content are required")
        try:
            key = self._key.decrypt(bytes.fromhex(salt), padding.PKCS1v15())
            data = base64.b64decode(content, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise EnvelopeError(f"cannot decrypt: {exc}") from None
        if len(key) not in (16, 32) or not key.isdigit() or not data or len(data) % 16:
            raise EnvelopeError("not an RPAC key or content")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).decryptor()
        plain = (decryptor.update(data) + decryptor.finalize()).rstrip(b"\x00")
        try:
            params = json.loads(plain.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise EnvelopeError("the content is not JSON") from None
        if not isinstance(params, dict):
            raise EnvelopeError("the content is not an object")
        return params


def seal(params: dict[str, Any], public: str, digits: int = 32) -> dict[str, Any]:
    """What a client sends: the envelope of `params` for the key `N:<hex>,E:010001`."""
    fields = dict(part.split(":", 1) for part in public.split(","))
    public_key = rsa.RSAPublicNumbers(int(fields["E"], 16), int(fields["N"], 16)).public_key()
    key = "".join(secrets.choice("0123456789") for _ in range(digits)).encode()
    data = json.dumps(params).encode()
    data += b"\x00" * (-len(data) % 16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor()
    content = base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()
    salt = public_key.encrypt(key, padding.PKCS1v15()).hex()
    return {"cipher": f"RPAC-{digits * 8}", "salt": salt, "content": content}
