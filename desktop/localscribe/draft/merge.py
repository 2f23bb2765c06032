"""Merging the notes of a long visit's chunks, section by section, in code.

Each chunk of a visit longer than the context gets its own note (``draft.incremental``); at
Stop they are concatenated per section and a statement already said is dropped. Deterministic
code rather than a model's summary, so every statement keeps its evidence ids, and the drops
are counted and shown, never silent.
"""

from __future__ import annotations

import re

from localscribe.domain import Section
from localscribe.draft.templates import Template


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def merge_sections(template: Template, parts: list[list[Section]]) -> tuple[list[Section], int]:
    """Concatenate each section across chunks, dropping statements already said; returns the
    sections and how many repeats were dropped (reported, never silent). A section keeps an
    empty-section notice only if no chunk wrote anything for it; a section left empty because
    all it had repeated earlier statements says so."""
    merged = [Section(key=s.key, title=s.title) for s in template.sections]
    index = {s.key: s for s in merged}
    seen: set[str] = set()
    n = removed = 0
    notices: dict[str, str] = {}
    for sections in parts:
        for sec in sections:
            if sec.notice:
                notices.setdefault(sec.key, sec.notice)
            for st in sec.statements:
                key = _norm(st.text)
                if not key:
                    continue
                if key in seen:
                    removed += 1
                    notices.setdefault(sec.key, (
                        f"Nothing new was drafted for {sec.title}: what the model wrote there "
                        "repeated statements already in the note. Write this section or confirm "
                        "it is not needed."))
                    continue
                seen.add(key)
                n += 1
                st.id = f"st{n}"
                index[sec.key].statements.append(st)
    for sec in merged:
        if not sec.statements and sec.key in notices:
            sec.notice = notices[sec.key]
    return merged, removed
