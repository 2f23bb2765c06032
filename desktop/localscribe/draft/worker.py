"""llama.cpp in its own process, so a native crash or a long generation never takes the app down.

The client (``DraftWorker``) sends segments while the visit goes on and ``finish`` at Stop;
the worker keeps an ``IncrementalDrafter`` and answers with streamed text pieces and the
verified Draft. If the process dies (killed, out of memory, native crash) the client raises
``WorkerCrashed`` with a message for the user; what the caller holds (transcript, audio in
the vault) is untouched, so drafting can simply be retried.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any, Self

from localscribe.domain import Draft, Segment, Transcript
from localscribe.draft import early as EARLY
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
    early: bool = EARLY.DEFAULT_ON  # draft while the visit goes on (draft/early.py)
    early_threads: int | None = EARLY.EARLY_THREADS


@dataclass(frozen=True)
class _Signals:
    """Flags the client raises without waiting in the request queue: ``urgent`` (Stop or close
    was sent: an early draft stops at once), ``transcribing`` (the speech engine has a window in
    work: an early draft pauses)."""

    urgent: Any
    transcribing: Any


def _early_stats(s: Any) -> dict[str, Any]:
    return {"reused": list(s.reused), "resumed": list(s.resumed),
            "written_after_stop": dict(s.written_after_stop), "early_rounds": s.early_rounds,
            "early_cancelled": s.early_cancelled, "early_generated": s.early_generated,
            "early_gen_s": s.early_gen_s}


def _serve(cfg: WorkerConfig, signals: _Signals, requests: Queue[Any], events: Queue[Event]) -> None:
    # ``engine_process`` has installed the egress guard and the parent-death watch already.
    try:
        from localscribe.draft.engine import LlamaEngine
        from localscribe.draft.incremental import IncrementalDrafter
        from localscribe.draft.templates import load_template
        from localscribe.verify import verify_draft

        template = load_template(cfg.template, Path(cfg.data_dir) if cfg.data_dir else None)
        engine = LlamaEngine(cfg.model, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, lookahead=cfg.lookahead)
        policy = EARLY.EarlyPolicy(enabled=True, threads=cfg.early_threads) if cfg.early else None

        def new_drafter() -> IncrementalDrafter:
            return IncrementalDrafter(engine, template, max_tokens=cfg.max_tokens, style=cfg.style,
                                      early=policy)
        drafter = new_drafter()
    except Exception as exc:  # noqa: BLE001 - any start-up failure must reach the caller as a message
        child_failed(events, str(exc))
        return
    child_ready(events, engine.model_sha256)
    segments: list[Segment] = []
    while True:
        if requests.empty() and not signals.urgent.is_set() and drafter.early_due():
            # Idle between lines: draft early; a request arriving makes it give way.
            y = EARLY.Yield(lambda: not requests.empty(), signals.urgent.is_set,
                            signals.transcribing.is_set)
            try:
                drafter.draft_early(y, y.lines_waiting)
            except Exception as exc:  # noqa: BLE001 - a failed early draft costs only its time
                drafter.early_policy = None
                events.put(("early_failed", str(exc)))
            continue
        msg = requests.get()
        kind = msg[0]
        try:
            if kind == "feed":
                new = [Segment.from_dict(d) for d in msg[1]]
                segments.extend(new)
                drafter.feed(new)
                events.put(("fed", drafter.stats.fed_segments, drafter.stats.prefill_tokens))
            elif kind == "finish":
                signals.urgent.clear()    # Stop has reached the worker: nothing early runs now
                draft = drafter.finish(on_text=lambda piece: events.put(("text", piece)))
                verify_draft(draft, Transcript(segments=segments))
                s = drafter.stats
                events.put(("draft", draft.to_dict(), {
                    "chunks": s.chunks, "prefill_tokens": s.prefill_tokens,
                    "stop_prompt_tokens": s.stop_prompt_tokens, "stop_generated": s.stop_generated,
                    "stop_decoded": s.stop_decoded, "stop_prompt_s": s.stop_prompt_s,
                    "stop_gen_s": s.stop_gen_s, "finished": s.finished, **_early_stats(s)}))
                drafter = new_drafter()
                segments = []
            elif kind == "close":
                return
        except Exception as exc:  # noqa: BLE001 - keep serving; the caller gets the message
            events.put(("error", str(exc)))


class DraftWorker:
    """Client side. ``feed()`` during the visit, ``finish()`` at Stop, ``close()`` at the end."""

    def __init__(self, config: WorkerConfig, *, start_timeout: float = 120.0):
        ctx = mp.get_context("spawn")
        self._signals = _Signals(urgent=ctx.Event(), transcribing=ctx.Event())
        self._proc = EngineProcess(
            _serve, (config, self._signals), name="localscribe-draft", what="the note-drafting engine",
            crash_hint="The transcript and the recording are safe; drafting can be retried.")
        self._requests = self._proc.requests
        self.model_sha256 = ""
        self.early_failed = ""
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
            if kind == "early_failed":
                self.early_failed = rest[0]      # drafting goes on as without early drafts
                continue
            if kind == "text":
                if on_text:
                    on_text(rest[0])
                continue
            if kind == want:
                return rest

    def finish(self, *, on_text: Callable[[str], None] | None = None,
               timeout: float | None = None) -> tuple[Draft, dict[str, Any]]:
        """Stop: returns the verified Draft and timing counters; text streams to ``on_text``."""
        self._signals.urgent.set()          # an early draft in progress stops at once
        self._requests.put(("finish",))
        draft, stats = self._await("draft", timeout, "writing the note", on_text)
        return Draft.from_dict(draft), stats

    def transcribing(self, busy: bool) -> None:
        """The speech engine has a window in work (True) or none (False): early drafts pause."""
        if busy:
            self._signals.transcribing.set()
        else:
            self._signals.transcribing.clear()

    def close(self, timeout: float = 5.0) -> None:
        self._signals.urgent.set()
        self._proc.stop(("close",), timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
