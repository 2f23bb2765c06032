"""Typed values that cross module seams: audio -> transcript -> draft -> signed note -> receipt.

Each module owns its behaviour; these are only the shapes they hand each other, so that
capture, transcription, drafting, verification, storage, EHR connectors and the UI agree
without importing one another. All are plain dataclasses that round-trip through JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Speaker(str, Enum):
    CLINICIAN = "clinician"
    PATIENT = "patient"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Segment:
    """One stretch of transcribed speech. Times are absolute seconds from the start of the visit."""

    id: str
    t0: float
    t1: float
    text: str
    speaker: str = Speaker.UNKNOWN.value
    confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        return cls(id=str(d["id"]), t0=float(d["t0"]), t1=float(d["t1"]), text=str(d["text"]),
                   speaker=str(d.get("speaker", Speaker.UNKNOWN.value)),
                   confidence=float(d.get("confidence", 1.0)))


@dataclass
class Transcript:
    segments: list[Segment] = field(default_factory=list)
    language: str = "en"

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def duration(self) -> float:
        return self.segments[-1].t1 if self.segments else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"language": self.language, "segments": [s.to_dict() for s in self.segments]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transcript:
        return cls(segments=[Segment.from_dict(s) for s in d.get("segments", [])],
                   language=d.get("language", "en"))


class FlagTier(str, Enum):
    """BLOCKING: a fact absent from the visit or contradicted by it; it must be acknowledged
    (or edited away) before signing. INFO: worth a look, never blocks signing."""

    BLOCKING = "blocking"
    INFO = "info"


@dataclass(frozen=True)
class Flag:
    """Why a clinician should look at a statement before signing."""

    kind: str          # e.g. "unsupported", "number", "drug", "dose", "laterality", "negation"
    reason: str        # plain words a clinician understands
    span: str = ""     # the words in the statement the flag is about
    tier: str = FlagTier.BLOCKING.value

    @property
    def blocking(self) -> bool:
        return self.tier == FlagTier.BLOCKING.value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Flag:
        # Drafts stored before tiers existed: every flag blocked signing then, and still does.
        return cls(kind=d["kind"], reason=d["reason"], span=d.get("span", ""),
                   tier=d.get("tier", FlagTier.BLOCKING.value))


@dataclass
class Statement:
    id: str
    text: str
    evidence: list[str] = field(default_factory=list)   # Segment ids
    flags: list[Flag] = field(default_factory=list)
    # A translated statement's verified original (instructions.translate); empty otherwise.
    source: str = ""

    @property
    def blocking_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.blocking]

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "text": self.text, "evidence": list(self.evidence),
             "flags": [f.to_dict() for f in self.flags]}
        if self.source:       # only then: every stored note's serialization stays as it was
            d["source"] = self.source
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Statement:
        return cls(id=d["id"], text=d["text"], evidence=list(d.get("evidence", [])),
                   flags=[Flag.from_dict(f) for f in d.get("flags", [])], source=d.get("source", ""))


@dataclass
class Section:
    key: str       # template section key, e.g. "subjective"
    title: str     # heading as rendered, e.g. "SUBJECTIVE"
    statements: list[Statement] = field(default_factory=list)
    # Set when drafting left the section empty although the visit spoke to it: the clinician
    # must see that the section was not written, never a silently missing section.
    notice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "notice": self.notice,
                "statements": [s.to_dict() for s in self.statements]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        return cls(key=d["key"], title=d["title"], notice=d.get("notice", ""),
                   statements=[Statement.from_dict(s) for s in d.get("statements", [])])


def distinct_flags(flags: list[Flag]) -> list[tuple[Flag, list[int]]]:
    """Identical flags of one statement as one entry, with the indices of all its copies
    (a drafting path that checks a statement twice must not make the clinician tick twice)."""
    groups: dict[Flag, list[int]] = {}
    for i, f in enumerate(flags):
        groups.setdefault(f, []).append(i)
    return list(groups.items())


def flag_id(statement_id: str, index: int) -> str:
    """How a flag is named when acknowledging it at signing (statement id + flag index)."""
    return f"{statement_id}#{index}"


def notice_id(section_key: str) -> str:
    """How an empty-section notice is named when acknowledging it at signing."""
    return f"section:{section_key}"


@dataclass
class Draft:
    template: str
    sections: list[Section] = field(default_factory=list)
    model_sha256: str = ""
    prompt_sha256: str = ""

    @property
    def statements(self) -> list[Statement]:
        return [st for sec in self.sections for st in sec.statements]

    @property
    def flagged(self) -> list[Statement]:
        """Statements with any flag (blocking or informational)."""
        return [st for st in self.statements if st.flags]

    @property
    def blocking(self) -> list[Statement]:
        """Statements whose flags must be acknowledged before signing."""
        return [st for st in self.statements if st.blocking_flags]

    @property
    def notices(self) -> list[Section]:
        """Sections drafting left empty although the visit spoke to them."""
        return [sec for sec in self.sections if sec.notice]

    def items_to_check(self) -> int:
        """What the clinician must acknowledge, counted as shown: each distinct blocking flag
        of each statement, and each empty-section notice."""
        return len(self.notices) + sum(sum(1 for f, _ in distinct_flags(st.flags) if f.blocking)
                                       for st in self.statements)

    def unacknowledged(self, acknowledged: set[str]) -> list[str]:
        """What still blocks signing: statements with a blocking flag that is neither
        acknowledged by its statement id nor flag by flag, and unacknowledged notices."""
        missing = []
        for st in self.statements:
            ids = [flag_id(st.id, i) for i, f in enumerate(st.flags) if f.blocking]
            if ids and st.id not in acknowledged and not all(i in acknowledged for i in ids):
                missing.append(st.id)
        missing += [notice_id(sec.key) for sec in self.notices if notice_id(sec.key) not in acknowledged]
        return missing

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template, "model_sha256": self.model_sha256,
                "prompt_sha256": self.prompt_sha256,
                "sections": [s.to_dict() for s in self.sections]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Draft:
        return cls(template=d["template"], model_sha256=d.get("model_sha256", ""),
                   prompt_sha256=d.get("prompt_sha256", ""),
                   sections=[Section.from_dict(s) for s in d.get("sections", [])])


@dataclass(frozen=True)
class Patient:
    name: str = ""
    mrn: str = ""
    birth_date: str = ""     # ISO 8601 date

    def identity_problem(self) -> str:
        """What is missing to tell this patient apart from another ("" when nothing is).

        The one rule for it: a note is signed only for an identified patient (the vault
        refuses otherwise), and the patient form asks for the same. A name alone is not
        enough: two patients share names, so a date of birth or an MRN is needed too."""
        if not self.name.strip():
            return "the patient's name is missing"
        if not (self.mrn.strip() or self.birth_date.strip()):
            return "a date of birth or an MRN is missing"
        return ""


@dataclass(frozen=True)
class VisitContext:
    """The EHR's own identifiers for the visit a note belongs to, carried from the ingested
    schedule (``localscribe.ingest``) into the outbound message, so the EHR can match the note
    to its visit. Every field is optional: a visit typed in by hand has none of them."""

    source: str = ""                 # "fhir" or "hl7"
    visit_number: str = ""           # PV1-19 / Encounter.identifier
    visit_authority: str = ""        # assigning authority of the visit number
    visit_time: str = ""             # ISO 8601 start of the visit
    visit_end: str = ""              # ISO 8601 end, when known
    location: str = ""               # point of care
    patient_id: str = ""             # the EHR's patient identifier (PID-3.1)
    patient_authority: str = ""      # its assigning authority (PID-3.4)
    patient_authority_oid: str = ""
    family: str = ""                 # structured name parts, as the EHR holds them
    given: str = ""
    middle: str = ""
    sex: str = ""                    # HL7 table 0001 (F, M, O, U, A, N)
    clinician_id: str = ""           # the EHR's id for the clinician
    clinician_npi: str = ""
    fhir_patient: str = ""           # literal references ("Patient/123") when pulled from FHIR
    fhir_encounter: str = ""
    fhir_practitioner: str = ""


@dataclass(frozen=True)
class SignedNote:
    """What a connector delivers. note_id is stable across retries: it is the idempotency key."""

    note_id: str
    encounter_id: str
    version: int
    text: str
    template: str
    patient: Patient
    author: str
    signed_at: str           # ISO 8601 UTC
    replaces: str | None = None    # note_id of the note this amends
    # The template's LOINC document type (e.g. 34117-2 for an H&P), filled by the vault session
    # from the note's template so that connectors never guess it; "" for notes made elsewhere.
    loinc: str = ""
    loinc_display: str = ""
    # The EHR's identifiers for this visit when it was started from the ingested schedule
    # (filled at send time by ehr.delivery); None for a visit entered by hand.
    visit: VisitContext | None = None
    # The patient instructions signed with this note, filled at send time by ehr.delivery so a
    # connector that carries a second document sends them too (ehr.instructions_doc), and
    # their language ("en", "es"): a Spanish summary must reach the EHR labelled as Spanish.
    instructions: str = ""
    instructions_language: str = ""
    # The language of ``text`` when a connector should say it (the instructions' own
    # document); "" for a note, written in the practice's language.
    language: str = ""


@dataclass(frozen=True)
class PushReceipt:
    connector: str
    note_id: str
    delivered: bool
    remote_id: str = ""
    detail: str = ""
