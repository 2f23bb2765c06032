"""The EHR tables, added to the vault through its migration registry.

Plain SQL (sqlite-utils' table helpers commit, which would end the migration's transaction).
Columns that can hold PHI or secrets are BLOBs sealed with the vault cipher under
(table, record id, column).
"""

from __future__ import annotations

from typing import Any

from localscribe.vault.schema import apply_migrations, register_migration


def _connectors_v1(db: Any) -> None:
    db.execute("""
        CREATE TABLE ehr_connectors (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            settings TEXT NOT NULL,          -- JSON, no secrets
            secrets BLOB NOT NULL,           -- sealed JSON {name: value}
            updated_at REAL NOT NULL
        )""")


def _outbox_v1(db: Any) -> None:
    db.execute("""
        CREATE TABLE ehr_outbox (
            id TEXT PRIMARY KEY,
            connector TEXT NOT NULL,
            note_id TEXT NOT NULL,
            encounter_id TEXT NOT NULL,
            kind TEXT NOT NULL,              -- push | amend
            replaces_note_id TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,             -- queued | sending | delivered | failed | cancelled
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',   -- PHI-free sentence
            error_detail BLOB,                     -- sealed: the receiver's own words
            remote_id TEXT NOT NULL DEFAULT '',
            payload BLOB NOT NULL,                 -- sealed: the signed note
            UNIQUE (connector, note_id)
        )""")
    db.execute("CREATE INDEX ehr_outbox_due ON ehr_outbox (state, next_attempt_at)")


register_migration("ehr-0001-connectors", _connectors_v1)
register_migration("ehr-0002-outbox", _outbox_v1)


def ensure_schema(db: Any) -> None:
    """Apply pending migrations (idempotent): for a vault opened before this module was
    imported, and for a bare database in tests (which then gets the vault's tables too)."""
    if "ehr_outbox" not in db.table_names() or "ehr_connectors" not in db.table_names():
        apply_migrations(db)
