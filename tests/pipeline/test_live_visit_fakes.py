"""LiveVisit's orchestration alone, in milliseconds: which stage gets what, in which order,
and what a failure in one stage leaves behind.

The engines here are FAKES, named as such: a scripted transcriber and drafter that satisfy
the Transcriber and Drafter Protocols of pipeline/live_visit.py and record what they were
given. They test the threads, queues, statuses and events, never speech recognition or note
drafting (test_live_visit.py runs the same path on whisper.cpp and llama.cpp). The store is
the real MemoryVisitStore.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from localscribe.capture.sources import AudioBlock
from localscribe.domain import Draft, Section, Segment, Statement
from localscribe.pipeline import LiveVisit, MemoryVisitStore
from localscribe.pipeline import events as ev

BLOCK = 1600          # 0.1 s at 16 kHz
WAIT_S = 10           # generous: the machine is shared; a pass takes milliseconds


def block(i: int) -> AudioBlock:
    # Each block carries its own number, so a test can tell which blocks reached which stage.
    return AudioBlock(samples=np.full(BLOCK, (i + 1) / 100, dtype=np.float32), start=i * 0.1)


def block_number(samples: np.ndarray) -> int:
    return round(float(samples[0]) * 100) - 1


class ScriptedSource:
    """A microphone-like source (start/blocks/stop) that plays a script: an AudioBlock is
    delivered, a callable is run in the capture thread before the next block (so that
    pause() or stop() land exactly between two blocks, without timing)."""

    def __init__(self, script: list[AudioBlock | Callable[[], None]], fail_after: int | None = None):
        self.script = script
        self.fail_after = fail_after
        self.stopped = threading.Event()
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped.set()

    def blocks(self) -> Iterator[AudioBlock]:
        delivered = 0
        for step in self.script:
            if self.stopped.is_set():
                return
            if callable(step):
                step()
                continue
            if self.fail_after is not None and delivered == self.fail_after:
                raise OSError("the input device was unplugged")
            delivered += 1
            yield step
        self.stopped.wait(WAIT_S)       # a microphone keeps going until Stop


class FakeTranscriber:
    """FAKE engine: one Segment per block fed (none for silent blocks), recording the order."""

    def __init__(self, fail_on_block: int | None = None, silent: bool = False):
        self.fed: list[int] = []
        self.finished = self.closed = False
        self.fail_on_block = fail_on_block
        self.silent = silent

    def feed(self, samples: np.ndarray, channels: np.ndarray | None = None) -> list[Segment]:
        n = block_number(samples)
        if n == self.fail_on_block:
            raise RuntimeError("the speech engine process died")
        self.fed.append(n)
        if self.silent:
            return []
        return [Segment(id=f"seg{n}", t0=n * 0.1, t1=(n + 1) * 0.1, text=f"words of block {n}")]

    def finish(self) -> list[Segment]:
        self.finished = True
        return [] if self.silent else [Segment(id="tail", t0=9.0, t1=9.5, text="the last words")]

    def close(self) -> None:
        self.closed = True


class FakeDrafter:
    """FAKE engine: a one-statement draft citing every segment it was fed."""

    def __init__(self, fail_at_finish: bool = False):
        self.fed: list[str] = []
        self.made: Draft | None = None
        self.finish_calls = 0
        self.closed = False
        self.fail_at_finish = fail_at_finish

    def feed(self, segments: list[Segment]) -> None:
        self.fed.extend(s.id for s in segments)

    def finish(self, on_text: Callable[[str], None] | None = None) -> Draft:
        self.finish_calls += 1
        if self.fail_at_finish:
            raise RuntimeError("the note engine ran out of memory")
        if on_text:
            on_text("Cough for ")
            on_text("three days.")
        st = Statement(id="s1", text="Cough for three days.", evidence=list(self.fed))
        self.made = Draft(template="soap", sections=[Section("subjective", "SUBJECTIVE", [st])])
        return self.made

    def close(self) -> None:
        self.closed = True


class Events:
    def __init__(self) -> None:
        self.items: list[object] = []
        self.lock = threading.Lock()

    def __call__(self, e: object) -> None:
        with self.lock:
            self.items.append(e)

    def of(self, kind: type) -> list:
        with self.lock:
            return [e for e in self.items if isinstance(e, kind)]

    def states(self) -> list[str]:
        return [e.state for e in self.of(ev.StateChanged)]


def run_visit(script, *, transcriber=None, drafter=None, source_fails_after=None,
              on_event=None, control: Callable[[LiveVisit], list] | None = None):
    """Run one visit to its end; `control(visit)` may return steps appended to the script."""
    store = MemoryVisitStore(keep_audio=True)
    seen = on_event or Events()
    transcriber = transcriber or FakeTranscriber()
    source = ScriptedSource(list(script), fail_after=source_fails_after)
    visit = LiveVisit(source, store, transcriber_factory=lambda: transcriber,
                      drafter_factory=(lambda: drafter) if drafter is not None else None,
                      on_event=seen)
    source.script.extend(control(visit) if control else [visit.stop])
    visit.start()
    result = visit.wait(timeout=WAIT_S)
    assert visit.done, "the visit did not finish"
    return visit, result, store, seen, transcriber


def test_blocks_flow_in_order_to_spool_transcriber_and_drafter_and_the_draft_is_saved_as_given():
    drafter = FakeDrafter()
    visit, result, store, seen, tr = run_visit([block(i) for i in range(5)], drafter=drafter)
    assert result.error is None
    assert [block_number(b) for b in store.audio_blocks] == [0, 1, 2, 3, 4]
    assert tr.fed == [0, 1, 2, 3, 4] and tr.finished and tr.closed
    ids = ["seg0", "seg1", "seg2", "seg3", "seg4", "tail"]
    assert drafter.fed == ids and drafter.finish_calls == 1 and drafter.closed
    # The drafter's draft is kept as it came (the worker verified it); the visit re-checks nothing.
    assert store.draft is result.draft is drafter.made
    assert [s.id for s in store.transcript.segments] == ids
    assert store.statuses == ["recording", "drafting", "review"]
    assert seen.states() == ["recording", "transcribing", "drafting", "review"]
    assert [e.segment.id for e in seen.of(ev.SegmentAdded)] == ids
    assert "".join(e.text for e in seen.of(ev.DraftToken)) == "Cough for three days."
    assert [e.section.key for e in seen.of(ev.SectionReady)] == ["subjective"]
    assert seen.of(ev.DraftReady)[0].draft is result.draft
    assert len(seen.of(ev.LevelChanged)) == 5
    assert result.timings.audio_seconds == pytest.approx(0.5)
    assert result.timings.time_to_draft_s is not None


def test_paused_audio_is_neither_kept_nor_transcribed():
    def control(visit):
        return [visit.pause, block(2), block(3), visit.resume, block(4), visit.stop]

    _, result, store, seen, tr = run_visit([block(0), block(1)], drafter=FakeDrafter(),
                                           control=control)
    assert result.error is None
    assert [block_number(b) for b in store.audio_blocks] == [0, 1, 4]
    assert tr.fed == [0, 1, 4]
    assert seen.states()[:3] == ["recording", "paused", "recording"]


def test_a_transcriber_crash_keeps_every_block_of_audio_and_ends_in_review_without_a_draft():
    tr = FakeTranscriber(fail_on_block=1)
    drafter = FakeDrafter()
    _, result, store, seen, _ = run_visit([block(i) for i in range(4)], transcriber=tr,
                                          drafter=drafter)
    assert result.error is not None and result.error.stage == "transcribe"
    assert "died" in result.error.message
    assert seen.of(ev.PipelineError) == [result.error]
    # The recording is whole although transcription stopped at block 1.
    assert [block_number(b) for b in store.audio_blocks] == [0, 1, 2, 3]
    assert tr.fed == [0] and tr.closed
    assert drafter.finish_calls == 0 and drafter.closed
    assert store.draft is None and store.statuses[-1] == "review"


def test_a_drafting_failure_keeps_the_transcript_and_says_which_stage_failed():
    drafter = FakeDrafter(fail_at_finish=True)
    _, result, store, seen, _ = run_visit([block(0), block(1)], drafter=drafter)
    assert result.error is not None and result.error.stage == "draft"
    assert "out of memory" in result.error.message
    assert [s.id for s in store.transcript.segments] == ["seg0", "seg1", "tail"]
    assert store.draft is None and result.draft is None
    assert store.statuses[-1] == "review" and drafter.closed
    assert not seen.of(ev.DraftReady)


def test_a_lost_device_keeps_what_was_captured_and_still_transcribes_it():
    drafter = FakeDrafter()
    _, result, store, _, tr = run_visit([block(i) for i in range(4)], drafter=drafter,
                                        source_fails_after=2)
    assert result.error is not None and result.error.stage == "capture"
    assert "unplugged" in result.error.message
    assert [block_number(b) for b in store.audio_blocks] == [0, 1]
    assert tr.fed == [0, 1] and tr.finished
    # A capture error is recorded, so no draft is generated; the transcript is there to write from.
    assert drafter.finish_calls == 0 and store.statuses[-1] == "review"
    assert [s.id for s in store.transcript.segments] == ["seg0", "seg1", "tail"]


def test_cancel_abandons_transcription_and_drafting_but_keeps_the_audio():
    drafter = FakeDrafter()

    def control(visit):
        return [visit.cancel, block(2)]

    _, result, store, _, tr = run_visit([block(0), block(1)], drafter=drafter, control=control)
    assert [block_number(b) for b in store.audio_blocks] == [0, 1]
    assert not tr.finished and tr.closed
    assert drafter.finish_calls == 0 and drafter.closed and store.draft is None
    assert store.statuses[-1] == "review"


def test_a_visit_with_no_speech_says_so_and_generates_nothing():
    drafter = FakeDrafter()
    _, result, store, _, _ = run_visit([block(0), block(1)], drafter=drafter,
                                       transcriber=FakeTranscriber(silent=True))
    assert result.error is not None and result.error.stage == "draft"
    assert "no speech was recognised" in result.error.message
    assert drafter.finish_calls == 0 and store.draft is None
    assert len(store.audio_blocks) == 2


def test_transcription_only_visit_ends_in_review_with_the_transcript():
    _, result, store, _, _ = run_visit([block(0)], drafter=None)
    assert result.error is None and result.draft is None
    assert [s.id for s in result.transcript.segments] == ["seg0", "tail"]
    assert store.statuses == ["recording", "review"]


def test_an_observer_that_raises_does_not_stop_the_recording():
    def broken_observer(event):
        raise RuntimeError("a bug in the window")

    _, result, store, _, _ = run_visit([block(i) for i in range(3)], drafter=FakeDrafter(),
                                       on_event=broken_observer)
    assert result.error is None and store.draft is not None
    assert len(store.audio_blocks) == 3
