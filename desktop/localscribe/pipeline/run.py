"""A recording on disk through the live pipeline (at file speed, or paced like a microphone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from localscribe.capture.sources import FileSource
from localscribe.pipeline.engines import drafter_factory, transcriber_factory
from localscribe.pipeline.live_visit import LiveVisit, VisitResult
from localscribe.verify.grounding import verify_draft


def scribe_file(audio: str | Path, store: Any, *, asr_model, llm_model, template,
                realtime: bool = False, draft: bool = True,
                on_event: Callable[[Any], None] | None = None) -> VisitResult:
    """Transcribe and draft one recording; returns when the draft (or an error) is ready."""
    source = FileSource(audio, realtime=realtime)
    visit = LiveVisit(source, store,
                      transcriber_factory=transcriber_factory(asr_model),
                      drafter_factory=drafter_factory(llm_model, template) if draft else None,
                      verify=verify_draft, on_event=on_event)
    visit.start()
    return visit.wait()
