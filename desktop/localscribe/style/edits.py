"""One signing's evidence of style: the draft as the model wrote it, the note as signed.

Everything here is computed inside the clinician's session (both texts are PHI). What leaves
this module is a ``NoteObservation``: counts per section, the forms of the negatives the
clinician wrote, and candidate phrase swaps (draft phrase -> signed phrase). Only the swaps
carry words, and ``profile`` keeps those as salted hashes until the same swap has been made in
enough notes to be a habit rather than one patient's content.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# A word as the swap finder sees it: letters, digits, inner hyphens/apostrophes/points ("b.i.d.").
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*\.?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A swap never touches what the verifier guards as a fact: a number, a side, a negation.
# Learning "left" -> "right" from two notes would be learning two patients, not a style.
_GUARDED = frozenset("""no not never none denies denied deny without negative positive left right
bilateral both either neither nor absent present""".split())
MAX_SWAP_WORDS = 3


class NegativeForm:
    """How a sentence writes a pertinent negative (plain strings: they are stored)."""

    DENIES = "denies"            # "She denies chest pain."
    NO = "no"                    # "No chest pain."
    NEGATIVE_FOR = "negative_for"  # "Negative for chest pain."
    ALL = (DENIES, NO, NEGATIVE_FOR)


def negative_form(sentence: str) -> str | None:
    s = sentence.strip().lower()
    if re.search(r"\bnegative for\b", s):
        return NegativeForm.NEGATIVE_FOR
    if re.search(r"\bden(?:y|ies|ied)\b", s):
        return NegativeForm.DENIES
    if re.match(r"no\b", s):
        return NegativeForm.NO
    return None


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _heading(line: str) -> str:
    return line.strip().strip("#").strip().rstrip(":").strip().lower()


def split_signed(text: str, titles: dict[str, str]) -> dict[str, str]:
    """The signed text per section key; ``titles`` maps lower-cased heading -> key. Text
    under no known heading is not any section's (the scorecard counts it as ``_other``)."""
    out: dict[str, list[str]] = {}
    key: str | None = None
    for line in text.splitlines():
        found = titles.get(_heading(line))
        if found is not None:
            key = found
            out.setdefault(key, [])
        elif key is not None and line.strip():
            out[key].append(line.strip())
    return {k: " ".join(v) for k, v in out.items()}


@dataclass(frozen=True)
class SectionObservation:
    key: str
    signed_words: int
    signed_sentences: int
    drafted_words: int | None = None       # None: no draft to compare with
    drafted_sentences: int | None = None


@dataclass(frozen=True)
class Swap:
    """The clinician replaced ``draft`` (lower-cased) by ``signed`` (as written), 1..3 words each."""

    draft: str
    signed: str


@dataclass(frozen=True)
class NoteObservation:
    visit_words: int
    sections: tuple[SectionObservation, ...]
    negatives: dict[str, int] = field(default_factory=dict)   # form -> sentences
    swaps: frozenset[Swap] = frozenset()
    # Draft phrases of known swaps that the clinician left as drafted (``kept_phrases``).
    kept: frozenset[str] = frozenset()
    has_draft: bool = False


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _key(token: str) -> str:
    return token.rstrip(".").lower()


def _shown(tokens: list[str]) -> str:
    """Signed words as the clinician wrote them (case kept: "SOB"); a sentence's full stop is
    not part of the phrase, an abbreviation's points are ("b.i.d.")."""
    return " ".join(t if "." in t.rstrip(".") else t.rstrip(".") for t in tokens)


def _words(text: str) -> list[str]:
    return [_key(t) for t in _tokens(text)]


def _swappable(words: list[str]) -> bool:
    return (0 < len(words) <= MAX_SWAP_WORDS
            and all(w and not any(c.isdigit() for c in w) and w not in _GUARDED for w in words))


def find_swaps(drafted: str, signed: str) -> set[Swap]:
    """Word spans replaced one for another (not deleted, not added) between two texts of the
    same section: difflib's opcodes over lower-cased words."""
    a = _words(drafted)
    b_tokens = _tokens(signed)
    b = [_key(t) for t in b_tokens]
    found: set[Swap] = set()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "replace":
            continue
        da, sb = a[i1:i2], b[j1:j2]
        # A swap sits between words both texts share: a rewritten sentence is not a phrase habit.
        anchored = (i1 == 0 or j1 == 0 or a[i1 - 1] == b[j1 - 1]) and \
                   (i2 == len(a) or j2 == len(b) or a[i2] == b[j2])
        if anchored and _swappable(da) and _swappable(sb):
            found.add(Swap(" ".join(da), _shown(b_tokens[j1:j2])))
    return found


def kept_phrases(drafted: str, signed: str, phrases: set[str]) -> set[str]:
    """Which of ``phrases`` (known swaps' draft sides) stand in both texts unchanged."""
    a, b = " ".join(_words(drafted)), " ".join(_words(signed))
    return {p for p in phrases if re.search(rf"\b{re.escape(p)}\b", a) and re.search(rf"\b{re.escape(p)}\b", b)}


def observe(titles: dict[str, str], drafted: dict[str, str] | None, signed_text: str,
            visit_words: int, known_swaps: Iterable[str] = ()) -> NoteObservation:
    """``titles``: heading (lower-cased) -> section key, for every section of the template;
    ``drafted``: the draft's text per section key (None when the note had no draft);
    ``known_swaps``: draft phrases of swaps already learned, to see whether they were kept."""
    signed = split_signed(signed_text, titles)
    keys = list(dict.fromkeys(titles.values()))
    sections: list[SectionObservation] = []
    negatives: dict[str, int] = {}
    swaps: set[Swap] = set()
    kept: set[str] = set()
    for key in keys:
        s_text = signed.get(key, "")
        s_sent = sentences(s_text)
        for sent in s_sent:
            form = negative_form(sent)
            if form:
                negatives[form] = negatives.get(form, 0) + 1
        d_text = None if drafted is None else drafted.get(key, "")
        sections.append(SectionObservation(
            key, word_count(s_text), len(s_sent),
            None if d_text is None else word_count(d_text),
            None if d_text is None else len(sentences(d_text))))
        if d_text and s_text:
            swaps |= find_swaps(d_text, s_text)
            kept |= kept_phrases(d_text, s_text, set(known_swaps))
    return NoteObservation(visit_words=max(0, int(visit_words)), sections=tuple(sections),
                           negatives=negatives, swaps=frozenset(swaps), kept=frozenset(kept),
                           has_draft=drafted is not None)
