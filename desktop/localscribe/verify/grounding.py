"""Check every statement of a draft against its evidence and against the whole transcript.

A fact (number with its unit, drug name, side of the body, negation) that the transcript never
states is flagged as unsupported. A fact the transcript states but not near the cited lines is
flagged as an evidence problem (the clinician should check where it came from). Statements
without evidence, or citing lines that do not exist, are flagged too. Flags are plain
sentences written for the clinician reviewing the note.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from localscribe.domain import Draft, Flag, Segment, Statement, Transcript
from localscribe.verify.lexicon import DrugLexicon, load_lexicon
from localscribe.verify.negation import (
    STOPWORDS,
    Polarity,
    split_polarity,
    stem,
    transcript_polarity,
)
from localscribe.verify.text import DOSE_UNITS, normalize_numbers, quantities, words

# Flags that mean "this fact is not in the transcript": what the unsupported rate counts.
UNSUPPORTED_KINDS = frozenset({"number", "dose", "drug", "laterality", "negation"})
EVIDENCE_WINDOW = 1     # cited lines +- this many neighbours count as the statement's evidence

_PLURAL_UNITS = {"day", "week", "month", "year", "hour", "minute", "tablet", "puff", "unit", "degree"}
_SIDES = {"left": "left", "right": "right", "bilateral": "bilateral", "bilaterally": "bilateral"}


@dataclass(frozen=True)
class _Text:
    """Normalized views of a stretch of transcript, computed once."""
    raw: str
    tokens: list[str]
    quantities: set[tuple[str, str | None]]
    numbers: set[str]

    @classmethod
    def of(cls, text: str) -> _Text:
        q = quantities(text)
        return cls(raw=text.lower(), tokens=normalize_numbers(words(text)), quantities=set(q),
                   numbers={n for n, _ in q})


def _quote(segs: list[str]) -> str:
    return ", ".join(segs[:3]) + (" ..." if len(segs) > 3 else "")


class Verifier:
    def __init__(self, transcript: Transcript, lexicon: DrugLexicon | None = None):
        self.transcript = transcript
        self.lexicon = lexicon or load_lexicon()
        self.segments = [s for s in transcript.segments]
        self.index = {s.id: i for i, s in enumerate(self.segments)}
        self.whole = _Text.of("\n".join(s.text for s in self.segments))
        self.polarity: Polarity = transcript_polarity(self.segments)
        self.words = set(self.whole.tokens)

    def _window(self, evidence: list[str]) -> list[Segment]:
        idx: set[int] = set()
        for e in evidence:
            if e in self.index:
                i = self.index[e]
                idx.update(range(max(0, i - EVIDENCE_WINDOW), min(len(self.segments), i + EVIDENCE_WINDOW + 1)))
        return [self.segments[i] for i in sorted(idx)]

    def check(self, st: Statement) -> list[Flag]:
        flags: list[Flag] = []
        known = [e for e in st.evidence if e in self.index]
        unknown = [e.lstrip("?") for e in st.evidence if e not in self.index]
        if not st.evidence:
            flags.append(Flag("no-evidence", "No part of the transcript is cited for this statement."))
        elif unknown:
            flags.append(Flag("bad-evidence", "This statement cites transcript lines that do not exist "
                                              f"({_quote(unknown)}).", ", ".join(unknown)))
        # Without a single valid citation there is nothing local to compare against.
        ev = _Text.of("\n".join(s.text for s in self._window(known))) if known else None
        flags += self._numbers(st, ev)
        flags += self._drugs(st, ev)
        flags += self._laterality(st, ev)
        flags += self._negation(st)
        if known and not flags:
            flags += self._overlap(st, ev, known)
        return flags

    # -- numbers and doses ------------------------------------------------------------------
    def _numbers(self, st: Statement, ev: _Text | None) -> list[Flag]:
        out: list[Flag] = []
        for num, unit in quantities(st.text):
            said = f"{num} {unit}" if unit else num
            if num != "1" and unit in _PLURAL_UNITS:
                said += "s"
            kind = "dose" if unit in DOSE_UNITS else "number"
            if num not in self.whole.numbers:
                out.append(Flag(kind, f"The note says '{said}', but {num} was never said in the visit.", said))
            elif unit and (num, unit) not in self.whole.quantities:
                heard = sorted({u for n, u in self.whole.quantities if n == num and u})
                detail = f" (heard: {', '.join(f'{num} {u}' for u in heard)})" if heard else ""
                out.append(Flag(kind, f"The note says '{said}', but the visit mentions {num} only "
                                      f"in another sense{detail}.", said))
            elif ev is not None and num not in ev.numbers:
                out.append(Flag("evidence", f"'{said}' is not in the cited lines; it was said "
                                            "elsewhere in the visit.", said))
        return out

    # -- drugs ------------------------------------------------------------------------------
    def _mentioned(self, names: set[str], text: _Text) -> bool:
        for n in names:
            if n in text.raw:
                return True
            if " " not in n and len(n) > 5 and difflib.get_close_matches(n, text.tokens, n=1, cutoff=0.85):
                return True      # ASR misspellings: "lisinipril"
        return False

    def _drugs(self, st: Statement, ev: _Text | None) -> list[Flag]:
        out: list[Flag] = []
        for name in dict.fromkeys(self.lexicon.find(st.text)):
            names = self.lexicon.aliases(name)
            if not self._mentioned(names, self.whole):
                out.append(Flag("drug", f"The note names {name}, which was not mentioned in the visit.", name))
            elif ev is not None and not self._mentioned(names, ev):
                out.append(Flag("evidence", f"{name} is not in the cited lines; it was mentioned "
                                            "elsewhere in the visit.", name))
        return out

    # -- laterality -------------------------------------------------------------------------
    @staticmethod
    def _sides(tokens: list[str]) -> set[str]:
        sides = {_SIDES[t] for t in tokens if t in _SIDES}
        if "both" in tokens and ("sides" in tokens or "side" in tokens or "legs" in tokens
                                 or "arms" in tokens or "eyes" in tokens or "ears" in tokens):
            sides.add("bilateral")
        if {"left", "right"} <= sides:
            sides.add("bilateral")
        return sides

    def _laterality(self, st: Statement, ev: _Text | None) -> list[Flag]:
        out: list[Flag] = []
        claimed = {_SIDES[t] for t in words(st.text) if t in _SIDES}
        whole = self._sides(self.whole.tokens)
        local = self._sides(ev.tokens) if ev is not None else set()
        for side in sorted(claimed):
            if side not in whole:
                out.append(Flag("laterality", f"The note says '{side}', but that side was never "
                                              "mentioned in the visit.", side))
            elif local and side not in local:
                out.append(Flag("laterality", f"The note says '{side}', but the cited lines say "
                                              f"{' and '.join(sorted(local))}.", side))
        return out

    # -- negation ---------------------------------------------------------------------------
    def _negation(self, st: Statement) -> list[Flag]:
        asserted, negated = split_polarity(st.text)
        pol = self.polarity

        def only_negated(term: str) -> bool:
            return bool(pol.negated[term]) and not pol.asserted[term]

        def only_asserted(term: str) -> bool:
            return bool(pol.asserted[term]) and not pol.negated[term]

        def decides(term: str, terms: set[str], test) -> bool:
            # A single word decides only when no word pair around it says otherwise:
            # "back pain" is not "chest pain" even if "pain" was only ever denied.
            if " " in term:
                return test(term)
            pairs = [t for t in terms if " " in t and term in t.split()]
            return test(term) and all(test(p) for p in pairs)

        for term in sorted(asserted, key=lambda t: (-len(t.split()), t)):
            if decides(term, asserted, only_negated):
                where = _quote(sorted(set(pol.where_negated.get(term, []))))
                return [Flag("negation", f"The note states '{term}' as present, but in the visit it "
                                         f"was only denied or negated ({where}).", term)]
        for term in sorted(negated, key=lambda t: (-len(t.split()), t)):
            if decides(term, negated, only_asserted):
                where = _quote(sorted(set(pol.where_asserted.get(term, []))))
                return [Flag("negation", f"The note says there is no '{term}', but the visit "
                                         f"reports it ({where}).", term)]
        return []

    # -- anything at all in common with the evidence -----------------------------------------
    def _overlap(self, st: Statement, ev: _Text, known: list[str]) -> list[Flag]:
        mine = {stem(t) for t in normalize_numbers(words(st.text))
                if t not in STOPWORDS and t[0].isalnum() and len(t) > 2}
        theirs = {stem(t) for t in ev.tokens}
        if any(self._mentioned(self.lexicon.aliases(d), ev) for d in self.lexicon.find(st.text)):
            return []       # a drug named by its brand in the visit and its generic in the note
        if mine and not (mine & theirs):
            return [Flag("evidence", f"The cited lines ({_quote(known)}) do not mention any of this.")]
        return []


def verify_draft(draft: Draft, transcript: Transcript, lexicon: DrugLexicon | None = None) -> Draft:
    """Set each statement's flags (replacing earlier ones) and return the same draft."""
    v = Verifier(transcript, lexicon)
    for st in draft.statements:
        st.flags = v.check(st)
    return draft


def unsupported_rate(draft: Draft) -> float:
    """Share of statements with a fact the transcript never states (0.0 for an empty draft)."""
    sts = draft.statements
    if not sts:
        return 0.0
    return sum(1 for st in sts if any(f.kind in UNSUPPORTED_KINDS for f in st.flags)) / len(sts)
