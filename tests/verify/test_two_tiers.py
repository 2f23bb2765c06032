"""Issue 9: blocking flags for facts the visit never states or contradicts, none for what it says.

Every visit line below is a real ACI-Bench train turn (encounter id in the comment; Yim et al. 2023,
CC BY 4.0, github.com/wyim/aci-bench). For each kind of error that bench_verify.py injects there is
one statement carrying it, which must be flagged blocking, beside the faithful statement, which
must not; then the false-alarm patterns named in the issue; then re-linking.
"""

from __future__ import annotations

import pytest
from localscribe.domain import Draft, Section, Segment, Statement, Transcript
from localscribe.verify import verify_draft

LINES = [
    # D2N001
    ("doctor", "okay , good . and any symptoms like chest pains , shortness of breath , any swelling in your legs ?"),
    ("patient", "no , not that i've noticed ."),
    ("doctor", "let's go ahead , i wan na look at some of your results , okay ? hey , dragon , show me the "
               "echocardiogram . so , this is the result of the echocardiogram that we did last year . it showed "
               "that you have that low-ish pumping function of your heart at about 45 % . and it also sh- shows "
               "some mitral regurgitation , that's that heart murmur that i heard , okay ?"),
    # D2N002
    ("doctor", "hey , dragon , show me the right knee x-ray . so here's the r- here's your right knee x-ray . "
               "this basically shows that there's good bony alignment . there's no acute fracture , which is not "
               "surprising , based on the history ."),
    # D2N004
    ("doctor", "and i wan na go ahead and prescribe meloxicam 15 milligrams once a day , and i'd like to refer "
               "you to physical therapy to kind of strengthen that area ."),
    ("doctor", "hey , dragon , order meloxicam 15 milligrams once a day . for your next problem , your type 2 "
               "diabetes , i would like to increase your metformin to 1,000 milligrams twice daily-"),
    # D2N041
    ("patient", "yeah my throat has been hurting me for like four four days now and i think i had a fever last "
                "night because i was really sweaty but i did n't take my temperature because i was already in bed"),
    # D2N003
    ("doctor", "okay . and what have you taken for the pain ?"),
    ("patient", "tylenol , but it really does n't seem to help ."),
    # D2N038
    ("patient", "regular rate and rhythm with a grade two out of six systolic ejection murmur is appreciated on "
                "your lung exam your lungs are clear without wheezes rales or rhonchi on your abdominal exam bowel "
                "sounds are present your abdomen is soft with no hepatosplenomegaly"),
    # D2N037
    ("doctor", "alright so little bit of pain on flexion and extension little bit of limited range of motion on "
               "extension of the arm how about if you twist like you're opening a door"),
    ("patient", "yes"),
    ("doctor", "okay so some pain with torsion and twisting supination what about pronation"),
    ("patient", "no"),
    ("doctor", "no pain with pronation on the right side"),
    ("patient", "mm-hmm"),
    ("doctor", "same thing on the left"),
    ("patient", "yes"),
    ("doctor", "pain with supination no pain with pronation"),
]


@pytest.fixture(scope="module")
def visit() -> Transcript:
    return Transcript([Segment(f"seg{i + 1}", i, i + 1, text, "clinician" if spk == "doctor" else "patient")
                       for i, (spk, text) in enumerate(LINES)])


def verify(visit: Transcript, text: str, evidence: list[str] | None = None) -> Statement:
    st = Statement("st1", text, list(evidence or []))
    verify_draft(Draft("soap", [Section("s", "S", [st])]), visit)
    return st


def blocking(visit: Transcript, text: str, evidence: list[str] | None = None) -> list[str]:
    return [f.kind for f in verify(visit, text, evidence).blocking_flags]


# (kind injected, faithful statement, the same with one error, evidence the faithful one rests on)
INJECTED = [
    ("side", "Right knee x-ray shows good bony alignment.", "Left knee x-ray shows good bony alignment.", ["seg4"]),
    ("number", "Echocardiogram shows an ejection fraction of 45%.", "Echocardiogram shows an ejection fraction of 55%.",
     ["seg3"]),
    ("unit", "Meloxicam 15 mg once a day.", "Meloxicam 15 mcg once a day.", ["seg5"]),
    ("dose", "Meloxicam 15 mg once a day.", "Meloxicam 30 mg once a day.", ["seg5"]),
    ("frequency", "Increase metformin to 1000 mg twice daily.", "Increase metformin to 1000 mg once daily.", ["seg6"]),
    ("frequency", "Meloxicam 15 mg once a day.", "Meloxicam 15 mg every 6 hours.", ["seg5"]),
    ("negation: denies->reports", "Denies chest pain or shortness of breath.",
     "Reports chest pain or shortness of breath.",
     ["seg1", "seg2"]),
    ("negation: reports->denies", "Reports sore throat and a fever last night.", "Denies sore throat.", ["seg7"]),
    ("drug", "Increase metformin to 1000 mg twice daily.", "Increase glipizide to 1000 mg twice daily.", ["seg6"]),
    ("symptom", "Right knee x-ray shows no acute fracture.",
     "Right knee x-ray shows no acute fracture, and reports hematuria.", ["seg4"]),
]


