"""Live transcription through a real audio path: a rebuilt PriMock57 visit played in real
time into a PulseAudio virtual microphone, captured by MicrophoneSource (sounddevice), and
transcribed while it plays. Data: PriMock57 (Korfiatis et al., ACL 2022), CC BY 4.0."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import soundfile as sf

from localscribe.capture.sources import MicrophoneSource
from localscribe.resources import asset
from localscribe.transcribe.files import transcribe_file
from localscribe.transcribe.streaming import StreamingTranscriber
from localscribe.transcribe.worker import WorkerCrashed
from tests.support import pulse
from tests.support.rebuild_visit import rebuild
from tests.support.speech import librivox_clips, wer
from tests.support.spool import ListSpool

needs_pulse = pytest.mark.skipif(not pulse.available(), reason="needs Debian pulseaudio + pulseaudio-utils")


@pytest.fixture
def vmic(tmp_path):
    with pulse.virtual_microphone(tmp_path / "pulse") as mic:
        yield mic


@needs_pulse
@pytest.mark.slow          # two minutes of visit played in real time
def test_primock_visit_streamed_live_through_a_microphone(vmic, asr_model):
    visit = rebuild("day1_consultation01", max_seconds=120)
    spool = ListSpool()
    with StreamingTranscriber(asr_model) as st:
        mic = MicrophoneSource(spool=spool).start()
        first = mic.read(timeout=10)
        assert first is not None
        st.feed(first.samples)
        offset = mic.captured_seconds          # visit time 0 in captured time
        player = vmic.play(visit.audio_path)
        live = []
        for block in mic.blocks():
            live += st.feed(block.samples)
            if player.poll() is not None and mic.captured_seconds > offset + visit.duration + 0.5:
                mic.stop()
        stop_pressed = time.monotonic()
        tail = st.finish()
        lag = time.monotonic() - stop_pressed
    segments = live + tail
    print(f"\n{len(live)} segments live, {len(tail)} at Stop; transcript lag at Stop {lag:.1f} s; "
          f"{st.stats.windows} windows, engine {st.stats.engine_seconds:.1f} s for "
          f"{visit.duration:.0f} s of visit")
    assert player.returncode == 0
    assert abs(len(spool.audio) / 16000 - mic.captured_seconds) < 1e-6
    assert segments and len(live) >= len(segments) // 2          # most of it while it played
    error = wer(visit.reference, " ".join(s.text for s in segments))
    print(f"WER {error:.3f} (tiny profile, synthetic voices, overlapping turns)")
    assert error <= 0.4
    # Absolute times: each segment lies on (or next to) a reference utterance.
    spans = [(u.t0, u.t1) for u in visit.utterances]
    on_speech = [any(a - 1.5 <= s.t0 - offset <= b + 1.5 for a, b in spans) for s in segments]
    assert sum(on_speech) >= 0.9 * len(segments)
    assert abs((segments[0].t0 - offset) - spans[0][0]) < 2.0
    assert segments[-1].t1 - offset <= visit.duration + 1.5


@needs_pulse
def test_killing_the_worker_mid_visit_is_reported_and_audio_is_kept(vmic, asr_model):
    spool = ListSpool()
    st = StreamingTranscriber(asr_model).start()
    mic = MicrophoneSource(spool=spool).start()
    assert mic.read(timeout=10) is not None
    player = vmic.play(asset("sample_visit", "visit.ogg"))
    error, killed_at = None, None
    try:
        for block in mic.blocks():
            if killed_at is None and mic.captured_seconds > 15:
                os.kill(st.worker_pid, signal.SIGKILL)
                killed_at = mic.captured_seconds
            if error is None:
                try:
                    st.feed(block.samples)
                except WorkerCrashed as exc:
                    error = exc
            if killed_at and mic.captured_seconds > killed_at + 8:
                mic.stop()            # the app records on after the engine died
        with pytest.raises(WorkerCrashed):
            st.finish()               # Stop after the crash: reported again, never a hang
    finally:
        player.kill()
        st.close()
    assert error is not None, "the dead worker went unnoticed"
    assert "killed (SIGKILL)" in str(error) and "recorded audio is kept" in str(error)
    got = spool.audio
    assert spool.closed
    assert abs(len(got) / 16000 - mic.captured_seconds) < 1e-6
    assert mic.captured_seconds > killed_at + 8
    after = got[int(killed_at * 16000):]
    assert np.sqrt(np.mean(after ** 2)) > 0.01          # speech kept coming after the crash


def test_channels_map_to_speakers(tmp_path, asr_model):
    """A lapel mic for the clinician on channel 0, a room mic toward the patient on channel 1."""
    (a, ref_a), (b, ref_b) = [(sf.read(p, dtype="float32")[0], r) for p, r in librivox_clips()[:2]]
    n = 16000 * 16
    ch0, ch1 = np.zeros(n, np.float32), np.zeros(n, np.float32)
    ch0[16000:16000 + len(a)] += a
    ch1[16000:16000 + len(a)] += 0.15 * a          # bleed of the clinician into the room mic
    s = 16000 * 11
    ch1[s:s + len(b)] += b
    ch0[s:s + len(b)] += 0.15 * b
    path = tmp_path / "two_mics.wav"
    sf.write(path, np.stack([ch0, ch1], axis=1), 16000)
    result = transcribe_file(path, asr_model, channel_map={0: "clinician", 1: "patient"})
    segs = result.transcript.segments
    first = [x for x in segs if x.t0 < 10]
    second = [x for x in segs if x.t0 >= 10]
    assert first and second
    assert {x.speaker for x in first} == {"clinician"}
    assert {x.speaker for x in second} == {"patient"}
    assert wer(ref_a + " " + ref_b, " ".join(x.text for x in segs)) <= 0.3
    plain = transcribe_file(path, asr_model)           # no map: speakers stay unknown
    assert {x.speaker for x in plain.transcript.segments} == {"unknown"}
