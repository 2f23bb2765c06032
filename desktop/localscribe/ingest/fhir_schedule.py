"""FHIR R4 schedule pull: the day's Encounters and Appointments, with the Patient and
Practitioner each references, read on the outbound FHIR connector's own base URL and
credentials (one configuration, one set of secrets, one egress entry).

An Encounter is the visit (its identifier is the visit number the note must name); an
Appointment with no Encounter pointing at it is a visit not yet opened in the EHR. Referenced
resources are read one by one (``_include`` is optional in FHIR and many servers lack it) and
cached for the pull. Every resource used is checked against the R4 models first (``ehr.fhir_r4``):
a record that is not valid R4 or cannot make a valid visit (no patient identifier, no name, no
time) is reported by its resource id and skipped; the rest of the day still arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from localscribe.ehr.fhir_r4 import R4Invalid, validate_r4
from localscribe.ingest.model import FHIR_GENDER, IngestError, ScheduledVisit, Source

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
VISIT_NUMBER = "VN"
SKIPPED_STATUSES = {"cancelled", "entered-in-error", "noshow"}


@dataclass
class PullResult:
    visits: list[tuple[ScheduledVisit, bytes]] = field(default_factory=list)  # with raw JSON
    problems: list[str] = field(default_factory=list)      # resource ids and why, PHI-free


def _ref_id(ref: dict[str, Any] | None, kind: str) -> str:
    value = (ref or {}).get("reference", "")
    return value if value.startswith(kind + "/") else ""


def _identifier(resource: dict[str, Any], system: str = "", type_code: str = "") -> dict[str, Any]:
    ids = resource.get("identifier", [])
    for ident in ids:
        if system and ident.get("system") == system:
            return dict(ident)
    for ident in ids:
        codes = {c.get("code") for c in ident.get("type", {}).get("coding", [])}
        if type_code and type_code in codes:
            return dict(ident)
    return dict(ids[0]) if ids else {}


def _name(patient: dict[str, Any]) -> dict[str, Any]:
    names = patient.get("name", [])
    official = [n for n in names if n.get("use") == "official"]
    return dict((official or names or [{}])[0])


class SchedulePull:
    """``search(type, params) -> Bundle`` and ``read("Type/id") -> resource``: the FHIR
    connector's (its errors are DeliveryErrors that say what happened)."""

    def __init__(self, search: Callable[[str, dict[str, str]], dict[str, Any]],
                 read: Callable[[str], dict[str, Any]], mrn_system: str = ""):
        self.search, self._read, self.mrn_system = search, read, mrn_system
        self._cache: dict[str, dict[str, Any]] = {}

    def read(self, ref: str) -> dict[str, Any]:
        if ref not in self._cache:
            resource = self._read(ref)
            validate_r4(resource)
            self._cache[ref] = resource
        return self._cache[ref]

    def _all(self, kind: str, day: str) -> list[dict[str, Any]]:
        bundle = self.search(kind, {"date": day, "_count": "200"})
        return [e["resource"] for e in bundle.get("entry", [])
                if e.get("resource", {}).get("resourceType") == kind
                and e.get("search", {}).get("mode", "match") == "match"]

    def pull(self, day: str) -> PullResult:
        result = PullResult()
        encounters = self._all("Encounter", day)
        appointments = {f"Appointment/{a['id']}": a for a in self._all("Appointment", day)}
        for enc in encounters:
            appt_ref = next((r["reference"] for r in enc.get("appointment", [])
                             if r.get("reference", "").startswith("Appointment/")), "")
            appt = appointments.pop(appt_ref, None) if appt_ref else None
            self._add(result, enc, appt)
        for appt in appointments.values():
            self._add(result, None, appt)
        return result

    def _add(self, result: PullResult, enc: dict[str, Any] | None,
             appt: dict[str, Any] | None) -> None:
        head = enc or appt
        assert head is not None                 # pull passes one or both
        what = f"Encounter/{head['id']}" if enc else f"Appointment/{head['id']}"
        if head.get("status") in SKIPPED_STATUSES:
            return
        try:
            for resource in (enc, appt):
                if resource is not None:
                    validate_r4(resource)
            visit, used = self._visit(enc, appt)
        except (IngestError, R4Invalid) as exc:
            result.problems.append(f"{what}: {exc}")
            return
        except Exception as exc:    # a referenced resource unreadable: say which, go on
            result.problems.append(f"{what}: {getattr(exc, 'message', type(exc).__name__)}")
            return
        result.visits.append((visit, json.dumps(used, sort_keys=True).encode("utf-8")))

    def _visit(self, enc: dict[str, Any] | None, appt: dict[str, Any] | None
               ) -> tuple[ScheduledVisit, list[dict[str, Any]]]:
        patient_ref = _ref_id((enc or {}).get("subject"), "Patient")
        practitioner_ref = ""
        for part in (enc or {}).get("participant", []):
            practitioner_ref = practitioner_ref or _ref_id(part.get("individual"), "Practitioner")
        location = ""
        for loc in (enc or {}).get("location", []):
            location = location or loc.get("location", {}).get("display", "")
        for part in (appt or {}).get("participant", []):
            actor = part.get("actor", {})
            patient_ref = patient_ref or _ref_id(actor, "Patient")
            practitioner_ref = practitioner_ref or _ref_id(actor, "Practitioner")
            if not location and actor.get("reference", "").startswith("Location/"):
                location = actor.get("display", "")
        if not patient_ref:
            raise IngestError("references no Patient")
        patient = self.read(patient_ref)
        practitioner = self.read(practitioner_ref) if practitioner_ref else {}
        mrn = _identifier(patient, self.mrn_system, "MR")
        name = _name(patient)
        given = name.get("given", [])
        period = (enc or {}).get("period", {})
        visit_id = _identifier(enc, type_code=VISIT_NUMBER) if enc else {}
        npi = _identifier(practitioner, NPI_SYSTEM) if practitioner else {}
        visit = ScheduledVisit(
            source=Source.FHIR.value, patient_id=str(mrn.get("value", "")),
            patient_authority=str(mrn.get("system", "")), family=str(name.get("family", "")),
            given=given[0] if given else "", middle=" ".join(given[1:]),
            birth_date=str(patient.get("birthDate", "")),
            sex=FHIR_GENDER.get(patient.get("gender", ""), ""),
            visit_time=str(period.get("start") or (appt or {}).get("start", "")),
            visit_end=str(period.get("end") or (appt or {}).get("end", "")),
            visit_number=str(visit_id.get("value", "")),
            visit_authority=str(visit_id.get("system", "")), location=location,
            clinician_id=practitioner.get("id", ""),
            clinician_npi=str(npi.get("value", "")) if npi.get("system") == NPI_SYSTEM else "",
            clinician_name=" ".join(p for p in (*(_name(practitioner).get("given", [])[:1]),
                                                _name(practitioner).get("family", "")) if p)
            if practitioner else "",
            status=str((enc or appt or {}).get("status", "")),
            fhir_patient=patient_ref, fhir_encounter=f"Encounter/{enc['id']}" if enc else "",
            fhir_practitioner=practitioner_ref,
            fhir_appointment=f"Appointment/{appt['id']}" if appt else "")
        used = [r for r in (enc, appt, patient, practitioner) if r]
        return visit, used
