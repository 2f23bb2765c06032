"""The vault file: creating it, opening it, and unlocking it into a Session.

``Vault.create`` makes the shared keys (config, audit, secrets; the PHI key comes later, with
the first clinician or assistant), the first admin's wrap and the signed security state;
``Vault.open`` applies pending migrations; ``unlock`` checks a passphrase (with the
failed-attempt policy), verifies the signed security state against the plain tables and the
account, opens the user's PHI grant if their role has one, and returns a ``Session``. Events
that happen before anyone is authenticated wait in ``audit_pending`` and are chained, marked
as such, at the next successful unlock.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from collections.abc import Callable
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from localscribe.config import Paths
from localscribe.vault import crypto, integrity, kdf, keys, lock_request, schema, settings, users
from localscribe.vault import egress_authority as egress  # the guard's state, one home
from localscribe.vault.audit import AuditLog, check_details, utcnow
from localscribe.vault.db import connect, transaction
from localscribe.vault.integrity import IntegrityError, SecurityState
from localscribe.vault.roles import Role
from localscribe.vault.users import UserRecord
from localscribe.vault.session import Session

KEY_FORMAT = "2"
EGRESS_LOG_NAME = "egress-blocked.jsonl"


class VaultError(RuntimeError):
    """The vault is missing, already exists, or cannot be used; the message says which."""


class Vault:
    def __init__(self, paths: Paths, db: sqlite_utils.Database):
        self.paths = paths
        self.db = db
        self.vault_id = self._meta("vault_id")
        # Display only (fingerprint before unlock); sessions use the copy inside their wrap.
        self.public_key = bytes.fromhex(self._meta("audit_public_key"))
        egress.set_block_log(self.egress_log_path)

    # ------------------------------------------------------------ lifecycle
    @staticmethod
    def exists(paths: Paths) -> bool:
        return paths.vault_db.exists()

    @classmethod
    def create(cls, paths: Paths, admin_user: str, passphrase: str,
               kdf_params: kdf.KdfParams = kdf.DEFAULT_PARAMS) -> Vault:
        """New vault with its first admin. ``kdf_params`` lower than the production floor:
        tests only; that choice is recorded in the signed state and shown by the report."""
        if paths.vault_db.exists():
            raise VaultError(f"a vault already exists at {paths.vault_db}")
        users.check_name(admin_user)
        users.check_passphrase(passphrase, admin_user)
        kdf.check_floor(kdf_params, kdf.TEST_PARAMS)
        paths.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths.audio_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        db = connect(paths.vault_db)
        schema.apply_migrations(db)
        config, audit_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        keyset = keys.Keyset(user_sign=Ed25519PrivateKey.generate(),
                             box=X25519PrivateKey.generate(),
                             config_public=config.public_key().public_bytes_raw(),
                             audit_public=audit_key.public_key().public_bytes_raw(),
                             secrets=crypto.new_data_key(), config_sign=config,
                             audit_sign=audit_key)
        vault_id = uuid.uuid4().hex
        now = utcnow()
        state = SecurityState.new(vault_id, kdf_params, test_kdf=kdf_params.is_weak).edited()
        state.users[admin_user] = integrity.user_entry(Role.ADMIN, keyset)
        with transaction(db):
            for key, value in (("vault_id", vault_id), ("created_at", now),
                               ("key_format", KEY_FORMAT), ("kdf_default", kdf_params.to_json()),
                               ("audit_public_key", keyset.audit_public.hex()),
                               ("egress_log_offset", "0")):
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            state.save(db, config)
            users.add(db, vault_id, admin_user, Role.ADMIN, passphrase, keyset, kdf_params,
                      state.kdf_floor, now)
            AuditLog(db, vault_id, admin_user, keyset.user_sign).append(
                admin_user, Role.ADMIN.value, "vault.create", vault_id, "ok",
                {"kdf": json.loads(kdf_params.to_json()), "first_admin": admin_user,
                 "state_version": state.version})
        return cls(paths, db)

    @classmethod
    def open(cls, paths: Paths) -> Vault:
        if not paths.vault_db.exists():
            raise VaultError(f"no vault at {paths.vault_db}; create one with `localscribe init`")
        db = connect(paths.vault_db)
        try:
            _check_format(db, paths)
            schema.apply_migrations(db)
        except (schema.SchemaError, VaultError) as exc:
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
        return str(row[0])

    @property
    def kdf_default(self) -> kdf.KdfParams:
        """Unauthenticated mirror, for display; wraps use the signed state's value."""
        return kdf.KdfParams.from_json(self._meta("kdf_default"))

    @property
    def egress_log_path(self) -> Path:
        return self.paths.data_dir / EGRESS_LOG_NAME

    def users(self) -> list[UserRecord]:
        return users.list_all(self.db)

    def setting(self, key: str, default: Any = None) -> Any:
        """Unauthenticated mirror, for display before unlock; sessions read the signed state."""
        return settings.read(self.db, key, default) if default is not None \
            else settings.read(self.db, key)

    def record_pending(self, actor: str, role: str, action: str, object: str = "",
                       outcome: str = "ok", **details: Any) -> None:
        """An audit event that happens without a key; chained at the next unlock."""
        with transaction(self.db):
            self.db.execute("INSERT INTO audit_pending (time, actor, role, action, object, "
                            "outcome, details) VALUES (?,?,?,?,?,?,?)",
                            (utcnow(), actor, role, action, object, outcome,
                             json.dumps(check_details(details), sort_keys=True)))

    # ------------------------------------------------------------ unlock
    def unlock(self, user: str, passphrase: str, clock: Callable[[], float] = time.monotonic,
               idle_timeout_s: float | None = None, repair: bool = False) -> Session:
        """``repair``: an admin may unlock a vault whose plain mirrors disagree with the signed
        state, to rewrite them from it (audited); everyone else is refused."""
        try:
            record, keyset = users.verify(self.db, self.vault_id, user, passphrase)
        except users.AuthError as exc:
            after = users.get(self.db, user)
            self.record_pending(user, after.role.value if after else "-", "unlock", user,
                                "denied", reason=type(exc).__name__,
                                failed_attempts=after.failed_attempts if after else None)
            raise
        return self._session(record, keyset, "passphrase", clock, idle_timeout_s, repair)

    def unlock_with_keyring(self, user: str, clock: Callable[[], float] = time.monotonic,
                            idle_timeout_s: float | None = None) -> Session:
        from localscribe.vault import keyring_unlock

        record, keyset = keyring_unlock.unwrap(self, user)
        return self._session(record, keyset, "keyring", clock, idle_timeout_s, False)

    def _session(self, record: UserRecord, keyset: keys.Keyset, method: str,
                 clock: Callable[[], float], idle_timeout_s: float | None,
                 repair: bool) -> Session:
        try:
            try:
                state, problems = self._verified_state(record, keyset)
            except sqlite3.DatabaseError as exc:   # a dropped table: tampering, in one line
                raise IntegrityError(f"the vault file is damaged or was edited ({exc})") from None
            if problems and not (repair and record.role == Role.ADMIN):
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise IntegrityError(f"the vault file was edited outside LocalScribe: "
                                     f"{problems[0]}{more}; refused. An admin can review and "
                                     "run `localscribe security repair`")
            if record.role in keys.PHI_ROLES:
                keyset.phi = self._open_grant(record, keyset, state)
        except IntegrityError as exc:
            self._integrity_event(record, keyset, str(exc))
            raise
        timeout = idle_timeout_s if idle_timeout_s is not None else float(
            state.settings.get(settings.IDLE_TIMEOUT, settings.DEFAULTS[settings.IDLE_TIMEOUT]))
        try:
            return Session.start(self, record, keyset, state, timeout, clock, method,
                                 repair=problems)
        except sqlite3.DatabaseError as exc:   # e.g. a dropped audit table: one clear line
            raise IntegrityError(f"the audit trail cannot be written ({exc}): the vault file "
                                 "was damaged or edited") from None

    def _verified_state(self, record: UserRecord, keyset: keys.Keyset
                        ) -> tuple[SecurityState, list[str]]:
        state = SecurityState.load(self.db, keyset.config_public, self.vault_id)
        me = state.user(record.id)
        if me is None or me["disabled"] or me["role"] != record.role.value or \
                int(me["epoch"]) != record.epoch or \
                keyset.sign_public.hex() not in me["sign_keys"]:
            raise IntegrityError(f"the account {record.id!r} does not match the signed security "
                                 "state (role, disabled flag or keys were edited, or an old "
                                 "copy of the account was restored); refused")
        newer = integrity.rolled_back(self.db, state)
        if newer is not None:
            raise IntegrityError(f"the security state was rolled back to version "
                                 f"{state.version}; the audit trail records version {newer}")
        return state, integrity.mirror_problems(self.db, state)

    def _open_grant(self, record: UserRecord, keyset: keys.Keyset,
                    state: SecurityState) -> bytes | None:
        """The PHI key from this user's grant; None while the grant is pending."""
        g = users.grant(self.db, record.id)
        if g is None or g[0] != record.epoch:
            return None
        try:
            phi = crypto.open_sealed(keyset.box, g[1], keys.grant_context(
                self.vault_id, record.id, record.epoch))
        except crypto.TamperError:
            raise IntegrityError(f"the PHI grant of {record.id!r} does not open: the vault "
                                 "file was edited") from None
        if keys.phi_check(phi) != state.body.get("phi_check"):
            raise IntegrityError(f"the PHI grant of {record.id!r} holds a key this vault never "
                                 "issued (planted grant); refused")
        return phi

    def _integrity_event(self, record: UserRecord, keyset: keys.Keyset,
                         message: str) -> None:
        """Signed by the (authenticated) user when the trail allows; else pending."""
        try:
            AuditLog(self.db, self.vault_id, record.id, keyset.user_sign).append(
                record.id, record.role.value, "integrity.failed", record.id, "denied",
                {"problem": message[:300]})
        except Exception:
            try:
                self.record_pending(record.id, record.role.value, "integrity.failed", record.id,
                                    "denied", problem=message[:300])
            except Exception:
                pass   # the refusal itself still stands


def _check_format(db: sqlite_utils.Database, paths: Paths) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        return
    row = db.execute("SELECT value FROM meta WHERE key = 'key_format'").fetchone()
    if row is None:
        raise VaultError(f"{paths.vault_db} was made by an earlier LocalScribe (one data key "
                         "shared by every account, unsigned settings). It cannot be upgraded in "
                         "place without every user's passphrase: export its audit trail with "
                         "that version, then create a new vault")
    if row[0] != KEY_FORMAT:
        raise VaultError(f"{paths.vault_db} uses key format {row[0]}; this LocalScribe knows "
                         f"{KEY_FORMAT}: upgrade LocalScribe to open it")


def request_lock(vault: Vault, requested_by: str = "-") -> None:
    """Ask every open session on this vault, in any process, to lock at its next use."""
    lock_request.write_request(vault.db)
    vault.record_pending(requested_by, "-", "lock.request", "", "ok")
