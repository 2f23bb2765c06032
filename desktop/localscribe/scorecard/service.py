"""The scorecard's one entry point: role check (admins and auditors), read, audit.

An admin or auditor holds no patient-data key, and nothing here needs one: the figures come
from the audit trail (see ``collect``). A clinician or assistant is refused through the
session's own check, which records the refusal on the trail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from localscribe.scorecard import collect, compute, hours as hours_mod
from localscribe.scorecard.model import ClinicHours, Scorecard
from localscribe.vault import roles

AUDIT_OBJECT = "scorecard"


def clinic_hours(session: Any) -> ClinicHours:
    return hours_mod.parse_hours(session.get_setting(hours_mod.HOURS_KEY),
                                 session.get_setting(hours_mod.TIMEZONE_KEY))


def load(session: Any, *, since: date | None = None, until: date | None = None,
         clinician: str | None = None, purpose: str = "view",
         now: datetime | None = None) -> Scorecard:
    """The scorecard for visits on [since, until] (local days, inclusive), audited as a read.
    ``purpose`` says what it is for on the trail: view, json, csv or pdf."""
    session.capability.require(roles.SCORECARD_READ, AUDIT_OBJECT)
    if since and until and until < since:
        raise ValueError(f"--until {until} is before --since {since}")
    hours = clinic_hours(session)
    chain = session.audit_chain_status()     # an edited or forged event must not pass silently
    card = compute.build(collect.visits(session.db), hours, since=since, until=until,
                         clinician=clinician, now=now)
    card = replace(card, trail_ok=chain.ok, trail_problem="" if chain.ok else chain.message)
    session.audit("scorecard.read", AUDIT_OBJECT, purpose=purpose,
                  since=since.isoformat() if since else None,
                  until=until.isoformat() if until else None, clinician=clinician,
                  weeks=len(card.weeks), trail_ok=card.trail_ok)
    return card


def record_export(session: Any, fmt: str, card: Scorecard) -> None:
    """A file left the app: say which kind and which range (never where: a path can name a
    patient folder)."""
    session.capability.require(roles.SCORECARD_READ, AUDIT_OBJECT)
    session.audit("scorecard.export", AUDIT_OBJECT, format=fmt,
                  since=card.since.isoformat() if card.since else None,
                  until=card.until.isoformat() if card.until else None,
                  clinician=card.clinician)
