"""Drafting as the rest of the app uses it: draft, verify, and record the generation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localscribe.domain import Draft, Transcript
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import DraftStats, draft_transcript
from localscribe.draft.templates import Template
from localscribe.verify import verify_draft


def audit_generation(session: Any, draft: Draft, encounter_id: str = "", stats: DraftStats | None = None) -> None:
    """Record which model, template and prompt produced a draft (hashes only, no PHI)."""
    if session is None:
        return
    details = {"model_sha256": draft.model_sha256, "template": draft.template,
               "prompt_sha256": draft.prompt_sha256, "statements": len(draft.statements),
               "flagged": len(draft.flagged)}
    if stats is not None:
        details.update(chunks=stats.chunks, generated_tokens=stats.stop_generated, complete=stats.finished)
    session.audit("generate", object=encounter_id, **details)


def draft_note(engine: LlamaEngine, transcript: Transcript, template: Template, *,
               max_tokens: int | None = None, on_text: Callable[[str], None] | None = None,
               session: Any = None, encounter_id: str = "") -> tuple[Draft, DraftStats]:
    """One-shot: draft the finished transcript, flag unsupported statements, audit."""
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=max_tokens, on_text=on_text)
    verify_draft(draft, transcript)
    audit_generation(session, draft, encounter_id, stats)
    return draft, stats
