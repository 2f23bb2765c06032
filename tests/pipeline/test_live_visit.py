"""The whole pipeline on real parts: a virtual microphone, whisper.cpp and llama.cpp workers,
the encrypted vault. Tiny models (CI); quality is measured by the benchmarks, not here."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from localscribe.capture.sources import FileSource, MicrophoneSource
from localscribe.pipeline import LiveVisit, VaultVisitStore
from localscribe.pipeline import events as ev
from localscribe.pipeline.engines import drafter_factory, transcriber_factory
from localscribe.resources import asset
from tests.support import pulse
from tests.support.rebuild_visit import rebuild

SAMPLE = asset("sample_visit", "visit.ogg")


class Recorder:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def __call__(self, e):
        with self.lock:
            self.events.append(e)

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]


@pytest.mark.skipif(not pulse.available(), reason="needs Debian pulseaudio + pulseaudio-utils")
def test_rebuilt_visit_through_a_virtual_microphone_gives_a_grounded_draft(
        tmp_path, tiny_models, clinician_session, encounter):
    asr, llm = tiny_models
    visit = rebuild("day1_consultation01", max_seconds=60)
    seen = Recorder()
    with pulse.virtual_microphone(tmp_path / "pulse") as vmic:
        source = MicrophoneSource()
        live = LiveVisit(source, VaultVisitStore(clinician_session, encounter),
                         transcriber_factory=transcriber_factory(asr),
                         drafter_factory=drafter_factory(llm, "soap"), on_event=seen)
        live.start()
        time.sleep(1.0)
        player = vmic.play(visit.audio_path)
        player.wait(timeout=visit.duration + 30)
        time.sleep(1.0)
        # Segments arrived while the visit was still going on, not only after Stop.
        live_segments = len(seen.of(ev.SegmentAdded))
        live.stop()
        result = live.wait(timeout=600)
    assert live.done, "the pipeline did not finish within 10 minutes"
    assert result.error is None, result.error
    assert live_segments > 0, "nothing was transcribed before Stop"
    ids = {s.id for s in result.transcript.segments}
    assert result.draft is not None and result.draft.statements
    for st in result.draft.statements:
        assert st.evidence or st.flags, f"unsupported statement without a flag: {st.text!r}"
        assert set(st.evidence) <= ids, f"{st.id} cites unknown segments {set(st.evidence) - ids}"
    # Everything is in the vault, and the audio there is the whole visit.
    assert clinician_session.load_transcript(encounter).segments == result.transcript.segments
    assert clinician_session.load_draft(encounter).to_dict() == result.draft.to_dict()
    stored = clinician_session.read_audio(encounter)
    assert len(stored) / 16000 >= visit.duration
    assert clinician_session.get_encounter(encounter).status == "review"
    assert seen.of(ev.DraftReady) and seen.of(ev.LevelChanged)
    assert result.timings.transcript_lag_s is not None and result.timings.time_to_draft_s is not None
    # The drafter's counters come back with the result (bench_live prints them).
    assert result.draft_stats["stop_generated"] > 0 and "written_after_stop" in result.draft_stats


def _kill_when(predicate, pid_of, timeout=120):
    def run():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate() and pid_of():
                os.kill(pid_of(), signal.SIGKILL)
                return
            time.sleep(0.05)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_killing_the_speech_worker_mid_visit_keeps_the_recording_and_says_so(
        tiny_models, clinician_session, encounter):
    asr, _ = tiny_models
    made = []

    def make():
        t = transcriber_factory(asr)()
        made.append(t)
        return t

    seen = Recorder()
    live = LiveVisit(FileSource(SAMPLE, realtime=True), VaultVisitStore(clinician_session, encounter),
                     transcriber_factory=make, drafter_factory=None, on_event=seen)
    killer = _kill_when(lambda: len(seen.of(ev.SegmentAdded)) >= 1,
                        lambda: made[0].worker_pid if made else None)
    live.start()
    live.wait(timeout=300)
    killer.join(1)
    assert live.done
    errors = seen.of(ev.PipelineError)
    assert errors and errors[0].stage == "transcribe"
    assert "killed" in errors[0].message or "stopped" in errors[0].message
    # The capture went on to the end: the vault holds the whole recording.
    expected = sf.info(str(SAMPLE)).duration
    stored = clinician_session.read_audio(encounter)
    assert abs(len(stored) / 16000 - expected) < 1.0
    assert np.abs(stored).max() > 0.05
    # What was transcribed before the crash is kept too.
    assert clinician_session.load_transcript(encounter).segments


def test_killing_the_note_worker_reports_the_error_and_keeps_the_transcript(
        tiny_models, clinician_session, encounter):
    asr, llm = tiny_models
    made = []

    def make_drafter():
        d = drafter_factory(llm, "soap")()
        made.append(d)
        return d

    seen = Recorder()
    live = LiveVisit(FileSource(SAMPLE), VaultVisitStore(clinician_session, encounter),
                     transcriber_factory=transcriber_factory(asr),
                     drafter_factory=make_drafter, on_event=seen)
    killer = _kill_when(lambda: len(seen.of(ev.SegmentAdded)) >= 2,
                        lambda: made[0].worker.pid if made else None)
    live.start()
    result = live.wait(timeout=300)
    killer.join(1)
    assert live.done
    errors = seen.of(ev.PipelineError)
    assert errors and errors[0].stage == "draft"
    assert "safe" in errors[0].message        # tells the clinician the recording is intact
    assert result.draft is None
    assert len(clinician_session.load_transcript(encounter).segments) == len(result.transcript.segments) > 0
    assert len(clinician_session.read_audio(encounter)) / 16000 > 60
