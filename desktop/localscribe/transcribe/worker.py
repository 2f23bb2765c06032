"""The whisper.cpp worker process and the parent's handle on it.

The engine runs out of the caller's process so that a native crash, a kill or a long decode
never takes the capture (and the audio it is spooling) down with it. The parent sees a dead
worker as a WorkerCrashed error with the exit code, never as a hang.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import numpy as np

from localscribe.engine_process import (EngineProcess, EngineProcessError, Event, WorkerCrashed,
                                        child_failed, child_ready)
from localscribe.transcribe.engine import DecodeOptions, EngineError, RawSegment, model_path_of

__all__ = ["EngineWorker", "JobResult", "TranscriptionError", "WorkerCrashed"]


class TranscriptionError(RuntimeError):
    """Transcription cannot go on; recorded audio is unaffected (it lives with the caller)."""


def worker_main(model_ref: Any, n_threads: int | None, options: DecodeOptions | None, requests: Queue[Any],
                results: Queue[Event]) -> None:
    """The engine's loop in the spawned process (``engine_process`` has set up the guard and
    the parent-death watch already)."""
    from pywhispercpp import utils as pw_utils

    from localscribe.transcribe.engine import WhisperEngine

    try:
        engine = WhisperEngine(model_ref, n_threads, options=options)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as text
        child_failed(results, f"{type(exc).__name__}: {exc}")
        return
    child_ready(results, {"pid": os.getpid(), "threads": engine.n_threads})
    while True:
        msg = requests.get()
        if msg is None:
            return
        job_id, samples = msg
        started = time.perf_counter()
        try:
            with pw_utils.redirect_stderr(to=None):    # whisper.cpp logs per call otherwise
                segs = engine.transcribe(samples)
            results.put(("result", job_id, ([s.to_dict() for s in segs],
                                            time.perf_counter() - started)))
        except Exception as exc:  # noqa: BLE001
            results.put(("error", job_id, f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class JobResult:
    job_id: int
    segments: list[RawSegment]
    seconds: float


class EngineWorker:
    """Parent-side handle: start(), submit(), get(); stop() when done."""

    def __init__(self, model_file: Any, n_threads: int | None = None,
                 start_timeout_s: float = 120.0, options: DecodeOptions | None = None):
        # A ModelFile pickles fine; a bare path is checked here so the error is the caller's.
        self._model_ref = model_file if hasattr(model_file, "path") else model_path_of(model_file)
        if hasattr(model_file, "path"):
            model_path_of(model_file)
        self._threads = n_threads
        self._options = options
        self._timeout = start_timeout_s
        self._proc: EngineProcess | None = None
        self.info: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_alive(self) -> bool:
        return bool(self._proc and self._proc.is_alive())

    def start(self) -> EngineWorker:
        self._proc = EngineProcess(worker_main, (self._model_ref, self._threads, self._options),
                                   name="localscribe-asr", what="the speech engine",
                                   crash_hint="Transcription stopped; the recorded audio is kept.")
        try:
            self.info = self._proc.start(self._timeout)
        except EngineProcessError as exc:
            self._proc = None
            raise EngineError(str(exc)) from None
        return self

    def check(self) -> None:
        """Raise WorkerCrashed now if the process has died, even with no job in flight."""
        if self._proc is not None:
            self._proc.check("transcribing")

    def submit(self, job_id: int, samples: np.ndarray) -> None:
        if self._proc is None:
            raise WorkerCrashed("the transcription engine is not running")
        self._proc.put((job_id, np.ascontiguousarray(samples, dtype=np.float32)))

    def get(self, timeout: float | None = None) -> JobResult | None:
        """The next finished job, or None when none finished within timeout (None: wait)."""
        if self._proc is None:
            raise WorkerCrashed("the transcription engine is not running")
        try:
            kind, job_id, payload = self._proc.next(timeout, "transcribing")
        except TimeoutError:
            return None
        if kind == "error":
            raise TranscriptionError(f"the speech engine failed on a window: {payload}")
        segs, seconds = payload
        return JobResult(job_id, [RawSegment.from_dict(d) for d in segs], seconds)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._proc is not None:
            self._proc.stop(None, timeout_s)    # None: the loop's "close"
            self._proc = None
