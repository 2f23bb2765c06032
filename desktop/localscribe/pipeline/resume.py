"""Finish an interrupted (or failed) visit from its spooled audio: ``scribe --resume``.

The whole spool, to its last second, goes through the same live pipeline a recording takes
(transcription worker, then the draft worker); nothing is recorded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterator

import numpy as np

from localscribe.capture.sources import AudioBlock
from localscribe.config import Paths
from localscribe.pipeline.engines import ModelRef, drafter_factory, transcriber_factory
from localscribe.pipeline.live_visit import LiveVisit, VisitResult
from localscribe.pipeline.stores import VaultVisitStore
from localscribe.vault.encounters import RESUMABLE_STATUSES, EncounterStatus

if TYPE_CHECKING:   # the vault is imported where it is used; the type is all this module needs
    from localscribe.vault.session import Session

# A transcript whose last words end more than this before the recording does may have
# stopped short (a silent last stretch is normal; 17 s of unheard speech is not).
SHORT_BY_S = 8.0

SAMPLE_RATE = 16_000


class NotResumable(ValueError):
    """The encounter is not interrupted or failed, or has no audio to work from."""


class SpoolSource:
    """Spooled audio as the blocks a live source would give, at file speed."""

    def __init__(self, samples: np.ndarray, block_seconds: float = 0.5):
        self.samples = np.asarray(samples, dtype=np.float32)
        self.block = max(1, int(block_seconds * SAMPLE_RATE))

    @property
    def seconds(self) -> float:
        return self.samples.size / SAMPLE_RATE

    def __iter__(self) -> Iterator[AudioBlock]:
        for start in range(0, self.samples.size, self.block):
            yield AudioBlock(self.samples[start:start + self.block], start / SAMPLE_RATE)


def resumable(session: Session, eid: str) -> bool:
    """Interrupted or failed, or left for review without a draft (drafting was cancelled or
    failed): a run stopped short, and the spool holds what it did not finish."""
    status = session.get_encounter(eid).status
    if status in RESUMABLE_STATUSES:
        return True
    return status == EncounterStatus.REVIEW.value and session.load_draft(eid) is None


def resumable_audio(session: Session, eid: str) -> np.ndarray:
    """The spooled audio of an encounter a run left unfinished, or NotResumable saying why."""
    if not resumable(session, eid):
        status = session.get_encounter(eid).status
        raise NotResumable(f"encounter {eid} is {status}; only an interrupted or failed "
                           "encounter (or one left without a draft) can be resumed")
    audio = session.read_audio(eid)
    if audio.size == 0:
        raise NotResumable(f"encounter {eid} has no recorded audio to transcribe")
    return audio


def resume_visit(session: Session, eid: str, audio: np.ndarray, *, asr_model: ModelRef,
                 llm_model: ModelRef, template: str,
                 data_dir: Path | None = None,
                 on_event: Callable[[Any], None] | None = None,
                 on_start: Callable[[LiveVisit], None] | None = None) -> VisitResult:
    """Transcribe and draft ``audio`` (from ``resumable_audio``) into encounter ``eid``.
    ``on_start`` receives the running visit (the window keeps it to offer Cancel)."""
    from localscribe.style.store import drafting_style   # the signed-in clinician's style
    store = VaultVisitStore(session, eid, record_audio=False)
    visit = LiveVisit(SpoolSource(audio), store, transcriber_factory=transcriber_factory(asr_model),
                      drafter_factory=drafter_factory(llm_model, template, data_dir=data_dir,
                                                      style=drafting_style(session, eid)),
                      on_event=on_event, start_status=EncounterStatus.TRANSCRIBING.value)
    visit.start()
    if on_start is not None:
        on_start(visit)
    return visit.wait()


@dataclass(frozen=True)
class Coverage:
    recorded_s: float         # audio in the spool
    transcribed_s: float      # where the stored transcript's last words end

    @property
    def short(self) -> bool:
        return self.recorded_s - self.transcribed_s > SHORT_BY_S

    def words(self) -> str:
        return (f"the transcript ends at {_mmss(self.transcribed_s)} of "
                f"{_mmss(self.recorded_s)} recorded")


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"


def coverage(session: Session, eid: str) -> Coverage:
    """How far the stored transcript reaches into the recorded audio."""
    transcript = session.load_transcript(eid)
    enc = session.get_encounter(eid)
    samples = enc.audio_samples
    if not samples and not enc.audio_purged_at:
        # A crash leaves the totals unwritten; the spool's chunks hold the truth.
        try:
            samples = session.read_audio(eid).size
        except (FileNotFoundError, OSError):
            samples = 0
    return Coverage(recorded_s=samples / SAMPLE_RATE,
                    transcribed_s=transcript.duration if transcript else 0.0)


def record_stopped_short(session: Session, eid: str, reason: str, detail: str = "") -> Coverage:
    """Audit a run that ended before the recording was transcribed and drafted (cancelled,
    failed, interrupted); what the clinician is told comes from the same Coverage."""
    cov = coverage(session, eid)
    session.audit("visit.stopped_short", eid, outcome="incomplete", reason=reason,
                  recorded_s=round(cov.recorded_s, 1), transcribed_s=round(cov.transcribed_s, 1),
                  **({"detail": detail[:200]} if detail else {}))
    return cov


def recover_visit(session: Session, eid: str, *, profile: str, paths: Paths, template: str | None = None,
                  on_event: Callable[[Any], None] | None = None,
                  on_start: Callable[[LiveVisit], None] | None = None) -> VisitResult:
    """The window's "Draft from the saved recording": the whole spool, to its last second,
    through ``resume_visit`` (what ``scribe --resume`` runs), never only the live transcript.
    A run that fails again is marked failed and audited as stopped short."""
    from localscribe.models import resolve_model

    audio = resumable_audio(session, eid)
    template = template or session.get_encounter(eid).template
    session.audit("visit.recover", eid, recorded_s=round(audio.size / SAMPLE_RATE, 1))
    result = resume_visit(session, eid, audio, asr_model=resolve_model("asr", profile, paths),
                          llm_model=resolve_model("llm", profile, paths), template=template,
                          data_dir=paths.data_dir, on_event=on_event, on_start=on_start)
    if result.error is not None or result.draft is None:
        session.set_status(eid, EncounterStatus.FAILED.value)
        if result.error is not None:      # a cancel is audited by whoever cancelled
            record_stopped_short(session, eid, "failed", result.error.message)
    return result
