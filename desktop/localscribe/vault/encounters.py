"""Encounter storage: every PHI column sealed under (table, record id, column).

No permission checks here: ``Session`` checks the role and audits, then calls this.
Note versions and signed notes are append-only (enforced by triggers as well as by this code);
once an encounter is signed its note is locked and only ``amend`` adds to it.
"""

from __future__ import annotations

import builtins
import json
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlite_utils

from localscribe.domain import Draft, Patient, SignedNote, Transcript
from localscribe.vault.audit import utcnow
from localscribe.vault.crypto import Cipher, TamperError
from localscribe.vault.db import transaction

class EncounterStatus(str, Enum):
    """The one list of encounter statuses; the vault stores ``.value``. A ``str`` enum, so
    comparisons with the stored words keep working everywhere. ``label`` is how the window
    and the CLI word each one (``status_label`` for the one case that needs the draft)."""

    NEW = "new"                   # created, nothing recorded yet (the window's Record waits)
    RECORDING = "recording"
    TRANSCRIBING = "transcribing"
    DRAFTING = "drafting"
    REVIEW = "review"
    INTERRUPTED = "interrupted"   # the process working on it died (kill -9, crash, power cut)
    FAILED = "failed"             # a run ended with an error; its audio is kept for --resume
    SIGNED = "signed"
    SENT = "sent"
    SEND_PENDING = "send_pending"
    SEND_FAILED = "send_failed"
    AMENDED = "amended"
    DECLINED = "declined"         # the patient declined the recording: it was erased (vault.consent)

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        return _LABELS[self]


S = EncounterStatus
_LABELS = {
    S.NEW: "Not recorded yet", S.RECORDING: "Recording", S.TRANSCRIBING: "Transcribing",
    S.DRAFTING: "Drafting", S.REVIEW: "Needs review", S.INTERRUPTED: "Interrupted (audio kept)",
    S.FAILED: "Not drafted (audio kept)", S.SIGNED: "Signed", S.SENT: "Sent",
    S.SEND_PENDING: "Send pending", S.SEND_FAILED: "Send failed", S.AMENDED: "Amended",
    S.DECLINED: "Consent declined (recording erased)",
}
# A run that ended without a draft leaves "review" with only a transcript (cancelled, no
# speech, the note engine failed): nothing to review, and the audio can be drafted again.
NO_DRAFT_LABEL = "No draft (audio kept)"


def status_label(status: str, has_draft: bool = True) -> str:
    """The words for a stored status, the same in the window's header, day list and the CLI."""
    try:
        st = EncounterStatus(status)
    except ValueError:
        return str(status).replace("_", " ").capitalize()
    if st is S.REVIEW and not has_draft:
        return NO_DRAFT_LABEL
    return st.label
STATUSES = tuple(s.value for s in EncounterStatus)
# Statuses that only make sense while a process works on the encounter (see vault.recovery).
ACTIVE_STATUSES = (S.RECORDING.value, S.TRANSCRIBING.value, S.DRAFTING.value)
OPEN_STATUSES = (S.NEW.value, *ACTIVE_STATUSES, S.REVIEW.value, S.INTERRUPTED.value, S.FAILED.value)
SIGNED_STATUSES = (S.SIGNED.value, S.SENT.value, S.SEND_PENDING.value, S.SEND_FAILED.value,
                   S.AMENDED.value)
SEND_STATUSES = (S.SENT.value, S.SEND_PENDING.value, S.SEND_FAILED.value)
# Statuses from which `scribe --resume` may transcribe and draft the spooled audio again.
RESUMABLE_STATUSES = (S.INTERRUPTED.value, S.FAILED.value)


class EncounterNotFound(KeyError):
    def __str__(self) -> str:
        return f"no encounter {self.args[0]!r}"


class NoteLocked(PermissionError):
    """The note is signed: only an amendment can change it."""


class PatientNotIdentified(ValueError):
    """Signing refused: the encounter was started before its patient was known (Record
    first) and the patient's details were never attached (``domain.Patient.identity_problem``)."""

    def __init__(self, eid: str, problem: str):
        super().__init__(f"the patient is not identified yet ({problem}); attach the patient's "
                         "name and a date of birth or an MRN before signing")
        self.encounter_id = eid
        self.problem = problem


