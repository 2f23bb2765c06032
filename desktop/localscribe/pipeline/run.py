"""A recording on disk through the live pipeline (at file speed, or paced like a microphone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable

from localscribe.capture.sources import FileSource
from localscribe.pipeline.engines import ModelRef, drafter_factory, transcriber_factory
from localscribe.pipeline.live_visit import LiveVisit, VisitResult


def scribe_file(audio: str | Path, store: Any, *, asr_model: ModelRef, llm_model: ModelRef,
                template: str,
                data_dir: Path | None = None, realtime: bool = False, draft: bool = True,
                on_event: Callable[[Any], None] | None = None, style: Any = None) -> VisitResult:
    """Transcribe and draft one recording; returns when the draft (or an error) is ready.

    The draft worker verifies the draft against the transcript before handing it back.
    ``style``: the signed-in clinician's learned style (``style.store.drafting_style``), or
    None (the demo, an assistant's visit).
    """
    source = FileSource(audio, realtime=realtime)
    make_drafter = (drafter_factory(llm_model, template, data_dir=data_dir, style=style)
                    if draft else None)
    visit = LiveVisit(source, store, transcriber_factory=transcriber_factory(asr_model),
                      drafter_factory=make_drafter, on_event=on_event)
    visit.start()
    return visit.wait()
