"""How much the clinician changed the draft before signing, per section, in words.

Runs inside the clinician's session at signing (it reads the draft and the signed text, which
are PHI) and returns only counts, which go on the audit trail as a ``scorecard.edits`` event.

Definitions (the scorecard's documentation repeats them):
- A note's text is compared word by word, lower-cased; punctuation, bullets, capitals and line
  layout are not edits (the draft is laid out by code, so those differ without anyone typing).
- The signed text is cut into sections at lines that are a section's heading; words before the
  first heading count as an added section ``_other``.
- Changed words = the word-level edit distance (insertions, deletions, substitutions) between
  the draft's section and the signed section. A note's edit ratio = changed words over the
  draft's words (at least 1).
- Grade: ``unchanged`` (0 changed words), ``minor`` (ratio <= MINOR_MAX_RATIO), ``major``.
- A blocking flag is ``unchanged`` when its statement's words still stand, in order, in the
  signed section (acknowledged and kept), otherwise ``fixed`` (edited or deleted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from localscribe.domain import Draft, SignedNote

MINOR_MAX_RATIO = 0.15     # at most 15 changed words per 100 drafted: a light touch-up
OTHER_SECTION = "_other"
CUSTOM_SECTION = "_custom"        # a section key that is not a plain template key
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
GRADES = ("unchanged", "minor", "major")
_WORD = re.compile(r"\w+(?:[-'’.]\w+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance over words. Common ends are trimmed first: typical edits touch a
    few places, so the quadratic part stays small."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return len(a) + len(b)
    prev = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        cur = [i]
        for j, wb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        prev = cur
    return prev[-1]


def grade(changed: int, drafted: int) -> str:
    if changed == 0:
        return "unchanged"
    return "minor" if changed / max(drafted, 1) <= MINOR_MAX_RATIO else "major"


@dataclass(frozen=True)
class SectionEdit:
    key: str
    draft_words: int
    signed_words: int
    changed: int


@dataclass(frozen=True)
class NoteEdits:
    """What the scorecard keeps about one signing: counts only."""

    note_id: str
    sections: tuple[SectionEdit, ...]
    flags_raised: int
    flags_unchanged: int
    flags_fixed: int

    @property
    def draft_words(self) -> int:
        return sum(s.draft_words for s in self.sections)

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.sections)

    @property
    def grade(self) -> str:
        return grade(self.changed, self.draft_words)

    def to_details(self) -> dict[str, Any]:
        merged: dict[str, list[int]] = {}
        for s in self.sections:
            acc = merged.setdefault(s.key, [0, 0, 0])
            for i, v in enumerate((s.draft_words, s.signed_words, s.changed)):
                acc[i] += v
        return {"note_id": self.note_id, "grade": self.grade, "draft_words": self.draft_words,
                "changed": self.changed, "sections": merged,
                "flags": {"raised": self.flags_raised, "unchanged": self.flags_unchanged,
                          "fixed": self.flags_fixed}}

    @classmethod
    def from_details(cls, d: dict[str, Any]) -> NoteEdits:
        flags = d.get("flags") or {}
        return cls(note_id=str(d.get("note_id", "")),
                   sections=tuple(SectionEdit(str(k), int(v[0]), int(v[1]), int(v[2]))
                                  for k, v in (d.get("sections") or {}).items()),
                   flags_raised=int(flags.get("raised", 0)),
                   flags_unchanged=int(flags.get("unchanged", 0)),
                   flags_fixed=int(flags.get("fixed", 0)))


def _heading(line: str) -> str:
    return line.strip().strip("#").strip().rstrip(":").strip().lower()


def split_sections(text: str, titles: dict[str, str]) -> dict[str, list[str]]:
    """The signed text's words per section key; ``titles`` maps lower-cased heading -> key."""
    out: dict[str, list[str]] = {}
    key = OTHER_SECTION
    for line in text.splitlines():
        found = titles.get(_heading(line))
        if found is not None:
            key = found
            out.setdefault(key, [])
            continue
        out.setdefault(key, []).extend(words(line))
    if not out.get(OTHER_SECTION):
        out.pop(OTHER_SECTION, None)
    return out


def _contains(hay: list[str], needle: list[str]) -> bool:
    if not needle:
        return True
    n = len(needle)
    return any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def safe_key(key: str) -> str:
    """Section keys leave the clinician's session: only template-style keys do, as they are."""
    return key if _KEY.match(key) else CUSTOM_SECTION


def note_edits(draft: Draft, note: SignedNote) -> NoteEdits:
    titles = {_heading(sec.title): sec.key for sec in draft.sections}
    titles.update({_heading(sec.key): sec.key for sec in draft.sections
                   if _heading(sec.key) not in titles})
    signed = split_sections(note.text, titles)
    sections = []
    raised = unchanged = 0
    for sec in draft.sections:
        drafted = words(" ".join(st.text for st in sec.statements))
        kept = signed.get(sec.key, [])
        if drafted or kept:
            sections.append(SectionEdit(safe_key(sec.key), len(drafted), len(kept),
                                        edit_distance(drafted, kept)))
        for st in sec.statements:
            n = len(st.blocking_flags)
            raised += n
            if n and _contains(kept, words(st.text)):
                unchanged += n
    if OTHER_SECTION in signed:
        extra = signed[OTHER_SECTION]
        sections.append(SectionEdit(OTHER_SECTION, 0, len(extra), len(extra)))
    return NoteEdits(note.note_id, tuple(sections), raised, unchanged, raised - unchanged)


def record(session: Any, eid: str, draft: Draft | None, note: SignedNote) -> None:
    """Called by ``Session.sign``: put the signing's edit counts on the audit trail. Never
    fails the signing; a problem is itself recorded (by kind only: a message could quote text)."""
    if draft is None:
        return    # a note written without a draft has nothing to compare against
    try:
        details = note_edits(draft, note).to_details()
    except Exception as exc:  # noqa: BLE001 - the signature stands whatever happens here
        session.audit("scorecard.edits", eid, "error", error=type(exc).__name__)
        return
    session.audit("scorecard.edits", eid, **details)
