"""Scripted draft/signed pairs with known edits give exactly the expected style; one-off
edits, guarded words and evidence below the threshold give none (no vault, no model)."""

from __future__ import annotations

import json
import statistics

from localscribe.style import edits as E
from localscribe.style.profile import (DEFAULT_WORDS_PER_SENTENCE, MIN_NOTES, SectionStyle,
                                       StyleHistory, StyleProfile, learn, visit_scale)

from tests.style.style_helpers import ONE_OFF, draft, drafted_text, signed, titles

VISIT_WORDS = (60, 1200, 300)


def _history(n: int) -> StyleHistory:
    h = StyleHistory()
    for i in range(n):
        known = {key.split("\t")[0] for key in h.swaps}
        h.add(E.observe(titles(), drafted_text(draft(i)), signed(i), VISIT_WORDS[i % 3], known))
    return h


def test_one_pair_is_observed_exactly():
    obs = E.observe(titles(), drafted_text(draft(1)), signed(1), 60)
    assert obs.swaps == {E.Swap("shortness of breath", "SOB"), E.Swap("milligrams", "mg")}
    by = {s.key: s for s in obs.sections}
    assert (by["subjective"].signed_words, by["subjective"].signed_sentences) == (14, 3)
    assert (by["objective"].drafted_words, by["objective"].signed_words) == (3, 0)
    assert (by["assessment"].drafted_words, by["assessment"].signed_words) == (0, 2)
    assert obs.negatives == {"no": 1}


def test_three_notes_make_exactly_this_profile():
    h = _history(MIN_NOTES)
    p = learn(h)
    subj_words = [14, 14, 14]
    expected_subj = statistics.median(round(w / visit_scale(v), 2) for w, v in zip(subj_words, VISIT_WORDS))
    assert p.section("subjective") == SectionStyle("subjective", expected_subj, False, False)
    assert p.section("objective").skip is True
    assert p.section("assessment") == SectionStyle(
        "assessment", statistics.median(round(2 / visit_scale(v), 2) for v in VISIT_WORDS), False, True)
    assert p.negative == "no"
    assert p.swaps == (("milligrams", "mg"), ("shortness of breath", "SOB"))
    # Each draft: 6 sentences of 9 + 4 + 5 + 3 + 7 + 7 = 35 words.
    assert p.words_per_sentence == round(35 / 6, 2)
    assert p.describe() == [
        f"subjective: about {round(expected_subj)} words for a typical visit, fewer for a short one",
        "objective: not drafted (you deleted it in most notes)",
        "assessment: always drafted (you wrote it where the draft had nothing)",
        f"assessment: about {round(p.section('assessment').words)} words for a typical visit, fewer for a short one",
        f"plan: about {round(p.section('plan').words)} words for a typical visit, fewer for a short one",
        "negatives written as \u201cNo chest pain.\u201d",
        "\u201cmilligrams\u201d is written \u201cmg\u201d",
        "\u201cshortness of breath\u201d is written \u201cSOB\u201d",
    ]


def test_one_off_edits_guarded_words_and_numbers_never_become_rules():
    h = _history(6)
    swapped = {d for d, _ in learn(h).swaps}
    assert "left" not in swapped and "3" not in swapped            # side and number: facts
    raw = json.dumps(h.to_dict())
    assert ONE_OFF.lower() not in raw.lower()                       # one visit's word: not kept


def test_below_the_threshold_nothing_is_learned_and_swaps_are_kept_only_as_hashes():
    h = _history(MIN_NOTES - 1)
    assert learn(h) == StyleProfile(notes=MIN_NOTES - 1)
    raw = json.dumps(h.to_dict())
    assert "milligrams" not in raw and "SOB" not in raw
    assert len(h.pending) >= 2 and all(len(k) == 32 for k in h.pending)


def test_a_swap_the_clinician_stops_making_is_dropped():
    h = _history(MIN_NOTES)
    # Three more signings where the draft's "milligrams" is left as it was.
    for _ in range(3):
        text = signed(0).replace(" mg ", " milligrams ")
        h.add(E.observe(titles(), drafted_text(draft(1)), text, 60, {"milligrams"}))
    assert ("milligrams", "mg") not in learn(h).swaps


def test_history_round_trips_through_json():
    h = _history(4)
    again = StyleHistory.from_dict(json.loads(json.dumps(h.to_dict())))
    assert learn(again) == learn(h) and again.to_dict() == h.to_dict()


def test_no_draft_learns_lengths_and_negatives_only():
    h = StyleHistory()
    for i in range(3):
        h.add(E.observe(titles(), None, signed(i), 60))
    p = learn(h)
    assert not p.swaps and not any(s.skip or s.always for s in p.sections)
    assert p.negative == "no" and p.words_per_sentence == DEFAULT_WORDS_PER_SENTENCE
