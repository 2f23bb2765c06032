"""The scorecard's result types: counts, shares and durations; never a patient detail.

Clinicians appear by user name (an account name, not PHI); encounters only as counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import Enum
from typing import Any

ALL_PERIODS = "all"      # the row covering the whole date range
PRACTICE = ""            # the clinician field of a practice-wide row


class AbandonReason(str, Enum):
    """Why a visit never reached a signature, as the audit trail records it."""

    CONSENT_DECLINED = "consent_declined"   # the patient declined recording
    FAILED = "failed"                       # transcription or drafting ended with an error
    INTERRUPTED = "interrupted"             # the app died mid-visit and it was never resumed
    LEFT_UNSIGNED = "left_unsigned"         # a draft waited longer than ABANDON_AFTER_DAYS


@dataclass(frozen=True)
class Durations:
    """Seconds; median and 90th percentile (nearest rank) over ``n`` visits."""

    n: int = 0
    median_s: float | None = None
    p90_s: float | None = None


@dataclass(frozen=True)
class SectionFigures:
    key: str                 # the template's section key, e.g. "assessment_plan"
    notes: int               # signed notes in which the section was drafted or written
    edited: int              # ... of which the clinician changed it
    draft_words: int
    changed_words: int

    @property
    def edit_ratio(self) -> float | None:
        """Changed over drafted words; None for a section only the clinician wrote."""
        return self.changed_words / self.draft_words if self.draft_words else None


@dataclass(frozen=True)
class Quality:
    notes_signed: int = 0
    edits_measured: int = 0          # signed notes with a draft to compare against
    unchanged: int = 0
    minor: int = 0
    major: int = 0
    flags_raised: int = 0            # blocking flags in the drafts that were signed
    flags_unchanged: int = 0         # acknowledged and signed as drafted
    flags_fixed: int = 0             # the flagged statement was edited or deleted
    sections: tuple[SectionFigures, ...] = ()

    def share(self, count: int) -> float | None:
        return count / self.edits_measured if self.edits_measured else None


@dataclass(frozen=True)
class Operations:
    stop_to_draft: Durations = Durations()
    stop_to_signature: Durations = Durations()   # chart closure: visit end -> signature
    signed_after_hours: int = 0
    signed: int = 0
    sent: int = 0
    send_failed: int = 0
    send_pending: int = 0            # queued, waiting for the EHR
    not_sent: int = 0                # signed, never handed to a connector

    @property
    def after_hours_share(self) -> float | None:
        return self.signed_after_hours / self.signed if self.signed else None


@dataclass(frozen=True)
class Adoption:
    visits: int = 0                  # encounters created
    visits_recorded: int = 0         # ... with audio recorded in the app
    open: int = 0                    # unsigned and not (yet) abandoned
    abandoned: dict[str, int] = field(default_factory=dict)   # AbandonReason value -> count

    @property
    def abandoned_total(self) -> int:
        return sum(self.abandoned.values())


@dataclass(frozen=True)
class Row:
    period: str          # ISO week "2026-W48", or ALL_PERIODS
    clinician: str       # user name, or PRACTICE
    quality: Quality
    operations: Operations
    adoption: Adoption


@dataclass(frozen=True)
class ClinicHours:
    days: tuple[int, ...] = (1, 2, 3, 4, 5)   # ISO weekdays, Monday = 1
    start: str = "08:00"
    end: str = "18:00"
    timezone: str = ""                         # IANA name; "" = this computer's time zone


@dataclass(frozen=True)
class Scorecard:
    since: date | None
    until: date | None
    clinician: str | None            # the filter asked for, if any
    generated_at: str
    hours: ClinicHours
    weeks: tuple[str, ...]
    clinicians: tuple[str, ...]
    rows: tuple[Row, ...]
    # The figures are only as good as the trail they come from: its verification verdict.
    trail_ok: bool = True
    trail_problem: str = ""

    def row(self, period: str = ALL_PERIODS, clinician: str = PRACTICE) -> Row | None:
        return next((r for r in self.rows if r.period == period and r.clinician == clinician),
                    None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["since"] = self.since.isoformat() if self.since else None
        d["until"] = self.until.isoformat() if self.until else None
        return d
