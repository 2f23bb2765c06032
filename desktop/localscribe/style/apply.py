"""A ``StyleProfile`` applied to drafting (``draft.incremental`` calls these, nothing else).

Fact-free on purpose: the 1.5B model copied another patient's drugs from a worked example
note in its prompt (README), so the clinician's own notes never enter the prompt. What does:
- each section's sentence cap from the clinician's signed length for a visit this long
  (``section_spec``), a section they always delete is not drafted at all, one they always
  write cannot be answered "None.";
- one sentence in the section's request naming their form of negatives (``request_note``);
- their phrase swaps, applied to the model's text by code (``rewrite``) before the verifier
  runs, so what the verifier checks is what the clinician is shown.
"""

from __future__ import annotations

import dataclasses
import re

from localscribe.draft.templates import SectionSpec
from localscribe.style.edits import NegativeForm
from localscribe.style.profile import StyleProfile, visit_scale

# Sections where negatives are written (a plan or a chief complaint has none to style).
_NEGATIVE_SECTIONS = frozenset({"hpi", "ros", "subjective", "history", "exam", "objective"})
_NEGATIVE_WORDING = {
    NegativeForm.DENIES: "Write each negative as the clinician does: 'Denies chest pain.'",
    NegativeForm.NO: "Write each negative as the clinician does: 'No chest pain.'",
    NegativeForm.NEGATIVE_FOR: "Write each negative as the clinician does: 'Negative for chest pain.'",
}


def section_spec(profile: StyleProfile, spec: SectionSpec, visit_words: int) -> SectionSpec | None:
    """The section as this clinician would have it for a visit of ``visit_words`` words; None:
    do not draft it. Caps stay within the template's (its token budget is sized for them)."""
    style = profile.section(spec.key)
    if style is None:
        return spec
    if style.skip:
        return None
    if style.always and not spec.min_statements:
        spec = dataclasses.replace(spec, min_statements=1)
    if style.words is not None and not spec.phrase:
        target = style.words * visit_scale(visit_words) / max(profile.words_per_sentence, 1.0)
        lo = max(spec.min_statements, 1)
        cap = min(spec.max_statements, max(lo, round(target)))
        if cap != spec.max_statements:
            spec = dataclasses.replace(spec, max_statements=cap)
    return spec


def request_note(profile: StyleProfile, spec: SectionSpec) -> str:
    """Words added to the section's request ("" for none)."""
    if profile.negative and spec.key in _NEGATIVE_SECTIONS:
        return " " + _NEGATIVE_WORDING[profile.negative]
    return ""


def _cased(replacement: str, starts_sentence: bool) -> str:
    if starts_sentence and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def rewrite(profile: StyleProfile, text: str) -> tuple[str, int]:
    """The text with the clinician's phrase swaps made (whole words, any case); returns the
    text and how many swaps were made. Longer phrases first, each place rewritten once."""
    if not profile.swaps or not text:
        return text, 0
    made = 0
    ordered = sorted(profile.swaps, key=lambda s: (-len(s[0].split()), s[0]))
    pattern = re.compile(r"(?<![\w-])(" + "|".join(
        r"\s+".join(map(re.escape, d.split())) for d, _ in ordered) + r")(?![\w-])", re.IGNORECASE)
    table = {d: s for d, s in ordered}

    def swap(m: re.Match[str]) -> str:
        nonlocal made
        made += 1
        before = text[:m.start()].rstrip()
        return _cased(table[" ".join(m.group(1).lower().split())],
                      not before or before.endswith((".", "!", "?")))
    return pattern.sub(swap, text), made
