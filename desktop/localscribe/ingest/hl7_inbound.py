"""HL7 v2 inbound: SIU^S12 (new appointment) and ADT^A04/A08 (registration, update) read into a
:class:`ScheduledVisit`, and the ACK that answers each message.

The reader is strict on what matters for identity and says which field is wrong:
- AR (reject): not HL7 (no MSH), other encoding characters than ``|^~\\&``, a message type we
  do not take, a processing id (MSH-11) other than the one configured;
- AE (application error): a message we take, but a required field is missing or malformed
  (PID-3.1, PID-5.1, the visit time, PID-7, PID-8).
A message answered AE or AR is not stored. Field values never appear in the ACK text (they
would be echoed into logs); the field names do.

Fields read (v2.5 positions): PID-3 (first repetition typed MR, else the first: id ^ ^ ^
authority&oid), PID-5 (family ^ given ^ middle), PID-7, PID-8, PV1-3 (point of care), PV1-7
(attending: id ^ family ^ given, authority in XCN-9, NPI when XCN-13 is NPI), PV1-19, PV1-44;
SIU also SCH-2 (filler appointment id), SCH-11.4 / TQ1-7 / AIS-4 (start), AIP-3 (personnel),
AIL-3 (location), SCH-25 (status).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, UTC

from localscribe.ehr.hl7_er7 import msh_segment, segment, unescape
from localscribe.ehr.patient import birth_date_problem
from localscribe.ingest.model import IngestError, ScheduledVisit, Source

ACCEPTED = {("SIU", "S12"), ("ADT", "A04"), ("ADT", "A08")}
# MSH-18 (table 0211) -> Python codec; absent means ASCII in the standard, UTF-8 in practice.
CHARSETS = {"": "utf-8", "UNICODE UTF-8": "utf-8", "8859/1": "latin-1", "ASCII": "ascii"}


class Rejected(Exception):
    """Answer the message with ``code`` (AE or AR) and ``reason``; store nothing."""

    def __init__(self, code: str, reason: str, control_id: str = ""):
        super().__init__(reason)
        self.code, self.reason, self.control_id = code, reason, control_id


@dataclass(frozen=True)
class Er7:
    """A parsed ER7 message: segments by name (in order), each a list of raw fields (MSH
    numbered like the standard: fields[1] is MSH-1)."""

    segments: list[tuple[str, list[str]]]

    def all(self, name: str) -> list[list[str]]:
        return [f for n, f in self.segments if n == name]

    def first(self, name: str) -> list[str] | None:
        found = self.all(name)
        return found[0] if found else None


def field(seg: list[str] | None, n: int) -> str:
    return seg[n] if seg is not None and n < len(seg) else ""


def comp(value: str, n: int, sub: int = 1) -> str:
    """Component ``n`` (1-based), subcomponent ``sub`` of a field's first repetition, unescaped."""
    parts = value.split("~")[0].split("^")
    if n > len(parts):
        return ""
    subs = parts[n - 1].split("&")
    return unescape(subs[sub - 1]).strip() if sub <= len(subs) else ""


def decode(raw: bytes) -> str:
    """The message text in the character set its MSH-18 names (read from the ASCII bytes)."""
    head = raw.split(b"\r", 1)[0]
    parts = head.split(b"|")
    charset = parts[17].split(b"^")[0].decode("ascii", "replace").strip() if len(parts) > 17 \
        else ""
    codec = CHARSETS.get(charset)
    if codec is None:
        raise Rejected("AR", f"MSH-18 character set {charset!r} is not supported "
                             f"({', '.join(c or '(empty)' for c in CHARSETS)})")
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise Rejected("AR", f"the message is not valid {codec} as MSH-18 declares") from None


def parse_er7(text: str) -> Er7:
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise Rejected("AR", "not an HL7 v2 message (no MSH segment first)")
    if text[3:8] != "|^~\\&":
        raise Rejected("AR", "MSH-1/MSH-2 must be the default encoding characters |^~\\&")
    segments = []
    for line in text.split("\r"):
        if not line.strip():
            continue
        name, fields = line[:3], line.split("|")
        if name == "MSH":
            fields = ["MSH", "|", *fields[1:]]
        segments.append((name, fields))
    return Er7(segments)


def _ts(value: str, what: str) -> str:
    """HL7 DTM (YYYYMMDD[HHMM[SS]][+/-ZZZZ]) -> ISO 8601; AE naming ``what`` if malformed."""
    value = value.strip()
    digits, zone = value, ""
    for sign in "+-":
        if sign in value[8:]:
            at = value.rindex(sign)
            digits, zone = value[:at], value[at:]
    digits = digits.split(".")[0]
    try:
        if len(digits) not in (12, 14) or not digits.isdigit():
            raise ValueError
        when = datetime.strptime(digits, "%Y%m%d%H%M%S" if len(digits) == 14 else "%Y%m%d%H%M")
        if zone:
            if len(zone) != 5 or not zone[1:].isdigit():
                raise ValueError
            return when.strftime("%Y-%m-%dT%H:%M:%S") + f"{zone[:3]}:{zone[3:]}"
        return when.strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise Rejected("AE", f"{what} is not an HL7 date/time with hours and minutes") from None


def _dob(value: str) -> str:
    value = value.strip()[:8]
    if not value:
        return ""
    iso = f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 else value[:4]
    if not value.isdigit() or len(value) not in (4, 8) or birth_date_problem(iso):
        raise Rejected("AE", "PID-7 (date of birth) is not a valid past date YYYYMMDD")
    return iso


