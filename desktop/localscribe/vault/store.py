"""The vault file: creating it, opening it, and unlocking it into a Session.

``Vault.create`` makes the data key, the first admin's wrap and the audit signing key;
``Vault.open`` applies pending migrations; ``unlock`` checks a passphrase (with the
failed-attempt policy) and returns a ``Session``. Failed unlocks cannot be chained into the
authenticated audit trail without the key, so they wait in ``audit_pending`` and are chained,
marked as such, at the next successful unlock.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Callable

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from localscribe.config import Paths
from localscribe.security import egress
from localscribe.vault import crypto, kdf, schema, settings, users
from localscribe.vault.audit import AuditLog, check_details, utcnow
from localscribe.vault.db import connect, transaction
from localscribe.vault.roles import Role
from localscribe.vault.session import Session

EGRESS_LOG_NAME = "egress-blocked.jsonl"


class VaultError(RuntimeError):
    """The vault is missing, already exists, or cannot be used; the message says which."""


class Vault:
    def __init__(self, paths: Paths, db: sqlite_utils.Database):
        self.paths = paths
        self.db = db
        self.vault_id = self._meta("vault_id")
        self.public_key = bytes.fromhex(self._meta("audit_public_key"))
        egress.set_block_log(self.egress_log_path)

    # ------------------------------------------------------------ lifecycle
    @staticmethod
    def exists(paths: Paths) -> bool:
        return paths.vault_db.exists()

    @classmethod
    def create(cls, paths: Paths, admin_user: str, passphrase: str,
               kdf_params: kdf.KdfParams = kdf.DEFAULT_PARAMS) -> "Vault":
        """New vault with its first admin. ``kdf_params`` lower than the default: tests only."""
        if paths.vault_db.exists():
            raise VaultError(f"a vault already exists at {paths.vault_db}")
        users.check_name(admin_user)
        users.check_passphrase(passphrase)
        paths.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths.audio_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        db = connect(paths.vault_db)
        schema.apply_migrations(db)
        data_key = crypto.new_data_key()
        cipher = crypto.FieldCipher(data_key)
        signing = Ed25519PrivateKey.generate()
        public_raw = signing.public_key().public_bytes_raw()
        vault_id = uuid.uuid4().hex
        now = utcnow()
        with transaction(db):
            for key, value in (("vault_id", vault_id), ("created_at", now),
                               ("kdf_default", kdf_params.to_json()),
                               ("audit_public_key", public_raw.hex()),
                               ("audit_signing_key", cipher.seal(
                                   "meta", "audit_signing_key", "private",
                                   signing.private_bytes_raw()).hex()),
                               ("egress_log_offset", "0")):
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            users.add(db, admin_user, Role.ADMIN, passphrase, data_key, kdf_params, now)
        AuditLog(db, crypto.subkey(data_key, "audit-hmac")).append(
            admin_user, Role.ADMIN.value, "vault.create", vault_id, "ok",
            {"kdf": json.loads(kdf_params.to_json()), "first_admin": admin_user})
        return cls(paths, db)

    @classmethod
    def open(cls, paths: Paths) -> "Vault":
        if not paths.vault_db.exists():
            raise VaultError(f"no vault at {paths.vault_db}; create one with `localscribe init`")
        db = connect(paths.vault_db)
        try:
            schema.apply_migrations(db)
        except schema.SchemaError as exc:
            db.conn.close()
            raise VaultError(str(exc)) from None
        return cls(paths, db)

    def close(self) -> None:
        self.db.conn.close()

    # ------------------------------------------------------------ plain reads (no key needed)
    def _meta(self, key: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise VaultError(f"vault file {self.paths.vault_db} is incomplete (no {key})")
        return row[0]

    @property
    def kdf_default(self) -> kdf.KdfParams:
        return kdf.KdfParams.from_json(self._meta("kdf_default"))

    @property
    def egress_log_path(self) -> Path:
        return self.paths.data_dir / EGRESS_LOG_NAME

    def users(self) -> list[users.UserRecord]:
        return users.list_all(self.db)

    def setting(self, key: str, default=None):
        return settings.read(self.db, key, default) if default is not None \
            else settings.read(self.db, key)

    def record_pending(self, actor: str, role: str, action: str, object: str = "",
                       outcome: str = "ok", **details) -> None:
        """An audit event that happens without a key; chained at the next unlock."""
        with transaction(self.db):
            self.db.execute("INSERT INTO audit_pending (time, actor, role, action, object, "
                            "outcome, details) VALUES (?,?,?,?,?,?,?)",
                            (utcnow(), actor, role, action, object, outcome,
                             json.dumps(check_details(details), sort_keys=True)))

    # ------------------------------------------------------------ unlock
    def unlock(self, user: str, passphrase: str, clock: Callable[[], float] = time.monotonic,
               idle_timeout_s: float | None = None) -> Session:
        try:
            record, data_key = users.verify(self.db, user, passphrase)
        except users.AuthError as exc:
            rec = users.get(self.db, user)
            after = users.get(self.db, user)
            self.record_pending(user, rec.role.value if rec else "-", "unlock", user, "denied",
                                reason=type(exc).__name__,
                                failed_attempts=after.failed_attempts if after else None)
            raise
        return self._session(record, data_key, "passphrase", clock, idle_timeout_s)

    def unlock_with_keyring(self, user: str, clock: Callable[[], float] = time.monotonic,
                            idle_timeout_s: float | None = None) -> Session:
        from localscribe.vault import keyring_unlock

        record, data_key = keyring_unlock.unwrap(self, user)
        return self._session(record, data_key, "keyring", clock, idle_timeout_s)

    def _session(self, record: users.UserRecord, data_key: bytes, method: str,
                 clock: Callable[[], float], idle_timeout_s: float | None) -> Session:
        signing = self._signing_key(data_key)
        timeout = idle_timeout_s if idle_timeout_s is not None else float(
            settings.read(self.db, settings.IDLE_TIMEOUT))
        session = Session(self, record, data_key, signing, timeout, clock)
        session._started(method)
        return session

    def _signing_key(self, data_key: bytes) -> Ed25519PrivateKey:
        cipher = crypto.FieldCipher(data_key)
        raw = cipher.open("meta", "audit_signing_key", "private",
                          bytes.fromhex(self._meta("audit_signing_key")))
        key = Ed25519PrivateKey.from_private_bytes(raw)
        if key.public_key().public_bytes_raw() != self.public_key:
            raise crypto.TamperError("meta.audit_public_key does not match the vault's signing "
                                     "key: the vault file was altered")
        return key


def request_lock(vault: Vault, requested_by: str = "-") -> None:
    """Ask every open session on this vault, in any process, to lock at its next use."""
    with transaction(vault.db):
        vault.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock_requested_at', ?)",
                         (repr(time.time()),))
    vault.record_pending(requested_by, "-", "lock.request", "", "ok")


def lock_requested_at(vault: Vault) -> float:
    row = vault.db.execute("SELECT value FROM meta WHERE key = 'lock_requested_at'").fetchone()
    return float(row[0]) if row else 0.0
