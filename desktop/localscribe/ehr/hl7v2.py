"""HL7 v2.5 document messages for a signed note, written by ``hl7_er7`` (every value escaped
there, control characters included) and read back with hl7apy.

- MDM^T02 (original document notification with content) for a first delivery;
- MDM^T10 (document replacement notification with content) for an amendment: TXA-12 is the new
  document's number, TXA-13 the number of the document it replaces.

TXA-12 is the note id: the receiver's duplicate check on it is what makes a retry safe. The
message control id (MSH-10) and every timestamp are derived from the note, so a retry sends the
very same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hl7apy.parser import parse_message

from localscribe.domain import SignedNote
from localscribe.ehr.fhir_document import loinc_for_template
from localscribe.ehr.hl7_er7 import msh_segment, segment, unescape
from localscribe.ehr.patient import hl7_birth_date

VERSION = "2.5"
# LOINC document type -> HL7 table 0270 document type.
DOC_TYPE = {"11506-3": "PR", "34117-2": "HP", "11488-4": "CN", "18842-5": "DS", "28570-0": "PN"}


@dataclass(frozen=True)
class Hl7Options:
    sending_application: str = "LOCALSCRIBE"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    mrn_authority: str = ""
    processing_id: str = "P"


@dataclass(frozen=True)
class Ack:
    code: str            # AA, AE, AR (or CA/CE/CR in enhanced mode)
    control_id: str      # MSA-2: the MSH-10 it acknowledges
    text: str            # the receiver's words (MSA-3 and ERR-8), may be empty


def control_id(note: SignedNote, event: str) -> str:
    """MSH-10: stable for a note and event, so retries reuse it; 20 chars (ST limit in 2.3)."""
    return "LS" + hashlib.sha256(f"{note.note_id}|{event}".encode()).hexdigest()[:18].upper()


def _ts(iso: str) -> str:
    """ISO 8601 UTC -> HL7 DTM (YYYYMMDDHHMMSS+0000)."""
    digits = "".join(ch for ch in iso[:19] if ch.isdigit())
    return (digits + "000000")[:14] + "+0000"


def _name(full: str) -> list[str]:
    """'Given Middle Family' -> [Family, Given Middle] (XPN components)."""
    parts = full.split()
    if len(parts) < 2:
        return parts
    return [parts[-1], " ".join(parts[:-1])]


def build_mdm(note: SignedNote, options: Hl7Options = Hl7Options(),
              replaces_document: str | None = None) -> str:
    """The ER7 message (segments separated by CR) for ``note``; T10 when ``replaces_document``."""
    event = "T10" if replaces_document else "T02"
    loinc, display = loinc_for_template(note.template)
    when = _ts(note.signed_at)
    segments = [
        msh_segment({3: options.sending_application, 4: options.sending_facility,
                     5: options.receiving_application, 6: options.receiving_facility,
                     7: when, 9: ["MDM", event, "MDM_T02"], 10: control_id(note, event),
                     11: options.processing_id, 12: VERSION, 18: "UNICODE UTF-8"}),
        segment("EVN", {1: event, 2: when}),
        segment("PID", {3: [note.patient.mrn, "", "", options.mrn_authority, "MR"],
                        5: _name(note.patient.name), 7: hl7_birth_date(note)}),
        segment("PV1", {2: "O", 19: note.encounter_id}),
    ]
    author = ["", *_name(note.author)] if note.author else ""
    segments.append(segment("TXA", {
        1: "1", 2: DOC_TYPE.get(loinc, "PR"), 3: "TX", 4: when, 5: author, 6: when, 9: author,
        12: note.note_id, 13: replaces_document or "",
        17: "LA",     # signed by the clinician: legally authenticated
        19: "AV"}))
    # One OBX per LF-separated line; a CR (alone or in a CRLF) is kept as a hex escape inside
    # its line, so the receiver can rebuild the exact text.
    for i, line in enumerate(note.text.split("\n"), start=1):
        segments.append(segment("OBX", {1: str(i), 2: "TX", 3: [loinc, display, "LN"], 5: line,
                                        11: "F"}))
    return "\r".join(segments)


def wire_value(element) -> str:
    """The first leaf of an hl7apy element exactly as it was on the wire, still escaped.

    (hl7apy's ``to_er7``/``value`` re-escape the backslash of a hex escape ``\\X0D\\``.)"""
    if element is None:
        return ""
    if not hasattr(element, "children") and len(element):   # a proxy over repetitions
        element = element[0]
    while getattr(element, "children", None):
        element = element.children[0]
    datatype = getattr(element, "value", None)
    return str(getattr(datatype, "value", datatype) or "")


def parse_ack(text: str) -> Ack:
    """Read MSA-1/MSA-2 and the receiver's text from an ACK (any 2.x version)."""
    msg = parse_message(text.strip("\r\n").replace("\n", "\r"), find_groups=False)
    msa = msg.msa
    words = [unescape(wire_value(msa.msa_3))] if wire_value(msa.msa_3) else []
    for err in msg.children.get("ERR") or []:
        for name in ("err_8", "err_1"):
            try:
                value = unescape(wire_value(getattr(err, name)))
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
        "text": "\n".join(unescape(wire_value(o.obx_5)) for o in obx),
    }
