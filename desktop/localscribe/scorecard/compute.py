"""Visits -> scorecard rows: per ISO week and for the whole range, per clinician and for the
practice.

Every figure of a visit counts in the week of the visit (the day it was created, in the
practice's local time), so a week's row reads "for the visits of that week: how were their
notes edited, how fast were they closed, how many went out".
"""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, timedelta, UTC
from collections.abc import Iterable

from localscribe.scorecard.collect import Visit
from localscribe.scorecard.edits import GRADES
from localscribe.scorecard.hours import after_hours, iso_week, local, zone_info
from localscribe.scorecard.model import (ALL_PERIODS, PRACTICE, AbandonReason, Adoption,
                                         ClinicHours, Durations, Operations, Quality, Row,
                                         Scorecard, SectionFigures)

ABANDON_AFTER_DAYS = 7     # an unsigned draft older than this counts as left unsigned


def durations(seconds: Iterable[float]) -> Durations:
    values = sorted(seconds)
    if not values:
        return Durations()
    p90 = values[max(0, math.ceil(0.9 * len(values)) - 1)]
    return Durations(len(values), float(statistics.median(values)), float(p90))


def abandon_reason(v: Visit, now: datetime) -> AbandonReason | None:
    if v.signed_at is not None:
        return None
    if v.consent_declined:
        return AbandonReason.CONSENT_DECLINED
    if v.last_status == "failed":
        return AbandonReason.FAILED
    if v.last_status == "interrupted":
        return AbandonReason.INTERRUPTED
    if now - v.created_at > timedelta(days=ABANDON_AFTER_DAYS):
        return AbandonReason.LEFT_UNSIGNED
    return None


def _quality(vs: list[Visit]) -> Quality:
    signed = [v for v in vs if v.signed_at is not None]
    measured = [v.edits for v in signed if v.edits is not None]
    grades = {g: sum(1 for e in measured if e.grade == g) for g in GRADES}
    sections: dict[str, list[int]] = {}
    for e in measured:
        for s in e.sections:
            acc = sections.setdefault(s.key, [0, 0, 0, 0])
            acc[0] += 1
            acc[1] += s.changed > 0
            acc[2] += s.draft_words
            acc[3] += s.changed
    return Quality(notes_signed=len(signed), edits_measured=len(measured),
                   unchanged=grades["unchanged"], minor=grades["minor"], major=grades["major"],
                   flags_raised=sum(e.flags_raised for e in measured),
                   flags_unchanged=sum(e.flags_unchanged for e in measured),
                   flags_fixed=sum(e.flags_fixed for e in measured),
                   sections=tuple(SectionFigures(k, *acc) for k, acc in sorted(sections.items())))


def _operations(vs: list[Visit], hours: ClinicHours) -> Operations:
    zone = zone_info(hours.timezone)
    signed = [v for v in vs if v.signed_at is not None]
    to_draft, to_sign = [], []
    for v in vs:
        end, ready = v.visit_end(), v.draft_ready()
        if end is not None and ready is not None:
            to_draft.append((ready - end).total_seconds())
        if end is not None and v.signed_at is not None:
            to_sign.append((v.signed_at - end).total_seconds())
    sends = [v.send_status for v in signed]
    signed_at = [t for v in signed if (t := v.signed_at) is not None]   # all of them; typed
    return Operations(stop_to_draft=durations(to_draft), stop_to_signature=durations(to_sign),
                      signed_after_hours=sum(after_hours(local(t, zone), hours) for t in signed_at),
                      signed=len(signed), sent=sends.count("sent"),
                      send_failed=sends.count("send_failed"),
                      send_pending=sends.count("send_pending"), not_sent=sends.count(""))


def _adoption(vs: list[Visit], now: datetime) -> Adoption:
    reasons = [abandon_reason(v, now) for v in vs]
    abandoned = {r.value: sum(1 for x in reasons if x is r) for r in AbandonReason}
    return Adoption(visits=len(vs), visits_recorded=sum(v.recorded for v in vs),
                    open=sum(1 for v, r in zip(vs, reasons) if v.signed_at is None and r is None),
                    abandoned={k: n for k, n in abandoned.items() if n})


def _row(period: str, clinician: str, vs: list[Visit], hours: ClinicHours,
         now: datetime) -> Row:
    return Row(period, clinician, _quality(vs), _operations(vs, hours), _adoption(vs, now))


def build(all_visits: list[Visit], hours: ClinicHours, *, since: date | None = None,
          until: date | None = None, clinician: str | None = None,
          now: datetime | None = None) -> Scorecard:
    """Rows for the visits whose local day is within [since, until] (both inclusive)."""
    now = now or datetime.now(UTC)
    zone = zone_info(hours.timezone)
    chosen: list[tuple[str, Visit]] = []
    for v in all_visits:
        day = local(v.created_at, zone).date()
        if (since and day < since) or (until and day > until):
            continue
        chosen.append((iso_week(day), v))
    weeks = tuple(sorted({w for w, _ in chosen}))
    clinicians = tuple(sorted({v.clinician for _, v in chosen}))
    wanted: tuple[str, ...]
    if clinician is not None:
        wanted = (clinician,)
    else:
        wanted = (PRACTICE, *clinicians)
    rows = []
    for who in wanted:
        mine = [(w, v) for w, v in chosen if who == PRACTICE or v.clinician == who]
        rows.append(_row(ALL_PERIODS, who, [v for _, v in mine], hours, now))
        for week in weeks:
            rows.append(_row(week, who, [v for w, v in mine if w == week], hours, now))
    return Scorecard(since=since, until=until, clinician=clinician,
                     generated_at=now.astimezone(UTC).isoformat(timespec="seconds"),
                     hours=hours, weeks=weeks, clinicians=clinicians, rows=tuple(rows))
