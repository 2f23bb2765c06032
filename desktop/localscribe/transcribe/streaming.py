"""Live transcription: audio blocks in as they arrive, timed Segments out as windows finish.

Audio is cut at pauses into windows of at most 30 s (capture.windows), each window goes to
the whisper.cpp worker process while the visit continues (windows that wait for a busy worker
go together, one encoder pass: transcribe.batching), and Whisper's inventions are dropped on
the way back. At Stop, finish() only has the last window left to do.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from localscribe.capture.vad import FRAME, SAMPLE_RATE, VadConfig
from localscribe.capture.windows import CutConfig, Window, WindowCutter
from localscribe.domain import Segment, Speaker
from localscribe.transcribe.batching import Batch, seconds, take_batch
from localscribe.transcribe.engine import DecodeOptions, RawSegment
from localscribe.transcribe.hallucination import HallucinationFilter
from localscribe.transcribe.worker import EngineWorker, JobResult


@dataclass(frozen=True)
class Dropped:
    """A segment Whisper produced that we did not keep, and why (for diagnostics)."""

    t0: float
    t1: float
    text: str
    confidence: float
    reason: str


@dataclass
class StreamStats:
    audio_seconds: float = 0.0
    speech_seconds: float = 0.0
    windows: int = 0
    jobs: int = 0               # encoder passes: windows merged while the worker was busy count once
    engine_seconds: float = 0.0
    dropped: list[Dropped] = field(default_factory=list)


def speaker_for(window: Window, t0: float, t1: float, channel_map: Mapping[int, str],
                dominance_db: float = 3.0) -> str:
    """The speaker of the channel that is clearly loudest under [t0, t1] (window-relative)."""
    if window.channels is None or not channel_map:
        return Speaker.UNKNOWN.value
    a = max(0, int(t0 * SAMPLE_RATE))
    b = min(len(window.channels), max(a + 1, int(t1 * SAMPLE_RATE)))
    chunk = window.channels[a:b]
    if chunk.size == 0:
        return Speaker.UNKNOWN.value
    db = 10 * np.log10(np.mean(np.square(chunk, dtype=np.float64), axis=0) + 1e-12)
    order = np.argsort(db)[::-1]
    if len(order) > 1 and db[order[0]] - db[order[1]] < dominance_db:
        return Speaker.UNKNOWN.value
    return channel_map.get(int(order[0]), Speaker.UNKNOWN.value)


class StreamingTranscriber:
    """feed() blocks while recording, finish() at Stop; both return the new Segments.

    A dead or killed worker surfaces as WorkerCrashed from feed/poll/finish; the caller's
    audio (its spool) is untouched. Use as a context manager or call close().
    """

    def __init__(self, model_file: Any, *, channel_map: Mapping[int, str] | None = None,
                 n_threads: int | None = None, cut: CutConfig | None = None,
                 vad: VadConfig | None = None, max_pending: int = 3,
                 hallucinations: HallucinationFilter | None = None, id_prefix: str = "s",
                 merge: bool = True, options: DecodeOptions | None = None):
        self.channel_map = dict(channel_map or {})
        self._cutter = WindowCutter(cut, vad)
        self._worker = EngineWorker(model_file, n_threads, options=options)
        self._filter = hallucinations or HallucinationFilter()
        self._pending: OrderedDict[int, Batch] = OrderedDict()
        self._waiting: list[Window] = []            # cut, not yet sent (the worker was busy)
        self._merge = merge
        self._batch_s = (cut or CutConfig()).max_window_s
        self._max_pending = max(1, max_pending)
        self._next_id = 1
        self._prefix = id_prefix
        self.segments: list[Segment] = []
        self.stats = StreamStats()
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> StreamingTranscriber:
        if not self._started:
            self._worker.start()
            self._started = True
        return self

    def __enter__(self) -> StreamingTranscriber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._worker.stop()
        self._started = False

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid

    # -- audio in, segments out -----------------------------------------------------------
    def feed(self, samples: np.ndarray, channels: np.ndarray | None = None) -> list[Segment]:
        """Add audio (16 kHz float32 mono; channels (n, c) for speaker mapping)."""
        self.start()
        self.stats.audio_seconds += len(samples) / SAMPLE_RATE
        new: list[Segment] = []
        for window in self._cutter.push(samples, channels if self.channel_map else None):
            self._waiting.append(window)
            new += self._dispatch()
        return new + self.poll()

    def poll(self) -> list[Segment]:
        """Segments of windows finished so far; never waits. A dead worker raises
        WorkerCrashed here even between windows, so the caller learns at once."""
        new: list[Segment] = []
        if not self._pending:
            self._worker.check()
        while self._pending:
            res = self._worker.get(timeout=0)
            if res is None:
                break
            new += self._collect(res)
        return new + self._dispatch()

    def finish(self) -> list[Segment]:
        """At Stop: cut the tail, wait for every window, return the remaining Segments."""
        self.start()
        self._waiting += self._cutter.flush()
        new = self._dispatch(flush=True)
        while self._pending:
            new += self._collect(self._worker.get())
        return new

    @property
    def pending_windows(self) -> int:
        """Windows cut and not yet transcribed (sent or still waiting to be)."""
        return sum(len(b.windows) for b in self._pending.values()) + len(self._waiting)

    # -- internals ------------------------------------------------------------------------
    def _dispatch(self, flush: bool = False) -> list[Segment]:
        """Send what waits: at once to an idle worker, else once a full batch has gathered
        (or at Stop); never more than max_pending jobs in the worker's queue."""
        new: list[Segment] = []
        while self._waiting:
            full = seconds(self._waiting) >= self._batch_s
            if self._merge and self._pending and not (full or flush):
                break
            while len(self._pending) >= self._max_pending:   # back-pressure: wait for one
                new += self._collect(self._worker.get())
            batch = take_batch(self._waiting, self._batch_s) if self._merge else Batch.of([self._waiting.pop(0)])
            self._submit(batch)
        return new

    def _submit(self, batch: Batch) -> None:
        self._worker.submit(batch.job_id, batch.samples)
        self._pending[batch.job_id] = batch
        self.stats.jobs += 1
        self.stats.windows += len(batch.windows)
        self.stats.speech_seconds += sum(float(w.speech.sum()) for w in batch.windows) * FRAME / SAMPLE_RATE

    def _collect(self, res: JobResult | None) -> list[Segment]:
        if res is None:
            return []
        batch = self._pending.pop(res.job_id)
        self.stats.engine_seconds += res.seconds
        out = []
        for raw in res.segments:
            window, rel = batch.locate(raw)
            seg = self._accept(window, rel)
            if seg is not None:
                out.append(seg)
        self.segments += out
        return out

    def _accept(self, window: Window, raw: RawSegment) -> Segment | None:
        rel0 = max(0.0, min(raw.t0, window.duration))
        rel1 = max(rel0, min(raw.t1, window.duration))
        t0, t1 = window.start + rel0, window.start + rel1
        text = self._filter.clean_text(raw.text)
        reason = self._filter.judge(text, raw.confidence, window.speech_fraction(rel0, rel1), t0)
        if reason is not None:
            self.stats.dropped.append(Dropped(round(t0, 2), round(t1, 2), raw.text,
                                              round(raw.confidence, 3), reason))
            return None
        self._filter.remember(text, t0)
        seg = Segment(id=f"{self._prefix}{self._next_id}", t0=round(t0, 2), t1=round(t1, 2),
                      text=text, speaker=speaker_for(window, rel0, rel1, self.channel_map),
                      confidence=round(raw.confidence, 3))
        self._next_id += 1
        return seg

    def transcribe_blocks(self, blocks: Iterable[np.ndarray]) -> Iterator[Segment]:
        """Feed every block (mono, or (n, c) when a channel map is set) and yield Segments."""
        for block in blocks:
            if block.ndim == 2:
                mono = block.mean(axis=1, dtype=np.float32)
                yield from self.feed(mono, block)
            else:
                yield from self.feed(block)
        yield from self.finish()
