"""The summary in the vault: sealed under (table, record id, "body") like drafts and signed
notes, role-checked through the session's capability, and audited without PHI.

Drafts of the summary are appended (the latest one counts, as for note drafts). At signing,
``seal_with_note`` copies the latest summary, rendered, into ``signed_instructions`` under the
signed note's id: the patient's copy is fixed by the same act and the same person as the
note, and is immutable like it (triggers in vault.schema). Its blocking flags must be
acknowledged at signing like the note's (``unacknowledged``; ids "pi3", "pi3#0").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from localscribe.domain import Draft, SignedNote
from localscribe.instructions.prompts import Language
from localscribe.instructions.reading import Reading, reading_level
from localscribe.vault import roles
from localscribe.vault.crypto import TamperError
from localscribe.vault.audit import utcnow
from localscribe.vault.db import transaction

DRAFTS, SIGNED = "patient_instructions", "signed_instructions"


class InstructionsError(ValueError):
    """A summary cannot be saved or found (one line for the user)."""


@dataclass(frozen=True)
class StoredSummary:
    id: str
    encounter_id: str
    lang: Language
    created_at: str
    created_by: str
    summary: Draft

    @property
    def reading(self) -> Reading:
        from localscribe.instructions.render import plain_sentences

        return reading_level(plain_sentences(self.summary), self.lang)


@dataclass(frozen=True)
class SignedSummary:
    note_id: str
    encounter_id: str
    instructions_id: str
    lang: Language
    signed_at: str
    author: str
    text: str
    summary: Draft


def _signed_statuses() -> frozenset[str]:
    from localscribe.vault.encounters import SIGNED_STATUSES

    return frozenset(SIGNED_STATUSES)


def save(session: Any, eid: str, summary: Draft, lang: Language) -> str:
    """Append a drafted summary for an unsigned encounter; returns its id."""
    session.capability.require(roles.PHI_WRITE, eid)
    enc = session.get_encounter(eid)
    if enc.status in _signed_statuses():
        raise InstructionsError(f"encounter {eid} is signed: its patient instructions were signed "
                                "with the note and cannot be redrafted")
    iid = uuid.uuid4().hex
    body = session.cipher.seal_text(DRAFTS, iid, "body", json.dumps(
        {"encounter_id": eid, "lang": Language(lang).value, "summary": summary.to_dict()}))
    with transaction(session.db):
        session.db.execute(f"INSERT INTO {DRAFTS} (id, encounter_id, created_at, created_by, lang, body) "
                           "VALUES (?,?,?,?,?,?)", (iid, eid, utcnow(), session.user, Language(lang).value, body))
    session.audit("instructions.save", eid, instructions_id=iid, lang=Language(lang).value,
                  model_sha256=summary.model_sha256, prompt_sha256=summary.prompt_sha256,
                  statements=len(summary.statements), flagged=len(summary.flagged),
                  blocking=len(summary.blocking))
    return iid


def _latest(session: Any, eid: str) -> StoredSummary | None:
    row = session.db.execute(f"SELECT id, created_at, created_by, lang, body FROM {DRAFTS} WHERE "
                             "encounter_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                             (eid,)).fetchone()
    if row is None:
        return None
    payload = json.loads(session.cipher.open_text(DRAFTS, row[0], "body", row[4]))
    if payload.get("encounter_id") != eid or payload.get("lang") != row[3]:
        raise TamperError(f"{DRAFTS}[{row[0]}]: belongs to another encounter")
    return StoredSummary(row[0], eid, Language(row[3]), row[1], row[2], Draft.from_dict(payload["summary"]))


def load(session: Any, eid: str) -> StoredSummary | None:
    """The latest drafted summary of the encounter, or None."""
    session.capability.require(roles.PHI_READ, eid)
    session.get_encounter(eid)            # an unknown encounter is an error, not "no summary"
    return _latest(session, eid)


def signed(session: Any, eid: str) -> SignedSummary | None:
    """The summary signed with the encounter's first signed note, or None."""
    session.capability.require(roles.PHI_READ, eid)
    session.get_encounter(eid)
    row = session.db.execute(f"SELECT note_id, instructions_id, lang, signed_at, author, body FROM "
                             f"{SIGNED} WHERE encounter_id = ? ORDER BY signed_at, rowid LIMIT 1",
                             (eid,)).fetchone()
    if row is None:
        return None
    payload = json.loads(session.cipher.open_text(SIGNED, row[0], "body", row[5]))
    if payload.get("encounter_id") != eid or payload.get("note_id") != row[0]:
        raise TamperError(f"{SIGNED}[{row[0]}]: belongs to another encounter or note")
    return SignedSummary(row[0], eid, row[1], Language(row[2]), row[3], row[4], payload["text"],
                         Draft.from_dict(payload["summary"]))


# ------------------------------------------------------------ the sign hook (vault.session.sign)

def unacknowledged(session: Any, eid: str, acknowledged: set[str]) -> list[str]:
    """What of the encounter's summary still blocks signing (same rule as the note's)."""
    current = _latest(session, eid)
    return current.summary.unacknowledged(acknowledged) if current else []


def seal_with_note(session: Any, eid: str, note: SignedNote) -> str | None:
    """Sign the latest summary with ``note`` (called by the session right after the note is
    signed, by the signer); returns the summary's id, or None when the visit has none."""
    from localscribe.instructions.render import render_text

    current = _latest(session, eid)
    if current is None:
        return None
    text = render_text(current.summary, current.lang)
    body = session.cipher.seal_text(SIGNED, note.note_id, "body", json.dumps(
        {"encounter_id": eid, "note_id": note.note_id, "text": text,
         "summary": current.summary.to_dict()}))
    with transaction(session.db):
        session.db.execute(f"INSERT INTO {SIGNED} (note_id, encounter_id, instructions_id, lang, "
                           "signed_at, author, body) VALUES (?,?,?,?,?,?,?)",
                           (note.note_id, eid, current.id, current.lang.value, note.signed_at,
                            session.user, body))
    session.audit("instructions.sign", eid, note_id=note.note_id, instructions_id=current.id,
                  lang=current.lang.value)
    return current.id
