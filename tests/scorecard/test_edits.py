"""Edit counting at signing: the distance, the section split, the grades, the flag outcomes,
and that only counts reach the audit trail."""

from __future__ import annotations

import itertools
import json
import random


from localscribe.domain import Patient, SignedNote
from localscribe.scorecard import edits
from scorecard_helpers import PASS, PHI_WORDS, draft


def _reference(a, b):
    """Plain textbook Levenshtein (no trimming) to check the fast one against."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


def test_edit_distance_matches_the_textbook_definition():
    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 9))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 9))]
        assert edits.edit_distance(a, b) == _reference(a, b), (a, b)


def test_words_ignore_case_punctuation_and_layout():
    assert edits.words("- Start Amoxicillin 500 mg, t.i.d.\n") == \
        ["start", "amoxicillin", "500", "mg", "t.i.d"]
    assert edits.edit_distance(edits.words("No fever."), edits.words("no   FEVER")) == 0


def test_grade_thresholds():
    assert edits.grade(0, 18) == "unchanged"
    assert edits.grade(2, 18) == "minor"            # 11%
    assert edits.grade(3, 20) == "minor"            # exactly 15%
    assert edits.grade(4, 20) == "major"
    assert edits.grade(3, 0) == "major"             # everything written by hand


def _note(text):
    return SignedNote("n1", "e1", 1, text, "soap", Patient("Zelda Quixote"), "doc", "t")


def test_sections_split_at_headings_even_reworded_as_markdown():
    d = draft({"P1": 1})
    text = ("## Subjective:\nquokka cough for three days. No fever.\n"
            "PLAN\nstart amoxicillin 250 mg three times daily\nextra words here\n")
    e = edits.note_edits(d, _note(text))
    by = {s.key: (s.draft_words, s.signed_words, s.changed) for s in e.sections}
    assert by == {"subjective": (7, 7, 0), "objective": (2, 0, 2), "assessment": (2, 0, 2),
                  "plan": (7, 10, 4)}
    assert (e.flags_raised, e.flags_unchanged, e.flags_fixed) == (1, 0, 1)
    assert e.grade == "major" and e.changed == 8


def test_details_hold_counts_only(tmp_path):
    d = draft({"S1": 1})
    details = edits.note_edits(d, _note("SUBJECTIVE\n\nZelda Quixote quokka.")).to_details()
    blob = json.dumps(details).lower()
    for word in PHI_WORDS:
        assert word.lower() not in blob
    assert edits.NoteEdits.from_details(details) == edits.note_edits(
        d, _note("SUBJECTIVE\n\nZelda Quixote quokka."))


def test_a_failure_in_counting_never_blocks_signing(paths, monkeypatch):
    """A bug in the counting is recorded by kind (no message: it could quote the note) and the
    signature stands."""
    from localscribe.domain import Patient
    from localscribe.vault import TEST_PARAMS, Vault

    vault = Vault.create(paths, "admin", PASS, kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", PASS)
    admin.add_user("doc", "clinician", PASS)
    admin.add_user("aud", "auditor", PASS)
    admin.lock()
    doc = vault.unlock("doc", PASS)
    eid = doc.create_encounter(Patient("Zelda Quixote", "MRN-4471"), "soap")
    doc.save_draft(eid, draft())
    doc.save_note_version(eid, "SUBJECTIVE\n\nquokka cough")

    def broken(*_):
        raise RuntimeError("Zelda Quixote quokka")
    monkeypatch.setattr(edits, "note_edits", broken)
    assert doc.sign(eid).encounter_id == eid
    doc.lock()
    aud = vault.unlock("aud", PASS)
    ev = [e for e in aud.audit_events() if e.action == "scorecard.edits"][-1]
    assert (ev.outcome, ev.details) == ("error", {"error": "RuntimeError"})
    aud.lock()
    vault.close()


def test_a_section_key_that_could_carry_words_never_leaves_the_session():
    """Keys come from templates; one that is not a plain key (a crafted draft, a practice
    template named after a patient) is counted as ``_custom``, never written out."""
    from localscribe.domain import Draft, Section, Statement
    d = Draft("soap", [Section("Zelda Quixote MRN-4471", "ZELDA", [Statement("x", "quokka")]),
                       Section("plan", "PLAN", [Statement("p", "rest")])])
    details = edits.note_edits(d, _note("ZELDA\n\nquokka\n\nPLAN\n\nrest")).to_details()
    assert set(details["sections"]) == {"_custom", "plan"}
    assert "zelda" not in json.dumps(details).lower()
