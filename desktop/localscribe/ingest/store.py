"""The ingested schedule in the vault: every visit sealed whole (patient identity, times,
clinician) under (table, row id, column), like the encounters' patient fields, and the raw
inbound record sealed beside it so nothing received is lost.

Only the row id, the channel and when it arrived are plain. Listing a day opens each row: a
day's schedule is tens of rows, and a plain date or visit number would leak who was seen when.

Tables (registered with the vault's migration registry):

- ``ingest_visits``: one row per visit; an update of the same visit (HL7 A08, a re-pull)
  replaces the body in place, the previous raw record is kept in ``ingest_inbound``;
- ``ingest_inbound``: every accepted inbound record (HL7 message or FHIR resources), sealed;
- ``ingest_links``: which encounter was started from which visit.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from localscribe.ingest.model import ScheduledVisit
from localscribe.vault.db import transaction
from localscribe.vault.schema import apply_migrations, register_migration

VISITS, INBOUND, LINKS = "ingest_visits", "ingest_inbound", "ingest_links"


def _schedule_v1(db: Any) -> None:
    db.execute("""
        CREATE TABLE ingest_visits (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,              -- fhir | hl7
            received_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            body BLOB NOT NULL                 -- sealed JSON ScheduledVisit
        )""")
    db.execute("""
        CREATE TABLE ingest_inbound (
            id TEXT PRIMARY KEY,
            visit_id TEXT NOT NULL REFERENCES ingest_visits(id),
            received_at REAL NOT NULL,
            kind TEXT NOT NULL,                -- e.g. SIU^S12, ADT^A08, fhir
            raw BLOB NOT NULL                  -- sealed: the record exactly as received
        )""")
    db.execute("""
        CREATE TABLE ingest_links (
            encounter_id TEXT PRIMARY KEY,
            visit_id TEXT NOT NULL REFERENCES ingest_visits(id),
            linked_at REAL NOT NULL
        )""")


register_migration("ingest-0001-schedule", _schedule_v1)


def ensure_schema(db: Any) -> None:
    if LINKS not in db.table_names():
        apply_migrations(db)


class VisitNotFound(KeyError):
    def __str__(self) -> str:
        return f"no scheduled visit {self.args[0]!r}"


class ScheduleStore:
    """``cipher``: the session's Capability (patient data key) or a bare FieldCipher (tests)."""

    def __init__(self, db: Any, cipher: Any, clock: Callable[[], float] = time.time) -> None:
        self.db, self.cipher, self.clock = db, cipher, clock
        ensure_schema(db)

    def _open(self, vid: str, blob: bytes) -> ScheduledVisit:
        return ScheduledVisit.from_dict(json.loads(self.cipher.open_text(VISITS, vid, "body",
                                                                         blob))).with_id(vid)

    def all(self) -> list[ScheduledVisit]:
        rows = self.db.execute(f"SELECT id, body FROM {VISITS}").fetchall()
        return sorted((self._open(r[0], r[1]) for r in rows),
                      key=lambda v: (v.visit_time, v.family, v.id))

    def day(self, day: str) -> list[ScheduledVisit]:
        """The visits whose time falls on ``day`` (YYYY-MM-DD, the EHR's own clock)."""
        return [v for v in self.all() if v.day == day]

    def get(self, vid: str) -> ScheduledVisit:
        row = self.db.execute(f"SELECT id, body FROM {VISITS} WHERE id = ?", (vid,)).fetchone()
        if row is None:
            raise VisitNotFound(vid)
        return self._open(row[0], row[1])

    def find(self, prefix: str) -> ScheduledVisit:
        """A visit by a unique prefix of its id (as the CLI prints it)."""
        prefix = prefix.strip().lower()
        if not prefix or any(ch not in "0123456789abcdef" for ch in prefix):
            raise VisitNotFound(prefix)      # ids are hex: '%' or '_' must not act as LIKE
        rows = self.db.execute(f"SELECT id FROM {VISITS} WHERE id LIKE ?",
                               (prefix.lower() + "%",)).fetchall()
        if len(rows) != 1:
            raise VisitNotFound(prefix) if not rows else KeyError(
                f"{prefix!r} matches {len(rows)} scheduled visits; give more of the id")
        return self.get(rows[0][0])

    def put(self, visit: ScheduledVisit, raw: bytes, kind: str) -> tuple[ScheduledVisit, bool]:
        """Store ``visit`` (and the raw record it came from) in one transaction; the same visit
        received again replaces the stored one. Returns (stored visit, True when new)."""
        now = self.clock()
        with transaction(self.db):
            same = [v for v in self.all() if v.match_key == visit.match_key]
            vid = same[0].id if same else uuid.uuid4().hex
            stored = visit.with_id(vid)
            body = self.cipher.seal_text(VISITS, vid, "body", json.dumps(stored.to_dict()))
            if same:
                self.db.execute(f"UPDATE {VISITS} SET body = ?, updated_at = ? WHERE id = ?",
                                (body, now, vid))
            else:
                self.db.execute(f"INSERT INTO {VISITS} (id, source, received_at, updated_at, "
                                "body) VALUES (?,?,?,?,?)", (vid, visit.source, now, now, body))
            rid = uuid.uuid4().hex
            self.db.execute(f"INSERT INTO {INBOUND} (id, visit_id, received_at, kind, raw) "
                            "VALUES (?,?,?,?,?)",
                            (rid, vid, now, kind, self.cipher.seal(INBOUND, rid, "raw", raw)))
        return stored, not same

    def put_many(self, visits: Iterable[tuple[ScheduledVisit, bytes, str]]
                 ) -> list[tuple[ScheduledVisit, bool]]:
        return [self.put(v, raw, kind) for v, raw, kind in visits]

    def inbound(self, vid: str) -> list[tuple[str, bytes]]:
        """(kind, raw record) of everything received for visit ``vid``, oldest first."""
        rows = self.db.execute(f"SELECT id, kind, raw FROM {INBOUND} WHERE visit_id = ? "
                               "ORDER BY received_at, rowid", (vid,)).fetchall()
        return [(r[1], self.cipher.open(INBOUND, r[0], "raw", r[2])) for r in rows]

    def link(self, encounter_id: str, vid: str) -> None:
        self.get(vid)
        with transaction(self.db):
            self.db.execute(f"INSERT INTO {LINKS} (encounter_id, visit_id, linked_at) "
                            "VALUES (?,?,?)", (encounter_id, vid, self.clock()))

    def visit_for(self, encounter_id: str) -> ScheduledVisit | None:
        row = self.db.execute(f"SELECT visit_id FROM {LINKS} WHERE encounter_id = ?",
                              (encounter_id,)).fetchone()
        return None if row is None else self.get(row[0])

    def encounters_of(self, vid: str) -> list[str]:
        return [r[0] for r in self.db.execute(f"SELECT encounter_id FROM {LINKS} WHERE "
                                              "visit_id = ? ORDER BY linked_at", (vid,))]
