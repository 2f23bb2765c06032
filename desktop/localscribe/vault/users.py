"""Local accounts: each user's keys wrapped under their passphrase, and the failed-attempt policy.

Adding a user or changing a passphrase only writes a new wrap: the data itself is never
re-encrypted. The wrap's associated data names the vault, the user, the role and the revocation
epoch (see ``keys``), and the signed security state says which role and epoch are current, so
a wrap copied onto another account, a role edited in the table, or an old wrap restored after
the account was disabled or reset does not open a session. Failed attempts are counted in the
vault file: after ``THROTTLE_AFTER`` failures each further try must wait (1 s, 2 s, 4 s ... up to
5 min) and after ``LOCK_AFTER`` a non-admin account is locked until an admin resets its
passphrase. Admin accounts are only ever throttled, never locked, so nobody at the keyboard can
lock the practice out of its own administration (offline recovery: ``localscribe users
reset-attempts``, see SECURITY.md). Refusals never say whether the account exists or is disabled.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from localscribe.vault import crypto, kdf, keys
from localscribe.vault.db import transaction
from localscribe.vault.roles import Role, parse_role

THROTTLE_AFTER = 3
LOCK_AFTER = 10
MAX_DELAY_S = 300.0
MIN_PASSPHRASE = 12
MIN_STRENGTH = 3            # zxcvbn score 0-4; 3: "safely unguessable" offline with slow hashing
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class AuthError(PermissionError):
    """Unlock refused. The message is safe to show."""


class WrongCredentials(AuthError):
    pass


class AccountThrottled(AuthError):
    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AccountLocked(AuthError):
    pass


class AccountDisabled(AuthError):
    pass


@dataclass(frozen=True)
class UserRecord:
    id: str
    role: Role
    created_at: str
    disabled: bool
    locked: bool
    failed_attempts: int
    throttled_until: float
    keyring_unlock: bool
    kdf: kdf.KdfParams
    epoch: int = 0

    @property
    def name(self) -> str:
        return self.id


def check_name(user: str) -> str:
    if not _NAME.match(user or ""):
        raise ValueError(f"user name {user!r} must be 1-63 characters: lower-case letters, digits, "
                         "'.', '_' or '-', starting with a letter or digit")
    return user


def check_passphrase(passphrase: str, user: str = "") -> str:
    """Length plus zxcvbn's estimate (dictionary words, keyboard walks, dates, the user name)."""
    from zxcvbn import zxcvbn

    if len(passphrase or "") < MIN_PASSPHRASE:
        raise ValueError(f"passphrase must be at least {MIN_PASSPHRASE} characters")
    result = zxcvbn(passphrase[:100], user_inputs=[user, "localscribe"] if user else
                    ["localscribe"])
    if result["score"] < MIN_STRENGTH:
        hint = (result.get("feedback") or {}).get("warning") or "too easy to guess"
        raise ValueError(f"passphrase is too weak ({hint.rstrip('.')}); use several unrelated "
                         "words or a longer phrase")
    return passphrase


def get(db: sqlite_utils.Database, user: str) -> UserRecord | None:
    row = db.execute("SELECT id, role, created_at, disabled, locked, failed_attempts, "
                     "throttled_until, keyring_wrap IS NOT NULL, kdf, epoch FROM users WHERE id = ?",
                     (user,)).fetchone()
    return _record(row) if row else None


def list_all(db: sqlite_utils.Database) -> list[UserRecord]:
    rows = db.execute("SELECT id, role, created_at, disabled, locked, failed_attempts, "
                      "throttled_until, keyring_wrap IS NOT NULL, kdf, epoch FROM users ORDER BY id")
    return [_record(r) for r in rows.fetchall()]


