"""Vault schema: numbered core migrations plus migrations other modules register.

Each migration runs once, inside a transaction, and is recorded in ``schema_migrations``.
Core migrations are named ``core-NNNN-...`` and run first, in order; then any registered by
other modules, in registration order. A vault written by a newer LocalScribe (a core migration
this code does not know) is refused rather than guessed at.

Another module adds its own tables like this, at import time::

    from localscribe.vault.schema import register_migration

    def _outbox_v1(db):            # db: sqlite_utils.Database, already inside a transaction
        db.execute("CREATE TABLE ehr_outbox (...)")   # plain SQL: sqlite-utils' table
                                                      # helpers commit, which would end it

    register_migration("ehr-0001-outbox", _outbox_v1)

``Vault.open`` applies whatever is pending; a module imported after the vault was opened calls
``apply_migrations(session.db)`` (idempotent) before first use. Columns holding PHI must be
BLOBs sealed with ``session.cipher`` under (table, record id, column).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlite_utils

from localscribe.vault.db import run_script, transaction

Migration = Callable[[sqlite_utils.Database], None]

_EXTENSIONS: list[tuple[str, Migration]] = []


class SchemaError(RuntimeError):
    pass


def register_migration(name: str, fn: Migration) -> None:
    """Register a migration owned by another module; names must be unique and stable."""
    if name.startswith("core-"):
        raise ValueError("migration names starting with 'core-' are reserved for the vault")
    for existing, _ in _EXTENSIONS:
        if existing == name:
            return
    _EXTENSIONS.append((name, fn))


def _core_0001(db: sqlite_utils.Database) -> None:
    run_script(db, """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        id TEXT PRIMARY KEY,                -- login name (staff, not PHI)
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        kdf TEXT NOT NULL,                  -- KdfParams JSON
        salt BLOB NOT NULL,
        wrapped_key BLOB,                   -- data key under the passphrase KEK; NULL when disabled
        keyring_wrap BLOB,                  -- data key under a secret held in the OS keyring
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        throttled_until REAL NOT NULL DEFAULT 0,
        locked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE encounters (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        template TEXT NOT NULL,
        status TEXT NOT NULL,
        patient_name BLOB, patient_mrn BLOB, patient_birth_date BLOB,
        audio_samples INTEGER NOT NULL DEFAULT 0,
        audio_chunks INTEGER NOT NULL DEFAULT 0,
        audio_purged_at TEXT,
        signed_at TEXT,
        note_id TEXT                        -- the current SignedNote's id
    );
    CREATE TABLE transcripts (
        encounter_id TEXT PRIMARY KEY REFERENCES encounters(id),
        updated_at TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX drafts_encounter ON drafts(encounter_id, created_at);
    CREATE TABLE note_versions (
        id TEXT PRIMARY KEY,
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,                 -- edit | amendment
        created_at TEXT NOT NULL,
        author TEXT NOT NULL,
        body BLOB NOT NULL,
        UNIQUE (encounter_id, version)
    );
    CREATE TABLE signed_notes (
        note_id TEXT PRIMARY KEY,
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        version INTEGER NOT NULL,
        signed_at TEXT NOT NULL,
        author TEXT NOT NULL,
        template TEXT NOT NULL,
        replaces TEXT,
        body BLOB NOT NULL                  -- sealed JSON: text + patient
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,
                           updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL,
                          updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
    CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL,
        details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL
    );
    -- Events that happen while no key is available (failed unlocks, a worker's blocked
    -- connects); chained into audit_events at the next unlock.
    CREATE TABLE audit_pending (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL
    );
    -- Deleting history is only possible for an encounter the retention policy released.
    CREATE TABLE purge_grants (encounter_id TEXT PRIMARY KEY);

    CREATE TRIGGER note_versions_no_update BEFORE UPDATE ON note_versions
    BEGIN SELECT RAISE(ABORT, 'note versions are append-only'); END;
    CREATE TRIGGER note_versions_no_delete BEFORE DELETE ON note_versions
    WHEN NOT EXISTS (SELECT 1 FROM purge_grants WHERE encounter_id = OLD.encounter_id)
    BEGIN SELECT RAISE(ABORT, 'note versions are append-only'); END;
    CREATE TRIGGER signed_notes_no_update BEFORE UPDATE ON signed_notes
    BEGIN SELECT RAISE(ABORT, 'signed notes are immutable'); END;
    CREATE TRIGGER signed_notes_no_delete BEFORE DELETE ON signed_notes
    WHEN NOT EXISTS (SELECT 1 FROM purge_grants WHERE encounter_id = OLD.encounter_id)
    BEGIN SELECT RAISE(ABORT, 'signed notes are immutable'); END;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """)


def _core_0002(db: sqlite_utils.Database) -> None:
    # Key separation and signed security state (see vault.keys and vault.integrity).
    run_script(db, """
    ALTER TABLE users ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;   -- revocation counter
    ALTER TABLE audit_events ADD COLUMN signer TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_events ADD COLUMN sig TEXT NOT NULL DEFAULT '';  -- Ed25519, signer's key
    -- The PHI key sealed to each clinician's/assistant's X25519 key by a clinician who holds it.
    CREATE TABLE phi_grants (user TEXT PRIMARY KEY, epoch INTEGER NOT NULL, blob BLOB NOT NULL,
                             granted_by TEXT NOT NULL, granted_at TEXT NOT NULL);
    -- Failed sign-ins under names that are no account: throttled like real ones, so the
    -- answers never tell which names exist.
    CREATE TABLE unlock_failures (name TEXT PRIMARY KEY,
                                  failed_attempts INTEGER NOT NULL DEFAULT 0,
                                  throttled_until REAL NOT NULL DEFAULT 0,
                                  locked INTEGER NOT NULL DEFAULT 0);
    """)


def _core_0003(db: sqlite_utils.Database) -> None:
    # The patient's after-visit summary (localscribe.instructions): drafts like `drafts`, and
    # the copy signed with a note, immutable like `signed_notes`. A core migration, not a
    # registered one, because signing (session.sign) reads these tables on every vault.
    run_script(db, """
    CREATE TABLE patient_instructions (
        id TEXT PRIMARY KEY,
        encounter_id TEXT NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        lang TEXT NOT NULL,
        body BLOB NOT NULL                  -- sealed JSON: the summary's statements and flags
    );
    CREATE INDEX patient_instructions_encounter ON patient_instructions(encounter_id, created_at);
    CREATE TABLE signed_instructions (
        note_id TEXT PRIMARY KEY REFERENCES signed_notes(note_id) ON DELETE CASCADE,
        encounter_id TEXT NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,
        instructions_id TEXT NOT NULL,
        lang TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        author TEXT NOT NULL,
        body BLOB NOT NULL                  -- sealed JSON: text + summary
    );
    CREATE TRIGGER signed_instructions_no_update BEFORE UPDATE ON signed_instructions
    BEGIN SELECT RAISE(ABORT, 'signed instructions are immutable'); END;
    CREATE TRIGGER signed_instructions_no_delete BEFORE DELETE ON signed_instructions
    WHEN NOT EXISTS (SELECT 1 FROM purge_grants WHERE encounter_id = OLD.encounter_id)
    BEGIN SELECT RAISE(ABORT, 'signed instructions are immutable'); END;
    """)


CORE_MIGRATIONS: list[tuple[str, Migration]] = [
    ("core-0001-initial", _core_0001),
    ("core-0002-keys", _core_0002),
    ("core-0003-patient-instructions", _core_0003),
]
SCHEMA_VERSION = len(CORE_MIGRATIONS)


def _applied(db: sqlite_utils.Database) -> set[str]:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
               "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return {row[0] for row in db.execute("SELECT name FROM schema_migrations").fetchall()}


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply pending core and registered migrations; returns the names applied."""
    done = _applied(db)
    known_core = {name for name, _ in CORE_MIGRATIONS}
    unknown = sorted(n for n in done if n.startswith("core-") and n not in known_core)
    if unknown:
        raise SchemaError(f"this vault was written by a newer LocalScribe (schema {unknown[-1]}); "
                          "upgrade LocalScribe to open it")
    applied = []
    for name, fn in [*CORE_MIGRATIONS, *_EXTENSIONS]:
        if name in done:
            continue
        with transaction(db):
            # Another process may have applied it while we waited for the write lock.
            if db.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
                continue
            fn(db)
            db.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                       (name, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
        applied.append(name)
    return applied


def schema_state(db: sqlite_utils.Database) -> dict[str, Any]:
    rows = db.execute("SELECT name, applied_at FROM schema_migrations ORDER BY applied_at, name")
    names = [r[0] for r in rows.fetchall()]
    return {"core_version": sum(1 for n in names if n.startswith("core-")),
            "migrations": names}
