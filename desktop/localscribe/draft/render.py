"""The note's text, laid out by code from the Draft (the model never formats the final note)."""

from __future__ import annotations

from localscribe.domain import Draft
from localscribe.draft.templates import Template


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?:":
        text += "."
    return text[:1].upper() + text[1:]


def render_note(draft: Draft, template: Template, *, with_empty: bool = False) -> str:
    """Headings in template order; prose joins statements into a paragraph, bullets list them.

    Sections with no statements are left out unless ``with_empty`` (then marked as not
    discussed), so the note never pretends something was examined.
    """
    by_key = {s.key: s for s in draft.sections}
    blocks: list[str] = []
    for spec in template.sections:
        sec = by_key.get(spec.key)
        statements = [_sentence(st.text) for st in (sec.statements if sec else []) if st.text.strip()]
        if not statements:
            if with_empty:
                blocks.append(f"{spec.title}\n\nNot discussed.")
            continue
        if template.style == "bullets":
            body = "\n".join(f"- {s}" for s in statements)
        else:
            body = " ".join(statements)
        blocks.append(f"{spec.title}\n\n{body}")
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_checks(draft: Draft) -> list[str]:
    """What the clinician must look at, as plain lines: empty-section notices, then each flag,
    blocking ones marked as such (one wording for the CLI commands that print a draft)."""
    lines = [f"! {sec.title}: {sec.notice}" for sec in draft.notices]
    for st in draft.flagged:
        for f in st.flags:
            mark = "must check" if f.blocking else "note"
            lines.append(f"- {st.id} [{mark}: {f.kind}] \"{st.text}\": {f.reason}")
    return lines


def checks_summary(draft: Draft) -> str:
    n_block = sum(len(st.blocking_flags) for st in draft.statements)
    n_info = sum(len(st.flags) for st in draft.statements) - n_block
    return (f"{n_block + len(draft.notices)} to acknowledge before signing, {n_info} informational, "
            f"{len(draft.statements)} statements")
