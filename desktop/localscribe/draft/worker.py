"""llama.cpp in its own process, so a native crash or a long generation never takes the app down.

The client (``DraftWorker``) sends segments while the visit goes on and ``finish`` at Stop;
the worker keeps an ``IncrementalDrafter`` and answers with streamed text pieces and the
verified Draft. If the process dies (killed, out of memory, native crash) the client raises
``WorkerCrashed`` with a message for the user; what the caller holds (transcript, audio in
the vault) is untouched, so drafting can simply be retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any, Self

from localscribe.domain import Draft, Segment, Transcript
from localscribe.draft.engine import DEFAULT_CTX
from localscribe.engine_process import (EngineProcess, EngineProcessError, Event, WorkerCrashed,
                                        child_failed, child_ready)

__all__ = ["DraftWorker", "WorkerConfig", "WorkerCrashed", "WorkerError"]


class WorkerError(RuntimeError):
    """The draft worker reported a problem (model missing, transcript empty, ...)."""


@dataclass(frozen=True)
class WorkerConfig:
    model: Any                      # ModelFile, or an absolute GGUF path (development)
    template: str = "soap"
    data_dir: str | None = None     # for user templates
    n_ctx: int = DEFAULT_CTX
    n_threads: int | None = None
    lookahead: int = 0
    max_tokens: int | None = None  # None: the template's note_tokens
    style: Any = None               # the clinician's learned StyleProfile (localscribe.style)


def _serve(cfg: WorkerConfig, requests: Queue[Any], events: Queue[Event]) -> None:
    # ``engine_process`` has installed the egress guard and the parent-death watch already.
    try:
        from localscribe.draft.engine import LlamaEngine
        from localscribe.draft.incremental import IncrementalDrafter
        from localscribe.draft.templates import load_template
        from localscribe.verify import verify_draft

        template = load_template(cfg.template, Path(cfg.data_dir) if cfg.data_dir else None)
        engine = LlamaEngine(cfg.model, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, lookahead=cfg.lookahead)
        drafter = IncrementalDrafter(engine, template, max_tokens=cfg.max_tokens, style=cfg.style)
    except Exception as exc:  # noqa: BLE001 - any start-up failure must reach the caller as a message
        child_failed(events, str(exc))
        return
    child_ready(events, engine.model_sha256)
    segments: list[Segment] = []
    while True:
        msg = requests.get()
        kind = msg[0]
        try:
            if kind == "feed":
                new = [Segment.from_dict(d) for d in msg[1]]
                segments.extend(new)
                drafter.feed(new)
                events.put(("fed", drafter.stats.fed_segments, drafter.stats.prefill_tokens))
            elif kind == "finish":
                draft = drafter.finish(on_text=lambda piece: events.put(("text", piece)))
                verify_draft(draft, Transcript(segments=segments))
                s = drafter.stats
                events.put(("draft", draft.to_dict(), {
                    "chunks": s.chunks, "prefill_tokens": s.prefill_tokens,
                    "stop_prompt_tokens": s.stop_prompt_tokens, "stop_generated": s.stop_generated,
                    "stop_decoded": s.stop_decoded, "stop_prompt_s": s.stop_prompt_s,
                    "stop_gen_s": s.stop_gen_s, "finished": s.finished}))
                drafter = IncrementalDrafter(engine, template, max_tokens=cfg.max_tokens, style=cfg.style)
                segments = []
            elif kind == "close":
                return
        except Exception as exc:  # noqa: BLE001 - keep serving; the caller gets the message
            events.put(("error", str(exc)))


class DraftWorker:
    """Client side. ``feed()`` during the visit, ``finish()`` at Stop, ``close()`` at the end."""

    def __init__(self, config: WorkerConfig, *, start_timeout: float = 120.0):
        self._proc = EngineProcess(
            _serve, (config,), name="localscribe-draft", what="the note-drafting engine",
            crash_hint="The transcript and the recording are safe; drafting can be retried.")
        self._requests = self._proc.requests
        self.model_sha256 = ""
        try:
            self.model_sha256 = self._proc.start(start_timeout)
        except WorkerCrashed:
            raise
        except EngineProcessError as exc:
            raise WorkerError(str(exc)) from None

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def _next(self, timeout: float | None, doing: str) -> Event:
        try:
            return self._proc.next(timeout, doing)
        except TimeoutError:
            raise WorkerError(f"the note-drafting engine did not answer within {timeout:.0f} s "
                              f"while {doing}") from None

    def feed(self, segments: list[Segment], *, wait: bool = False, timeout: float | None = None) -> None:
        """Send new segments; the worker evaluates them into its cache in the background."""
        self._requests.put(("feed", [s.to_dict() for s in segments]))
        if wait:
            self._await("fed", timeout, "reading the transcript")

    def _await(self, want: str, timeout: float | None, doing: str,
               on_text: Callable[[str], None] | None = None) -> list[Any]:
        while True:
            kind, *rest = self._next(timeout, doing)
            if kind == "error":
                raise WorkerError(rest[0])
            if kind == "text":
                if on_text:
                    on_text(rest[0])
                continue
            if kind == want:
                return rest

    def finish(self, *, on_text: Callable[[str], None] | None = None,
               timeout: float | None = None) -> tuple[Draft, dict[str, Any]]:
        """Stop: returns the verified Draft and timing counters; text streams to ``on_text``."""
        self._requests.put(("finish",))
        draft, stats = self._await("draft", timeout, "writing the note", on_text)
        return Draft.from_dict(draft), stats

    def close(self, timeout: float = 5.0) -> None:
        self._proc.stop(("close",), timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
