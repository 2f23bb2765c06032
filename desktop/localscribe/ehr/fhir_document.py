"""A signed note as a FHIR R4 DocumentReference (US Core clinical note), validated against
the R4 4.0.1 models (``fhir_r4``, SMART on FHIR's fhirclient) before anything is sent; the
loopback Medplum server, which loads the R4 definitions, checks it again when it is created.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

from localscribe.domain import SignedNote
from localscribe.ehr.protocol import DeliveryError

LOINC = "http://loinc.org"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
DEFAULT_LOINC = "11506-3"
LOINC_DISPLAY = {
    "11506-3": "Progress note",
    "34117-2": "History and physical note",
    "11488-4": "Consult note",
    "18842-5": "Discharge summary",
    "28570-0": "Procedure note",
    "69730-0": "Instructions",        # the patient's after-visit summary (ehr.instructions_doc)
}
NOTE_SYSTEM = "urn:localscribe:note-id"
US_CORE_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
# US Core binds content.format to IHE format codes; plain text is "mimeType sufficient".
FORMAT_CODE = {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
               "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
               "display": "mimeType Sufficient"}
ENCOUNTER_SYSTEM = "urn:localscribe:encounter-id"


def loinc_for_template(template: str) -> tuple[str, str]:
    """(code, display) from ``assets/templates/<template>.toml``'s ``loinc`` key; 11506-3
    (progress note) when the template names none or cannot be found."""
    from localscribe.resources import asset

    code = DEFAULT_LOINC
    path = asset("templates", f"{template}.toml")
    if template and path.is_file():
        try:
            code = str(tomllib.loads(path.read_text("utf-8")).get("loinc") or DEFAULT_LOINC)
        except tomllib.TOMLDecodeError:
            code = DEFAULT_LOINC
    return code, LOINC_DISPLAY.get(code, "Clinical note")


def note_loinc(note: SignedNote) -> tuple[str, str]:
    """The note's own LOINC type (set from its template by the vault), else the lookup above."""
    if note.loinc:
        return note.loinc, note.loinc_display or LOINC_DISPLAY.get(note.loinc, "Clinical note")
    return loinc_for_template(note.template)


def _zoned(iso: str) -> str:
    """A FHIR dateTime with a time needs a zone: an EHR time given without one (HL7 local
    time) is read as this machine's local time, which is the practice's."""
    from datetime import datetime

    if len(iso) <= 10 or iso.endswith("Z") or "+" in iso[10:] or "-" in iso[10:]:
        return iso
    return datetime.fromisoformat(iso).astimezone().isoformat()


def encounter_context(note: SignedNote, options: DocumentOptions) -> dict[str, Any]:
    """context: the EHR's Encounter (a literal reference when the schedule came over FHIR, its
    visit number otherwise) and the visit's period; typed-in visits name LocalScribe's id."""
    visit = note.visit
    encounter: dict[str, Any]
    if visit is not None and visit.fhir_encounter:
        encounter = {"reference": visit.fhir_encounter}
    elif visit is not None and visit.visit_number:
        encounter = {"identifier": {"system": visit.visit_authority
                                    if ":" in visit.visit_authority else options.encounter_system,
                                    "value": visit.visit_number}}
    else:
        encounter = {"identifier": {"system": options.encounter_system,
                                    "value": note.encounter_id}}
    context: dict[str, Any] = {"encounter": [encounter]}
    if visit is not None and visit.visit_time:
        context["period"] = {"start": _zoned(visit.visit_time),
                             **({"end": _zoned(visit.visit_end)} if visit.visit_end else {})}
    return context


def _instant(iso: str) -> str:
    """FHIR instants need a zone; the vault writes UTC, sometimes without the 'Z'."""
    if iso.endswith("Z") or "+" in iso[10:] or "-" in iso[10:]:
        return iso
    return iso + "Z"