@pytest.mark.parametrize("kind, faithful, wrong, evidence", INJECTED,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(INJECTED)])
def test_each_injected_error_is_blocking_and_the_faithful_statement_is_not(visit, kind, faithful, wrong, evidence):
    assert blocking(visit, faithful, evidence) == [], faithful
    assert blocking(visit, wrong, evidence), f"{kind} not caught: {wrong}"
    assert blocking(visit, wrong, []), f"{kind} not caught without evidence: {wrong}"


def test_reasons_are_plain_words_without_line_ids(visit):
    st = verify(visit, "Reports chest pain and hematuria, on meloxicam 30 mg every 6 hours.", ["seg1"])
    assert len(st.blocking_flags) >= 3
    for f in st.flags:
        assert "seg" not in f.reason and f.reason.endswith(".")
    assert len({(f.kind, f.span) for f in st.flags}) == len(st.flags)      # one flag per distinct problem


# -- the false alarms named in the issue --------------------------------------------------------
def test_no_pain_with_pronation_of_the_forearm_is_not_about_the_forearm(visit):
    st = verify(visit, "No pain with pronation of the forearm.", ["seg13", "seg14", "seg15"])
    assert st.flags == []


def test_a_qualified_denial_still_meets_its_own_contradiction(visit):
    # "pain with supination" was reported: denying exactly that is a flip, and about pain, not the forearm
    st = verify(visit, "No pain with supination of the forearm.", ["seg19"])
    assert [f.kind for f in st.blocking_flags] == ["negation"]
    assert "forearm" not in st.flags[0].span and "supination" in st.flags[0].reason


def test_it_did_not_seem_to_help_is_not_a_negated_finding(visit):
    assert verify(visit, "He has taken Tylenol, but it did not seem to help.", ["seg9"]).flags == []


def test_regular_rate_and_rhythm_is_not_flagged(visit):
    assert verify(visit, "Regular rate and rhythm.", ["seg10"]).flags == []
    assert verify(visit, "Heart: regular rate and rhythm with a grade 2/6 systolic ejection murmur.", []).flags == []


def test_negation_scope_ends_with_the_clause_and_the_list(visit):
    # the denial covers the whole list, and stops where the sentence turns to what was reported
    assert blocking(visit, "Denies chest pain, shortness of breath, or leg swelling, but reports a sore throat.") == []


# -- re-linking --------------------------------------------------------------------------------
def test_a_fact_said_elsewhere_moves_the_evidence_and_raises_no_flag(visit):
    st = verify(visit, "Increase metformin to 1000 mg twice daily.", ["seg9"])
    assert st.flags == [] and st.evidence == ["seg6"]


def test_a_denial_is_relinked_to_the_question_and_its_answer(visit):
    st = verify(visit, "Denies shortness of breath.", ["seg4"])
    assert st.flags == [] and st.evidence == ["seg1", "seg2"]


def test_evidence_that_holds_the_facts_is_kept(visit):
    st = verify(visit, "Meloxicam 15 mg once a day.", ["seg5"])
    assert st.flags == [] and st.evidence == ["seg5"]


def test_the_side_is_judged_where_the_visit_speaks_of_the_same_finding():
    # The bundled sample visit (assets/sample_visit/script.txt): left knee swollen, right knee fine.
    lines = ["Hi, doctor. I've had a cough for about two weeks, and now my left knee is swollen and sore.",
             "And the left knee, did you injure it?",
             "I twisted it playing football on Saturday. The right knee is fine."]
    visit = Transcript([Segment(f"seg{i + 1}", i, i + 1, t) for i, t in enumerate(lines)])
    assert blocking(visit, "Left knee swollen and sore.") == []
    assert blocking(visit, "Right knee swollen and sore.") == ["laterality"]
    assert blocking(visit, "The right knee is fine.") == []


# -- false alarms found on ACI-Bench train (bench_verify --split train --show flags) -------------
TRAIN_LIKE = Transcript([
    Segment("t1", 0, 1, "so tell me about the pain in your back", "clinician"),
    Segment("t2", 1, 2, "it hurts all the time in my lower back", "patient"),
    Segment("t3", 2, 3, "any numbness or tingling in your legs", "clinician"),
    Segment("t4", 3, 4, "no", "patient"),
    Segment("t5", 4, 5, "and do you drink alcohol", "clinician"),
    Segment("t6", 5, 6, "no i don't drink alcohol", "patient"),
    Segment("t7", 6, 7, "and you said you passed a kidney stone last year", "clinician"),
])


def test_a_denial_associated_with_a_reported_finding_does_not_deny_that_finding():
    # D2N060: "no numbness ... associated with her pain" was read as "no pain".
    assert blocking(TRAIN_LIKE, "There is no numbness or tingling associated with her pain.") == []
    assert "negation" in blocking(TRAIN_LIKE, "There is no back pain.")     # a real flip still blocks


def test_drinking_fluids_is_not_alcohol_use():
    # D2N028, D2N052: "eating and drinking normally", "drink plenty of fluids" were read as alcohol use.
    assert blocking(TRAIN_LIKE, "He is drinking normally.") == []
    assert blocking(TRAIN_LIKE, "She was advised to drink plenty of fluids for the kidney stone.") == []
    assert "negation" in blocking(TRAIN_LIKE, "He reports alcohol use.")    # the denied habit still blocks
