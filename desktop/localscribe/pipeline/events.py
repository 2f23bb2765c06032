"""What a live visit tells its observer (the Qt window, the CLI, a test).

The pipeline emits these from worker threads; the observer must not block. The Qt layer
turns them into signals; the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from localscribe.domain import Draft, Section, Segment


@dataclass(frozen=True)
class LevelChanged:
    rms_dbfs: float          # input level of the last block, for the meter


@dataclass(frozen=True)
class StateChanged:
    state: str               # recording | paused | transcribing | drafting | review | failed


@dataclass(frozen=True)
class SegmentAdded:
    segment: Segment


@dataclass(frozen=True)
class DraftToken:
    text: str                # raw generated text as it streams


@dataclass(frozen=True)
class SectionReady:
    section: Section         # a finished section, verified, while later ones still generate


@dataclass(frozen=True)
class DraftReady:
    draft: Draft             # the complete, verified draft (already saved to the vault)


@dataclass(frozen=True)
class Progress:
    stage: str               # "loading models", "transcribing tail", "drafting", ...
    fraction: float | None = None


@dataclass(frozen=True)
class PipelineError:
    stage: str               # capture | transcribe | draft | storage
    message: str             # one clear sentence for the clinician
    recoverable: bool = True # the recording on disk is intact either way


VisitEvent = (LevelChanged | StateChanged | SegmentAdded | DraftToken | SectionReady | DraftReady
              | Progress | PipelineError)
