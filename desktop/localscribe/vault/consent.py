"""The patient's consent to the recording: the practice's rule that a recorded visit is signed
only once consent is on record, and what a patient's refusal erases.

One home for the rule, enforced by ``Session.sign`` next to the identity rule
(``Patient.identity_problem`` / ``PatientNotIdentified``); the window's sign dialog and the CLI's
``note sign`` read the same ``problem`` before asking anything. The patient's answer lives on the
audit trail (a ``consent`` event, ``ok`` or ``declined``; the latest one counts) because that is
the signed, append-only record an auditor already reads: a separate column could be changed
without leaving a trace. Only a visit whose audio was recorded in this vault (a
``recording.start`` event) needs it: a note typed or drafted from an imported transcript
recorded nothing here.

A refusal crypto-erases what the recording produced, the way retention purges a visit: the
encrypted audio chunks are deleted (their key never leaves the vault) and the transcript,
drafts, patient-instruction drafts and note versions (which quote the transcript) are deleted
under ``secure_delete``, the note versions through the retention purge grant. The encounter row
(patient, times) and the audit trail stay: the visit happened, it was not recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from localscribe.vault import audio_spool, settings
# The chain's own per-event checks (vault.audit.verify_chain uses the same two).
from localscribe.vault.audit import AuditEvent, _event_msg, _verifies, event_hash, utcnow
from localscribe.vault.crypto import TamperError
from localscribe.vault.db import transaction

if TYPE_CHECKING:
    import sqlite_utils

    from localscribe.vault.session import Session

REQUIRED = settings.CONSENT_REQUIRED    # practice setting (admin), default on


_EVENT_COLUMNS = ("seq", "time", "actor", "role", "action", "object", "outcome", "details",
                  "prev_hash", "hash", "signer", "sig")


class ConsentState(str, Enum):
    GIVEN = "ok"
    DECLINED = "declined"
    NOT_RECORDED = "not_recorded"


class ConsentMissing(PermissionError):
    """Signing refused: the visit was recorded and the patient's consent is not on record, or
    the patient declined (one line, said to the user as it is)."""

    def __init__(self, eid: str, state: ConsentState):
        super().__init__(problem_text(state))
        self.encounter_id = eid
        self.state = state


def problem_text(state: ConsentState) -> str:
    if state is ConsentState.DECLINED:
        return ("the patient declined the recording; its audio and transcript were erased, so "
                "no note is signed from it")
    return ("the patient's consent to the recording is not recorded; tick \"Patient consented "
            "to recording\" (or `note sign --consent`) before signing")


EventCheck = Callable[[AuditEvent], bool]


def verifier(vault_id: str, public_keys: dict[str, list[str]]) -> EventCheck:
    """Whether one event is intact and signed by its signer's key (the chain's own test, for
    one row): a consent row typed into the file by hand is not the patient's answer."""
    def check(ev: AuditEvent) -> bool:
        return (event_hash(ev.to_dict()) == ev.hash
                and _verifies(public_keys.get(ev.signer, ()), ev.sig, _event_msg(vault_id, ev.hash)))
    return check


def state(db: sqlite_utils.Database, eid: str, check: EventCheck | None = None) -> ConsentState:
    """The patient's latest answer on the audit trail; with ``check``, a forged or altered
    answer is a TamperError rather than consent."""
    row = db.execute("SELECT seq, time, actor, role, action, object, outcome, details, prev_hash, "
                     "hash, signer, sig FROM audit_events WHERE action = 'consent' AND object = ? "
                     "ORDER BY seq DESC LIMIT 1", (eid,)).fetchone()
    if row is None:
        return ConsentState.NOT_RECORDED
    ev = AuditEvent.from_dict(dict(zip(_EVENT_COLUMNS, row)))
    if check is not None and not check(ev):
        raise TamperError(f"the consent event #{ev.seq} of encounter {eid} does not verify (its "
                          "content or signature was changed): the vault file was edited")
    return ConsentState.GIVEN if ev.outcome == "ok" else ConsentState.DECLINED


