"""The patient's signed instructions (after-visit summary) as a second document beside the note.

A connector that can carry a second document sends it right after the note, in the same job,
as a ``SignedNote`` of its own (``companion``): the same patient, visit, author and signing
time, LOINC 69730-0 "Instructions", and an id derived from the note's (``<note_id>-pi``), so the
connector's own idempotency (FHIR conditional create, HL7 TXA-12, the file name) keeps a retried
job from delivering it twice. Only the note the summary was signed with carries it: an
amendment corrects the note, not the patient's copy.

A connector says how it carries it in ``second_document`` (one line); one without that
attribute sends the note alone, and ``connectors list/check`` and the send itself say so
(``not_carried``) instead of dropping the summary silently.
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Callable
from typing import Any

from localscribe.domain import PushReceipt, SignedNote

LOINC_CODE, LOINC_DISPLAY = "69730-0", "Instructions"
SUFFIX = "-pi"
NOT_CARRIED = ("patient instructions: not carried (this connector sends the note only; give the "
               "patient the printed copy: localscribe instructions show)")


def companion_id(note_id: str) -> str:
    return note_id + SUFFIX


def companion(note: SignedNote) -> SignedNote | None:
    """The instructions as a document of their own, or None when ``note`` carries none."""
    if not note.instructions or note.replaces:
        return None
    return replace(note, note_id=companion_id(note.note_id), text=note.instructions,
                   template="patient_instructions", loinc=LOINC_CODE,
                   loinc_display=LOINC_DISPLAY, instructions="",
                   language=note.instructions_language, instructions_language="")


def with_companion(send: Callable[[SignedNote], PushReceipt], note: SignedNote,
                   receipt: Callable[..., PushReceipt]) -> PushReceipt:
    """``send`` the note, then its instructions as a second document when it carries them
    (one after the other: the note's answer comes first); one receipt names both."""
    first = send(note)
    extra = companion(note)
    if extra is None:
        return first
    second = send(extra)
    return receipt(note, remote_id=first.remote_id,
                   detail=f"{first.detail}; patient instructions {second.detail}")


def carried_by(factory: Any) -> str:
    """How a connector class carries the instructions, in one line (``NOT_CARRIED`` if not)."""
    how = str(getattr(factory, "second_document", "") or "")
    return f"patient instructions: {how}" if how else NOT_CARRIED


def with_instructions(session: Any, note: SignedNote) -> SignedNote:
    """``note`` carrying the patient instructions signed with it (unchanged when none were)."""
    from localscribe.instructions import store

    signed = store.signed(session, note.encounter_id)
    if signed is None or signed.note_id != note.note_id:
        return note
    return replace(note, instructions=signed.text, instructions_language=signed.lang.value)
