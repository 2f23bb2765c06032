"""Delivery as an encounter sees it: which signed notes go out, and what the encounter's status
says about them afterwards.

The outbox knows jobs; the day list knows encounters. An encounter's status follows the job of
its newest signed note (an amendment supersedes the original), so "Sent" is only shown when
what the clinician last signed has reached the EHR. The CLI's ``connectors send`` and
``outbox drain`` and the window's Send button and background drain all go through here.
"""

from __future__ import annotations

from typing import Any

from localscribe.ehr.outbox import CANCELLED, DELIVERED, FAILED, QUEUED, SENDING, DrainReport, Job
from localscribe.ehr.service import EhrService
from localscribe.vault import roles
from localscribe.vault.encounters import EncounterNotFound

# What the newest note's job state means for the encounter.
ENCOUNTER_STATUS = {DELIVERED: "sent", QUEUED: "send_pending", SENDING: "send_pending",
                    FAILED: "send_failed", CANCELLED: "send_failed"}


def send_encounter(session: Any, service: EhrService, eid: str, to: str) -> list[Job]:
    """Queue every signed version of the note (the original, then each amendment; what already
    went out is not sent twice), try each once now, audit, and update the encounter's status."""
    notes = session.signed_notes(eid)
    if not notes:
        raise ValueError(f"encounter {eid} has no signed note: sign it first")
    from localscribe.ehr.instructions_doc import carried_by, with_instructions
    from localscribe.ingest.service import with_visit

    jobs = []
    for note in notes:
        # A visit started from the EHR's schedule goes back with the EHR's identifiers, and
        # the note the patient's instructions were signed with carries them.
        note = with_instructions(session, with_visit(session, note))
        if note.instructions and not getattr(service.connector(to), "second_document", ""):
            # Never dropped silently: the trail says the summary did not go this way.
            session.audit("instructions.not_sent", eid, connector=to, note_id=note.note_id,
                          reason=carried_by(type(service.connector(to))))
        job = service.send(note, to)
        session.record_push(eid, to, "ok" if job.state == DELIVERED else job.state,
                            note.note_id, job=job.id)
        jobs.append(job)
    session.set_status(eid, ENCOUNTER_STATUS[jobs[-1].state])
    return jobs


def drain(session: Any, service: EhrService, limit: int | None = None) -> DrainReport:
    """Attempt every due job once, then bring the encounters' statuses in step."""
    report = service.drain(limit=limit)
    sync_statuses(session, service)
    return report


def status_for(jobs: list[Job]) -> str | None:
    """What an encounter's status should say, from its jobs: the newest note's job state
    (None: never sent)."""
    if not jobs:
        return None
    newest = max(jobs, key=lambda j: (j.created_at, j.kind == "amend"))
    return ENCOUNTER_STATUS[newest.state]


def sync_statuses(session: Any, service: EhrService) -> dict[str, str]:
    """Set every encounter's status from its jobs where it differs; returns what changed.

    Only a role that may send notes may change a send status (and only such a role may drain:
    administrators hold no patient-data key)."""
    if not roles.allows(session.role, roles.NOTE_PUSH):
        return {}
    by_encounter: dict[str, list[Job]] = {}
    for job in service.outbox.list():       # one read of the outbox, however many encounters
        by_encounter.setdefault(job.encounter_id, []).append(job)
    changed = {}
    for eid in sorted(by_encounter):
        want = status_for(by_encounter[eid])
        try:
            current = session.get_encounter(eid).status
        except EncounterNotFound:
            continue                       # purged since it was sent
        if want and want != current:
            session.set_status(eid, want)
            changed[eid] = want
    return changed
