"""What is kept, and for how long.

Audio exists to be transcribed and re-checked during review; once the note is signed it has no
further clinical use and is the most identifying thing we hold. So by default a signed
encounter's audio is purged at signing (``retention.audio_days`` = 0); a practice may keep it N
days after signing. Encounter records (transcript, drafts, versions, signed notes) are kept
unless ``retention.records_days`` is set, and then only signed encounters older than that are
purged: the EHR is the legal record. Every purge is on the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from typing import Any

import sqlite_utils

AUDIO_DAYS = "retention.audio_days"
RECORDS_DAYS = "retention.records_days"


@dataclass(frozen=True)
class RetentionPolicy:
    audio_days: int = 0               # 0: purge audio when the note is signed
    records_days: int | None = None   # None: keep encounter records

    @classmethod
    def from_settings(cls, get: Callable[[str, Any], Any]) -> RetentionPolicy:
        records = get(RECORDS_DAYS, None)
        return cls(audio_days=int(get(AUDIO_DAYS, 0)),
                   records_days=None if records is None else int(records))


def _cutoff(days: int, now: datetime | None) -> str:
    now = now or datetime.now(UTC)
    return (now - timedelta(days=days)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def audio_due(db: sqlite_utils.Database, policy: RetentionPolicy,
              now: datetime | None = None) -> list[str]:
    """Signed encounters whose audio has outlived the policy and is not yet purged."""
    rows = db.execute("SELECT id FROM encounters WHERE signed_at IS NOT NULL AND "
                      "audio_purged_at IS NULL AND signed_at <= ?",
                      (_cutoff(policy.audio_days, now),)).fetchall()
    return [r[0] for r in rows]


def records_due(db: sqlite_utils.Database, policy: RetentionPolicy,
                now: datetime | None = None) -> list[str]:
    if policy.records_days is None:
        return []
    rows = db.execute("SELECT id FROM encounters WHERE signed_at IS NOT NULL AND "
                      "status IN ('signed', 'sent', 'amended') AND signed_at <= ?",
                      (_cutoff(policy.records_days, now),)).fetchall()
    return [r[0] for r in rows]
