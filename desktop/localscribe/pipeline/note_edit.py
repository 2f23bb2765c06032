"""The clinician's note text and the draft's statements as one model.

When the clinician edits the note, the text is split again into sections (by their headings)
and one-sentence statements, the same way drafting splits the model's prose
(``draft.sections.to_sections``, evidence linked by ``verify.align``). A sentence whose words
still match a statement of the previous draft keeps that statement: its id, evidence, flags
and therefore any acknowledgement given to it. Every other sentence is new and is checked
by the verifier against the transcript. So a rewritten statement loses its old flag, a
deleted one's flag is gone, and a new unsupported sentence is flagged: what is signed is
checked as it now reads.

Both the window (autosave) and ``localscribe note edit`` save through ``save_note_edit``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from localscribe.domain import Draft, Section, Statement, Transcript
from localscribe.draft.sections import SectionText, norm_sentence, to_sections
from localscribe.draft.templates import Template, load_template
from localscribe.verify.align import align
from localscribe.verify.grounding import Verifier

if TYPE_CHECKING:   # the vault is imported where it is used; the type is all this module needs
    from localscribe.vault.session import Session

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
EDIT_ID_PREFIX = "ed"


@dataclass(frozen=True)
class NoteEdit:
    """What saving an edit did: the version saved and the draft that now stands for the text."""

    version: int
    draft: Draft | None          # None: the encounter has no draft (free text only)
    changed: bool                # the statements (and so the flags) changed with this edit


def _heading(line: str, titles: dict[str, str]) -> str | None:
    """The section key a line heads, or None (headings as render_note writes them; a trailing
    colon and any case are accepted, since clinicians retype headings)."""
    word = line.strip().rstrip(":").strip().lower()
    return titles.get(word) if word else None


def split_note(text: str, template: Template) -> dict[str, str]:
    """Section key -> that section's body text. Text before the first heading belongs to the
    first section: nothing the clinician wrote is left out of the check."""
    titles: dict[str, str] = {}
    for spec in template.sections:
        titles.setdefault(spec.title.lower(), spec.key)
        titles.setdefault(spec.key.lower().replace("_", " "), spec.key)
    bodies: dict[str, list[str]] = {}
    current = template.sections[0].key if template.sections else ""
    for line in text.splitlines():
        key = _heading(line, titles)
        if key is not None:
            current = key
            bodies.setdefault(key, [])
            continue
        # One bullet, one sentence: a list item may lack its full stop.
        bullet = _BULLET.match(line) is not None
        line = _BULLET.sub("", line).strip()
        if bullet and line and not line.endswith((".", "!", "?")):
            line += "."
        bodies.setdefault(current, []).append(line)
    return {k: " ".join(x for x in v if x) for k, v in bodies.items()}


def _fresh_ids(draft: Draft) -> Iterator[str]:
    n = 0
    taken = {st.id for st in draft.statements}
    while True:
        n += 1
        sid = f"{EDIT_ID_PREFIX}{n}"
        if sid not in taken:
            taken.add(sid)
            yield sid


def reconcile(draft: Draft, text: str, transcript: Transcript, template: Template) -> Draft:
    """The draft as ``text`` now reads (a new Draft; ``draft`` is not changed)."""
    bodies = split_note(text, template)
    written = [SectionText(key=k, text=v, finished=True) for k, v in bodies.items()]
    sections = to_sections(template, written, transcript, align, id_prefix="new", clauses=False)
    old = {sec.key: sec for sec in draft.sections}
    # Unchanged sentences keep their statement: first within their own section, then one moved
    # from another section. Each old statement is kept at most once (a sentence written twice
    # is a new statement the second time).
    pool: dict[str, list[Statement]] = {}
    for st in draft.statements:
        pool.setdefault(norm_sentence(st.text), []).append(st)
    home = {st.id: sec.key for sec in draft.sections for st in sec.statements}
    ids = _fresh_ids(draft)
    verifier: Verifier | None = None
    out: list[Section] = []
    for sec in sections:
        statements = []
        for st in sec.statements:
            same = pool.get(norm_sentence(st.text), [])
            kept = next((o for o in same if home[o.id] == sec.key), same[0] if same else None)
            if kept is not None:
                same.remove(kept)
                # Same words: the statement as verified (a re-capitalised or re-punctuated
                # sentence is not a new fact and keeps its acknowledgement).
                statements.append(Statement(kept.id, kept.text, list(kept.evidence),
                                            list(kept.flags)))
                continue
            verifier = verifier or Verifier(transcript)
            fresh = Statement(next(ids), st.text, list(st.evidence))
            fresh.flags = verifier.check(fresh)
            statements.append(fresh)
        before = old.get(sec.key)
        if before is None and not statements:
            continue                  # a section the draft never had, still unwritten
        # A notice that drafting left stays until the clinician writes the section.
        notice = "" if statements else (before.notice if before else sec.notice)
        out.append(Section(sec.key, before.title if before else sec.title, statements, notice))
    known = {sec.key for sec in out}
    out += [Section(s.key, s.title, [], s.notice) for s in draft.sections if s.key not in known]
    return Draft(template=draft.template, sections=out, model_sha256=draft.model_sha256,
                 prompt_sha256=draft.prompt_sha256)


def save_note_edit(session: Session, eid: str, text: str, *, data_dir: Path | None = None) -> NoteEdit:
    """Save ``text`` as the note's next version, with the draft re-split and re-verified.

    The draft goes first: were the version then refused, signing would still see the flags of
    the newer text, never of text that no longer exists."""
    draft = session.load_draft(eid)
    changed = False
    if draft is not None:
        template = load_template(draft.template, data_dir)
        transcript = session.load_transcript(eid) or Transcript()
        new = reconcile(draft, text, transcript, template)
        changed = new.to_dict() != draft.to_dict()
        if changed:
            session.save_draft(eid, new)
        draft = new
    version = int(session.save_note_version(eid, text))
    return NoteEdit(version=version, draft=draft, changed=changed)
