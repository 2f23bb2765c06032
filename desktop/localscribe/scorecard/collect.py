"""The PHI-free facts of each visit, read from the audit trail alone.

The trail already says when a visit was created and by whom, when recording stopped, when
drafts were saved, when and by whom it was signed (with the edit counts ``scorecard.edits``
adds at signing), what its status became, and whether consent was declined. Reading only the
trail means the scorecard opens no sealed column, and a visit whose records were later purged
by the retention policy still counts in the weeks it happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localscribe.scorecard.edits import NoteEdits
from localscribe.scorecard.hours import parse_utc

ACTIONS = ("encounter.create", "recording.start", "recording.stop", "draft.save", "sign",
           "scorecard.edits", "encounter.status", "encounter.interrupted", "consent")
SEND_STATUSES = ("sent", "send_failed", "send_pending")


@dataclass
class Visit:
    eid: str
    created_at: datetime
    created_by: str
    recorded: bool = False
    stops: list[datetime] = field(default_factory=list)    # recording.stop times
    drafts: list[datetime] = field(default_factory=list)   # draft.save times
    signed_at: datetime | None = None       # the first signature
    signed_by: str = ""
    edits: NoteEdits | None = None          # of the first signature
    last_status: str = ""                   # the last status the trail recorded
    send_status: str = ""                   # the last send status (sent / failed / pending)
    consent_declined: bool = False

    @property
    def clinician(self) -> str:
        """Whoever signed; before that, whoever opened the visit."""
        return self.signed_by or self.created_by

    def visit_end(self) -> datetime | None:
        """The last Stop before signing (a resumed visit stops more than once)."""
        stops = [t for t in self.stops if self.signed_at is None or t <= self.signed_at]
        return max(stops) if stops else None

    def draft_ready(self) -> datetime | None:
        """The first draft saved at or after the visit's end."""
        end = self.visit_end()
        if end is None:
            return None
        later = [t for t in self.drafts if t >= end]
        return min(later) if later else None


def _details(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def visits(db: Any) -> list[Visit]:
    """Every visit the trail knows, oldest first. Reads ids, times, actions and counts only."""
    marks = ",".join("?" * len(ACTIONS))
    rows = db.execute(f"SELECT time, actor, action, object, outcome, details FROM audit_events "
                      f"WHERE action IN ({marks}) ORDER BY seq", ACTIONS).fetchall()
    found: dict[str, Visit] = {}
    for time, actor, action, eid, outcome, raw in rows:
        if action == "encounter.create":
            if outcome == "ok":
                found[eid] = Visit(eid, parse_utc(time), actor)
            continue
        v = found.get(eid)
        if v is None:
            continue                      # created before the trail began: not counted
        when = parse_utc(time)
        if action == "recording.start" and outcome == "ok":
            v.recorded = True
        elif action == "recording.stop" and outcome == "ok":
            v.stops.append(when)
        elif action == "draft.save" and outcome == "ok":
            v.drafts.append(when)
        elif action == "sign" and outcome == "ok" and v.signed_at is None:
            v.signed_at, v.signed_by = when, actor
            v.last_status = "signed"
        elif action == "scorecard.edits" and outcome == "ok" and v.edits is None:
            v.edits = NoteEdits.from_details(_details(raw))
        elif action == "encounter.status" and outcome == "ok":
            status = str(_details(raw).get("status", ""))
            v.last_status = status
            if status in SEND_STATUSES:
                v.send_status = status
        elif action == "encounter.interrupted":
            v.last_status = "interrupted"
        elif action == "consent" and outcome == "declined":
            v.consent_declined = True
    return sorted(found.values(), key=lambda v: v.created_at)
