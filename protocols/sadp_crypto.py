"""SADP 3.0 password protection (docs/protocols/hikvision.md §1.4), both sides.

Key exchange: the client sends its RSA public key (`Code` = base64 of the DER
PKCS#1 RSAPublicKey); the device answers with a random ASCII string encrypted
to that key (RSA PKCS#1 v1.5, base64). The first 16 characters of that random
are then the AES-128-ECB key for passwords: the client encrypts the 16
characters followed by the password, zero padded; the device decrypts, drops
the first 16 bytes and strips the padding NULs.

`update` may instead carry a salted proof (`<Password bSalt="true">`) that
needs no exchange, or the legacy base64(MD5(password)).

Our choice [I]: the device side uses the exchanged random for `activate`,
`SetHCPlatform`, `SetVerificationCode` and `ezvizUnbind` when one is held for
the client, and takes the Password as plaintext when none was exchanged (as
unencrypting tools such as cameronnewman/hikvision-tooling send it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from typing import TYPE_CHECKING

# cryptography (40 ms at import) is imported by the functions that use it: a fleet's
# start, and most runs, never exchange a key.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

AES_KEY_CHARS = 16
RANDOM_LENGTH = 32  # [I]: long enough for the 16-character key; RSA-1024 fits 117 bytes
CLIENT_KEY_BITS = 1024  # exchangecode; exchangecode_v31 would use 2048
# Keys a client may hand us: exchangecode_v31 uses 2048; anything far bigger only costs us.
_ACCEPTED_KEY_BITS = range(512, 4097)
_RANDOM_ALPHABET = string.ascii_letters + string.digits


class SadpCryptoError(ValueError):
    """A Code or Password that cannot be decoded with the scheme it claims."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SadpCryptoError("not base64") from exc


def _aes_ecb(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.ECB())
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def _zero_pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 16)


# --- key exchange -----------------------------------------------------------


def new_client_key() -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=CLIENT_KEY_BITS)


def encode_public_key(key: rsa.RSAPublicKey) -> str:
    """The client's `Code`: base64 of the DER PKCS#1 RSAPublicKey."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return base64.b64encode(der).decode("ascii")


def decode_public_key(code: str) -> rsa.RSAPublicKey:
    """Device side; also takes a SubjectPublicKeyInfo, which some Java clients send."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_der_public_key(_b64decode(code))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SadpCryptoError("Code is not a DER RSA public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SadpCryptoError("Code is not an RSA key")
    numbers = key.public_numbers()
    if key.key_size not in _ACCEPTED_KEY_BITS or numbers.e.bit_length() > 32:
        raise SadpCryptoError(f"refusing an RSA key of {key.key_size} bits")
    return key


def new_random(length: int = RANDOM_LENGTH) -> str:
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(length))


def encrypt_random(code: str, random: str) -> str:
    """Device side of exchangecode: the reply's `Code`."""
    from cryptography.hazmat.primitives.asymmetric import padding

    key = decode_public_key(code)
    try:
        sealed = key.encrypt(random.encode("ascii"), padding.PKCS1v15())
    except ValueError as exc:  # the random does not fit a small key
        raise SadpCryptoError(str(exc)) from exc
    return base64.b64encode(sealed).decode()


def decrypt_random(private_key: rsa.RSAPrivateKey, code: str) -> str:
    """Client side of exchangecode."""
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        return private_key.decrypt(_b64decode(code), padding.PKCS1v15()).decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SadpCryptoError("cannot decrypt the device's Code") from exc


# --- activate-style password --------------------------------------------------


def _aes_key(random: str) -> bytes:
    key = random.encode("ascii", "replace")[:AES_KEY_CHARS]
    if len(key) != AES_KEY_CHARS:
        raise SadpCryptoError(f"the random has fewer than {AES_KEY_CHARS} characters")
    return key


def encrypt_password(random: str, password: str) -> str:
    """Client side: base64 AES-128-ECB(key16, key16 + password, zero padded)."""
    key = _aes_key(random)
    sealed = _aes_ecb(key, _zero_pad(key + password.encode()), encrypt=True)
    return base64.b64encode(sealed).decode()


def decrypt_password(random: str, value: str) -> str:
    """Device side: the password inside an activate-style `Password`."""
    data = _b64decode(value)
    if not data or len(data) % 16:
        raise SadpCryptoError("Password is not whole AES blocks")
    plain = _aes_ecb(_aes_key(random), data, encrypt=False)
    try:
        return plain[AES_KEY_CHARS:].rstrip(b"\x00").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SadpCryptoError("Password does not decrypt to text") from exc


# --- update's password forms --------------------------------------------------


def salted_password(password: str, salt: str, user: str = "admin") -> str:
    """`<Password bSalt="true">`: base64 AES-ECB(k, k + 48 zero bytes), k = MD5(hex SHA-256)."""
    inner = hashlib.sha256(f"{user}{salt}{password}".encode()).hexdigest()
    k = hashlib.md5(inner.encode("ascii")).digest()
    return base64.b64encode(_aes_ecb(k, k + b"\x00" * 48, encrypt=True)).decode()


def legacy_password(password: str) -> str:
    """Older clients' `update` Password: base64 of the raw MD5 of the password."""
    return base64.b64encode(hashlib.md5(password.encode()).digest()).decode()


def same_proof(sent: str, expected: str) -> bool:
    """Compare two base64 values as bytes, in constant time; bad base64 never matches."""
    try:
        return hmac.compare_digest(_b64decode(sent), _b64decode(expected))
    except SadpCryptoError:
        return False