@dataclass(frozen=True)
class Encounter:
    id: str
    status: str
    template: str
    patient: Patient
    created_at: str
    created_by: str
    updated_at: str
    audio_samples: int
    audio_chunks: int
    audio_purged_at: str | None
    signed_at: str | None
    note_id: str | None
    has_draft: bool = False      # a draft is stored (read without opening it)

    @property
    def status_label(self) -> str:
        return status_label(self.status, self.has_draft)


@dataclass(frozen=True)
class NoteVersion:
    encounter_id: str
    version: int
    kind: str           # "edit" or "amendment"
    created_at: str
    author: str
    text: str


_PATIENT_FIELDS = (("patient_name", "name"), ("patient_mrn", "mrn"),
                   ("patient_birth_date", "birth_date"))
_ENC_COLS = ("id, status, template, created_at, created_by, updated_at, audio_samples, "
             "audio_chunks, audio_purged_at, signed_at, note_id, patient_name, patient_mrn, "
             "patient_birth_date, "
             "EXISTS (SELECT 1 FROM drafts WHERE drafts.encounter_id = encounters.id)")


class EncounterStore:
    def __init__(self, db: sqlite_utils.Database, cipher: Cipher):
        self.db = db
        self.cipher = cipher

    # ------------------------------------------------------------ encounters
    def create(self, patient: Patient, template: str, user: str) -> str:
        eid = uuid.uuid4().hex
        now = utcnow()
        sealed = [self.cipher.seal_text("encounters", eid, col, getattr(patient, attr) or "")
                  for col, attr in _PATIENT_FIELDS]
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO encounters (id, created_at, created_by, updated_at, template, status, "
                "patient_name, patient_mrn, patient_birth_date) VALUES (?,?,?,?,?,?,?,?,?)",
                (eid, now, user, now, template, EncounterStatus.NEW.value, *sealed))
        return eid

    def set_patient(self, eid: str, patient: Patient) -> None:
        """Attach (or correct) the patient of an unsigned encounter; a signed note keeps the
        patient it was signed for (the signed copy holds it too)."""
        sealed = [self.cipher.seal_text("encounters", eid, col, getattr(patient, attr) or "")
                  for col, attr in _PATIENT_FIELDS]
        with transaction(self.db):
            self._require_open(eid, "patient")
            self.db.execute("UPDATE encounters SET patient_name = ?, patient_mrn = ?, "
                            "patient_birth_date = ?, updated_at = ? WHERE id = ?",
                            (*sealed, utcnow(), eid))

    def require_identified(self, eid: str) -> Encounter:
        """The encounter, or PatientNotIdentified when its patient cannot be told apart yet."""
        enc = self.get(eid)
        problem = enc.patient.identity_problem()
        if problem:
            raise PatientNotIdentified(eid, problem)
        return enc

    def _row_to_encounter(self, row: tuple[Any, ...]) -> Encounter:
        eid = row[0]
        values = {attr: self.cipher.open_text("encounters", eid, col, row[11 + i])
                  for i, (col, attr) in enumerate(_PATIENT_FIELDS)}
        return Encounter(id=eid, status=row[1], template=row[2], patient=Patient(**values),
                         created_at=row[3], created_by=row[4], updated_at=row[5],
                         audio_samples=row[6], audio_chunks=row[7], audio_purged_at=row[8],
                         signed_at=row[9], note_id=row[10], has_draft=bool(row[14]))

    def get(self, eid: str) -> Encounter:
        row = self.db.execute(f"SELECT {_ENC_COLS} FROM encounters WHERE id = ?", (eid,)).fetchone()
        if row is None:
            raise EncounterNotFound(eid)
        return self._row_to_encounter(row)

    def list(self) -> list[Encounter]:
        rows = self.db.execute(f"SELECT {_ENC_COLS} FROM encounters ORDER BY created_at DESC")
        return [self._row_to_encounter(r) for r in rows.fetchall()]

    def status(self, eid: str) -> str:
        row = self.db.execute("SELECT status FROM encounters WHERE id = ?", (eid,)).fetchone()
        if row is None:
            raise EncounterNotFound(eid)
        return str(row[0])

    def set_status(self, eid: str, status: str | EncounterStatus) -> None:
        status = str(status)
        if status not in STATUSES:
            raise ValueError(f"unknown encounter status {status!r}; one of {', '.join(STATUSES)}")
        with transaction(self.db):
            self.status(eid)
            self.db.execute("UPDATE encounters SET status = ?, updated_at = ? WHERE id = ?",
                            (status, utcnow(), eid))

    def _require_open(self, eid: str, what: str) -> None:
        status = self.status(eid)
        if status in SIGNED_STATUSES:
            raise NoteLocked(f"encounter {eid} is signed ({status}); the {what} is locked; "
                             "use amend to change the note")

    def set_audio_totals(self, eid: str, samples: int, chunks: int) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE encounters SET audio_samples = ?, audio_chunks = ?, "
                            "updated_at = ? WHERE id = ?", (samples, chunks, utcnow(), eid))

    def mark_audio_purged(self, eid: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE encounters SET audio_purged_at = ? WHERE id = ?",
                            (utcnow(), eid))

    # ------------------------------------------------------------ transcript and drafts
    def save_transcript(self, eid: str, transcript: Transcript) -> None:
        self._require_open(eid, "transcript")
        body = self.cipher.seal_text("transcripts", eid, "body", json.dumps(transcript.to_dict()))
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO transcripts (encounter_id, updated_at, body) "
                            "VALUES (?,?,?)", (eid, utcnow(), body))

    def load_transcript(self, eid: str) -> Transcript | None:
        self.status(eid)
        row = self.db.execute("SELECT body FROM transcripts WHERE encounter_id = ?",
                              (eid,)).fetchone()
        if row is None:
            return None
        return Transcript.from_dict(json.loads(self.cipher.open_text("transcripts", eid, "body",
                                                                     row[0])))

    def save_draft(self, eid: str, draft: Draft, user: str) -> str:
        self._require_open(eid, "draft")
        did = uuid.uuid4().hex
        body = self.cipher.seal_text("drafts", did, "body",
                                     json.dumps({"encounter_id": eid, "draft": draft.to_dict()}))
        with transaction(self.db):
            self.db.execute("INSERT INTO drafts (id, encounter_id, created_at, created_by, body) "
                            "VALUES (?,?,?,?,?)", (did, eid, utcnow(), user, body))
        return did

    def load_draft(self, eid: str) -> Draft | None:
        self.status(eid)
        row = self.db.execute("SELECT id, body FROM drafts WHERE encounter_id = ? "
                              "ORDER BY created_at DESC, rowid DESC LIMIT 1", (eid,)).fetchone()
        if row is None:
            return None
        payload = json.loads(self.cipher.open_text("drafts", row[0], "body", row[1]))
        if payload.get("encounter_id") != eid:
            raise TamperError(f"drafts[{row[0]}]: belongs to another encounter")
        return Draft.from_dict(payload["draft"])

    # ------------------------------------------------------------ note versions
    def _append_version(self, eid: str, text: str, user: str, kind: str) -> int:
        with transaction(self.db):
            row = self.db.execute("SELECT COALESCE(MAX(version), 0) FROM note_versions "
                                  "WHERE encounter_id = ?", (eid,)).fetchone()
            version = int(row[0]) + 1
            vid = f"{eid}-v{version}"
            body = self.cipher.seal_text("note_versions", vid, "body", text)
            self.db.execute("INSERT INTO note_versions (id, encounter_id, version, kind, "
                            "created_at, author, body) VALUES (?,?,?,?,?,?,?)",
                            (vid, eid, version, kind, utcnow(), user, body))
            self.db.execute("UPDATE encounters SET updated_at = ? WHERE id = ?", (utcnow(), eid))
        return version

    def save_note_version(self, eid: str, text: str, user: str) -> int:
        self._require_open(eid, "note")
        return self._append_version(eid, text, user, "edit")

    def note_versions(self, eid: str) -> builtins.list[NoteVersion]:   # list: the method above
        self.status(eid)
        rows = self.db.execute("SELECT id, version, kind, created_at, author, body FROM "
                               "note_versions WHERE encounter_id = ? ORDER BY version", (eid,))
        return [NoteVersion(eid, r[1], r[2], r[3], r[4],
                            self.cipher.open_text("note_versions", r[0], "body", r[5]))
                for r in rows.fetchall()]

    def latest_version(self, eid: str) -> NoteVersion | None:
        versions = self.note_versions(eid)
        return versions[-1] if versions else None

    # ------------------------------------------------------------ signing
    def sign(self, eid: str, user: str, amend_text: str | None = None) -> SignedNote:
        """Sign the latest version, or (amend_text given) append an amendment and sign it."""
        with transaction(self.db):
            # An amendment keeps the patient its note was signed for (a note signed before
            # this rule existed can still be corrected).
            enc = self.require_identified(eid) if amend_text is None else self.get(eid)
            if amend_text is None:
                if enc.status in SIGNED_STATUSES:
                    raise NoteLocked(f"encounter {eid} is already signed; use amend")
            elif enc.status not in SIGNED_STATUSES:
                raise ValueError(f"encounter {eid} is not signed yet; save a version and sign it")
            if amend_text is not None:
                self._append_version(eid, amend_text, user, "amendment")
            latest = self.latest_version(eid)
            if latest is None:
                raise ValueError(f"encounter {eid} has no note to sign; save a note version first")
            note = SignedNote(note_id=uuid.uuid4().hex, encounter_id=eid, version=latest.version,
                              text=latest.text, template=enc.template, patient=enc.patient,
                              author=user, signed_at=utcnow(),
                              replaces=enc.note_id if amend_text is not None else None)
            body = self.cipher.seal_text("signed_notes", note.note_id, "body", json.dumps(
                {"encounter_id": eid, "text": note.text, "patient": vars(note.patient)}))
            self.db.execute("INSERT INTO signed_notes (note_id, encounter_id, version, signed_at, "
                            "author, template, replaces, body) VALUES (?,?,?,?,?,?,?,?)",
                            (note.note_id, eid, note.version, note.signed_at, user, note.template,
                             note.replaces, body))
            self.db.execute("UPDATE encounters SET status = ?, signed_at = ?, note_id = ?, "
                            "updated_at = ? WHERE id = ?",
                            ("amended" if amend_text is not None else "signed", note.signed_at,
                             note.note_id, note.signed_at, eid))
        return note

    def signed_notes(self, eid: str) -> builtins.list[SignedNote]:
        self.status(eid)
        rows = self.db.execute("SELECT note_id, version, signed_at, author, template, replaces, "
                               "body FROM signed_notes WHERE encounter_id = ? ORDER BY version",
                               (eid,)).fetchall()
        out = []
        for r in rows:
            payload = json.loads(self.cipher.open_text("signed_notes", r[0], "body", r[6]))
            if payload.get("encounter_id") != eid:
                    raise TamperError(f"signed_notes[{r[0]}]: belongs to another encounter")
            out.append(SignedNote(note_id=r[0], encounter_id=eid, version=r[1],
                                  text=payload["text"], template=r[4],
                                  patient=Patient(**payload["patient"]), author=r[3],
                                  signed_at=r[2], replaces=r[5]))
        return out

    def signed_note(self, eid: str) -> SignedNote | None:
        notes = self.signed_notes(eid)
        return notes[-1] if notes else None

    # ------------------------------------------------------------ retention
    def purge_records(self, eid: str) -> None:
        """Delete an encounter and its history (retention only; the grant opens the triggers)."""
        with transaction(self.db):
            self.db.execute("INSERT OR IGNORE INTO purge_grants (encounter_id) VALUES (?)", (eid,))
            for table in ("note_versions", "signed_notes", "drafts", "transcripts"):
                self.db.execute(f"DELETE FROM {table} WHERE encounter_id = ?", (eid,))
            self.db.execute("DELETE FROM encounters WHERE id = ?", (eid,))
            self.db.execute("DELETE FROM purge_grants WHERE encounter_id = ?", (eid,))
