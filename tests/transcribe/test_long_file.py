"""An hour-long recording, mostly quiet room with a few sentences, streamed from disk:
memory stays flat, the sentences come out at their true times, the quiet gives no text."""

from __future__ import annotations

import threading
import time

import numpy as np
import psutil
import soundfile as sf

from localscribe.capture.decode import iter_blocks
from localscribe.capture.vad import SAMPLE_RATE
from localscribe.transcribe.streaming import StreamingTranscriber
from tests.support.speech import librivox_clips, wer

HOUR = 3600


class PeakRss(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in list(self.pids):
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
            time.sleep(0.05)


def _write_hour(path, clips, at):
    """Room tone with digital-silence gaps, and speech clips at the given seconds."""
    rng = np.random.default_rng(3)
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, format="FLAC", subtype="PCM_16") as f:
        minute = 60 * SAMPLE_RATE
        for m in range(HOUR // 60):
            block = (0.003 * rng.standard_normal(minute)).astype(np.float32) if m % 3 else \
                np.zeros(minute, np.float32)
            for (clip, _), t in zip(clips, at):
                if m * 60 <= t < (m + 1) * 60:
                    i = int((t - m * 60) * SAMPLE_RATE)
                    block[i:i + len(clip)] += clip[: minute - i]
            f.write(block)


def test_one_hour_file_bounded_memory_and_true_times(tmp_path, asr_model):
    clips = [(sf.read(p, dtype="float32")[0], ref) for p, ref in librivox_clips()[:3]]
    at = [600.0, 1801.5, 3590.0]
    path = tmp_path / "hour.flac"
    _write_hour(path, clips, at)
    me = psutil.Process()
    base = me.memory_info().rss
    with StreamingTranscriber(asr_model) as st:
        worker_pid = st.worker_pid
        watch = PeakRss([me.pid, worker_pid])
        watch.start()
        segments = list(st.transcribe_blocks(iter_blocks(path, block_seconds=2.0)))
        watch.done.set()
        watch.join()
    assert abs(st.stats.audio_seconds - HOUR) < 1
    growth_mb = (watch.peak[me.pid] - base) / 2**20
    worker_mb = watch.peak[worker_pid] / 2**20
    print(f"parent RSS growth {growth_mb:.1f} MB, worker peak {worker_mb:.1f} MB, "
          f"{st.stats.windows} windows")
    assert growth_mb < 80           # the hour as float32 alone would be 220 MB
    assert worker_mb < 500
    assert st.stats.windows <= 6    # only the speech went to Whisper
    refs, hyps = [], []
    for (clip, ref), t in zip(clips, at):
        mine = [s for s in segments if t - 1 <= s.t0 and s.t1 <= t + len(clip) / SAMPLE_RATE + 1]
        assert mine, f"nothing transcribed near {t} s"
        refs.append(ref)
        hyps += [s.text for s in mine]
    assert wer(" ".join(refs), " ".join(hyps)) <= 0.25
    assert all(any(t - 1 <= s.t0 <= t + 10 for t in at) for s in segments)   # nothing invented
