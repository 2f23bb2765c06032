"""Record first, name later: the patient's details and consent attached to a visit that was
started with one click, before its patient was known.

One call for the window and the CLI. The rule that a note is signed only for an identified
patient is the domain's (``Patient.identity_problem``) and the vault enforces it at signing;
this module only checks what is typed in and keeps the EHR's patient where there is one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from localscribe.domain import Patient

if TYPE_CHECKING:
    from localscribe.vault.session import Session


class PatientDetailsError(ValueError):
    """The details typed in cannot be attached (one line, said to the user as it is)."""


def clean_patient(patient: Patient, today: dt.date | None = None) -> Patient:
    """The details as stored: trimmed, the date of birth an ISO date that is not in the future."""
    born = patient.birth_date.strip()
    if born:
        try:
            day = dt.date.fromisoformat(born)
        except ValueError:
            raise PatientDetailsError(f"the date of birth {born!r} is not a date (YYYY-MM-DD)") from None
        if day > (today or dt.date.today()):
            raise PatientDetailsError("the date of birth is in the future")
        born = day.isoformat()
    return Patient(name=patient.name.strip(), mrn=patient.mrn.strip(), birth_date=born)


def attach_patient(session: Session, eid: str, patient: Patient, *,
                   consent: bool | None = None) -> Patient:
    """Attach ``patient`` to the unsigned encounter ``eid`` (the vault refuses a signed one).

    ``consent`` True or False records the patient's answer (``vault.consent.record``: a refusal
    erases the visit's recording and transcript); None records nothing. A visit started from the EHR's
    schedule keeps the EHR's patient: its note is matched to the EHR's patient id, and a name
    typed over it would send one patient's note under another's identifiers."""
    from localscribe.ingest.service import visit_context

    cleaned = clean_patient(patient)
    if visit_context(session, eid) is not None and cleaned != session.get_encounter(eid).patient:
        raise PatientDetailsError("this visit was started from the EHR's schedule; its patient "
                                  "is the EHR's and is not changed here")
    session.set_patient(eid, cleaned)
    if consent is not None:
        from localscribe.vault import consent as consent_rule

        consent_rule.record(session, eid, consent, after_start=True)
    return cleaned
