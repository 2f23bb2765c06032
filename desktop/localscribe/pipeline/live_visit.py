"""A visit in progress: capture -> spool + streaming transcription -> incremental drafting.

Three threads, each owning one stage, joined by queues, so no stage can stall another:

* capture: reads blocks from the source, writes them to the encrypted spool first (the
  recording is safe before anything else happens), then hands them on;
* transcribe: feeds the whisper.cpp worker, emits Segments, saves the growing transcript;
* draft: feeds each Segment into the llama.cpp worker's context while the visit goes on,
  and at Stop has the worker generate and verify the note, then saves it.

A failure in transcription or drafting is reported as a PipelineError event and never
touches the recording; a failure in capture keeps what was captured.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Callable, Iterator

import numpy as np

from localscribe.capture.level import rms_dbfs
from localscribe.capture.sources import AudioBlock
from localscribe.domain import Draft, Segment, Transcript
from localscribe.pipeline import events as ev

# What ends a queue: each stage puts it once, after its last item.
_STOP = None


class Transcriber(Protocol):
    def feed(self, samples: np.ndarray, channels: np.ndarray | None = None) -> list[Segment]: ...
    def finish(self) -> list[Segment]: ...
    def close(self) -> None: ...


class Drafter(Protocol):
    """``finish`` returns the draft verified against what was fed: the draft worker checks it
    where it was written (draft/worker.py), so the visit only keeps and shows it. A drafter
    that drafts before Stop may also take ``transcribing(busy)`` (``draft.early``: it pauses
    while the transcriber has a window in work, so transcription never waits for a draft)."""

    def feed(self, segments: list[Segment]) -> None: ...
    def finish(self, on_text: Callable[[str], None] | None = None) -> Draft: ...
    def close(self) -> None: ...


class Store(Protocol):
    """Where the visit is kept: the vault session in the app, something lighter for the demo."""

    def write_audio(self, mono: np.ndarray) -> None: ...
    def close_audio(self) -> None: ...
    def save_transcript(self, transcript: Transcript) -> None: ...
    def save_draft(self, draft: Draft) -> None: ...
    def set_status(self, status: str) -> None: ...


@dataclass
class VisitTimings:
    stop_at: float | None = None
    transcript_done_at: float | None = None
    draft_done_at: float | None = None
    audio_seconds: float = 0.0

    @property
    def transcript_lag_s(self) -> float | None:
        if self.stop_at is None or self.transcript_done_at is None:
            return None
        return max(0.0, self.transcript_done_at - self.stop_at)

    @property
    def time_to_draft_s(self) -> float | None:
        if self.stop_at is None or self.draft_done_at is None:
            return None
        return max(0.0, self.draft_done_at - self.stop_at)


@dataclass
class VisitResult:
    transcript: Transcript = field(default_factory=Transcript)
    draft: Draft | None = None
    error: ev.PipelineError | None = None
    timings: VisitTimings = field(default_factory=VisitTimings)
    # The drafter's counters at Stop (tokens and seconds after Stop, sections reused from early
    # drafts and why the others were written again), when it reports them.
    draft_stats: dict[str, Any] = field(default_factory=dict)


class LiveVisit:
    """start() / pause() / resume() / stop(); stop returns at once, wait() blocks until done."""

    def __init__(self, source: Any, store: Store, *,
                 transcriber_factory: Callable[[], Transcriber],
                 drafter_factory: Callable[[], Drafter] | None,
                 on_event: Callable[[Any], None] | None = None,
                 start_status: str = "recording"):
        self._start_status = start_status     # "transcribing" when resuming from the spool
        self._source = source
        self._store = store
        self._make_transcriber = transcriber_factory
        self._make_drafter = drafter_factory
        self._emit_cb = on_event or (lambda e: None)
        # (samples, channels) blocks, then _STOP; lists of new segments, then _STOP.
        self._audio_q: queue.Queue[tuple[np.ndarray, np.ndarray | None] | None] = queue.Queue()
        self._seg_q: queue.Queue[list[Segment] | None] = queue.Queue()
        self._paused = threading.Event()
        self._stopping = threading.Event()
        self._cancelled = threading.Event()
        self._threads: list[threading.Thread] = []
        # source.start() runs on the capture thread and source.stop() on a helper thread (closing
        # an audio device can take a second, which must not freeze the window that pressed Stop);
        # the lock orders the two, and a Stop before the start means the source never starts.
        self._source_lock = threading.Lock()
        self._drafter: Drafter | None = None     # for the transcriber's busy signal
        self.result = VisitResult()
        self._done = threading.Event()

    # -- control --------------------------------------------------------------------------
    def start(self) -> LiveVisit:
        if hasattr(self._store, "begin"):
            self._store.begin()          # e.g. the vault store's visit lease
        self._store.set_status(self._start_status)
        self._emit(ev.StateChanged(self._start_status))
        for name, target in (("capture", self._capture_loop), ("transcribe", self._transcribe_loop),
                             ("draft", self._draft_loop)):
            t = threading.Thread(target=target, name=f"visit-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def pause(self) -> None:
        self._paused.set()
        if hasattr(self._source, "pause"):
            self._source.pause()
        self._emit(ev.StateChanged("paused"))

    def resume(self) -> None:
        if hasattr(self._source, "resume"):
            self._source.resume()
        self._paused.clear()
        self._emit(ev.StateChanged("recording"))

    def stop(self) -> None:
        """The clinician pressed Stop: end capture; the tail and the draft follow in the background."""
        if self._stopping.is_set():
            return
        self.result.timings.stop_at = time.perf_counter()
        self._stopping.set()
        if hasattr(self._source, "stop"):
            threading.Thread(target=self._stop_source, name="visit-stop", daemon=True).start()

    def _stop_source(self) -> None:
        with self._source_lock:
            try:
                self._source.stop()
            except Exception as exc:  # noqa: BLE001 - what was captured is kept either way
                self._fail("capture", exc)

    def cancel(self) -> None:
        """Abandon transcription and drafting (the recording stays in the spool)."""
        self._cancelled.set()
        self.stop()

    def wait(self, timeout: float | None = None) -> VisitResult:
        self._done.wait(timeout)
        return self.result

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # -- stages ---------------------------------------------------------------------------
    def _emit(self, event: Any) -> None:
        try:
            self._emit_cb(event)
        except Exception:  # noqa: BLE001 - an observer's bug must not stop the recording
            pass

    def _fail(self, stage: str, exc: BaseException) -> None:
        err = ev.PipelineError(stage=stage, message=str(exc) or exc.__class__.__name__)
        if self.result.error is None:
            self.result.error = err
        self._emit(err)

    def _blocks(self) -> Iterator[AudioBlock]:
        """A MicrophoneSource is started and read through blocks(); a FileSource is iterated."""
        source = self._source
        if not hasattr(source, "blocks"):
            return iter(source)
        with self._source_lock:
            if self._stopping.is_set():
                return iter(())              # stopped before the device was even opened
            if hasattr(source, "start"):
                source.start()
        blocks: Iterator[AudioBlock] = source.blocks()
        return blocks

    def _capture_loop(self) -> None:
        try:
            for block in self._blocks():
                if self._paused.is_set():
                    continue       # paused audio is neither kept nor transcribed
                self._store.write_audio(block.samples)
                self.result.timings.audio_seconds += block.duration
                self._emit(ev.LevelChanged(rms_dbfs(block.samples)))
                self._audio_q.put((block.samples, block.channels))
                if self._stopping.is_set() and not hasattr(self._source, "blocks"):
                    break          # a file source has no stop(): end at the next block
        except Exception as exc:  # noqa: BLE001 - device gone: keep what we have, say so
            self._fail("capture", exc)
        finally:
            try:
                self._store.close_audio()
            except Exception as exc:  # noqa: BLE001
                self._fail("storage", exc)
            self._stopping.set()
            if self.result.timings.stop_at is None:
                self.result.timings.stop_at = time.perf_counter()
            self._audio_q.put(_STOP)

    def _transcribe_loop(self) -> None:
        transcriber = None
        try:
            transcriber = self._make_transcriber()
            while True:
                item = self._audio_q.get()
                if item is _STOP:
                    break
                if self._cancelled.is_set():
                    continue
                self._publish(transcriber.feed(*item))
                self._signal_busy(getattr(transcriber, "pending_windows", 0) > 0)
            if not self._cancelled.is_set():
                self._emit(ev.StateChanged("transcribing"))
                self._emit(ev.Progress("transcribing the last words"))
                self._signal_busy(True)         # the tail: an early draft waits for it
                self._publish(transcriber.finish())
        except Exception as exc:  # noqa: BLE001
            self._fail("transcribe", exc)
            while self._audio_q.get() is not _STOP:    # let capture finish into the spool
                pass
        finally:
            self._signal_busy(False)
            self.result.timings.transcript_done_at = time.perf_counter()
            if transcriber is not None:
                transcriber.close()
            self._seg_q.put(_STOP)

    def _signal_busy(self, busy: bool) -> None:
        signal = getattr(self._drafter, "transcribing", None)
        if signal is not None:
            try:
                signal(busy)
            except Exception:  # noqa: BLE001 - a lost pause signal costs speed, never the visit
                pass

    def _publish(self, segments: list[Segment]) -> None:
        if not segments:
            return
        self.result.transcript.segments.extend(segments)
        for seg in segments:
            self._emit(ev.SegmentAdded(seg))
        self._store.save_transcript(self.result.transcript)
        self._seg_q.put(segments)

    def _draft_loop(self) -> None:
        drafter = None
        try:
            if self._make_drafter is not None:
                self._emit(ev.Progress("loading the note model"))
                drafter = self._drafter = self._make_drafter()
            while True:
                item = self._seg_q.get()
                if item is _STOP:
                    break
                if drafter is not None and not self._cancelled.is_set():
                    drafter.feed(item)
            if drafter is None or self._cancelled.is_set() or self.result.error is not None:
                # Without a draft the clinician still has the transcript to write from.
                self._store.set_status("review")
                return
            if not self.result.transcript.segments:
                raise ValueError("no speech was recognised in this recording, so there is no "
                                 "note to draft (the audio is kept)")
            self._store.set_status("drafting")
            self._emit(ev.StateChanged("drafting"))
            draft = drafter.finish(on_text=lambda t: self._emit(ev.DraftToken(t)))
            for section in draft.sections:
                self._emit(ev.SectionReady(section))
            self._store.save_draft(draft)
            self._store.set_status("review")
            self.result.draft = draft
            self.result.timings.draft_done_at = time.perf_counter()
            self.result.draft_stats = dict(getattr(drafter, "stats", None) or {})
            self._emit(ev.DraftReady(draft))
            self._emit(ev.StateChanged("review"))
        except Exception as exc:  # noqa: BLE001
            self._fail("draft", exc)
            try:
                self._store.set_status("review")
            except Exception:  # noqa: BLE001
                pass
        finally:
            if drafter is not None:
                try:
                    drafter.close()
                except Exception:  # noqa: BLE001
                    pass
            if hasattr(self._store, "finished"):
                try:
                    self._store.finished()
                except Exception:  # noqa: BLE001
                    pass
            self._done.set()
