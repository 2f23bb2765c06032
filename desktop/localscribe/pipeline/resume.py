"""Finish an interrupted (or failed) visit from its spooled audio: ``scribe --resume``.

The whole spool, to its last second, goes through the same live pipeline a recording takes
(transcription worker, then the draft worker); nothing is recorded again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from localscribe.capture.sources import AudioBlock
from localscribe.pipeline.engines import drafter_factory, transcriber_factory
from localscribe.pipeline.live_visit import LiveVisit, VisitResult
from localscribe.pipeline.stores import VaultVisitStore
from localscribe.vault.encounters import RESUMABLE_STATUSES, EncounterStatus

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


def resumable_audio(session, eid: str) -> np.ndarray:
    """The spooled audio of an interrupted/failed encounter, or NotResumable saying why."""
    enc = session.get_encounter(eid)
    if enc.status not in RESUMABLE_STATUSES:
        raise NotResumable(f"encounter {eid} is {enc.status}; only an interrupted or failed "
                           "encounter can be resumed")
    audio = session.read_audio(eid)
    if audio.size == 0:
        raise NotResumable(f"encounter {eid} has no recorded audio to transcribe")
    return audio


def resume_visit(session, eid: str, audio: np.ndarray, *, asr_model, llm_model, template: str,
                 data_dir: Path | None = None,
                 on_event: Callable[[Any], None] | None = None) -> VisitResult:
    """Transcribe and draft ``audio`` (from ``resumable_audio``) into encounter ``eid``."""
    store = VaultVisitStore(session, eid, record_audio=False)
    visit = LiveVisit(SpoolSource(audio), store, transcriber_factory=transcriber_factory(asr_model),
                      drafter_factory=drafter_factory(llm_model, template, data_dir=data_dir),
                      on_event=on_event, start_status=EncounterStatus.TRANSCRIBING.value)
    visit.start()
    return visit.wait()