def was_recorded(db: sqlite_utils.Database, eid: str) -> bool:
    return db.execute("SELECT 1 FROM audit_events WHERE action = 'recording.start' AND "
                      "object = ? LIMIT 1", (eid,)).fetchone() is not None


def problem(db: sqlite_utils.Database, eid: str, required: bool,
            check: EventCheck | None = None) -> ConsentState | None:
    """What stops signing ``eid`` for consent, or None. A refusal always stops it (its
    recording is gone); a missing answer only where the practice requires one."""
    current = state(db, eid, check)
    if current is ConsentState.DECLINED:
        return current
    if required and current is ConsentState.NOT_RECORDED and was_recorded(db, eid):
        return current
    return None


def sign_problem(session: Session, eid: str) -> ConsentState | None:
    """``problem`` under the practice's setting, for the window and the CLI to ask before signing."""
    return problem(session.db, eid, bool(session.get_setting(REQUIRED)))


def require(db: sqlite_utils.Database, eid: str, required: bool, check: EventCheck) -> None:
    """Refuse signing ``eid`` (ConsentMissing) where ``problem`` says so; the answer that
    allows it must verify (``verifier``)."""
    missing = problem(db, eid, required, check)
    if missing is not None:
        raise ConsentMissing(eid, missing)


def record(session: Session, eid: str, given: bool, *, after_start: bool = False,
           via: str = "") -> dict[str, int]:
    """Record the patient's answer (audited as ``consent``); a refusal erases the recording.
    Returns what was erased (empty when consent was given)."""
    from localscribe.vault import roles
    from localscribe.vault.encounters import SIGNED_STATUSES, EncounterStatus

    session.capability.require(roles.PHI_WRITE, eid)
    status = session.get_encounter(eid).status
    if not given and status in SIGNED_STATUSES:
        # The signed note is the legal record; its audio was purged by retention.
        raise ValueError(f"encounter {eid} is already signed; a refusal now erases nothing "
                         "(amend the note to say so)")
    if not given and status in (EncounterStatus.RECORDING, EncounterStatus.TRANSCRIBING,
                                EncounterStatus.DRAFTING):
        raise ValueError(f"encounter {eid} is {status}: stop the recording (or let drafting "
                         "finish) before marking the consent declined")
    extra: dict[str, Any] = {"after_start": True} if after_start else {}
    if via:
        extra["via"] = via
    session.audit("consent", eid, outcome="ok" if given else "declined", **extra)
    if given:
        return {}
    recorded = was_recorded(session.db, eid)
    erased = _erase(session, eid, recorded)
    details: dict[str, Any] = {"what": "recording", "reason": "consent_declined", **erased}
    session.audit("purge", eid, "ok", **details)
    return erased


def _erase(session: Session, eid: str, recorded: bool) -> dict[str, int]:
    from localscribe.vault.encounters import EncounterStatus

    chunks = audio_spool.purge_audio(session.paths.audio_dir, eid)
    db = session.db
    counts = {"chunks": chunks}
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO purge_grants (encounter_id) VALUES (?)", (eid,))
        for table in ("transcripts", "drafts", "patient_instructions", "note_versions"):
            counts[table] = db.execute(f"DELETE FROM {table} WHERE encounter_id = ?",
                                       (eid,)).rowcount
        db.execute("DELETE FROM purge_grants WHERE encounter_id = ?", (eid,))
        if recorded:
            now = utcnow()
            db.execute("UPDATE encounters SET status = ?, audio_samples = 0, audio_chunks = 0, "
                       "audio_purged_at = ?, updated_at = ? WHERE id = ?",
                       (EncounterStatus.DECLINED.value, now, now, eid))
    # secure_delete overwrote the rows in the database pages; the write-ahead log still
    # holds the pages as they were until a checkpoint copies them back and truncates it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts
