"""One fact per statement: compound sentences from the model are cut at a second main clause;
lists, subordinate clauses and what a clinician typed are not."""

from __future__ import annotations

import pytest
from localscribe.domain import Segment, Transcript
from localscribe.draft import sections as SX
from localscribe.draft.clauses import one_fact_sentences
from localscribe.draft.templates import load_template
from localscribe.verify.align import align


@pytest.mark.parametrize("sentence, parts", [
    # Seen in the drafts of ACI-Bench valid (bench_quality --reverify --clauses).
    ("He has not had a fever or chills, and he has not experienced any shortness of breath.",
     ["He has not had a fever or chills.", "He has not experienced any shortness of breath."]),
    ("The patient has been taking ibuprofen and ice, but it has not helped.",
     ["The patient has been taking ibuprofen and ice.", "It has not helped."]),
    ("The patient's blood pressure is 140/70; her heart rate is 80 beats per minute.",
     ["The patient's blood pressure is 140/70.", "Her heart rate is 80 beats per minute."]),
    ("His chest x-ray shows fluid in his lungs, and his echocardiogram shows reduced pumping function, "
     "and there was no lower extremity edema.",
     ["His chest x-ray shows fluid in his lungs.", "His echocardiogram shows reduced pumping function.",
      "There was no lower extremity edema."]),
])
def test_compound_sentences_become_one_clause_each(sentence, parts):
    assert one_fact_sentences(sentence) == parts
    # Only the joining word goes: every other word of the facts stays, in order.
    joined = " ".join(parts).lower().replace(".", "").replace(";", "").replace(",", "").split()
    original = sentence.lower().replace(".", "").replace(";", "").replace(",", "").split()
    assert [w for w in original if w not in ("and", "but")] == [w for w in joined if w not in ("and", "but")]


@pytest.mark.parametrize("sentence", [
    "She denies fever, chills, and cough.",                          # a list, no verb after "and"
    "The patient has pain in the left knee, which is worse at night.",  # subordinate clause
    "He has a cough, and it.",                                       # a cut would leave a fragment
    "Knee pain, and he is.",                                         # fragment before the cut
    "She takes lisinopril 20 mg and metformin 500 mg twice a day.",  # one clause
])
def test_lists_and_single_clauses_stay_whole(sentence):
    assert one_fact_sentences(sentence) == [sentence]


def _tr(*texts: str) -> Transcript:
    return Transcript([Segment(f"s{i + 1}", 3.0 * i, 3.0 * i + 3, t, "patient") for i, t in enumerate(texts)])


def test_statements_of_model_prose_carry_one_clause_and_their_own_evidence():
    template = load_template("soap")
    tr = _tr("I've had a cough for three days.", "No fever at all.", "My knee is fine.")
    written = [SX.SectionText("subjective", "She has had a cough for three days, and she has not had a fever.", True)]
    sec = {s.key: s for s in SX.to_sections(template, written, tr, align)}["subjective"]
    assert [st.text for st in sec.statements] == ["She has had a cough for three days.", "She has not had a fever."]
    assert sec.statements[0].evidence == ["s1"] and sec.statements[1].evidence == ["s2"]


def test_what_a_clinician_typed_is_never_cut():
    template = load_template("soap")
    tr = _tr("I've had a cough for three days.", "No fever at all.")
    text = "She has had a cough for three days, and she has not had a fever."
    sec = SX.to_sections(template, [SX.SectionText("subjective", text, True)], tr, align, clauses=False)[0]
    assert [st.text for st in sec.statements] == [text]
