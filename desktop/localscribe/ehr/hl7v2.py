"""HL7 v2.5 document messages for a signed note, built with hl7apy.

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

from hl7apy.core import Field, Message
from hl7apy.parser import parse_message
from hl7apy.v2_5 import TX

from localscribe.domain import SignedNote
from localscribe.ehr.fhir_document import loinc_for_template

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


def escape(text: str) -> str:
    """Text escaped for an HL7 field with the default delimiters (|^~\\&).

    hl7apy's textual types escape the delimiters, but leave a backslash alone when it already
    looks like an escape sequence (a literal ``\\F\\`` in the note would reach the receiver as
    ``|``); turning every backslash into ``\\E\\`` first makes the result exact.
    """
    return TX(text.replace("\\", "\\E\\")).to_er7()


def control_id(note: SignedNote, event: str) -> str:
    """MSH-10: stable for a note and event, so retries reuse it; 20 chars (ST limit in 2.3)."""
    return "LS" + hashlib.sha256(f"{note.note_id}|{event}".encode()).hexdigest()[:18].upper()


def _ts(iso: str) -> str:
    """ISO 8601 UTC -> HL7 DTM (YYYYMMDDHHMMSS+0000)."""
    digits = "".join(ch for ch in iso[:19] if ch.isdigit())
    return (digits + "000000")[:14] + "+0000"


def _name(full: str) -> str:
    """'Given Middle Family' -> 'Family^Given Middle' (XPN), escaped."""
    parts = full.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return escape(parts[0])
    return f"{escape(parts[-1])}^{escape(' '.join(parts[:-1]))}"


def _text_field(segment, name: str, datatype, value: str) -> None:
    field = Field(name, datatype=datatype.__name__, version=VERSION)
    field.value = datatype(value.replace("\\", "\\E\\"))
    segment.add(field)


def build_mdm(note: SignedNote, options: Hl7Options = Hl7Options(),
              replaces_document: str | None = None) -> str:
    """The ER7 message (segments separated by CR) for ``note``; T10 when ``replaces_document``."""
    event = "T10" if replaces_document else "T02"
    loinc, display = loinc_for_template(note.template)
    when = _ts(note.signed_at)
    msg = Message("MDM_T02", version=VERSION)
    msh = msg.msh
    msh.msh_3 = escape(options.sending_application)
    msh.msh_4 = escape(options.sending_facility)
    msh.msh_5 = escape(options.receiving_application)
    msh.msh_6 = escape(options.receiving_facility)
    msh.msh_7 = when
    msh.msh_9 = f"MDM^{event}^MDM_T02"
    msh.msh_10 = control_id(note, event)
    msh.msh_11 = options.processing_id
    msh.msh_12 = VERSION
    msh.msh_18 = "UNICODE UTF-8"

    evn = msg.add_segment("EVN")
    evn.evn_1 = event
    evn.evn_2 = when

    pid = msg.add_segment("PID")
    pid.pid_3 = f"{escape(note.patient.mrn)}^^^{escape(options.mrn_authority)}^MR"
    pid.pid_5 = _name(note.patient.name)
    if note.patient.birth_date:
        pid.pid_7 = note.patient.birth_date.replace("-", "")[:8]

    pv1 = msg.add_segment("PV1")
    pv1.pv1_2 = "O"
    pv1.pv1_19 = escape(note.encounter_id)

    txa = msg.add_segment("TXA")
    txa.txa_1 = "1"
    txa.txa_2 = DOC_TYPE.get(loinc, "PR")
    txa.txa_3 = "TX"
    txa.txa_4 = when
    author = f"^{_name(note.author)}" if note.author else ""
    txa.txa_5 = author
    txa.txa_6 = when
    txa.txa_9 = author
    txa.txa_12 = escape(note.note_id)
    if replaces_document:
        txa.txa_13 = escape(replaces_document)
    txa.txa_17 = "LA"     # signed by the clinician: legally authenticated
    txa.txa_19 = "AV"

    lines = note.text.split("\n") or [""]
    for i, line in enumerate(lines, start=1):
        obx = msg.add_segment("OBX")
        obx.obx_1 = str(i)
        obx.obx_2 = "TX"
        obx.obx_3 = f"{loinc}^{escape(display)}^LN"
        _text_field(obx, "OBX_5", TX, line.rstrip("\r"))
        obx.obx_11 = "F"
    return msg.to_er7()


def parse_ack(text: str) -> Ack:
    """Read MSA-1/MSA-2 and the receiver's text from an ACK (any 2.x version)."""
    msg = parse_message(text.strip("\r\n").replace("\n", "\r"), find_groups=False)
    msa = msg.msa
    words = [msa.msa_3.value] if msa.msa_3.value else []
    for err in msg.children.get("ERR") or []:
        for name in ("err_8", "err_1"):
            try:
                value = getattr(err, name).to_er7()
            except Exception:   # field absent in that version's ERR
                continue
            if value:
                words.append(value)
                break
    return Ack(code=msa.msa_1.value, control_id=msa.msa_2.value, text="; ".join(words))


def read_text(message: str) -> dict[str, str]:
    """The parts a receiver cares about, decoded (used by tests and the file-drop check)."""
    msg = parse_message(message, find_groups=False)
    obx = msg.children.get("OBX") or []
    return {
        "event": msg.msh.msh_9.msh_9_2.value,
        "control_id": msg.msh.msh_10.value,
        "document_number": msg.txa.txa_12.to_er7(),
        "parent_document": msg.txa.txa_13.to_er7(),
        "mrn": msg.pid.pid_3.pid_3_1.value,
        "text": "\n".join(_unescape(o.obx_5.to_er7()) for o in obx),
    }


def _unescape(value: str) -> str:
    out, i = [], 0
    table = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}
    while i < len(value):
        if value[i] == "\\" and i + 2 < len(value) and value[i + 2] == "\\" \
                and value[i + 1] in table:
            out.append(table[value[i + 1]])
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)
