"""How hard the summary is to read: Flesch-Kincaid grade (English), Fernández-Huerta ease
(Spanish), with syllables from pyphen's hyphenation dictionaries.

Why not ``textstat``, the usual package for this: every recent wheel of it (0.7.8 to 0.7.13)
installs a top-level package named ``tests`` into site-packages, which shadows this project's
own ``tests`` namespace (``tests.support`` stops importing and the suite cannot be collected),
and 0.7.13 downloads NLTK's CMU dictionary on first use, which an offline app must never try.
The formulas are textstat's (and the published ones); the syllable count is textstat's own
fallback for words it has no pronunciation for: pyphen's hyphenation points + 1.

The grade is reported, never enforced: grade 8 or below is what patient-education guidance
asks for, and the summary shows whether it met it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from localscribe.instructions.prompts import Language

TARGET_GRADE = 8.0
TARGET_EASE_ES = 70.0      # Fernández-Huerta 70+: "fairly easy", about 7th grade

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_DICT = {Language.EN: "en_US", Language.ES: "es"}


@dataclass(frozen=True)
class Reading:
    lang: str
    score: float          # en: Flesch-Kincaid grade; es: Fernández-Huerta ease (0-100, higher easier)
    metric: str           # "flesch-kincaid-grade" | "fernandez-huerta"
    words: int
    sentences: int
    syllables: int

    @property
    def meets_target(self) -> bool:
        if self.metric == "flesch-kincaid-grade":
            return self.score <= TARGET_GRADE
        return self.score >= TARGET_EASE_ES

    @property
    def target(self) -> str:
        return f"<= {TARGET_GRADE:g}" if self.metric == "flesch-kincaid-grade" else f">= {TARGET_EASE_ES:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"lang": self.lang, "metric": self.metric, "score": self.score, "target": self.target,
                "meets_target": self.meets_target, "words": self.words, "sentences": self.sentences,
                "syllables": self.syllables, "method": "pyphen syllables"}


@lru_cache(maxsize=4)
def _hyphenator(lang: Language) -> Any:
    import pyphen  # type: ignore[import-untyped]

    return pyphen.Pyphen(lang=_DICT[lang])


def syllables(word: str, lang: Language | str = Language.EN) -> int:
    if word[:1].isdigit():
        return 1          # textstat counts a number as a one-syllable word too
    return len(_hyphenator(Language(lang)).positions(word.lower())) + 1


def reading_level(text: str, lang: Language | str = Language.EN) -> Reading:
    lang = Language(lang)
    words = _WORD.findall(text)
    n_words = len(words)
    n_sent = max(1, len(_SENTENCE_END.findall(text))) if n_words else 0
    n_syl = sum(syllables(w, lang) for w in words)
    if not n_words:
        score = 0.0
    elif lang is Language.ES:
        score = 206.84 - 60 * n_syl / n_words - 1.02 * n_words / n_sent
    else:
        score = 0.39 * n_words / n_sent + 11.8 * n_syl / n_words - 15.59
    metric = "fernandez-huerta" if lang is Language.ES else "flesch-kincaid-grade"
    return Reading(lang.value, round(score, 1), metric, n_words, n_sent, n_syl)