def _patient_cx(pid: list[str]) -> str:
    reps = field(pid, 3).split("~")
    typed = [r for r in reps if comp(r, 5) == "MR"]
    return (typed or reps)[0]


def _clinician(xcn: str) -> tuple[str, str, str]:
    """(id, NPI, display name) of an XCN."""
    ident = comp(xcn, 1)
    is_npi = comp(xcn, 13) == "NPI" or comp(xcn, 9) == "NPI" \
        or comp(xcn, 9, 2) == "2.16.840.1.113883.4.6"
    name = " ".join(p for p in (comp(xcn, 3), comp(xcn, 2)) if p)
    return ident, ident if is_npi and ident.isdigit() and len(ident) == 10 else "", name


def read_visit(raw: bytes, processing_id: str = "") -> tuple[ScheduledVisit, Er7, str]:
    """(visit, parsed message, message type) from one inbound message; raises Rejected."""
    msg = parse_er7(decode(raw))
    msh = msg.first("MSH")
    control = unescape(field(msh, 10))
    kind = (comp(field(msh, 9), 1), comp(field(msh, 9), 2))
    try:
        if kind not in ACCEPTED:
            raise Rejected("AR", f"message type {'^'.join(kind)} is not taken here (SIU^S12, "
                                 "ADT^A04, ADT^A08)")
        if not control:
            raise Rejected("AR", "MSH-10 (message control id) is empty")
        if processing_id and comp(field(msh, 11), 1) != processing_id:
            raise Rejected("AR", f"MSH-11 processing id is not {processing_id}")
        return _visit(msg, kind), msg, "^".join(kind)
    except Rejected as exc:
        exc.control_id = control
        raise


def _visit(msg: Er7, kind: tuple[str, str]) -> ScheduledVisit:
    pid, pv1 = msg.first("PID"), msg.first("PV1")
    if pid is None:
        raise Rejected("AE", "the PID segment is missing")
    cx = _patient_cx(pid)
    start = ""
    location = comp(field(pv1, 3), 1)
    clinician = _clinician(field(pv1, 7))
    status = "arrived" if kind == ("ADT", "A04") else "booked"
    appointment = ""
    if kind[0] == "SIU":
        sch = msg.first("SCH")
        if sch is None:
            raise Rejected("AE", "the SCH segment is missing")
        appointment = comp(field(sch, 2), 1) or comp(field(sch, 1), 1)
        tq1, ais = msg.first("TQ1"), msg.first("AIS")
        for value, what in ((comp(field(sch, 11), 4), "SCH-11.4"),
                            (comp(field(tq1, 7), 1), "TQ1-7"), (comp(field(ais, 4), 1), "AIS-4")):
            if value:
                start = _ts(value, what)
                break
        aip, ail = msg.first("AIP"), msg.first("AIL")
        if aip is not None and comp(field(aip, 3), 1):
            clinician = _clinician(field(aip, 3))
        if ail is not None and comp(field(ail, 3), 1):
            location = comp(field(ail, 3), 1)
        status = (comp(field(sch, 25), 1) or "booked").lower()
    if not start and comp(field(pv1, 44), 1):
        start = _ts(comp(field(pv1, 44), 1), "PV1-44")
    if not start and kind[0] == "ADT":
        evn = msg.first("EVN")
        for n in (6, 2):
            if comp(field(evn, n), 1):
                start = _ts(comp(field(evn, n), 1), f"EVN-{n}")
                break
    visit_cx = field(pv1, 19)
    try:
        return ScheduledVisit(
            source=Source.HL7.value, patient_id=comp(cx, 1), family=comp(field(pid, 5), 1),
            given=comp(field(pid, 5), 2), middle=comp(field(pid, 5), 3), visit_time=start,
            patient_authority=comp(cx, 4, 1), patient_authority_oid=comp(cx, 4, 2),
            birth_date=_dob(comp(field(pid, 7), 1)), sex=comp(field(pid, 8), 1).upper(),
            visit_number=comp(visit_cx, 1) or appointment, visit_authority=comp(visit_cx, 4, 1),
            location=location, clinician_id=clinician[0], clinician_npi=clinician[1],
            clinician_name=clinician[2], status=status)
    except IngestError as exc:
        raise Rejected("AE", str(exc)) from None


def ack(message: Er7 | None, code: str, control_id: str, text: str = "",
        application: str = "LOCALSCRIBE") -> str:
    """The ACK (v2.5, original mode) for a message; MSA-2 echoes its MSH-10."""
    msh = message.first("MSH") if message is not None else None
    event = comp(field(msh, 9), 2)
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    ack_id = "LSA" + hashlib.sha256(f"{control_id}|{now}|{code}".encode()).hexdigest()[:17].upper()
    segments = [
        msh_segment({3: application, 4: comp(field(msh, 6), 1), 5: comp(field(msh, 3), 1),
                     6: comp(field(msh, 4), 1), 7: now, 9: ["ACK", event, "ACK"], 10: ack_id,
                     11: comp(field(msh, 11), 1) or "P", 12: "2.5"}),
        segment("MSA", {1: code, 2: control_id, 3: text[:80]}),
    ]
    if code != "AA":
        segments.append(segment("ERR", {3: ["207", "Application internal error", "HL70357"]
                                        if code == "AE" else ["200", "Unsupported message type",
                                                              "HL70357"],
                                        4: "E", 8: text}))
    return "\r".join(segments)
