"""`localscribe lock`: a request, written in the vault file, that every open session on it,
in any process, locks at its next use.

A leaf on purpose: the Vault writes the request and a Session reads it, and neither has to
import the other for that.
"""

from __future__ import annotations

import time

import sqlite_utils

from localscribe.vault.db import transaction

_KEY = "lock_requested_at"


def write_request(db: sqlite_utils.Database) -> None:
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                   (_KEY, repr(time.time())))


def requested_at(db: sqlite_utils.Database) -> float:
    """When the last lock was requested (wall-clock seconds), 0.0 when never."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
    return float(row[0]) if row else 0.0