def _record(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(id=row[0], role=Role(row[1]), created_at=row[2], disabled=bool(row[3]),
                      locked=bool(row[4]), failed_attempts=int(row[5]),
                      throttled_until=float(row[6]), keyring_unlock=bool(row[7]),
                      kdf=kdf.KdfParams.from_json(row[8]), epoch=int(row[9]))


def add(db: sqlite_utils.Database, vault_id: str, user: str, role: Role | str, passphrase: str,
        keyset: keys.Keyset, params: kdf.KdfParams, floor: kdf.KdfParams, created_at: str,
        epoch: int = 0) -> None:
    """Insert the account row with its wrap (the caller holds the transaction that also signs
    the new security state)."""
    check_name(user)
    role = parse_role(role) if isinstance(role, str) else role
    check_passphrase(passphrase, user)
    kdf.check_floor(params, floor)
    if get(db, user) is not None:
        raise ValueError(f"user {user!r} already exists")
    salt, wrapped = keys.wrap(keyset, passphrase, params,
                              keys.wrap_context(vault_id, user, epoch))
    with transaction(db):
        db.execute("INSERT INTO users (id, role, created_at, kdf, salt, wrapped_key, epoch) "
                   "VALUES (?,?,?,?,?,?,?)", (user, role.value, created_at, params.to_json(), salt,
                                               wrapped, epoch))


def rewrap(db: sqlite_utils.Database, vault_id: str, user: str, role: Role, epoch: int,
           passphrase: str, keyset: keys.Keyset, params: kdf.KdfParams,
           floor: kdf.KdfParams) -> None:
    """A new wrap; also clears failed attempts, a lock and a disabled flag (the signed state
    decides whether the account may be used)."""
    if get(db, user) is None:
        raise ValueError(f"no user {user!r}")
    check_passphrase(passphrase, user)
    kdf.check_floor(params, floor)
    salt, wrapped = keys.wrap(keyset, passphrase, params,
                              keys.wrap_context(vault_id, user, epoch))
    with transaction(db):
        db.execute("UPDATE users SET kdf = ?, salt = ?, wrapped_key = ?, failed_attempts = 0, "
                   "throttled_until = 0, locked = 0, disabled = 0, epoch = ?, keyring_wrap = "
                   "CASE WHEN epoch = ? THEN keyring_wrap END WHERE id = ?",
                   (params.to_json(), salt, wrapped, epoch, epoch, user))


def disable(db: sqlite_utils.Database, user: str, epoch: int) -> None:
    """Drop the user's wraps and PHI grant; the signed state records the new epoch."""
    with transaction(db):
        db.execute("UPDATE users SET disabled = 1, wrapped_key = NULL, keyring_wrap = NULL, "
                   "epoch = ? WHERE id = ?", (epoch, user))
        db.execute("DELETE FROM phi_grants WHERE user = ?", (user,))


_REFUSED = "wrong user name or passphrase"


def verify(db: sqlite_utils.Database, vault_id: str, user: str, passphrase: str,
           now: float | None = None) -> tuple[UserRecord, keys.Keyset]:
    """Return (user, their keys) or raise an AuthError; failures are counted in the vault.

    An unknown, disabled or wrong account gets the same message, costs the same scrypt, and
    is throttled and locked the same way (unknown names are counted in ``unlock_failures``),
    so no answer tells whether an account exists."""
    now = time.time() if now is None else now
    row = db.execute("SELECT salt, wrapped_key FROM users WHERE id = ?", (user,)).fetchone()
    rec = get(db, user)
    table = "users" if rec is not None else "unlock_failures"
    failed, until, locked = _attempts(db, table, user)
    if locked:
        raise AccountLocked(f"{_REFUSED}, or the account is locked after too many failed "
                            "attempts (an admin can reset its passphrase)")
    if until > now:
        wait = until - now
        raise AccountThrottled(f"too many failed attempts; try again in {wait:.0f} s", wait)
    if rec is None or row is None or rec.disabled or row[1] is None:
        # Spend the same effort as a real attempt so timing does not reveal which names exist.
        kdf.derive_kek(passphrase or "x", b"\0" * kdf.SALT_BYTES,
                       rec.kdf if rec else _default_kdf(db))
        _count_failure(db, table, user, Role.ASSISTANT, now)   # never "admin": locks alike
        raise WrongCredentials(_REFUSED)
    try:
        keyset = keys.unwrap(passphrase, row[0], row[1], rec.kdf,
                             keys.wrap_context(vault_id, user, rec.epoch))
    except (crypto.TamperError, ValueError, KeyError):
        _count_failure(db, table, user, rec.role, now)
        raise WrongCredentials(_REFUSED) from None
    with transaction(db):
        db.execute("UPDATE users SET failed_attempts = 0, throttled_until = 0 WHERE id = ?",
                   (user,))
    return rec, keyset


def _default_kdf(db: sqlite_utils.Database) -> kdf.KdfParams:
    try:
        return kdf.KdfParams.from_json(db.execute(
            "SELECT value FROM meta WHERE key = 'kdf_default'").fetchone()[0])
    except Exception:
        return kdf.DEFAULT_PARAMS


def _attempts(db: sqlite_utils.Database, table: str, user: str) -> tuple[int, float, bool]:
    key = "id" if table == "users" else "name"
    row = db.execute(f"SELECT failed_attempts, throttled_until, locked FROM {table} "
                     f"WHERE {key} = ?", (user,)).fetchone()
    return (int(row[0]), float(row[1]), bool(row[2])) if row else (0, 0.0, False)


def _count_failure(db: sqlite_utils.Database, table: str, user: str, role: Role,
                   now: float) -> None:
    key = "id" if table == "users" else "name"
    with transaction(db):
        if table != "users":
            db.execute("INSERT OR IGNORE INTO unlock_failures (name) VALUES (?)", (user,))
        n = _attempts(db, table, user)[0] + 1
        delay = 0.0 if n < THROTTLE_AFTER else min(2.0 ** (n - THROTTLE_AFTER), MAX_DELAY_S)
        lock = n >= LOCK_AFTER and role != Role.ADMIN
        db.execute(f"UPDATE {table} SET failed_attempts = ?, throttled_until = ?, locked = ? "
                   f"WHERE {key} = ?", (n, now + delay if delay else 0, int(lock), user))


def reset_attempts(db: sqlite_utils.Database, user: str) -> bool:
    """Offline recovery: clear a throttle or lock (anyone with the file can; scrypt still
    stands between them and the keys)."""
    with transaction(db):
        cur = db.execute("UPDATE users SET failed_attempts = 0, throttled_until = 0, locked = 0 "
                         "WHERE id = ?", (user,))
    return cur.rowcount > 0


def put_grant(db: sqlite_utils.Database, user: str, epoch: int, blob: bytes, by: str,
              at: str) -> None:
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO phi_grants (user, epoch, blob, granted_by, granted_at) "
                   "VALUES (?,?,?,?,?)", (user, epoch, blob, by, at))


