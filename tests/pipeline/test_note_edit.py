"""pipeline.note_edit: the edited note text re-split into statements and re-verified (the
real splitter, aligner and verifier; no model needed)."""

from __future__ import annotations

from localscribe.domain import Draft, Section, Segment, Statement, Transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.pipeline.note_edit import reconcile, split_note
from localscribe.verify import verify_draft

T = Transcript([
    Segment("s0", 0.0, 2.0, "What brings you in today?", "clinician"),
    Segment("s1", 2.5, 6.0, "I have had a dry cough for two weeks.", "patient"),
    Segment("s2", 6.5, 8.0, "Any chest pain?", "clinician"),
    Segment("s3", 8.2, 9.0, "No chest pain.", "patient"),
    Segment("s4", 9.5, 12.0, "Take honey and warm fluids for the cough.", "clinician")])
SOAP = load_template("soap")


def _draft() -> Draft:
    return verify_draft(Draft("soap", sections=[
        Section("subjective", "SUBJECTIVE", [Statement("st1", "Dry cough for two weeks.", ["s1"]),
                                             Statement("st2", "Denies chest pain.", ["s2", "s3"])]),
        Section("objective", "OBJECTIVE", [], notice="Nothing was drafted for OBJECTIVE."),
        Section("plan", "PLAN", [Statement("st3", "Amoxicillin 500 mg three times daily.", [])])]), T)


def test_unchanged_text_is_the_same_draft():
    d = _draft()
    assert d.blocking and d.blocking[0].id == "st3"
    again = reconcile(d, render_note(d, SOAP), T, SOAP)
    assert again.to_dict() == d.to_dict()


def test_rewritten_deleted_and_new_sentences():
    d = _draft()
    text = render_note(d, SOAP).replace("Amoxicillin 500 mg three times daily.",
                                        "Honey and warm fluids for the cough.")
    r = reconcile(d, text, T, SOAP)
    by_text = {st.text: st for st in r.statements}
    assert by_text["Dry cough for two weeks."].id == "st1"
    assert by_text["Denies chest pain."].evidence == ["s2", "s3"]
    fresh = by_text["Honey and warm fluids for the cough."]
    assert fresh.id.startswith("ed") and "s4" in fresh.evidence and not fresh.blocking_flags
    assert r.blocking == [] and d.blocking                   # the original is not changed

    r = reconcile(d, text.replace(" Denies chest pain.", "") + "Prescribed lisinopril 20 mg daily.\n",
                  T, SOAP)
    assert "st2" not in {st.id for st in r.statements}
    [flagged] = r.blocking
    assert flagged.text == "Prescribed lisinopril 20 mg daily." and flagged.id.startswith("ed")
    assert {f.kind for f in flagged.blocking_flags} >= {"drug"}
    assert "st2" in r.unacknowledged(set()) or flagged.id in r.unacknowledged(set())


def test_a_written_section_clears_its_notice_and_an_empty_one_keeps_it():
    d = _draft()
    text = render_note(d, SOAP)
    assert reconcile(d, text, T, SOAP).notices[0].key == "objective"
    written = reconcile(d, text + "\nOBJECTIVE:\n\nNo distress.\n", T, SOAP)
    assert written.notices == []
    assert [st.text for st in written.sections[1].statements] == ["No distress."]


def test_bullets_headings_in_any_case_and_text_before_the_first_heading():
    parts = split_note("Seen today.\nsubjective:\n- cough\n- no fever\nPlan\n1. rest\n", SOAP)
    assert parts == {"subjective": "Seen today. cough. no fever.", "plan": "rest."}


def test_a_sentence_written_twice_is_a_new_statement_the_second_time():
    d = _draft()
    text = render_note(d, SOAP).replace("Denies chest pain.", "Denies chest pain. Denies chest pain.")
    ids = [st.id for st in reconcile(d, text, T, SOAP).statements if st.text == "Denies chest pain."]
    assert ids[0] == "st2" and ids[1].startswith("ed") and len(ids) == 2


def test_a_compound_sentence_the_clinician_types_stays_one_statement():
    # The model's prose is cut into one clause per statement (draft/clauses.py); what a
    # clinician writes is signed as they wrote it.
    d = _draft()
    typed = "She has had a dry cough for two weeks, and she has not had chest pain."
    r = reconcile(d, render_note(d, SOAP).replace("Dry cough for two weeks.", typed), T, SOAP)
    assert typed in {st.text for st in r.statements}
