"""The whisper.cpp worker process and the parent's handle on it.

The engine runs out of the caller's process so that a native crash, a kill or a long decode
never takes the capture (and the audio it is spooling) down with it. The parent sees a dead
worker as a WorkerCrashed error with the exit code, never as a hang.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from localscribe.transcribe.engine import EngineError, RawSegment, model_path_of

_POLL_S = 0.1


class TranscriptionError(RuntimeError):
    """Transcription cannot go on; recorded audio is unaffected (it lives with the caller)."""


class WorkerCrashed(TranscriptionError):
    pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "is not responding"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed ({name})"
    return f"exited with status {code}"


def worker_main(model_ref: Any, n_threads: int | None, requests, results) -> None:
    """Entry point of the spawned process. The egress guard goes in before anything else."""
    try:
        from localscribe.security.egress import install_guard
    except ImportError:      # the guard module ships with the vault/security work
        install_guard = None
    if install_guard is not None:
        install_guard()
    from pywhispercpp import utils as pw_utils

    from localscribe.transcribe.engine import WhisperEngine

    try:
        engine = WhisperEngine(model_ref, n_threads)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as text
        results.put(("failed", None, f"{type(exc).__name__}: {exc}"))
        return
    results.put(("ready", None, {"pid": os.getpid(), "threads": engine.n_threads}))
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
                 start_timeout_s: float = 120.0):
        # A ModelFile pickles fine; a bare path is checked here so the error is the caller's.
        self._model_ref = model_file if hasattr(model_file, "path") else model_path_of(model_file)
        if hasattr(model_file, "path"):
            model_path_of(model_file)
        self._threads = n_threads
        self._timeout = start_timeout_s
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._req = self._res = None
        self.info: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_alive(self) -> bool:
        return bool(self._proc and self._proc.is_alive())

    def start(self) -> "EngineWorker":
        self._req, self._res = self._ctx.Queue(), self._ctx.Queue()
        self._proc = self._ctx.Process(target=worker_main, name="localscribe-asr",
                                       args=(self._model_ref, self._threads, self._req, self._res),
                                       daemon=True)
        self._proc.start()
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                kind, _, payload = self._next(deadline)
            except TimeoutError:
                self.stop()
                raise EngineError(f"the speech engine did not start within {self._timeout:.0f} s") from None
            if kind == "ready":
                self.info = payload
                return self
            if kind == "failed":
                self.stop()
                raise EngineError(f"the speech engine could not start: {payload}")

    def check(self) -> None:
        """Raise WorkerCrashed now if the process has died, even with no job in flight."""
        if self._proc is not None and not self._proc.is_alive():
            raise WorkerCrashed(self._crash_message())

    def submit(self, job_id: int, samples: np.ndarray) -> None:
        if not self.is_alive():
            raise WorkerCrashed(self._crash_message())
        self._req.put((job_id, np.ascontiguousarray(samples, dtype=np.float32)))

    def get(self, timeout: float | None = None) -> JobResult | None:
        """The next finished job, or None when none finished within timeout (None: wait)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            kind, job_id, payload = self._next(deadline)
        except TimeoutError:
            return None
        if kind == "error":
            raise TranscriptionError(f"the speech engine failed on a window: {payload}")
        segs, seconds = payload
        return JobResult(job_id, [RawSegment.from_dict(d) for d in segs], seconds)

    def _next(self, deadline: float | None):
        while True:
            wait = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            try:
                if wait <= 0:
                    return self._res.get_nowait()
                return self._res.get(timeout=wait)
            except queue.Empty:
                if wait <= 0 and self._proc.is_alive():
                    raise TimeoutError from None
                if not self._proc.is_alive():
                    try:     # a result may have landed just before the exit
                        return self._res.get(timeout=_POLL_S)
                    except queue.Empty:
                        raise WorkerCrashed(self._crash_message()) from None

    def _crash_message(self) -> str:
        code = self._proc.exitcode if self._proc else None
        return (f"the transcription engine process {_describe_exit(code)}; "
                "transcription stopped, the recorded audio is kept")

    def stop(self, timeout_s: float = 5.0) -> None:
        if not self._proc:
            return
        if self._proc.is_alive():
            try:
                self._req.put(None)
            except (ValueError, OSError):
                pass
            self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout_s)
        for q in (self._req, self._res):
            q.cancel_join_thread()
            q.close()
        self._proc = self._req = self._res = None
