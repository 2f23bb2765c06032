"""Play a stretch of the visit's audio (the evidence for a statement) without blocking the UI.

sounddevice plays on its own thread; the result comes back as a signal. With no output
device the user gets one clear sentence instead of a PortAudio trace.
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
        self._thread = threading.Thread(target=self._run, args=(clip,), daemon=True,
                                        name="evidence-playback")
        self._thread.start()

    def stop(self) -> None:
        """Stop playing and wait for the playback thread, so nothing is left holding PortAudio."""
        if self.playing:
            import sounddevice as sd
            sd.stop()
            self._thread.join(timeout=5)

    def _run(self, clip: np.ndarray) -> None:
        import sounddevice as sd
        try:
            sd.play(clip, SAMPLE_RATE, blocking=True)
        except Exception as exc:
            self._inbox.post(emit, self.failed, f"Playback failed: {exc}")
        else:
            self._inbox.post(emit, self.finished)
