"""Encounters stored through the vault's own API as the pipeline leaves them, for the review
tests (test_review_*.py): a transcript and a draft whose flags the verifier set."""

from __future__ import annotations

from localscribe.domain import Draft, Patient, Section, Segment, Statement, Transcript

from ui_helpers import PASSPHRASE

TRANSCRIPT = Transcript([
    Segment("s0", 0.0, 2.0, "What brings you in today?", "clinician"),
    Segment("s1", 2.5, 6.0, "I have had a dry cough for two weeks.", "patient"),
    Segment("s2", 6.5, 8.0, "Any chest pain?", "clinician"),
    Segment("s3", 8.2, 9.0, "No chest pain.", "patient"),
    Segment("s4", 9.5, 12.0, "Take honey and warm fluids for the cough.", "clinician")])
FLAGGED = "Amoxicillin 500 mg three times daily."


def reviewable_encounter(vault, name: str = "Alan Turing") -> str:
    """Two supported statements and one the visit never mentions (the verifier flags it)."""
    from localscribe.verify import verify_draft
    draft = verify_draft(Draft("soap", sections=[
        Section("subjective", "Subjective", [Statement("st1", "Dry cough for two weeks.", ["s1"]),
                                             Statement("st2", "Denies chest pain.", ["s2", "s3"])]),
        Section("plan", "Plan", [Statement("st3", FLAGGED, [])])]), TRANSCRIPT)
    assert [st.id for st in draft.blocking] == ["st3"], draft    # the premise of the tests
    s = vault.unlock("sam", PASSPHRASE)
    eid = s.create_encounter(Patient(name=name, mrn="MRN-42"), "soap")
    s.save_transcript(eid, TRANSCRIPT)
    s.save_draft(eid, draft)
    s.set_status(eid, "review")
    s.lock()
    return eid


def sign_in_vault(vault, eid: str, text: str) -> None:
    """drjones saves `text` as the note and signs it (st3 acknowledged) through the vault's API."""
    s = vault.unlock("drjones", PASSPHRASE)
    s.save_note_version(eid, text)
    s.sign(eid, acknowledged_flag_ids=["st3"])
    s.lock()
