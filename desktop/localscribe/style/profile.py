"""A clinician's style: the evidence accumulated over their signings (``StyleHistory``, what
the vault keeps) and the rules learned from it (``StyleProfile``, what drafting uses).

A rule needs ``k`` notes of evidence (``MIN_NOTES``): one visit's edits say something about
that visit, a habit shows in many. Thresholds, and why:
- length: each section's signed length, relative to the visit's length on the same curve as
  ``draft.sections.fit_to_visit`` (a short visit gets a short note), median over the notes;
- skip a section: the clinician deleted what the draft wrote there in at least
  ``HABIT_SHARE`` of the notes whose draft had it (and in ``k`` of them), and it is empty in
  as many of all their signed notes;
- always write a section: they wrote it themselves where the draft left it empty, as often,
  and it is filled in as many of all their signed notes;
- negatives: one form ("Denies X." / "No X." / "Negative for X.") in ``HABIT_SHARE`` of the
  negatives they signed;
- a phrase swap: the same draft phrase replaced by the same signed phrase in ``k`` notes, and
  left as drafted in fewer notes than it was swapped. Until a swap reaches ``k`` notes the
  history holds only its salted hash: a one-off replacement may be a patient's detail, and
  words that are not (yet) a habit are not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import statistics
from dataclasses import dataclass, field
from typing import Any

from localscribe.style.edits import NegativeForm, NoteObservation

MIN_NOTES = 3            # k; see bench_learning.py --tune (replayed on ACI-Bench train only)
HABIT_SHARE = 0.8
MAX_KEPT = 200           # per-section lengths kept (the most recent): style drifts
MAX_PENDING = 2000       # candidate swaps kept as hashes (the oldest dropped first)
DEFAULT_WORDS_PER_SENTENCE = 15.0   # the 1.5B model's prose on ACI-Bench valid (README)
HISTORY_VERSION = 1


def visit_scale(visit_words: int) -> float:
    """A visit's expected note length relative to a typical visit's (``fit_to_visit``'s curve)."""
    from localscribe.draft.sections import (NOTE_WORDS_BASE, NOTE_WORDS_PER_VISIT_WORD,
                                            TYPICAL_VISIT_WORDS)

    return ((NOTE_WORDS_BASE + NOTE_WORDS_PER_VISIT_WORD * max(0, visit_words))
            / (NOTE_WORDS_BASE + NOTE_WORDS_PER_VISIT_WORD * TYPICAL_VISIT_WORDS))


@dataclass
class SectionStats:
    lengths: list[float] = field(default_factory=list)   # signed words / visit_scale
    drafted: int = 0        # notes whose draft wrote this section
    deleted: int = 0        # ... and the signed note left it empty
    left_empty: int = 0     # notes whose draft left it empty
    added: int = 0          # ... and the clinician wrote it

    def to_dict(self) -> dict[str, Any]:
        return {"lengths": [round(x, 2) for x in self.lengths], "drafted": self.drafted,
                "deleted": self.deleted, "left_empty": self.left_empty, "added": self.added}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SectionStats:
        return cls([float(x) for x in d.get("lengths", [])], int(d.get("drafted", 0)),
                   int(d.get("deleted", 0)), int(d.get("left_empty", 0)), int(d.get("added", 0)))


@dataclass
class StyleHistory:
    """The evidence, per clinician (sealed in the vault as JSON)."""

    salt: str = field(default_factory=lambda: os.urandom(16).hex())
    notes: int = 0
    drafted_notes: int = 0
    sections: dict[str, SectionStats] = field(default_factory=dict)
    words_per_sentence: list[float] = field(default_factory=list)   # the drafts', per note
    negatives: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)       # salted hash -> notes
    swaps: dict[str, list[int]] = field(default_factory=dict)   # "draft\tsigned" -> [swapped, kept]

    def _hash(self, draft: str, signed: str) -> str:
        return hmac.new(bytes.fromhex(self.salt), f"{draft}\t{signed}".encode(), hashlib.sha256).hexdigest()[:32]

    def add(self, obs: NoteObservation, k: int = MIN_NOTES) -> None:
        """Take in one signing."""
        self.notes += 1
        self.drafted_notes += obs.has_draft
        scale = visit_scale(obs.visit_words)
        d_words = d_sents = 0
        for sec in obs.sections:
            st = self.sections.setdefault(sec.key, SectionStats())
            st.lengths = (st.lengths + [round(sec.signed_words / scale, 2)])[-MAX_KEPT:]
            if sec.drafted_words is None:
                continue
            d_words += sec.drafted_words
            d_sents += sec.drafted_sentences or 0
            if sec.drafted_words:
                st.drafted += 1
                st.deleted += sec.signed_words == 0
            else:
                st.left_empty += 1
                st.added += sec.signed_words > 0
        if d_sents:
            self.words_per_sentence = (self.words_per_sentence + [round(d_words / d_sents, 2)])[-MAX_KEPT:]
        for form, n in obs.negatives.items():
            self.negatives[form] = self.negatives.get(form, 0) + n
        for phrase in obs.kept:
            for key, counts in self.swaps.items():
                if key.split("\t")[0] == phrase:
                    counts[1] += 1
        for swap in sorted(obs.swaps, key=lambda s: (s.draft, s.signed)):
            key = f"{swap.draft}\t{swap.signed}"
            if key in self.swaps:
                self.swaps[key][0] += 1
                continue
            h = self._hash(swap.draft, swap.signed)
            seen = self.pending.pop(h, 0) + 1
            if seen >= k:
                self.swaps[key] = [seen, 0]      # a habit now: its words are kept from here on
            else:
                self.pending[h] = seen
        while len(self.pending) > MAX_PENDING:
            self.pending.pop(next(iter(self.pending)))

    def to_dict(self) -> dict[str, Any]:
        return {"version": HISTORY_VERSION, "salt": self.salt, "notes": self.notes,
                "drafted_notes": self.drafted_notes,
                "sections": {k: v.to_dict() for k, v in self.sections.items()},
                "words_per_sentence": [round(x, 2) for x in self.words_per_sentence],
                "negatives": dict(self.negatives), "pending": dict(self.pending),
                "swaps": {k: list(v) for k, v in self.swaps.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleHistory:
        if int(d.get("version", 0)) != HISTORY_VERSION:
            raise ValueError(f"style history version {d.get('version')!r} is not {HISTORY_VERSION}")
        return cls(salt=str(d["salt"]), notes=int(d.get("notes", 0)),
                   drafted_notes=int(d.get("drafted_notes", 0)),
                   sections={k: SectionStats.from_dict(v) for k, v in d.get("sections", {}).items()},
                   words_per_sentence=[float(x) for x in d.get("words_per_sentence", [])],
                   negatives={str(k): int(v) for k, v in d.get("negatives", {}).items()},
                   pending={str(k): int(v) for k, v in d.get("pending", {}).items()},
                   swaps={str(k): [int(v[0]), int(v[1])] for k, v in d.get("swaps", {}).items()})


@dataclass(frozen=True)
class SectionStyle:
    key: str
    words: float | None = None     # signed words at a typical visit's length (median)
    skip: bool = False             # always deleted: not drafted
    always: bool = False           # always written by the clinician when the draft was empty


@dataclass(frozen=True)
class StyleProfile:
    """The rules drafting uses; empty (``StyleProfile()``) changes nothing."""

    notes: int = 0
    sections: tuple[SectionStyle, ...] = ()
    words_per_sentence: float = DEFAULT_WORDS_PER_SENTENCE
    negative: str | None = None
    swaps: tuple[tuple[str, str], ...] = ()

    def section(self, key: str) -> SectionStyle | None:
        return next((s for s in self.sections if s.key == key), None)

    @property
    def empty(self) -> bool:
        return not (self.negative or self.swaps or any(
            s.words is not None or s.skip or s.always for s in self.sections))

    def fingerprint(self) -> str:
        """Names the rules in the audit trail without their words."""
        import json

        raw = json.dumps([self.sections and [(s.key, s.words and round(s.words), s.skip, s.always)
                                             for s in self.sections],
                          round(self.words_per_sentence, 1), self.negative, self.swaps])
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def describe(self) -> list[str]:
        """The rules in plain words, for the clinician (window and CLI)."""
        lines = []
        for s in self.sections:
            if s.skip:
                lines.append(f"{s.key}: not drafted (you deleted it in most notes)")
            if s.always:
                lines.append(f"{s.key}: always drafted (you wrote it where the draft had nothing)")
            if s.words is not None and not s.skip:
                lines.append(f"{s.key}: about {round(s.words)} words for a typical visit, fewer for a short one")
        if self.negative:
            example = {NegativeForm.DENIES: "Denies chest pain.", NegativeForm.NO: "No chest pain.",
                       NegativeForm.NEGATIVE_FOR: "Negative for chest pain."}[self.negative]
            lines.append(f"negatives written as \u201c{example}\u201d")
        for draft, signed in self.swaps:
            lines.append(f"\u201c{draft}\u201d is written \u201c{signed}\u201d")
        return lines


def learn(history: StyleHistory, k: int = MIN_NOTES) -> StyleProfile:
    if history.notes < k:
        return StyleProfile(notes=history.notes)
    sections = []
    for key, st in history.sections.items():
        words = statistics.median(st.lengths) if len(st.lengths) >= k else None
        # Both also need the signed notes themselves to agree: a section the clinician writes
        # in most of their notes is not one they "always delete", whatever a few drafts showed.
        empty_share = sum(1 for x in st.lengths if x == 0) / max(len(st.lengths), 1)
        skip = (st.drafted >= k and st.deleted >= HABIT_SHARE * st.drafted
                and empty_share >= HABIT_SHARE)
        always = (st.left_empty >= k and st.added >= HABIT_SHARE * st.left_empty
                  and 1 - empty_share >= HABIT_SHARE)
        sections.append(SectionStyle(key, words, skip, always and not skip))
    wps = (statistics.median(history.words_per_sentence) if len(history.words_per_sentence) >= k
           else DEFAULT_WORDS_PER_SENTENCE)
    total = sum(history.negatives.values())
    negative = None
    if total >= k:
        form, n = max(history.negatives.items(), key=lambda kv: (kv[1], kv[0]))
        if n >= HABIT_SHARE * total and form in NegativeForm.ALL:
            negative = form
    learned: list[tuple[str, str]] = []
    for key, (n, kept) in history.swaps.items():
        draft, _, signed = key.partition("\t")
        if n >= k and kept < n:
            learned.append((draft, signed))
    swaps = tuple(sorted(learned))
    return StyleProfile(notes=history.notes, sections=tuple(sections), words_per_sentence=wps,
                        negative=negative, swaps=swaps)
