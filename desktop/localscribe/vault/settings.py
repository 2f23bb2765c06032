"""Plain (non-PHI) settings and encrypted secrets.

Settings are JSON values readable without unlocking (the egress allowlist, retention, the idle
timeout); changing one needs an admin session and is audited with its old and new value, so
never store PHI or credentials here. Connector credentials go in ``secrets``: sealed under the
data key like any PHI field.
Other modules may use their own namespaced keys (e.g. ``ehr.fhir.base_url``).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from localscribe.vault.audit import utcnow
from localscribe.vault.crypto import Cipher
from localscribe.vault.db import transaction

IDLE_TIMEOUT = "session.idle_timeout_s"
EGRESS_ALLOW = "egress.allow"
KEYRING_ALLOWED = "security.keyring_unlock_allowed"
CONSENT_REQUIRED = "consent.required_before_signing"   # the rule: vault.consent

DEFAULTS: dict[str, Any] = {
    "retention.audio_days": 0,
    "retention.records_days": None,
    IDLE_TIMEOUT: 300,
    EGRESS_ALLOW: [],
    KEYRING_ALLOWED: False,
    CONSENT_REQUIRED: True,
}
_MISSING = object()


def validate(key: str, value: Any) -> Any:
    if not key or len(key) > 100 or key.strip() != key:
        raise ValueError(f"invalid setting name {key!r}")
    if key in ("retention.audio_days",) and (not isinstance(value, int) or value < 0):
        raise ValueError(f"{key} must be a whole number of days >= 0 (0: purge at signing)")
    if key == "retention.records_days" and value is not None and (
            not isinstance(value, int) or value < 1):
        raise ValueError(f"{key} must be a whole number of days >= 1, or null to keep records")
    if key == IDLE_TIMEOUT and (not isinstance(value, (int, float)) or not 30 <= value <= 86400):
        raise ValueError(f"{key} must be between 30 and 86400 seconds")
    if key == EGRESS_ALLOW:
        from localscribe.security.egress import Endpoint
        if not isinstance(value, list):
            raise ValueError(f"{key} must be a list of host[:port] entries")
        value = [str(Endpoint.parse(str(v))) for v in value]
    if key in (KEYRING_ALLOWED, CONSENT_REQUIRED) and not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    json.dumps(value)
    return value


def read(db: sqlite_utils.Database, key: str, default: Any = _MISSING) -> Any:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return json.loads(row[0])
    if default is not _MISSING:
        return default
    return DEFAULTS.get(key)


def read_all(db: sqlite_utils.Database) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for key, value in db.execute("SELECT key, value FROM settings").fetchall():
        values[key] = json.loads(value)
    return values


def write(db: sqlite_utils.Database, key: str, value: Any, user: str) -> Any:
    value = validate(key, value)
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO settings (key, value, updated_at, updated_by) "
                   "VALUES (?,?,?,?)", (key, json.dumps(value), utcnow(), user))
    return value


def put_secret(db: sqlite_utils.Database, cipher: Cipher, name: str, value: bytes,
               user: str) -> None:
    if not name:
        raise ValueError("secret name must not be empty")
    blob = cipher.seal("secrets", name, "value", bytes(value))
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO secrets (name, value, updated_at, updated_by) "
                   "VALUES (?,?,?,?)", (name, blob, utcnow(), user))


def get_secret(db: sqlite_utils.Database, cipher: Cipher, name: str) -> bytes | None:
    row = db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return None if row is None else cipher.open("secrets", name, "value", row[0])


def delete_secret(db: sqlite_utils.Database, name: str) -> bool:
    with transaction(db):
        cur = db.execute("DELETE FROM secrets WHERE name = ?", (name,))
    return cur.rowcount > 0
