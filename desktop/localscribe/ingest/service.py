"""The calls the CLI and the window use: the day's schedule, receiving a visit, starting an
encounter from one, and the visit context a send carries. Each checks the role through the
session's capability and audits (identifiers only, never names or dates).

For the window's day list (``ui/day_view.py``): :func:`day_schedule` ``(session, "YYYY-MM-DD")``
gives the visits to show, each with ``encounters`` already started from it; a click calls
:func:`start_visit` ``(session, visit.id, template)`` which returns the new encounter id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from localscribe.domain import SignedNote, VisitContext
from localscribe.ingest.model import ScheduledVisit
from localscribe.ingest.store import ScheduleStore
from localscribe.vault import capability, roles


@dataclass(frozen=True)
class DayEntry:
    visit: ScheduledVisit
    encounters: tuple[str, ...]      # encounters already started from this visit


def store_for(session: Any) -> ScheduleStore:
    return ScheduleStore(session.db, session.cipher)


def receive(session: Any, visit: ScheduledVisit, raw: bytes, kind: str) -> ScheduledVisit:
    """Store one inbound visit (HL7 message or FHIR pull); audited with its row id."""
    capability.require(session.cipher, roles.PHI_WRITE, "schedule")
    stored, new = store_for(session).put(visit, raw, kind)
    session.audit("schedule.receive", stored.id, source=visit.source, kind=kind,
                  change="new" if new else "update")
    return stored


def day_schedule(session: Any, day: str | None = None) -> list[DayEntry]:
    """The visits scheduled on ``day`` (default today), in time order."""
    capability.require(session.cipher, roles.PHI_READ, "schedule")
    store = store_for(session)
    day = day or date.today().isoformat()
    return [DayEntry(v, tuple(store.encounters_of(v.id))) for v in store.day(day)]


def find_visit(session: Any, prefix: str) -> ScheduledVisit:
    capability.require(session.cipher, roles.PHI_READ, "schedule")
    return store_for(session).find(prefix)


def start_visit(session: Any, visit_id: str, template: str) -> str:
    """Create an encounter for a scheduled visit: the patient as the EHR knows them (name in
    'Family, Given' form, MRN, date of birth), linked so the send carries the visit's ids."""
    visit = find_visit(session, visit_id)
    eid = session.create_encounter(visit.patient(), template)
    store_for(session).link(eid, visit.id)
    session.audit("schedule.start", eid, visit=visit.id)
    return str(eid)


def visit_context(session: Any, eid: str) -> VisitContext | None:
    """The EHR identifiers of the visit encounter ``eid`` was started from (None: typed in)."""
    capability.require(session.cipher, roles.PHI_READ, eid)
    visit = store_for(session).visit_for(eid)
    return None if visit is None else visit.context()


def with_visit(session: Any, note: SignedNote) -> SignedNote:
    """``note`` carrying its visit context, for a connector to build identifiers from."""
    ctx = visit_context(session, note.encounter_id)
    return note if ctx is None else replace(note, visit=ctx)


def pull_fhir(session: Any, connector: str, day: str | None = None) -> tuple[list[ScheduledVisit],
                                                                          list[str]]:
    """Pull ``day``'s schedule from the FHIR connector named ``connector`` (its base URL and
    credentials) and store it; returns (visits stored, problems with skipped records)."""
    from localscribe.ehr.fhir import FhirConnector
    from localscribe.ehr.service import EhrService
    from localscribe.ingest.fhir_schedule import SchedulePull

    capability.require(session.cipher, roles.PHI_WRITE, "schedule")
    day = day or date.today().isoformat()
    conn = EhrService.from_session(session).connector(connector)
    if not isinstance(conn, FhirConnector):
        raise ValueError(f"connector '{connector}' is not a FHIR connector: the schedule is "
                         "pulled over FHIR; HL7 schedules arrive at `localscribe schedule listen`")
    result = SchedulePull(conn.search, conn.read, conn.config.get("mrn_system", "")).pull(day)
    stored = [receive(session, visit, raw, "fhir") for visit, raw in result.visits]
    session.audit("schedule.pull", connector, day=day, visits=len(stored),
                  skipped=len(result.problems))
    return stored, result.problems