@dataclass(frozen=True)
class DocumentOptions:
    note_system: str = NOTE_SYSTEM
    encounter_system: str = ENCOUNTER_SYSTEM
    loinc: str | None = None          # overrides the template's code


def build_document_reference(note: SignedNote, subject: dict[str, Any],
                             options: DocumentOptions = DocumentOptions(),
                             replaces_remote_id: str | None = None,
                             replaces_by_identifier: bool = False,
                             author: dict[str, Any] | None = None) -> dict[str, Any]:
    """The DocumentReference for ``note``. ``subject`` is the Patient reference (literal
    ``{"reference": "Patient/…"}`` or logical ``{"identifier": {...}}``).

    An amendment ``replaces`` the server's document ``replaces_remote_id``; where there is no
    server id (a file import) ``replaces_by_identifier`` points at the original note's
    identifier instead. ``author`` is the Practitioner reference of the signer (default: a
    display-only reference naming the login)."""
    code, display = note_loinc(note)
    if options.loinc:
        code, display = options.loinc, LOINC_DISPLAY.get(options.loinc, "Clinical note")
    signed = _instant(note.signed_at)
    ident = {"system": options.note_system, "value": note.note_id}
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [US_CORE_PROFILE]},
        "masterIdentifier": ident,
        "identifier": [ident],
        "status": "current",
        "docStatus": "amended" if replaces_remote_id else "final",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "category": [{"coding": [{"system": US_CORE_CATEGORY, "code": "clinical-note",
                                  "display": "Clinical Note"}]}],
        "subject": subject,
        "date": signed,
        "author": [author] if author else [{"display": note.author}] if note.author else [],
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(note.text.encode("utf-8")).decode("ascii"),
            "title": display,
            "creation": signed,
        }, "format": FORMAT_CODE}],
        "context": encounter_context(note, options),
    }
    if note.language:
        resource["content"][0]["attachment"]["language"] = note.language
    if not resource["author"]:
        del resource["author"]
    if replaces_remote_id and replaces_by_identifier:
        resource["relatesTo"] = [{"code": "replaces", "target": {"identifier": {
            "system": options.note_system, "value": replaces_remote_id}}}]
    elif replaces_remote_id:
        target = replaces_remote_id if "/" in replaces_remote_id \
            else f"DocumentReference/{replaces_remote_id}"
        resource["relatesTo"] = [{"code": "replaces", "target": {"reference": target}}]
    validate_document_reference(resource)
    return resource


def validate_document_reference(resource: dict[str, Any]) -> None:
    """Raise a non-retryable DeliveryError if ``resource`` is not a valid R4 DocumentReference.

    The message names the failing elements only; the validator's full text (which may quote
    note content) goes to ``detail``, which the outbox keeps sealed.
    """
    from localscribe.ehr.fhir_r4 import R4Invalid, validate_r4

    try:
        validate_r4(resource)
    except R4Invalid as exc:
        raise DeliveryError(str(exc), retryable=False, detail=exc.detail) from None
    # The R4 models check structure and datatypes but not required code bindings.
    bad = [path for path, value, allowed in _required_codes(resource) if value not in allowed]
    if bad:
        raise DeliveryError(f"DocumentReference has codes outside their required value sets at "
                            f"{', '.join(bad)}", retryable=False)


_DOC_STATUS = {"preliminary", "final", "amended", "entered-in-error"}
_STATUS = {"current", "superseded", "entered-in-error"}
_RELATION = {"replaces", "transforms", "signs", "appends"}


def _required_codes(resource: dict[str, Any]) -> Iterator[tuple[str, Any, set[str]]]:
    yield "status", resource.get("status"), _STATUS
    if "docStatus" in resource:
        yield "docStatus", resource["docStatus"], _DOC_STATUS
    for i, rel in enumerate(resource.get("relatesTo", [])):
        yield f"relatesTo.{i}.code", rel.get("code"), _RELATION
