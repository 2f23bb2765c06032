"""Opening the vault's SQLite file and running explicit transactions.

WAL mode for a crash-safe log and concurrent readers; ``synchronous=FULL`` so a committed
transaction (a signature, an audit event) survives power loss, not just a process crash;
``temp_store=MEMORY`` so sorts never spill PHI-bearing pages to a temp file;
``secure_delete`` so purged ciphertext is overwritten rather than left in free pages.
The connection runs in autocommit mode and every multi-statement change goes through
``transaction()``, so nothing commits halfway.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlite_utils


class _Connection(sqlite3.Connection):
    """The app shares one connection between the UI thread and the pipeline's threads; a
    transaction must own the connection until it ends, or another thread's statements would
    silently join (and roll back with) it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tx_lock = threading.RLock()


def connect(path: Path) -> sqlite_utils.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None,
                           check_same_thread=False, factory=_Connection)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "temp_store=MEMORY",
                   "secure_delete=ON", "foreign_keys=ON", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    return sqlite_utils.Database(conn)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error. Nested use joins the outer one."""
    conn = db.conn
    with getattr(conn, "tx_lock", None) or nullcontext():
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Like executescript, but without its implicit COMMIT, so it stays inside a transaction."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                db.conn.execute(buf)
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        db.conn.execute(buf)
