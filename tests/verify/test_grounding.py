"""The verifier on hand-written drafts: each rule must flag what it should and only that."""

from __future__ import annotations

import pytest
from localscribe.domain import Draft, Section, Segment, Statement, Transcript
from localscribe.verify import UNSUPPORTED_KINDS, unsupported_rate, verify_draft
from localscribe.verify.negation import split_polarity

VISIT = [
    ("s1", "clinician", "Any chest pain?"),
    ("s2", "patient", "No."),
    ("s3", "patient", "I've had a cough for three days and no fever."),
    ("s4", "patient", "I take lisinopril twenty milligrams once a day and Lasix."),
    ("s5", "clinician", "There is some swelling in the left knee."),
    ("s6", "patient", "I do not have chest pain, but my back hurts."),
    ("s7", "clinician", "Your blood pressure is 130 over 85 and the ejection fraction is 45 percent."),
    ("s8", "clinician", "Let's start metforman 500 mg twice a day."),    # ASR misspelling
]


@pytest.fixture()
def transcript() -> Transcript:
    return Transcript([Segment(i, n, n + 1, text, spk) for n, (i, spk, text) in enumerate(VISIT)])


def check(transcript: Transcript, text: str, evidence: list[str]) -> list[str]:
    st = Statement("st1", text, evidence)
    verify_draft(Draft("soap", [Section("s", "S", [st])]), transcript)
    return [f.kind for f in st.flags]


@pytest.mark.parametrize("text, evidence", [
    ("Reports chest pain.", ["s6"]),
    ("Chest pain on exertion.", ["s3"]),
    ("Complains of pain in the chest.", ["s6"]),
    ("Patient has chest pain and a cough.", ["s1", "s3"]),
    ("Fever for three days.", ["s3"]),
])
def test_asserting_a_denied_finding_is_flagged(transcript, text, evidence):
    assert "negation" in check(transcript, text, evidence)


@pytest.mark.parametrize("text, evidence", [
    ("Denies chest pain.", ["s1", "s2"]),
    ("No chest pain.", ["s6"]),
    ("No fever.", ["s3"]),
    ("Back pain.", ["s6"]),                          # "pain" was denied only as chest pain
    ("Cough for 3 days.", ["s3"]),
])
def test_faithful_statements_are_not_flagged(transcript, text, evidence):
    assert check(transcript, text, evidence) == []


def test_negating_a_reported_finding_is_flagged(transcript):
    assert "negation" in check(transcript, "Denies cough.", ["s3"])


def test_the_flag_explains_itself(transcript):
    st = Statement("st1", "Reports chest pain.", ["s6"])
    verify_draft(Draft("soap", [Section("s", "S", [st])]), transcript)
    (flag,) = st.flags
    assert "chest pain" in flag.reason and "denied" in flag.reason and flag.span == "chest pain"


def test_invented_dose_is_flagged(transcript):
    assert check(transcript, "Lisinopril 40 mg daily.", ["s4"]) == ["dose"]


def test_dose_in_a_unit_never_said_is_flagged(transcript):
    assert check(transcript, "Lisinopril 20 mcg daily.", ["s4"]) == ["unit"]


def test_spelled_out_dose_matches_digits(transcript):
    assert check(transcript, "Lisinopril 20 mg once a day.", ["s4"]) == []


def test_invented_number_is_flagged(transcript):
    assert check(transcript, "Cough for 5 days.", ["s3"]) == ["number"]
    assert check(transcript, "Ejection fraction 55%.", ["s7"]) == ["number"]


def test_blood_pressure_and_percent(transcript):
    assert check(transcript, "Blood pressure 130/85, ejection fraction 45%.", ["s7"]) == []


def test_drug_never_mentioned_is_flagged(transcript):
    assert check(transcript, "Continue atorvastatin.", ["s4"]) == ["drug"]


def test_brand_and_generic_names_are_the_same_drug(transcript):
    assert check(transcript, "Takes furosemide.", ["s4"]) == []


def test_asr_misspelled_drug_still_counts(transcript):
    assert check(transcript, "Start metformin 500 mg twice a day.", ["s8"]) == []


def test_fact_said_elsewhere_than_the_cited_lines_is_relinked_not_flagged(transcript):
    # Changed with issue 9: this used to raise two "evidence" flags; now the evidence moves.
    st = Statement("st1", "Lisinopril 20 mg daily.", ["s7"])
    verify_draft(Draft("soap", [Section("s", "S", [st])]), transcript)
    assert st.flags == [] and st.evidence == ["s4"]


def test_wrong_side_is_flagged(transcript):
    assert check(transcript, "Swelling of the right knee.", ["s5"]) == ["laterality"]
    assert check(transcript, "Swelling of the left knee.", ["s5"]) == []


def test_statement_without_evidence_or_with_unknown_ids_is_relinked(transcript):
    # Changed with issue 9: "no-evidence" / "bad-evidence" flags gave way to re-linking.
    for cited in ([], ["?S99"], ["s1"]):
        st = Statement("st1", "Cough for 3 days.", list(cited))
        verify_draft(Draft("soap", [Section("s", "S", [st])]), transcript)
        assert st.flags == [] and st.evidence == ["s3"], cited


def test_statement_nothing_in_the_visit_supports_gets_an_informational_flag(transcript):
    st = Statement("st1", "Patient agrees with the treatment plan and understands the risks.", [])
    verify_draft(Draft("soap", [Section("s", "S", [st])]), transcript)
    assert [f.kind for f in st.flags] == ["weak-evidence"] and not st.blocking_flags


def test_unsupported_rate_counts_fact_flags_only(transcript):
    sts = [Statement("a", "Lisinopril 40 mg daily.", ["s4"]),     # dose: unsupported
           Statement("b", "Cough for 3 days.", ["s3"]),           # fine
           Statement("c", "Patient agrees with the plan.", []),   # nothing to support it: info only
           Statement("d", "Reports chest pain.", ["s6"])]         # negation: unsupported
    d = verify_draft(Draft("soap", [Section("s", "S", sts)]), transcript)
    assert unsupported_rate(d) == 0.5
    assert {f.kind for st in d.statements for f in st.flags} - UNSUPPORTED_KINDS == {"weak-evidence"}


def test_verification_replaces_old_flags(transcript):
    st = Statement("a", "Cough for 3 days.", ["s3"])
    d = Draft("soap", [Section("s", "S", [st])])
    verify_draft(d, transcript)
    verify_draft(d, transcript)
    assert st.flags == []


@pytest.mark.parametrize("text, asserted, negated", [
    ("No fever or chills, but a cough.", {"cough"}, {"fever", "chill"}),
    ("Denies nausea.", set(), {"nausea"}),
    ("Non-smoker.", set(), {"smoker"}),
])
def test_negation_scope(text, asserted, negated):
    a, n = split_polarity(text)
    assert asserted <= a and negated <= n and not (a & negated)


def test_negated_lists_and_pseudo_negation():
    a, n = split_polarity("She has not noticed any chest pains, shortness of breath, or swelling in her legs.")
    assert {"chest pain", "breath", "swelling"} <= n and not ({"breath", "swelling"} & a)
    a, n = split_polarity("No issues with her congestive heart failure.")
    assert "congestive heart" not in n and "heart failure" in a