def grant(db: sqlite_utils.Database, user: str) -> tuple[int, bytes] | None:
    row = db.execute("SELECT epoch, blob FROM phi_grants WHERE user = ?", (user,)).fetchone()
    return (int(row[0]), bytes(row[1])) if row else None


def set_keyring_wrap(db: sqlite_utils.Database, user: str, wrapped: bytes | None) -> None:
    with transaction(db):
        db.execute("UPDATE users SET keyring_wrap = ? WHERE id = ?", (wrapped, user))


def keyring_wrap(db: sqlite_utils.Database, user: str) -> bytes | None:
    row = db.execute("SELECT keyring_wrap FROM users WHERE id = ?", (user,)).fetchone()
    return row[0] if row else None


def active_admins(db: sqlite_utils.Database) -> list[str]:
    rows = db.execute("SELECT id FROM users WHERE role = 'admin' AND disabled = 0").fetchall()
    return [r[0] for r in rows]


def first_passphrase_pending(db: sqlite_utils.Database, user: str) -> bool:
    """Whether ``user``'s current passphrase was set by someone else (an admin adding or
    resetting the account): they must choose their own at sign-in, so that no admin knows it.

    Read from the signed, chained audit trail (the last ``user.add`` / ``user.passwd`` of the
    account), not from a column an editor of the file could flip unnoticed."""
    row = db.execute("SELECT actor FROM audit_events WHERE object = ? AND outcome = 'ok' AND "
                     "action IN ('user.add', 'user.passwd') ORDER BY seq DESC LIMIT 1",
                     (user,)).fetchone()
    return row is not None and row[0] != user
