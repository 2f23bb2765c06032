"""Tying a note to the right patient record.

The encounter's MRN is the key. With a FHIR server the connector can also look the patient up
(``Patient?identifier=system|mrn``) and reference the record it finds; zero or several matches
stop the send rather than guess. No MRN at all blocks sending with a message saying what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, UTC
from typing import Any
from collections.abc import Callable

from localscribe.domain import Patient, SignedNote
from localscribe.ehr.protocol import DeliveryError, PatientIdentifierMissing


def require_mrn(note: SignedNote) -> str:
    mrn = (note.patient.mrn or "").strip()
    if not mrn:
        raise PatientIdentifierMissing(
            f"encounter {note.encounter_id} has no patient MRN: add the patient's medical record "
            "number to the encounter before sending (the note was not sent)")
    return mrn


class PatientDataInvalid(DeliveryError):
    """A patient detail cannot be sent as it is; a person must correct the encounter."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class PersonName:
    family: str
    given: str = ""


def birth_date_problem(raw: str, today: date | None = None) -> str:
    """What is wrong with a date of birth ('' when it is fine or empty). Accepted: an ISO date
    (YYYY, YYYY-MM or YYYY-MM-DD) that exists in the calendar, not in the future."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    m = _ISO_DATE.fullmatch(raw)
    if not m:
        return "is not an ISO date (YYYY-MM-DD)"
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    try:
        born = date(year, month, day)
    except ValueError:
        return "is not a calendar date"
    if born > (today or datetime.now(UTC).date()):
        return "is in the future"
    return "is before 1850" if year < 1850 else ""


def split_name(raw: str) -> PersonName:
    """Family and given names as the user stated them; ValueError says why it cannot be done.

    "Family, Given Middle" (a comma) is explicit and taken as written: "de la Cruz, Maria".
    Without a comma, one word is a family name and two words read "Given Family". Three or more
    words without a comma are ambiguous ("Maria de la Cruz" is not Cruz^Maria de la): refused
    rather than guess a legal name."""
    raw = " ".join((raw or "").split())
    if "," in raw:
        family, _, given = raw.partition(",")
        family, given = family.strip(), given.strip()
        if not family or "," in given:
            raise ValueError("has an empty family name or several commas; write it as "
                             "'Family, Given'")
        return PersonName(family, given)
    words = raw.split(" ") if raw else []
    if len(words) <= 1:
        return PersonName(raw)
    if len(words) == 2:
        return PersonName(words[1], words[0])
    raise ValueError(f"has {len(words)} words and no comma, so its family name is ambiguous; "
                     "write it as 'Family, Given' (e.g. 'van Dyke, Anna')")


def patient_problems(patient: Patient) -> list[str]:
    """Everything in these patient details that would stop an HL7 send, for an entry screen to
    show before the visit starts (the same rules the send applies)."""
    problems = []
    if birth_date_problem(patient.birth_date):
        problems.append(f"the date of birth {birth_date_problem(patient.birth_date)}")
    try:
        split_name(patient.name)
    except ValueError as exc:
        problems.append(f"the name {exc}")
    return problems


def hl7_birth_date(note: SignedNote, today: date | None = None) -> str:
    """The date of birth as HL7 DT (YYYY[MM[DD]]), '' when none was entered.

    Anything else stops the send: a wrong birth date on the wire matches the note to the wrong
    person. The message names the problem, never the value (it ends up in logs)."""
    problem = birth_date_problem(note.patient.birth_date, today)
    if problem:
        raise PatientDataInvalid(
            f"encounter {note.encounter_id}: the patient's date of birth {problem}; correct "
            "it on the encounter before sending (the note was not sent)")
    return note.patient.birth_date.strip().replace("-", "")


def name_parts(note: SignedNote) -> PersonName:
    """The patient's name parts for PID-5 (see :func:`split_name`), or a send-stopping error."""
    try:
        return split_name(note.patient.name)
    except ValueError as exc:
        raise PatientDataInvalid(f"encounter {note.encounter_id}: the patient's name {exc} "
                                 "(the note was not sent)") from None


def logical_subject(note: SignedNote, mrn_system: str) -> dict[str, Any]:
    """A Patient reference by identifier, for servers that resolve those themselves."""
    return {"identifier": {"system": mrn_system, "value": require_mrn(note)},
            **({"display": note.patient.name} if note.patient.name else {})}


def searched_subject(note: SignedNote, mrn_system: str,
                     search: Callable[[str, dict[str, str]], dict[str, Any]]) -> dict[str, Any]:
    """A literal ``Patient/<id>`` reference found by searching the server for the MRN.

    ``search(resource_type, params)`` returns a searchset Bundle (raises DeliveryError when the
    server cannot be reached; that error is retryable and bubbles up unchanged).
    """
    mrn = require_mrn(note)
    bundle = search("Patient", {"identifier": f"{mrn_system}|{mrn}"})
    matches = [e["resource"] for e in bundle.get("entry", [])
               if e.get("resource", {}).get("resourceType") == "Patient"
               and e.get("search", {}).get("mode", "match") == "match"]
    if not matches:
        raise DeliveryError("no patient with this encounter's MRN on the FHIR server: check "
                            "the MRN or register the patient there first", retryable=False)
    if len(matches) > 1:
        raise DeliveryError(f"{len(matches)} patients share this encounter's MRN on the FHIR "
                            "server: resolve the duplicate there before sending", retryable=False)
    ref = {"reference": f"Patient/{matches[0]['id']}"}
    if note.patient.name:
        ref["display"] = note.patient.name
    return ref
