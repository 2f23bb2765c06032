"""One-shot drafting in this process (``localscribe pipeline draft``): draft, then verify.

Every other draft of the app is written by the draft worker (``draft/worker.py``), which
verifies it in its own process; the generation is audited once, where a draft is stored in the
vault (``pipeline/stores.py`` -> ``Session.record_generation``). This path stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from localscribe.domain import Draft, Transcript
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import draft_transcript
from localscribe.draft.stats import DraftStats
from localscribe.draft.templates import Template
from localscribe.verify import verify_draft


def draft_note(engine: LlamaEngine, transcript: Transcript, template: Template, *,
               max_tokens: int | None = None,
               on_text: Callable[[str], None] | None = None) -> tuple[Draft, DraftStats]:
    """Draft the finished transcript and flag unsupported statements."""
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=max_tokens, on_text=on_text)
    verify_draft(draft, transcript)
    return draft, stats
