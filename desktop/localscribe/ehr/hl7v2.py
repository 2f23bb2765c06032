"""HL7 v2.5 document messages for a signed note, written by ``hl7_er7`` (every value escaped
there, control characters included) and read back with hl7apy.

- MDM^T02 (original document notification with content) for a first delivery;
- MDM^T10 (document replacement notification with content) for an amendment: TXA-12 is the new
  document's number, TXA-13 the number of the document it replaces.

TXA-12 is the note id: the receiver's duplicate check on it is what makes a retry safe. The
message control id (MSH-10) and every field but MSH-7 (the time of the attempt) are derived from
the note, so a retry is the same message sent again. docs/connectors.md maps every field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, UTC
from typing import Any

from hl7apy.parser import parse_message

from localscribe.domain import SignedNote
from localscribe.ehr.fhir_document import note_loinc
from localscribe.ehr.hl7_er7 import Escaped, Repeat, escape_ft, msh_segment, segment, unescape
from localscribe.ehr.patient import PatientDataInvalid, hl7_birth_date, name_parts, require_mrn

VERSION = "2.5"
# LOINC document type -> HL7 table 0270 document type.
DOC_TYPE = {"11506-3": "PR", "34117-2": "HP", "11488-4": "CN", "18842-5": "DS", "28570-0": "PN",
            # Table 0270 is user-defined and names no patient-instructions type: "PI" is this
            # site-style code; OBX-3 carries the standard LOINC 69730-0 beside it.
            "69730-0": "PI"}
NPI_AUTHORITY = ["NPI", "2.16.840.1.113883.4.6", "ISO"]     # HD of the US National Provider Id
# Setting value -> (Python codec, HL7 table 0211 name for MSH-18).
CHARSETS = {"UTF-8": ("utf-8", "UNICODE UTF-8"), "ISO-8859-1": ("latin-1", "8859/1"),
            "ASCII": ("ascii", "ASCII")}
FT_CHUNK = 65536          # FT/TX maximum length in v2.5: a longer note continues in a next OBX


@dataclass(frozen=True)
class Hl7Options:
    sending_application: str = "LOCALSCRIBE"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    mrn_authority: str = ""
    mrn_authority_oid: str = ""
    processing_id: str = "P"                 # MSH-11: P production, T training, D debugging
    document_namespace: str = "LOCALSCRIBE"  # EI namespace of TXA-12/TXA-13 (our note ids)
    clinician_npi: tuple[tuple[str, str], ...] = ()    # (login, NPI) pairs
    note_format: str = "FT"                  # FT (one value, \.br\ breaks) or TX (repetitions)
    charset: str = "UTF-8"                   # UTF-8, ISO-8859-1 or ASCII, for old receivers
    patient_class: str = "O"                 # PV1-2 (table 0004)
    point_of_care: str = ""                  # PV1-3.1 where the visits take place

    @property
    def codec(self) -> str:
        return CHARSETS[self.charset][0]


class CharsetUnsupported(PatientDataInvalid):
    """The configured character set cannot carry some of the text; a person must choose."""


@dataclass(frozen=True)
class Ack:
    code: str            # AA, AE, AR (or CA/CE/CR in enhanced mode)
    control_id: str      # MSA-2: the MSH-10 it acknowledges
    text: str            # the receiver's words (MSA-3 and ERR-8), may be empty


def control_id(note: SignedNote, event: str) -> str:
    """MSH-10: stable for a note and event, so a resend is recognisably the same message
    (MSH-7 says when this attempt was made); 20 chars (ST limit in 2.3)."""
    return "LS" + hashlib.sha256(f"{note.note_id}|{event}".encode()).hexdigest()[:18].upper()


def _ts(iso: str) -> str:
    """ISO 8601 UTC -> HL7 DTM (YYYYMMDDHHMMSS+0000)."""
    digits = "".join(ch for ch in iso[:19] if ch.isdigit())
    return (digits + "000000")[:14] + "+0000"


def _dtm(iso: str) -> str:
    """ISO 8601 with or without a zone -> HL7 DTM, keeping the zone the EHR gave (a time
    without one stays without: the EHR's local time)."""
    iso = iso.strip()
    zone = ""
    if iso.endswith("Z"):
        iso, zone = iso[:-1], "+0000"
    elif len(iso) > 19 and iso[-6] in "+-" and iso[-3] == ":":
        iso, zone = iso[:-6], iso[-6:-3] + iso[-2:]
    digits = "".join(ch for ch in iso.split(".")[0] if ch.isdigit())
    return digits[:14] + zone


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")


def _hd(namespace: str, oid: str = "") -> list[str] | str:
    """HD as a subcomponent list (namespace&universal id&ISO) or just the namespace."""
    return [namespace, oid, "ISO"] if oid else namespace


def clinician(login: str, options: Hl7Options, when: str | None = None) -> list[object]:
    """XCN (or PPN with ``when``, component 15) for the signing clinician: the NPI with its
    assigning authority where one is configured for the login, else the login itself as a
    provider number (PRN) in the practice's namespace. Never a login name as a family name."""
    npi = dict(options.clinician_npi).get(login)
    if npi:
        ident, authority, kind = npi, NPI_AUTHORITY, "NPI"
    else:
        ident, authority, kind = login, [options.document_namespace], "PRN"
    xcn: list[object] = [ident, "", "", "", "", "", "", "", authority, "", "", "", kind]
    if when:
        xcn += ["", when]
    return xcn


def scheduled_clinician(note: SignedNote) -> list[object] | str:
    """TXA-5 (primary activity provider): the clinician the EHR scheduled for the visit, by
    NPI where the EHR gave one, else by the EHR's own id; '' when the visit has none."""
    visit = note.visit
    if visit is None or not (visit.clinician_npi or visit.clinician_id):
        return ""
    if visit.clinician_npi:
        return [visit.clinician_npi, "", "", "", "", "", "", "", NPI_AUTHORITY, "", "", "", "NPI"]
    return [visit.clinician_id, "", "", "", "", "", "", "", visit.patient_authority or "", "",
            "", "", "PRN"]


def _patient_fields(note: SignedNote, options: Hl7Options) -> dict[int, object]:
    """PID-3/5/7/8: the EHR's identity for the patient when the visit came from its schedule
    (assigning authority, structured name, sex as it sent them), else what was typed in."""
    visit = note.visit
    mrn = require_mrn(note)
    authority = _hd(options.mrn_authority, options.mrn_authority_oid)
    if visit is not None and visit.source == "hl7" and visit.patient_authority \
            and visit.patient_id == mrn:
        authority = _hd(visit.patient_authority, visit.patient_authority_oid)
    if visit is not None and visit.family:
        name = [visit.family, visit.given, visit.middle, "", "", "", "L"]
    else:
        parts = name_parts(note)
        name = [parts.family, parts.given, "", "", "", "", "L"]
    return {3: [mrn, "", "", authority, "MR"], 5: name, 7: hl7_birth_date(note),
            8: (visit.sex if visit is not None and visit.sex else "U")}


def _visit_fields(note: SignedNote, options: Hl7Options) -> dict[int, object]:
    """PV1-2/3/19: the EHR's visit number (CX with its authority) and location for a scheduled
    visit; for one typed in, LocalScribe's encounter id in LocalScribe's namespace."""
    visit = note.visit
    location = (visit.location if visit is not None and visit.location else
                options.point_of_care)
    number = [note.encounter_id, "", "", options.document_namespace, "VN"]
    if visit is not None and visit.visit_number:
        number = [visit.visit_number, "", "", visit.visit_authority if visit.source == "hl7"
                  else "", "VN"]
    return {2: options.patient_class,
            3: [location, "", "", options.sending_facility] if location else "",
            19: number}


def _note_obx(text: str, fmt: str, code: list[str], codec: str) -> list[str]:
    """The note as OBX segments with one OBX-3 and OBX-4 sub-ids 1, 2, ...; one OBX unless the
    note is longer than a field may be (counted before escaping), then it continues at a line
    break (a chunk boundary is a line break; a single longer line stays whole)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        if current and size + len(line) > FT_CHUNK:
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line) + 5
    chunks.append(current)
    segments = []
    for sub_id, lines in enumerate(chunks, start=1):
        value = Escaped(escape_ft("\n".join(lines), codec)) if fmt == "FT" else Repeat(lines)
        segments.append(segment("OBX", {1: str(sub_id), 2: fmt, 3: code, 4: str(sub_id),
                                        5: value, 11: "F"}, codec))
    return segments


def build_mdm(note: SignedNote, options: Hl7Options = Hl7Options(),
              replaces_document: str | None = None, sent_at: str | None = None) -> str:
    """The ER7 message (segments separated by CR) for ``note``; T10 when ``replaces_document``.

    ``sent_at`` (HL7 DTM, default now) is MSH-7, the time of this attempt; everything else is
    derived from the note, so a resend differs from the first send in MSH-7 alone. Raises
    CharsetUnsupported when the configured character set cannot carry the text."""
    try:
        message = _build(note, options, replaces_document, sent_at)
        message.encode(options.codec)
    except UnicodeEncodeError:
        everything = "".join([note.text, note.patient.name, note.patient.mrn, note.author,
                              note.note_id, *(str(v) for v in vars(options).values()),
                              *(str(v) for v in (vars(note.visit) if note.visit else {}).values())])
        bad = sorted({ch for ch in everything if not _encodable(ch, options.codec)})
        raise CharsetUnsupported(
            f"encounter {note.encounter_id}: the note or patient details contain characters "
            f"that {options.charset} cannot carry ({', '.join(f'U+{ord(c):04X}' for c in bad[:5])}"
            f"{', ...' if len(bad) > 5 else ''}); edit the note, or use charset UTF-8 if the "
            "receiver accepts it (the note was not sent)") from None
    return message


def _build(note: SignedNote, options: Hl7Options, replaces_document: str | None,
           sent_at: str | None) -> str:
    event = "T10" if replaces_document else "T02"
    codec = options.codec
    loinc, display = note_loinc(note)
    signed = _ts(note.signed_at)
    segments = [
        msh_segment({3: options.sending_application, 4: options.sending_facility,
                     5: options.receiving_application, 6: options.receiving_facility,
                     7: sent_at or _now(), 9: ["MDM", event, "MDM_T02"],
                     10: control_id(note, event), 11: options.processing_id, 12: VERSION,
                     18: CHARSETS[options.charset][1]}, codec),
        segment("EVN", {1: event, 2: signed}, codec),
        segment("PID", _patient_fields(note, options), codec),
        segment("PV1", _visit_fields(note, options), codec),
    ]
    author = clinician(note.author, options) if note.author else ""
    namespace = options.document_namespace
    # TXA-4 is when the visit took place (the EHR's time); typed-in visits have only signing.
    activity = _dtm(note.visit.visit_time) if note.visit and note.visit.visit_time else signed
    segments.append(segment("TXA", {
        1: "1", 2: DOC_TYPE.get(loinc, "PR"), 3: options.note_format, 4: activity,
        5: scheduled_clinician(note) or author,
        6: signed, 9: author, 10: author,
        12: [note.note_id, namespace],
        13: [replaces_document, namespace] if replaces_document else "",
        17: "LA",     # signed by the clinician: legally authenticated ...
        19: "AV",
        22: clinician(note.author, options, signed) if note.author else ""},   # ... by whom, when
        codec))
    segments += _note_obx(note.text, options.note_format, [loinc, display, "LN"], codec)
    return "\r".join(segments)


def _encodable(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def wire_value(element: Any) -> str:
    """The first leaf of an hl7apy element exactly as it was on the wire, still escaped.

    (hl7apy's ``to_er7``/``value`` re-escape the backslash of a hex escape ``\\X0D\\``.)"""
    if element is None:
        return ""
    if not hasattr(element, "children"):       # a proxy over repetitions
        if not len(element):
            return ""
        element = element[0]
    while getattr(element, "children", None):
        element = element.children[0]
    datatype = getattr(element, "value", None)
    return str(getattr(datatype, "value", datatype) or "")


def parse_ack(text: str, codec: str = "utf-8") -> Ack:
    """Read MSA-1/MSA-2 and the receiver's text from an ACK (any 2.x version)."""
    msg = parse_message(text.strip("\r\n").replace("\n", "\r"), find_groups=False)
    msa = msg.msa
    words = [unescape(wire_value(msa.msa_3), codec)] if wire_value(msa.msa_3) else []
    for err in msg.children.get("ERR") or []:
        for name in ("err_8", "err_1"):
            try:
                value = unescape(wire_value(getattr(err, name)), codec)
            except Exception:   # field absent in that version's ERR
                continue
            if value:
                words.append(value)
                break
    return Ack(code=wire_value(msa.msa_1), control_id=unescape(wire_value(msa.msa_2)),
               text="; ".join(words))


def read_text(message: str) -> dict[str, str]:
    """The parts a receiver cares about, decoded (used by tests and the file-drop check)."""
    msg = parse_message(message, find_groups=False)
    obx = msg.children.get("OBX") or []
    return {
        "event": wire_value(msg.msh.msh_9.msh_9_2),
        "control_id": wire_value(msg.msh.msh_10),
        "document_number": unescape(wire_value(msg.txa.txa_12)),
        "parent_document": unescape(wire_value(msg.txa.txa_13)),
        "mrn": unescape(wire_value(msg.pid.pid_3.pid_3_1)),
        "text": "\n".join(unescape(wire_value(rep)) for o in obx for rep in o.obx_5),
    }
