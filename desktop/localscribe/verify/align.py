"""Which transcript lines support a sentence of the note.

Each segment and the sentence become bags of features: content-word stems, adjacent stem pairs,
numbers, drug names (by generic), sides of the body and findings (by canonical name, so "shortness
of breath" meets "dyspnea"). A feature weighs its rarity over the visit's segments (IDF), times a
factor for the kinds of fact a clinician checks first (numbers, drugs, sides, findings). Segments
are chosen greedily, each for the weight it adds that earlier choices did not cover. A question and
the short answer after it ("any fever?" / "no") count as one: the answer inherits the question's
words and both lines are cited together.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from localscribe.domain import Segment, Transcript
from localscribe.verify.findings import FindingLexicon, load_findings
from localscribe.verify.lexicon import DrugLexicon, load_lexicon
from localscribe.verify.negation import STOPWORDS, is_answer, is_question
from localscribe.verify.text import is_number, normalize_numbers, root, words

_SIDES = {"left": "left", "right": "right", "bilateral": "bilateral", "bilaterally": "bilateral"}
# How much more a feature of each kind weighs than a plain content word of the same rarity.
_KIND_WEIGHT = {"n": 3.0, "d": 3.0, "s": 1.5, "f": 2.0, "w": 1.0, "b": 0.7}
_EXTRA_STOP = frozenset({"the", "and", "not", "but", "also", "she", "he", "yes", "yeah", "okay",
                         "um", "uh", "mm", "hmm", "alright", "right", "know", "think", "just",
                         "really", "lot", "thing", "things", "kind", "sort", "going", "gonna",
                         "wanna", "let", "let's", "see", "look", "want", "need", "make", "sure",
                         "once", "twice", "times", "every", "nightly", "weekly", "monthly"})
_FOLLOW_UP = re.compile(r"\b(?:follow(?:ing)?[- ]?up|come back|see you (?:again|back|in)|return(?:ing)? (?:in|to)|"
                        r"recheck|check back|next visit|next appointment)\b")
_MIN_FIRST = 2.5        # weight the best line must reach to count as support at all
_MIN_NEXT_SHARE = 0.3   # a further line must add this share of the first line's weight


def _features(text: str, drugs: DrugLexicon, findings: FindingLexicon) -> set[str]:
    toks = normalize_numbers(words(text))
    feats: set[str] = set()
    prev: str | None = None
    for t in toks:
        if is_number(t):
            feats.add("n:" + t)
            prev = None
        elif t in _SIDES:
            feats.add("s:" + _SIDES[t])
            prev = None
        elif t[0].isalpha() and len(t) > 2 and t not in STOPWORDS and t not in _EXTRA_STOP:
            r = root(t)
            feats.add("w:" + r)
            if prev:
                feats.add(f"b:{prev} {r}")
            prev = r
        elif t not in ("the", "a", "an", "of"):
            prev = None
    if _FOLLOW_UP.search(text.lower()):
        feats.add("w:follow-up")
    for name in drugs.find(text):
        feats.add("d:" + drugs.generic_of.get(name, name))
    for m in findings.find(toks):
        feats.add("f:" + m.concept)
    return feats


@dataclass
class Aligner:
    """The transcript's lines indexed once; align() many sentences against them."""

    segments: list[Segment]
    feats: list[set[str]]          # each segment's features, an answer's including its question's
    pair: list[int | None]         # the question of an answer, or the answer of a question
    weight: dict[str, float]
    postings: dict[str, list[int]]
    drugs: DrugLexicon
    findings: FindingLexicon
    _cache: dict[str, set[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, transcript: Transcript, drugs: DrugLexicon | None = None,
           findings: FindingLexicon | None = None) -> Aligner:
        drugs = drugs or load_lexicon()
        findings = findings or load_findings()
        segs = list(transcript.segments)
        own = [_features(s.text, drugs, findings) for s in segs]
        df: dict[str, int] = defaultdict(int)
        for f in own:
            for x in f:
                df[x] += 1
        n = max(1, len(segs))
        weight = {x: math.log(1 + n / c) * _KIND_WEIGHT[x[0]] for x, c in df.items()}
        feats = [set(f) for f in own]
        pair: list[int | None] = [None] * len(segs)
        for k in range(1, len(segs)):
            q, a = segs[k - 1], segs[k]
            if is_question(q.text) and (a.speaker != q.speaker or a.speaker == "unknown") and is_answer(a.text):
                feats[k] |= own[k - 1]
                pair[k], pair[k - 1] = k - 1, k
        postings: dict[str, list[int]] = defaultdict(list)
        for k, f in enumerate(feats):
            for x in f:
                postings[x].append(k)
        return cls(segs, feats, pair, weight, dict(postings), drugs, findings)

    def features(self, text: str) -> set[str]:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = _features(text, self.drugs, self.findings)
            if len(self._cache) > 512:
                self._cache.pop(next(iter(self._cache)))
        return cached

    def scores(self, text: str, skip: tuple[str, ...] = ()) -> dict[int, float]:
        """Weight each segment shares with the text (segments sharing nothing are absent)."""
        out: dict[int, float] = defaultdict(float)
        for x in sorted(self.features(text)):     # one summation order: ties break the same every run
            if x[0] in skip:
                continue
            for k in self.postings.get(x, ()):
                out[k] += self.weight[x]
        return out

    def align(self, text: str, max_ids: int = 4, skip: tuple[str, ...] = ()) -> list[str]:
        """skip: kinds of feature to ignore ("n" numbers, "s" sides): the lines on the same topic
        whatever numbers or sides they state, to find the facts a sentence should agree with."""
        want = {x for x in self.features(text) if x[0] not in skip}
        # Each line's weight not yet covered by the lines already chosen, kept up to date through
        # the postings: a whole note aligns in a few milliseconds against a long visit.
        # Features are summed in sorted order: a float sum depends on its order, and a set's order
        # on the process's hash seed, so equal lines would otherwise tie differently per run.
        gain: dict[int, float] = defaultdict(float)
        for x in sorted(want):
            for k in self.postings.get(x, ()):
                gain[k] += self.weight[x]
        chosen: list[int] = []
        covered: set[str] = set()
        first = 0.0
        while gain and len(chosen) < max_ids:
            best = max(gain, key=lambda k: (gain[k], -k))
            g = gain[best]
            if g < (_MIN_FIRST if not chosen else max(_MIN_FIRST, _MIN_NEXT_SHARE * first)):
                break
            first = first or g
            for x in sorted((self.feats[best] & want) - covered):
                covered.add(x)
                for k in self.postings[x]:
                    if k in gain:
                        gain[k] -= self.weight[x]
            for pick in (best, self.pair[best]):
                if pick is not None and pick not in chosen and len(chosen) < max_ids:
                    chosen.append(pick)
                gain.pop(pick, None) if pick is not None else None
        return [self.segments[k].id for k in sorted(chosen)]


@lru_cache(maxsize=8)
def _aligner(key: tuple[tuple[str, str, str], ...]) -> Aligner:
    return Aligner.of(Transcript([Segment(i, 0.0, 0.0, t, spk) for i, t, spk in key]))


def aligner(transcript: Transcript, drugs: DrugLexicon | None = None,
            findings: FindingLexicon | None = None) -> Aligner:
    """The (cached) index of a transcript: a whole note aligns against one build."""
    if (drugs and drugs is not load_lexicon()) or (findings and findings is not load_findings()):
        return Aligner.of(transcript, drugs, findings)
    return _aligner(tuple((s.id, s.text, s.speaker) for s in transcript.segments))


def align(text: str, transcript: Transcript, *, max_ids: int = 4) -> list[str]:
    """Ids of the transcript segments that best support text, in transcript order; [] when
    nothing in the visit does."""
    return aligner(transcript).align(text, max_ids=max_ids)
