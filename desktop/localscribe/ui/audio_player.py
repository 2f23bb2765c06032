"""Play a stretch of the visit's audio (the evidence for a statement) without blocking the UI.

One playback thread owns its own output stream from open to close; the UI thread only sets
an event to stop it. (sounddevice's module-level play()/stop() share one global stream, and
stopping it from the UI thread while the playing thread closes it crashed PortAudio.) The
result comes back as a signal. With no output device the user gets one clear sentence
instead of a PortAudio trace.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from localscribe.ui.inbox import UiInbox
from localscribe.ui.qtcompat import emit

SAMPLE_RATE = 16000
PAD_S = 0.3   # a little context either side, so the first syllable is not clipped


def output_problem() -> str:
    """Empty when an output device exists, else why playback cannot work."""
    try:
        import sounddevice as sd
    except OSError as exc:
        return f"Audio playback is unavailable: the PortAudio library is missing ({exc})."
    try:
        devices = sd.query_devices()
        if not any(d.get("max_output_channels", 0) > 0 for d in devices):
            return "No audio output device was found, so the evidence cannot be played here."
    except Exception as exc:  # PortAudio reports missing hardware in many ways
        return f"No audio output device is usable ({exc})."
    return ""


class AudioPlayer(QObject):
    started = Signal(float, float)
    finished = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._inbox = UiInbox(self)     # results come back from the playback thread

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self, audio: np.ndarray, t0: float, t1: float) -> None:
        problem = output_problem()
        if problem:
            emit(self.failed, problem)
            return
        self.stop()
        a = max(0, int((t0 - PAD_S) * SAMPLE_RATE))
        b = min(len(audio), int((t1 + PAD_S) * SAMPLE_RATE))
        clip = np.ascontiguousarray(audio[a:b], dtype=np.float32)
        if clip.size == 0:
            emit(self.failed, "That stretch of audio is not on disk (it may have been purged after signing).")
            return
        emit(self.started, a / SAMPLE_RATE, b / SAMPLE_RATE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(clip, self._stop), daemon=True,
                                        name="evidence-playback")
        self._thread.start()

    def stop(self) -> None:
        """Stop playing and wait until the playback thread has closed its stream."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, clip: np.ndarray, stop: threading.Event) -> None:
        import sounddevice as sd
        pos = 0
        ended = threading.Event()

        def feed(outdata, frames, _time, _status) -> None:
            nonlocal pos
            if stop.is_set():
                raise sd.CallbackAbort
            chunk = clip[pos:pos + frames]
            outdata[:len(chunk), 0] = chunk
            outdata[len(chunk):] = 0
            pos += len(chunk)
            if len(chunk) < frames:
                raise sd.CallbackStop

        try:
            with sd.OutputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                 callback=feed, finished_callback=ended.set):
                # The stream ends itself at the clip's end or when stop() is asked; the
                # timeout only guards against an output device that stalls.
                deadline = len(clip) / SAMPLE_RATE + 5
                while not ended.wait(0.1) and not stop.is_set() and deadline > 0:
                    deadline -= 0.1
        except Exception as exc:
            self._inbox.post(emit, self.failed, f"Playback failed: {exc}")
        else:
            self._inbox.post(emit, self.finished)
