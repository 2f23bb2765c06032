"""Windows that wait for a busy recognizer go together in one encoder pass, and every segment
still comes back at its own time (real whisper.cpp, tiny model, LibriVox speech from Debian's
pocketsphinx-testdata)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from localscribe.capture.vad import SAMPLE_RATE
from localscribe.capture.windows import Window
from localscribe.transcribe.batching import Batch, take_batch
from localscribe.transcribe.engine import RawSegment
from localscribe.transcribe.streaming import StreamingTranscriber
from tests.support.speech import librivox_clips, wer

GAP_S = 3.0         # longer than the cutter's long pause: every clip is a window of its own


def _window(index: int, start: float, seconds: float) -> Window:
    n = int(seconds * SAMPLE_RATE)
    return Window(index, start, np.zeros(n, np.float32), np.ones(n // 480, bool))


def test_a_batch_maps_each_segment_back_to_its_window():
    a, b = _window(1, 10.0, 4.0), _window(2, 60.0, 6.0)
    batch = Batch.of([a, b])
    assert batch.duration == 10.0 and batch.job_id == 1 and len(batch.samples) == 10 * SAMPLE_RATE
    w, rel = batch.locate(RawSegment(5.0, 7.5, "second", 0.9, 3))
    assert w is b and (rel.t0, rel.t1) == (1.0, 3.5)
    w, rel = batch.locate(RawSegment(3.0, 6.0, "runs across", 0.9, 3))   # kept whole, in the first
    assert w is a and (rel.t0, rel.t1) == (3.0, 4.0)


def test_take_batch_fills_up_to_the_limit_in_order():
    waiting = [_window(i, 10.0 * i, s) for i, s in enumerate([8.0, 9.0, 12.0, 30.0])]
    first = take_batch(waiting, 28.0)
    assert [w.index for w in first.windows] == [0, 1]          # 8 + 9 + 12 would pass 28
    second = take_batch(waiting, 28.0)
    assert [w.index for w in second.windows] == [2]
    third = take_batch(waiting, 28.0)                           # one window is sent even if long
    assert [w.index for w in third.windows] == [3] and waiting == []


def _visit() -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    parts, spans, t = [], [], 0.0
    for path, ref in librivox_clips():
        clip = sf.read(path, dtype="float32")[0]
        gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
        parts += [gap, clip]
        spans.append((t + GAP_S, t + GAP_S + len(clip) / SAMPLE_RATE, ref))
        t += GAP_S + len(clip) / SAMPLE_RATE
    parts.append(np.zeros(int(GAP_S * SAMPLE_RATE), np.float32))
    return np.concatenate(parts), spans


def _run(asr_model, audio: np.ndarray, merge: bool):
    with StreamingTranscriber(asr_model, merge=merge) as st:
        blocks = [audio[i:i + SAMPLE_RATE // 2] for i in range(0, len(audio), SAMPLE_RATE // 2)]
        segments = list(st.transcribe_blocks(blocks))
    return segments, st.stats


def test_windows_queued_behind_a_busy_worker_share_an_encoder_pass(asr_model):
    audio, spans = _visit()
    merged, stats = _run(asr_model, audio, merge=True)
    alone, stats_alone = _run(asr_model, audio, merge=False)
    print(f"windows {stats.windows}: {stats.jobs} jobs merged, {stats_alone.jobs} alone; engine "
          f"{stats.engine_seconds:.1f} s merged, {stats_alone.engine_seconds:.1f} s alone")
    assert stats.windows == stats_alone.windows == stats_alone.jobs == len(spans)
    assert stats.jobs < stats.windows               # fed faster than real time: the worker was busy
    for segments in (merged, alone):
        hyps = []
        for t0, t1, _ in spans:                     # each clip's words at the clip's own time
            mine = [s.text for s in segments if t0 - 1.0 <= s.t0 and s.t1 <= t1 + 1.0]
            assert mine, f"nothing transcribed in {t0:.1f}-{t1:.1f} s"
            hyps += mine
        assert len(hyps) == len(segments)           # no segment fell outside every clip
        assert wer(" ".join(ref for *_, ref in spans), " ".join(hyps)) <= 0.25
