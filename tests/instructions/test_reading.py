"""Reading level of the summary (instructions.reading): the published formulas on pyphen's
syllable counts, plain words scoring below the grade-8 target and clinic jargon above it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localscribe.instructions.reading import TARGET_GRADE, reading_level, syllables


def test_flesch_kincaid_grade_is_the_published_formula():
    text = "Drink plenty of water. Rest at home for two days."
    words = ["Drink", "plenty", "of", "water", "Rest", "at", "home", "for", "two", "days"]
    syl = sum(syllables(w) for w in words)
    r = reading_level(text)
    assert (r.words, r.sentences, r.syllables) == (10, 2, syl)
    assert r.score == round(0.39 * 10 / 2 + 11.8 * syl / 10 - 15.59, 1)
    assert r.metric == "flesch-kincaid-grade" and r.target == f"<= {TARGET_GRADE:g}"


def test_plain_words_meet_the_target_and_jargon_does_not():
    plain = reading_level("Take one pill each day. Come back in a week if you still cough.")
    jargon = reading_level("The patient presents with an exacerbation of chronic obstructive "
                           "pulmonary disease necessitating bronchodilator intensification.")
    assert plain.meets_target and plain.score < TARGET_GRADE
    assert not jargon.meets_target and jargon.score > 12


def test_spanish_uses_fernandez_huerta():
    r = reading_level("Tome una pastilla cada día. Vuelva en una semana si sigue con tos.", "es")
    assert r.metric == "fernandez-huerta" and r.meets_target and r.target == ">= 70"
    words = "Tome una pastilla cada día Vuelva en una semana si sigue con tos".split()
    syl = sum(syllables(w, "es") for w in words)
    assert r.score == round(206.84 - 60 * syl / 13 - 1.02 * 13 / 2, 1)


@pytest.mark.parametrize("text", ["", "   ", "..."])
def test_no_words_is_zero_not_an_error(text):
    r = reading_level(text)
    assert (r.score, r.words) == (0.0, 0)


def test_offline_no_dictionary_download_path_is_imported():
    """textstat 0.7.13 downloads NLTK's CMU dictionary on first use; this module must not
    bring in textstat or nltk at all (an offline app never tries the network)."""
    code = ("import sys; from localscribe.instructions.reading import reading_level; "
            "reading_level('Rest at home.'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textstat', 'nltk')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
