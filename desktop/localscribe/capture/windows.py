"""Cut a live audio stream into speech windows at pauses, each at most Whisper's 30 s.

Silence between windows is dropped (only a little padding is kept around speech), so a
long quiet stretch costs neither memory nor a Whisper call. Windows prefer to be long:
every Whisper call pays for a full 30-second encoder pass however short the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from localscribe.capture.vad import FRAME, SAMPLE_RATE, VadConfig, VoiceActivityDetector


@dataclass(frozen=True)
class CutConfig:
    min_window_s: float = 8.0     # below this, only a long pause ends a window
    pause_s: float = 0.5          # a pause that may end a window of min_window_s or more
    long_pause_s: float = 2.0     # a pause that ends any window (keeps live latency low)
    max_window_s: float = 28.0    # force a cut before Whisper's 30 s limit
    pad_s: float = 0.3            # kept around speech on both sides


@dataclass
class Window:
    """A stretch of speech handed to the recognizer; start is absolute seconds in the visit."""

    index: int
    start: float
    samples: np.ndarray                 # float32 mono 16 kHz
    speech: np.ndarray                  # one VAD flag per 30 ms frame of samples
    channels: np.ndarray | None = None  # (n, c) per-channel audio when speakers map to channels

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def speech_fraction(self, t0: float, t1: float, slack: float = 0.3) -> float:
        """Share of 30 ms frames flagged as speech between relative times t0 and t1."""
        a = max(0, int((t0 - slack) * SAMPLE_RATE / FRAME))
        b = min(len(self.speech), int(np.ceil((t1 + slack) * SAMPLE_RATE / FRAME)))
        if b <= a:
            return 0.0
        return float(self.speech[a:b].mean())


class WindowCutter:
    """Push audio blocks in, get finished Windows out; flush() at Stop returns the tail."""

    def __init__(self, cut: CutConfig | None = None, vad: VadConfig | None = None):
        self.cut = cut or CutConfig()
        self._vad = VoiceActivityDetector(vad)
        self._mono: list[np.ndarray] = []
        self._chan: list[np.ndarray] = []
        self._flags = np.zeros(0, dtype=bool)
        self._energy = np.zeros(0)
        self._start_frame = 0        # absolute frame index of the buffer's first frame
        self._pending = np.zeros(0, dtype=np.float32)   # samples not yet a whole frame
        self._pending_ch: np.ndarray | None = None
        self._count = 0
        self._scan = 0               # buffer index of the first frame _cut has not judged
        self._first: int | None = None   # buffer index of the first speech frame kept
        self._last: int | None = None    # ... and of the latest one
        self.speech_frames = 0       # total frames judged speech so far

    # -- buffer helpers -------------------------------------------------------------------
    def _buffer(self) -> tuple[np.ndarray, np.ndarray | None]:
        mono = np.concatenate(self._mono) if self._mono else np.zeros(0, dtype=np.float32)
        chan = np.concatenate(self._chan) if self._chan else None
        self._mono, self._chan = [mono], ([chan] if chan is not None else [])
        return mono, chan

    def _drop_frames(self, k: int) -> None:
        """Forget the first k frames of the buffer."""
        if k <= 0:
            return
        mono, chan = self._buffer()
        self._mono = [mono[k * FRAME:]]
        self._chan = [chan[k * FRAME:]] if chan is not None else []
        self._flags = self._flags[k:]
        self._energy = self._energy[k:]
        self._start_frame += k

    def _emit(self, end_frame: int) -> Window:
        mono, chan = self._buffer()
        w = Window(index=self._count, start=self._start_frame * FRAME / SAMPLE_RATE,
                   samples=mono[: end_frame * FRAME].copy(), speech=self._flags[:end_frame].copy(),
                   channels=chan[: end_frame * FRAME].copy() if chan is not None else None)
        self._count += 1
        self._drop_frames(end_frame)
        return w

    # -- the cutting policy ---------------------------------------------------------------
    def push(self, samples: np.ndarray, channels: np.ndarray | None = None) -> list[Window]:
        samples = np.asarray(samples, dtype=np.float32)
        data = np.concatenate([self._pending, samples])
        n = (len(data) // FRAME) * FRAME
        self._mono.append(data[:n])
        self._pending = data[n:]
        if channels is not None:
            cdata = channels if self._pending_ch is None else np.concatenate([self._pending_ch, channels])
            self._chan.append(cdata[:n])
            self._pending_ch = cdata[n:]
        flags, energy = self._vad.process(data[:n])
        self.speech_frames += int(flags.sum())
        self._flags = np.concatenate([self._flags, flags])
        self._energy = np.concatenate([self._energy, energy])
        return self._cut()

    def _cut(self) -> list[Window]:
        """Walk the frames not yet judged, one by one, as if they had arrived singly, so a
        big block cuts exactly where a stream of small ones would."""
        out: list[Window] = []
        c = self.cut
        fps = SAMPLE_RATE / FRAME
        pad, pause, long_pause = int(c.pad_s * fps), int(c.pause_s * fps), int(c.long_pause_s * fps)
        min_len, max_len = int(c.min_window_s * fps), int(c.max_window_s * fps)
        i = self._scan
        while i < len(self._flags):
            if self._first is None:
                if not self._flags[i]:
                    i += 1
                    continue
                lead = i - pad                      # keep only `pad` frames before speech
                if lead > 0:
                    self._drop_frames(lead)
                    i -= lead
                self._first = self._last = i
            elif self._flags[i]:
                self._last = i
            last = self._last
            assert last is not None         # set together with _first, just above
            silence = i - last
            if silence >= long_pause or (silence >= pause and last + 1 >= min_len):
                end = min(i + 1, last + 1 + pad)
            elif i + 1 >= max_len:
                end = self._force_point(i + 1)
            else:
                i += 1
                continue
            out.append(self._emit(end))
            i -= end
            speech = np.flatnonzero(self._flags[: i + 1])
            self._first = int(speech[0]) if speech.size else None
            self._last = int(speech[-1]) if speech.size else None
            i += 1
        if self._first is None and len(self._flags) > pad:   # silence only: keep the padding
            self._drop_frames(len(self._flags) - pad)
        self._scan = len(self._flags)
        return out

    def _force_point(self, n: int) -> int:
        """Where to cut a window that reached max length (its first n frames): the longest
        pause in its second half, else the quietest 30 ms frame of its last 5 s."""
        flags = self._flags
        half = n // 2
        best_len, best_mid, run = 0, -1, 0
        for i in range(half, n):
            run = run + 1 if not flags[i] else 0
            if run > best_len:
                best_len, best_mid = run, i - run // 2
        if best_len >= 3:
            return best_mid + 1
        lo = max(1, n - int(5 * SAMPLE_RATE / FRAME))
        return lo + int(np.argmin(self._energy[lo:n])) + 1

    def flush(self) -> list[Window]:
        """At Stop: whatever speech is left becomes the last window (or none)."""
        out = self._cut()
        if self._pending.size:                      # pad the last partial frame with zeros
            extra = FRAME - self._pending.size
            tail = np.concatenate([self._pending, np.zeros(extra, dtype=np.float32)])
            ch = None
            if self._pending_ch is not None and len(self._pending_ch):
                ch = np.concatenate([self._pending_ch,
                                     np.zeros((extra, self._pending_ch.shape[1]), np.float32)])
            self._pending = np.zeros(0, dtype=np.float32)
            self._pending_ch = None
            self._mono.append(tail)
            if ch is not None:
                self._chan.append(ch)
            flags, energy = self._vad.process(tail)
            self.speech_frames += int(flags.sum())
            self._flags = np.concatenate([self._flags, flags])
            self._energy = np.concatenate([self._energy, energy])
            out += self._cut()
        if self._last is not None:
            pad = int(self.cut.pad_s * SAMPLE_RATE / FRAME)
            out.append(self._emit(min(len(self._flags), self._last + 1 + pad)))
        self._drop_frames(len(self._flags))
        self._first = self._last = None
        self._scan = 0
        return out
