"""Tying a note to the right patient record.

The encounter's MRN is the key. With a FHIR server the connector can also look the patient up
(``Patient?identifier=system|mrn``) and reference the record it finds; zero or several matches
stop the send rather than guess. No MRN at all blocks sending with a message saying what to fix.
"""

from __future__ import annotations

from typing import Any, Callable

from localscribe.domain import SignedNote
from localscribe.ehr.protocol import DeliveryError, PatientIdentifierMissing


def require_mrn(note: SignedNote) -> str:
    mrn = (note.patient.mrn or "").strip()
    if not mrn:
        raise PatientIdentifierMissing(
            f"encounter {note.encounter_id} has no patient MRN: add the patient's medical record "
            "number to the encounter before sending (the note was not sent)")
    return mrn


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
