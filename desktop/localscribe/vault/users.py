"""Local accounts: one wrap of the data key per user, and the failed-attempt policy.

Adding a user or changing a passphrase only writes a new wrap: the data itself is never
re-encrypted. The wrap's associated data names the user, so a wrap copied onto another account
does not open. Failed attempts are counted in the vault file: after ``THROTTLE_AFTER`` failures
each further try must wait (1 s, 2 s, 4 s ... up to 5 min) and after ``LOCK_AFTER`` the account is
locked until an admin resets its passphrase.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import sqlite_utils

from localscribe.vault import crypto, kdf
from localscribe.vault.db import transaction
from localscribe.vault.roles import Role, parse_role

THROTTLE_AFTER = 3
LOCK_AFTER = 10
MAX_DELAY_S = 300.0
MIN_PASSPHRASE = 8
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

    @property
    def name(self) -> str:
        return self.id


def check_name(user: str) -> str:
    if not _NAME.match(user or ""):
        raise ValueError(f"user name {user!r} must be 1-63 characters: lower-case letters, digits, "
                         "'.', '_' or '-', starting with a letter or digit")
    return user


def check_passphrase(passphrase: str) -> str:
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise ValueError(f"passphrase must be at least {MIN_PASSPHRASE} characters")
    return passphrase


def wrap_context(user: str) -> str:
    return f"user:{user}"


def get(db: sqlite_utils.Database, user: str) -> UserRecord | None:
    row = db.execute("SELECT id, role, created_at, disabled, locked, failed_attempts, "
                     "throttled_until, keyring_wrap IS NOT NULL, kdf FROM users WHERE id = ?",
                     (user,)).fetchone()
    return _record(row) if row else None


def list_all(db: sqlite_utils.Database) -> list[UserRecord]:
    rows = db.execute("SELECT id, role, created_at, disabled, locked, failed_attempts, "
                      "throttled_until, keyring_wrap IS NOT NULL, kdf FROM users ORDER BY id")
    return [_record(r) for r in rows.fetchall()]


def _record(row) -> UserRecord:
    return UserRecord(id=row[0], role=Role(row[1]), created_at=row[2], disabled=bool(row[3]),
                      locked=bool(row[4]), failed_attempts=int(row[5]),
                      throttled_until=float(row[6]), keyring_unlock=bool(row[7]),
                      kdf=kdf.KdfParams.from_json(row[8]))


def _wrap(user: str, passphrase: str, data_key: bytes, params: kdf.KdfParams):
    salt = kdf.new_salt()
    kek = kdf.derive_kek(check_passphrase(passphrase), salt, params)
    return salt, crypto.wrap_key(kek, data_key, wrap_context(user))


def add(db: sqlite_utils.Database, user: str, role: Role | str, passphrase: str,
        data_key: bytes, params: kdf.KdfParams, created_at: str) -> None:
    check_name(user)
    role = parse_role(role) if isinstance(role, str) else role
    if get(db, user) is not None:
        raise ValueError(f"user {user!r} already exists")
    salt, wrapped = _wrap(user, passphrase, data_key, params)
    with transaction(db):
        db.execute("INSERT INTO users (id, role, created_at, kdf, salt, wrapped_key) "
                   "VALUES (?,?,?,?,?,?)", (user, role.value, created_at, params.to_json(), salt,
                                             wrapped))


def set_passphrase(db: sqlite_utils.Database, user: str, passphrase: str, data_key: bytes,
                   params: kdf.KdfParams) -> None:
    """New wrap; also clears failed attempts, a lock and a disabled flag (an admin reset)."""
    if get(db, user) is None:
        raise ValueError(f"no user {user!r}")
    salt, wrapped = _wrap(user, passphrase, data_key, params)
    with transaction(db):
        db.execute("UPDATE users SET kdf = ?, salt = ?, wrapped_key = ?, failed_attempts = 0, "
                   "throttled_until = 0, locked = 0, disabled = 0 WHERE id = ?",
                   (params.to_json(), salt, wrapped, user))


def disable(db: sqlite_utils.Database, user: str) -> None:
    """Drop the user's wraps so the passphrase no longer opens anything."""
    with transaction(db):
        db.execute("UPDATE users SET disabled = 1, wrapped_key = NULL, keyring_wrap = NULL "
                   "WHERE id = ?", (user,))


def verify(db: sqlite_utils.Database, user: str, passphrase: str,
           now: float | None = None) -> tuple[UserRecord, bytes]:
    """Return (user, data key) or raise an AuthError; failures are counted in the vault."""
    now = time.time() if now is None else now
    row = db.execute("SELECT salt, wrapped_key, kdf FROM users WHERE id = ?", (user,)).fetchone()
    rec = get(db, user)
    if rec is None or row is None:
        # Spend the same effort as a real attempt so timing does not reveal which names exist.
        kdf.derive_kek(passphrase or "x", b"\0" * kdf.SALT_BYTES, kdf.DEFAULT_PARAMS)
        raise WrongCredentials("wrong user name or passphrase")
    if rec.disabled:
        raise AccountDisabled(f"account {user!r} is disabled; an admin can re-enable it with a "
                              "new passphrase")
    if rec.locked:
        raise AccountLocked(f"account {user!r} is locked after {rec.failed_attempts} failed "
                            "attempts; an admin must reset its passphrase")
    if rec.throttled_until > now:
        wait = rec.throttled_until - now
        raise AccountThrottled(f"too many failed attempts for {user!r}; try again in "
                               f"{wait:.0f} s", wait)
    try:
        kek = kdf.derive_kek(passphrase, row[0], rec.kdf)
        data_key = crypto.unwrap_key(kek, row[1], wrap_context(user))
    except (crypto.TamperError, ValueError):
        _count_failure(db, user, now)
        raise WrongCredentials("wrong user name or passphrase") from None
    with transaction(db):
        db.execute("UPDATE users SET failed_attempts = 0, throttled_until = 0 WHERE id = ?",
                   (user,))
    return rec, data_key


def _count_failure(db: sqlite_utils.Database, user: str, now: float) -> None:
    with transaction(db):
        n = db.execute("SELECT failed_attempts FROM users WHERE id = ?",
                       (user,)).fetchone()[0] + 1
        delay = 0.0 if n < THROTTLE_AFTER else min(2.0 ** (n - THROTTLE_AFTER), MAX_DELAY_S)
        db.execute("UPDATE users SET failed_attempts = ?, throttled_until = ?, locked = ? "
                   "WHERE id = ?", (n, now + delay if delay else 0, int(n >= LOCK_AFTER), user))


def set_keyring_wrap(db: sqlite_utils.Database, user: str, wrapped: bytes | None) -> None:
    with transaction(db):
        db.execute("UPDATE users SET keyring_wrap = ? WHERE id = ?", (wrapped, user))


def keyring_wrap(db: sqlite_utils.Database, user: str) -> bytes | None:
    row = db.execute("SELECT keyring_wrap FROM users WHERE id = ?", (user,)).fetchone()
    return row[0] if row else None


def active_admins(db: sqlite_utils.Database) -> list[str]:
    rows = db.execute("SELECT id FROM users WHERE role = 'admin' AND disabled = 0").fetchall()
    return [r[0] for r in rows]
