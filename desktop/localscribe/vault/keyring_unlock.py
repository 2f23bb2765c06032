"""Optional unattended unlock through the OS keyring (Secret Service on Linux). Off by default.

When enabled for a user, a random 256-bit secret goes into the OS keyring and the user's keys are
wrapped under it (associated data names the vault, user, role and epoch). Anyone who can read that
user's keyring while it is unlocked can then open the vault as that user without the
passphrase: that is the point (a kiosk, a scheduled job) and the risk, which is why an admin
must first allow it (``security.keyring_unlock_allowed``) and why each use is audited.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING

from localscribe.vault import crypto, keys, users

if TYPE_CHECKING:   # the vault imports this module on demand
    from localscribe.vault.session_base import VaultFile

SERVICE = "LocalScribe vault"


class KeyringUnavailable(RuntimeError):
    pass


def _keyring() -> tuple[ModuleType, type[Exception]]:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError as exc:  # pragma: no cover - keyring is a declared dependency
        raise KeyringUnavailable(f"the keyring package is not installed: {exc}") from None
    backend = keyring.get_keyring()
    if type(backend).__name__ in ("Keyring", "FailKeyring") and \
            type(backend).__module__.startswith("keyring.backends.fail"):
        raise KeyringUnavailable("no OS keyring is available (no Secret Service on D-Bus)")
    return keyring, KeyringError


def _account(vault: VaultFile, user: str) -> str:
    return f"{vault.vault_id}:{user}"


def _context(vault: VaultFile, rec: users.UserRecord) -> str:
    # The epoch too: a reset or disabled account's keyring wrap no longer opens.
    return f"keyring:{keys.wrap_context(vault.vault_id, rec.id, rec.epoch)}"


def enable(vault: VaultFile, user: str, keyset: keys.Keyset) -> None:
    rec = users.get(vault.db, user)
    if rec is None:   # checked before the keyring holds a secret that nothing would ever use
        raise users.AuthError(f"no such user {user!r}")
    keyring, KeyringError = _keyring()
    secret = os.urandom(32)
    try:
        keyring.set_password(SERVICE, _account(vault, user), secret.hex())
    except KeyringError as exc:
        raise KeyringUnavailable(f"could not store the key in the OS keyring: {exc}") from None
    users.set_keyring_wrap(vault.db, user, crypto.wrap_key(secret, keyset.to_bytes(),
                                                           _context(vault, rec)))


def disable(vault: VaultFile, user: str) -> None:
    users.set_keyring_wrap(vault.db, user, None)
    try:
        keyring, KeyringError = _keyring()
        keyring.delete_password(SERVICE, _account(vault, user))
    except Exception:   # already gone or no keyring: the wrap in the vault is what mattered
        pass


def unwrap(vault: VaultFile, user: str) -> tuple[users.UserRecord, keys.Keyset]:
    rec = users.get(vault.db, user)
    wrapped = users.keyring_wrap(vault.db, user)
    if rec is None or rec.disabled or rec.locked or wrapped is None:
        vault.record_pending(user, rec.role.value if rec else "-", "unlock", user, "denied",
                             method="keyring", reason="not enabled")
        raise users.AuthError(f"keyring unlock is not enabled for {user!r}")
    keyring, KeyringError = _keyring()
    try:
        secret_hex = keyring.get_password(SERVICE, _account(vault, user))
    except KeyringError as exc:
        raise KeyringUnavailable(f"could not read the OS keyring: {exc}") from None
    if not secret_hex:
        vault.record_pending(user, rec.role.value, "unlock", user, "denied", method="keyring",
                             reason="secret missing from keyring")
        raise users.AuthError(f"the OS keyring holds no LocalScribe key for {user!r}")
    try:
        keyset = keys.Keyset.from_bytes(crypto.unwrap_key(bytes.fromhex(secret_hex), wrapped,
                                                          _context(vault, rec)))
    except (crypto.TamperError, ValueError, KeyError):
        vault.record_pending(user, rec.role.value, "unlock", user, "denied", method="keyring",
                             reason="keyring secret does not open the wrap")
        raise users.AuthError(f"the keyring's key for {user!r} does not open the vault") from None
    return rec, keyset
