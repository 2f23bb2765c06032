"""Polarity of what a statement says beyond the findings lexicon: "she did not use the coupon",
"no extra heart sounds", "he has not had physical therapy".

A note's clause and a visit's clause speak of the same thing when they share at least two content
words (light stems; the words of lexicon findings are left to polarity.py). Each side's words carry
the polarity of their own clause (the NegEx scope of negation.negation_mask, so "No pain with
supination of the forearm" negates its words only up to the scope's end). Only a negation of a
thing counts, close before it with no finding between; a question says nothing (a "no" to "how's
your blood sugar, running low?" denies the low, not the sugar). The note's
clause is contradicted when every clause of the visit that speaks of the same thing gives those
words the other polarity, and none agrees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from localscribe.domain import Segment
from localscribe.verify.findings import FindingLexicon
from localscribe.verify.negation import (
    _QUESTION_STARTS,
    STOPWORDS,
    _pseudo,
    negation_mask,
)
from localscribe.verify.polarity import _asking_mask
from localscribe.verify.text import root, words

_BREAK = {".", ";", "?", "!", ":", "but", "however", "although", "though", "whereas", "while"}
# Words too common in visits and notes to tie two clauses to one topic.
_WEAK = frozenset({"pain", "patient", "doctor", "thing", "something", "anything", "everything", "lot",
                   "bit", "kind", "sort", "way", "sure", "yeah", "okay", "right", "left", "know", "think",
                   "want", "need", "gon", "wan", "let", "let's", "see", "look", "looks", "come", "came",
                   "tell", "told", "say", "said", "use", "used", "make", "made", "give", "gave", "put",
                   "try", "tried", "work", "help", "seem", "seems", "normal", "today", "now", "back",
                   "also", "still", "even", "really", "pretty", "little", "good", "great", "fine", "well",
                   "other", "any", "every", "all", "both", "one", "two", "first", "last", "next", "plan",
                   "continue", "start", "started", "note", "noted", "deny", "denie", "denied", "endors",
                   "endorse", "report", "state", "complain", "positive", "negative", "present", "reveal",
                   "show", "shows", "showed", "evidence", "sign", "signs", "issue", "problem", "concern",
                   "history", "time", "day", "week", "month", "year", "ever", "never", "will", "would",
                   "i'm", "it's", "that's", "don't", "n't", "i've", "he's", "she's", "medical", "current"})
MIN_SHARED = 2
_CLOSE = 3      # a negation denies the words at most this far after it
# Only a negation of a thing ("no extra heart sounds", "without swelling", "denies any injury")
# says the thing is absent; "did not check her blood sugar" negates the checking, not the sugar.
_NOMINAL = {"no", "without", "denies", "denied", "deny", "denying", "negative", "none", "absent",
            "absence", "free", "nor", "neither"}


@dataclass
class Clause:
    terms: dict[str, bool] = field(default_factory=dict)   # content stem -> negated in this clause
    asks: bool = False


def clauses(text: str, findings: FindingLexicon, *, spoken: bool) -> list[Clause]:
    """Content stems of each clause with their polarity; finding words left out."""
    out: list[Clause] = []
    cur: list[str] = []
    for t in words(text) + ["."]:
        if t not in _BREAK:
            cur.append(t)
            continue
        if cur:
            inside = {i for m in findings.find(cur) for i in range(m.start, m.end)}
            mask = negation_mask(cur)
            asking = _asking_mask(cur, spoken)
            c = Clause(asks=t == "?" or (spoken and " ".join(cur).startswith(_QUESTION_STARTS)))
            for i, w in enumerate(cur):
                if i in inside or not w[0].isalpha() or len(w) <= 2 or w in STOPWORDS:
                    continue
                r = root(w.removeprefix("non-"))
                if r in _WEAK or w in _WEAK or _pseudo(cur, i):
                    continue
                if asking[i]:
                    c.asks = True
                # The negation must reach the word with no finding between ("no murmurs regular
                # rate and rhythm" denies the murmurs only: one list item per negation).
                negated = w.startswith("non-") or (mask[i] and any(
                    cur[j] in _NOMINAL and not _pseudo(cur, j) and not inside & set(range(j, i))
                    for j in range(max(0, i - _CLOSE), i)))
                if mask[i] and not negated:
                    continue        # far inside a long scope (an unpunctuated turn): no verdict
                c.terms[r] = negated or c.terms.get(r, False)
            if c.terms:
                out.append(c)
        cur = []
    return out


class PhraseIndex:
    """The visit's clauses, indexed by content stem, with the polarity each gives its words."""

    def __init__(self, segments: list[Segment], findings: FindingLexicon):
        self.findings = findings
        self.clauses: list[Clause] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        for seg in segments:
            cls = clauses(seg.text, findings, spoken=True)
            for c in cls:
                if c.asks:
                    continue
                n = len(self.clauses)
                self.clauses.append(c)
                for r in c.terms:
                    self.postings[r].append(n)

    def contradicted(self, text: str) -> list[tuple[str, bool]]:
        """(words, the note's polarity) for each clause of the note that the visit contradicts."""
        out = []
        for c in clauses(text, self.findings, spoken=False):
            hits: dict[int, int] = defaultdict(int)
            for r in c.terms:
                for n in self.postings.get(r, ()):
                    hits[n] += 1
            agree = disagree = 0
            shared_words: set[str] = set()
            for n, count in hits.items():
                if count < MIN_SHARED:
                    continue
                other = self.clauses[n]
                shared = [r for r in c.terms if r in other.terms]
                mine = {c.terms[r] for r in shared}
                theirs = {other.terms[r] for r in shared}
                denied = {r for r, neg in (c.terms.items() if mine == {True} else other.terms.items()) if neg}
                if len(mine) > 1 or len(theirs) > 1:
                    agree += 1          # mixed polarity within the shared words: no verdict
                elif mine == theirs:
                    agree += 1
                elif not denied <= set(shared):
                    continue            # "no extra heart sounds" is not denied by "heart sounds normal"
                else:
                    disagree += 1
                    shared_words |= set(shared)
            if disagree and not agree:
                out.append((" ".join(sorted(shared_words)), next(iter({c.terms[r] for r in shared_words}))))
        return out
