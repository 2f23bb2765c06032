"""A learned profile applied to drafting changes the caps, the skipped sections, the request's
words and the text exactly as expected (no model: the functions drafting calls)."""

from __future__ import annotations

import types

from localscribe.draft import sections as SX
from localscribe.draft.incremental import IncrementalDrafter
from localscribe.draft.templates import SectionSpec, load_template
from localscribe.style import apply as A
from localscribe.style.profile import SectionStyle, StyleProfile, visit_scale

HPI = SectionSpec("hpi", "HISTORY OF PRESENT ILLNESS", "History.", max_statements=16, min_statements=3)
ROS = SectionSpec("ros", "REVIEW OF SYSTEMS", "Systems.", max_statements=8)
RESULTS = SectionSpec("results", "RESULTS", "Results.", max_statements=6)

PROFILE = StyleProfile(notes=10, sections=(
    SectionStyle("hpi", words=150.0), SectionStyle("ros", skip=True),
    SectionStyle("results", words=20.0, always=True)),
    words_per_sentence=15.0, negative="no",
    swaps=(("milligrams", "mg"), ("shortness of breath", "SOB"), ("the patient", "she")))


def test_caps_follow_the_clinicians_length_for_this_visit():
    # A typical visit: 150 words / 15 per sentence = 10 sentences (the template allows 16).
    assert A.section_spec(PROFILE, HPI, 1200).max_statements == 10
    # A short visit (200 words): scaled down on fit_to_visit's curve, never under the minimum.
    assert A.section_spec(PROFILE, HPI, 200).max_statements == round(10 * visit_scale(200))
    assert A.section_spec(PROFILE, HPI, 0).max_statements >= HPI.min_statements
    # Never above the template's own cap (its token budget is sized for it).
    long = StyleProfile(notes=10, sections=(SectionStyle("hpi", words=900.0),))
    assert A.section_spec(long, HPI, 5000).max_statements == 16


def test_always_deleted_is_not_drafted_and_always_written_cannot_be_none():
    assert A.section_spec(PROFILE, ROS, 1200) is None
    results = A.section_spec(PROFILE, RESULTS, 1200)
    assert results.min_statements == 1 and results.max_statements == 1
    other = SectionSpec("plan", "PLAN")
    assert A.section_spec(PROFILE, other, 1200) is other          # no rule: unchanged


def test_the_request_names_the_negative_form_only_where_negatives_are_written():
    assert A.request_note(PROFILE, HPI) == " Write each negative as the clinician does: 'No chest pain.'"
    assert A.request_note(PROFILE, RESULTS) == ""
    assert A.request_note(StyleProfile(), HPI) == ""


def test_the_drafters_request_carries_it_before_the_turn_ends():
    fake_self = types.SimpleNamespace(style=PROFILE)     # the method's state, no engine needed
    for first in (True, False):
        text = IncrementalDrafter._section_request(fake_self, HPI, first=first)
        plain = SX.request_text(HPI, first=first)
        assert text.endswith("'No chest pain.'<|im_end|>\n<|im_start|>assistant\n")
        assert text.replace(A.request_note(PROFILE, HPI), "") == plain
    fake_self.style = None
    assert IncrementalDrafter._section_request(fake_self, HPI, first=True) == SX.request_text(HPI, first=True)


def test_swaps_rewrite_whole_words_in_any_case_longest_first():
    text = ("The patient reports shortness of breath. The patient takes 20 Milligrams daily. "
            "Dyspnea is not shortness-of-breath.")
    out, n = A.rewrite(PROFILE, text)
    assert out == "She reports SOB. She takes 20 mg daily. Dyspnea is not shortness-of-breath."
    assert n == 4
    assert A.rewrite(PROFILE, "milligramsx patientthe") == ("milligramsx patientthe", 0)
    assert A.rewrite(StyleProfile(), text) == (text, 0)


def test_an_empty_profile_changes_nothing_in_the_drafter():
    assert StyleProfile().empty and StyleProfile(notes=50).empty
    assert not PROFILE.empty
    tpl = load_template("history_and_physical")
    for spec in tpl.sections:
        assert A.section_spec(StyleProfile(), spec, 300) is spec


def test_fingerprint_names_the_rules_not_their_words():
    fp = PROFILE.fingerprint()
    assert len(fp) == 16 and "mg" not in fp
    assert fp != StyleProfile(notes=10, sections=PROFILE.sections).fingerprint()
