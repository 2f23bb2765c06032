"""Build the two engine workers a visit needs (each in its own process)."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

from localscribe.domain import Draft, Segment
from localscribe.draft.worker import DraftWorker, WorkerConfig
from localscribe.models.resolve import ModelFile
from localscribe.transcribe.streaming import StreamingTranscriber

# A model as the engines take it: resolved and hash-checked, or a plain path (tests, tools).
ModelRef = ModelFile | str | Path


class WorkerDrafter:
    """The live visit's view of the llama.cpp worker: feed segments, finish at Stop."""

    def __init__(self, worker: DraftWorker):
        self.worker = worker
        self.stats: dict[str, Any] = {}

    def feed(self, segments: list[Segment]) -> None:
        self.worker.feed(segments)

    def transcribing(self, busy: bool) -> None:
        """The speech engine is (not) working on a window: early drafts pause meanwhile."""
        self.worker.transcribing(busy)

    def finish(self, on_text: Callable[[str], None] | None = None) -> Draft:
        draft, self.stats = self.worker.finish(on_text=on_text)
        return draft

    def close(self) -> None:
        self.worker.close()


def transcriber_factory(asr_model: ModelRef, *, channel_map: dict[int, str] | None = None,
                        n_threads: int | None = None) -> Callable[[], StreamingTranscriber]:
    def make() -> StreamingTranscriber:
        return StreamingTranscriber(asr_model, channel_map=channel_map, n_threads=n_threads).start()
    return make


def drafter_factory(llm_model: ModelRef, template: str, *, data_dir: Path | None = None,
                    n_threads: int | None = None, style: Any = None,
                    early: bool | None = None) -> Callable[[], WorkerDrafter]:
    """``early``: draft before Stop (``draft.early``; None: its default, ``DEFAULT_ON``)."""
    def make() -> WorkerDrafter:
        config = WorkerConfig(model=llm_model, template=template,
                              data_dir=str(data_dir) if data_dir else None, n_threads=n_threads,
                              style=style, **({} if early is None else {"early": early}))
        return WorkerDrafter(DraftWorker(config))
    return make
