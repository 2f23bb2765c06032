"""AES-256-GCM for PHI fields and audio, key wrapping, and sub-key derivation.

Every ciphertext carries its place in the associated data (table, record id, field), so a blob
copied to another row or column fails to open instead of showing the wrong patient's data.
The data key itself is never used directly: HKDF derives one sub-key per purpose (fields,
audit HMAC, keyring wrap), so a flaw in one use cannot be replayed against another.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
_FORMAT = b"\x01"          # blob layout version: 1 byte, nonce, ciphertext + tag
_AAD_PREFIX = b"localscribe-v1"


class TamperError(ValueError):
    """A ciphertext failed authentication: altered, truncated, moved, or the wrong key."""


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_BYTES)


def subkey(data_key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"localscribe/{purpose}".encode()).derive(bytes(data_key))


def _aad(*parts: str) -> bytes:
    # Length-prefixed so ("a", "bc") and ("ab", "c") can never collide.
    out = bytearray(_AAD_PREFIX)
    for part in parts:
        raw = str(part).encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return _FORMAT + nonce + aead.encrypt(nonce, bytes(plaintext), aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes, where: str) -> bytes:
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TamperError(f"{where}: expected an encrypted value, found {type(blob).__name__} "
                          "(stored in clear or damaged)")
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _FORMAT:
        raise TamperError(f"{where}: encrypted value is truncated or not in LocalScribe format")
    try:
        return aead.decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], aad)
    except InvalidTag:
        raise TamperError(f"{where}: encrypted value failed authentication (altered, moved from "
                          "another record, or written with another key)") from None


class Cipher(Protocol):
    """What storage code asks of a cipher: a ``FieldCipher`` (one key) and a role's
    ``Capability`` (the keys that role holds, behind its permission check) both fit."""

    def seal(self, table: str, record_id: str, field: str, plaintext: bytes) -> bytes: ...
    def open(self, table: str, record_id: str, field: str, blob: bytes) -> bytes: ...
    def seal_text(self, table: str, record_id: str, field: str, text: str) -> bytes: ...
    def open_text(self, table: str, record_id: str, field: str, blob: bytes) -> str: ...


class FieldCipher:
    """Seal and open PHI fields; the associated data binds each value to (table, record, field)."""

    def __init__(self, data_key: bytes):
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError("data key must be 32 bytes")
        self._aead = AESGCM(subkey(data_key, "fields"))

    def seal(self, table: str, record_id: str, field: str, plaintext: bytes) -> bytes:
        return _seal(self._aead, plaintext, _aad(table, record_id, field))

    def open(self, table: str, record_id: str, field: str, blob: bytes) -> bytes:
        return _open(self._aead, blob, _aad(table, record_id, field),
                     f"{table}[{record_id}].{field}")

    def seal_text(self, table: str, record_id: str, field: str, text: str) -> bytes:
        return self.seal(table, record_id, field, text.encode("utf-8"))

    def open_text(self, table: str, record_id: str, field: str, blob: bytes) -> str:
        return self.open(table, record_id, field, blob).decode("utf-8")


def wrap_key(kek: bytes, data_key: bytes, context: str) -> bytes:
    """Encrypt the data key under a KEK; ``context`` (e.g. "user:alice") is authenticated."""
    return _seal(AESGCM(kek), data_key, _aad("key-wrap", context))


def unwrap_key(kek: bytes, wrapped: bytes, context: str) -> bytes:
    return _open(AESGCM(kek), wrapped, _aad("key-wrap", context), f"key wrap for {context}")


def seal_to(public_raw: bytes, plaintext: bytes, context: str) -> bytes:
    """Encrypt to an X25519 public key (ephemeral key + HKDF + AES-GCM): how a clinician hands
    the PHI key to a colleague without knowing that colleague's passphrase."""
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(bytes(public_raw)))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub,
               info=b"localscribe/seal-to").derive(shared)
    return eph_pub + _seal(AESGCM(key), plaintext, _aad("seal-to", context))


def open_sealed(private: X25519PrivateKey, blob: bytes, context: str) -> bytes:
    blob = bytes(blob or b"")
    if len(blob) < 32:
        raise TamperError(f"sealed value for {context} is truncated")
    eph_pub = blob[:32]
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub,
               info=b"localscribe/seal-to").derive(shared)
    return _open(AESGCM(key), blob[32:], _aad("seal-to", context), f"sealed value for {context}")
