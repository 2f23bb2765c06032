"""Windows that wait for the recognizer are merged into one encoder pass.

whisper.cpp encodes a full 30 s context whatever the window holds (fitting the context to the
audio cost base WER on LibriVox, 2.8% -> 7.0%), so an 8 s window pays for 30 s of encoder work.
When windows are cut faster than the worker transcribes them (a file, a busy machine), those
waiting are concatenated, up to the cutter's limit, and sent as one job; a segment Whisper
returns is mapped back to the window it came from. A window that finds the worker idle goes
alone at once, so live latency is what it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from localscribe.capture.windows import Window
from localscribe.transcribe.engine import RawSegment


@dataclass(frozen=True)
class Batch:
    """Consecutive windows sent as one job; ``offsets`` are each window's start in ``samples``."""

    windows: tuple[Window, ...]
    offsets: tuple[float, ...]

    @classmethod
    def of(cls, windows: list[Window]) -> Batch:
        offsets, t = [], 0.0
        for w in windows:
            offsets.append(t)
            t += w.duration
        return cls(tuple(windows), tuple(offsets))

    @property
    def job_id(self) -> int:
        return self.windows[0].index

    @property
    def duration(self) -> float:
        return self.offsets[-1] + self.windows[-1].duration

    @property
    def samples(self) -> np.ndarray:
        if len(self.windows) == 1:
            return self.windows[0].samples
        return np.concatenate([w.samples for w in self.windows]).astype(np.float32, copy=False)

    def locate(self, raw: RawSegment) -> tuple[Window, RawSegment]:
        """The window a segment belongs to (the one its start falls in) and the segment with
        times relative to that window, clipped to it: a sentence Whisper ran across two
        windows stays whole, timed in the first."""
        k = max((i for i, off in enumerate(self.offsets) if off <= raw.t0 + 1e-6), default=0)
        w, off = self.windows[k], self.offsets[k]
        t0 = min(max(0.0, raw.t0 - off), w.duration)
        t1 = min(max(t0, raw.t1 - off), w.duration)
        return w, RawSegment(t0, t1, raw.text, raw.confidence, raw.n_tokens)


def take_batch(waiting: list[Window], max_seconds: float) -> Batch:
    """Remove from ``waiting`` the longest run of windows, in order, that fits ``max_seconds``
    (at least one), and return it as a Batch."""
    n, total = 0, 0.0
    for w in waiting:
        if n and total + w.duration > max_seconds:
            break
        total += w.duration
        n += 1
    taken = waiting[:n]
    del waiting[:n]
    return Batch.of(taken)


def seconds(waiting: list[Window]) -> float:
    return sum(w.duration for w in waiting)
