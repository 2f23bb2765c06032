"""What encounter ingestion produces: one scheduled visit as the EHR describes it.

Both channels (a FHIR R4 schedule pull, an HL7 v2 SIU/ADT message) end in a
:class:`ScheduledVisit`; the vault stores it sealed, the day list shows it, and starting a visit
from it carries its identifiers into the note's outbound messages as a
:class:`~localscribe.domain.VisitContext`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any

from localscribe.domain import Patient, VisitContext

SEXES = frozenset({"F", "M", "O", "U", "A", "N"})          # HL7 table 0001
FHIR_GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}


class Source(str, Enum):
    FHIR = "fhir"
    HL7 = "hl7"


class IngestError(ValueError):
    """An inbound record cannot be taken as it is: ``reason`` says what (never the value)."""


@dataclass(frozen=True)
class ScheduledVisit:
    """One visit on the day's schedule. ``id`` is LocalScribe's key for it (the vault row)."""

    source: str                      # Source value
    patient_id: str                  # the EHR's patient identifier (MRN)
    family: str
    visit_time: str                  # ISO 8601, the planned or actual start
    patient_authority: str = ""      # assigning authority of patient_id (namespace)
    patient_authority_oid: str = ""
    given: str = ""
    middle: str = ""
    birth_date: str = ""             # ISO 8601 date
    sex: str = ""                    # HL7 table 0001
    visit_number: str = ""           # the EHR's visit/encounter number
    visit_authority: str = ""
    visit_end: str = ""
    location: str = ""
    clinician_id: str = ""
    clinician_npi: str = ""
    clinician_name: str = ""
    status: str = "booked"           # booked, arrived, cancelled, ...
    fhir_patient: str = ""           # "Patient/<id>" when pulled from FHIR
    fhir_encounter: str = ""
    fhir_practitioner: str = ""
    fhir_appointment: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if not self.patient_id.strip():
            raise IngestError("the patient has no identifier (PID-3.1 / Patient.identifier)")
        if not self.family.strip():
            raise IngestError("the patient has no family name (PID-5.1 / Patient.name.family)")
        if not self.visit_time.strip():
            raise IngestError("the visit has no time (SCH-11/TQ1-7/AIS-4/PV1-44 / "
                              "Appointment.start / Encounter.period.start)")
        if self.sex and self.sex not in SEXES:
            raise IngestError(f"administrative sex is not in HL7 table 0001 "
                              f"({', '.join(sorted(SEXES))})")

    @property
    def day(self) -> str:
        return self.visit_time[:10]

    @property
    def display_name(self) -> str:
        """'Family, Given Middle': the comma form the encounter keeps, which never splits a
        multi-word family name ('de la Cruz, Maria')."""
        given = " ".join(p for p in (self.given, self.middle) if p)
        return f"{self.family}, {given}" if given else self.family

    @property
    def match_key(self) -> tuple[str, str, str]:
        """What makes two records the same visit: an update (A08, a re-pull) replaces the
        stored one instead of adding a second row."""
        if self.fhir_appointment or self.fhir_encounter:     # the server's own resource ids
            return (self.source, "fhir", self.fhir_appointment or self.fhir_encounter)
        if self.visit_number:
            return (self.source, "visit", f"{self.visit_authority}|{self.visit_number}")
        return (self.source, "patient-time", f"{self.patient_authority}|{self.patient_id}|"
                                             f"{self.visit_time}")

    def patient(self) -> Patient:
        return Patient(name=self.display_name, mrn=self.patient_id, birth_date=self.birth_date)

    def context(self) -> VisitContext:
        return VisitContext(
            source=self.source, visit_number=self.visit_number,
            visit_authority=self.visit_authority, visit_time=self.visit_time,
            visit_end=self.visit_end, location=self.location, patient_id=self.patient_id,
            patient_authority=self.patient_authority,
            patient_authority_oid=self.patient_authority_oid, family=self.family,
            given=self.given, middle=self.middle, sex=self.sex, clinician_id=self.clinician_id,
            clinician_npi=self.clinician_npi, fhir_patient=self.fhir_patient,
            fhir_encounter=self.fhir_encounter, fhir_practitioner=self.fhir_practitioner)

    def with_id(self, vid: str) -> ScheduledVisit:
        return replace(self, id=vid)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScheduledVisit:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
