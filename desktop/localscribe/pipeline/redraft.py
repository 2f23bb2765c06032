"""Draft an encounter's note again from its stored transcript (no new audio).

Used when the clinician switches template, asks for one section again, or retries after the
note engine crashed. The draft worker runs in its own process as during a visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from localscribe.config import Paths
from localscribe.domain import Draft
from localscribe.models import resolve_model
from localscribe.pipeline import events as ev
from localscribe.pipeline.engines import drafter_factory
from localscribe.pipeline.stores import VaultVisitStore

if TYPE_CHECKING:   # the vault is imported where it is used; the type is all this module needs
    from localscribe.vault.session import Session


def _generate(session: Session, eid: str, template: str, profile: str, paths: Paths,
              on_event: Callable[[Any], None]) -> Draft:
    transcript = session.load_transcript(eid)
    if transcript is None or not transcript.segments:
        raise ValueError("this encounter has no transcript to draft from")
    on_event(ev.StateChanged("drafting"))
    on_event(ev.Progress("loading the note model"))
    from localscribe.style.store import drafting_style   # the clinician's learned style
    drafter = drafter_factory(resolve_model("llm", profile, paths), template,
                              data_dir=paths.data_dir, style=drafting_style(session))()
    try:
        drafter.feed(transcript.segments)
        on_event(ev.Progress("drafting"))
        return drafter.finish(on_text=lambda t: on_event(ev.DraftToken(t)))
    finally:
        drafter.close()


def _publish(session: Session, eid: str, draft: Draft, on_event: Callable[[Any], None]) -> Draft:
    VaultVisitStore(session, eid).save_draft(draft)      # audits the generation
    for section in draft.sections:
        on_event(ev.SectionReady(section))
    on_event(ev.DraftReady(draft))
    on_event(ev.StateChanged("review"))
    return draft


def redraft(session: Session, eid: str, *, template: str, profile: str, paths: Paths,
            on_event: Callable[[Any], None] = lambda e: None) -> Draft:
    """A whole new draft (e.g. under another template); the old one stays in the history."""
    return _publish(session, eid, _generate(session, eid, template, profile, paths, on_event),
                    on_event)


def regenerate_section(session: Session, eid: str, section_key: str, *, profile: str, paths: Paths,
                       on_event: Callable[[Any], None] = lambda e: None) -> Draft:
    """Replace one section of the current draft with a freshly generated one; the clinician's
    other sections stay exactly as they were."""
    current = session.load_draft(eid)
    if current is None:
        raise ValueError("this encounter has no draft yet")
    if section_key not in {s.key for s in current.sections}:
        raise ValueError(f"the draft has no section {section_key!r}")
    fresh = _generate(session, eid, current.template, profile, paths, on_event)
    new_section = next((s for s in fresh.sections if s.key == section_key), None)
    if new_section is None:
        raise ValueError(f"the model produced no {section_key!r} section")
    taken = {st.id for s in current.sections if s.key != section_key for st in s.statements}
    for i, st in enumerate(new_section.statements, 1):
        if st.id in taken:                    # keep statement ids unique within the draft
            st.id = f"{section_key}-{i}"
    merged = Draft(template=current.template, model_sha256=fresh.model_sha256,
                   prompt_sha256=fresh.prompt_sha256,
                   sections=[new_section if s.key == section_key else s for s in current.sections])
    return _publish(session, eid, merged, on_event)
