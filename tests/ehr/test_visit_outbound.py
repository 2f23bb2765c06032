"""A note started from an ingested HL7 visit goes back with the EHR's identifiers (issue 13,
item 3): the SIU^S12 is built with hl7apy and read by the listener's reader, the MDM^T02 is
received by hl7apy's MLLPServer validating strictly, and the fields are read back with hl7apy."""

from __future__ import annotations

from dataclasses import replace

from hl7apy.parser import parse_message

from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.protocol import ConnectorConfig
from localscribe.ingest.hl7_inbound import read_visit

from conftest import make_note
from test_ingest_hl7 import NPI, siu

SETTINGS = {"sending_facility": "CLINIC-A", "receiving_application": "EHRAPP",
            "receiving_facility": "HOSP", "mrn_authority": "LOCAL", "timeout_seconds": 10,
            "resend_on_timeout": 1, "clinician_npi": "Dr Jane Roe=1999999992"}


def push(receiver, note):
    c = Hl7MllpConnector(ConnectorConfig(name="hl7", kind="hl7v2-mllp", settings={
        "host": "127.0.0.1", "port": receiver.port, **SETTINGS}))
    assert c.push(note).delivered, receiver.invalid
    assert receiver.invalid == []
    return parse_message(receiver.received[-1], find_groups=False)


def test_identifiers_come_from_the_ingested_visit(receiver):
    visit, _, _ = read_visit(siu().encode())
    note = replace(make_note(1, mrn=visit.patient_id), patient=visit.patient(),
                   visit=visit.context())
    msg = push(receiver, note)
    assert msg.pid.pid_3.to_er7() == "MRN-55^^^HOSP&1.2.3.4&ISO^MR"      # the EHR's authority
    assert msg.pid.pid_5.to_er7() == "de la Cruz^Maria^Luisa^^^^L"       # not Cruz^Maria de la
    assert (msg.pid.pid_7.to_er7(), msg.pid.pid_8.to_er7()) == ("19700504", "F")
    assert msg.pv1.pv1_19.to_er7() == "V-1001^^^HOSP-VN^VN"              # the EHR's visit number
    assert msg.pv1.pv1_3.to_er7() == "CLINIC-2^^^CLINIC-A"
    assert msg.txa.txa_4.to_er7() == "20261129103000"                    # the visit, not signing
    assert msg.txa.txa_5.to_er7() == f"{NPI}^^^^^^^^NPI&2.16.840.1.113883.4.6&ISO^^^^NPI"
    signer = "1999999992^^^^^^^^NPI&2.16.840.1.113883.4.6&ISO^^^^NPI"
    assert msg.txa.txa_9.to_er7() == signer
    assert msg.txa.txa_22.to_er7() == signer + "^^20261126100000+0000"   # who, and when
    assert msg.txa.txa_12.to_er7() == f"{note.note_id}^LOCALSCRIBE"


def test_a_typed_in_visit_keeps_the_typed_identity_and_a_namespaced_encounter_id(receiver):
    note = make_note(2)
    msg = push(receiver, note)
    assert msg.pid.pid_3.to_er7() == "MRN-0042^^^LOCAL^MR"
    assert msg.pid.pid_5.to_er7() == "Silva^Ana Maria^^^^^L"
    assert msg.pv1.pv1_19.to_er7() == f"{note.encounter_id}^^^LOCALSCRIBE^VN"
    assert msg.txa.txa_4.to_er7() == "20261126100000+0000"


def test_visit_time_with_a_zone_keeps_it(receiver):
    visit, _, _ = read_visit(siu(start="202611291030-0500").encode())
    assert visit.visit_time == "2026-11-29T10:30:00-05:00"
    note = replace(make_note(3, mrn=visit.patient_id), patient=visit.patient(),
                   visit=visit.context())
    assert push(receiver, note).txa.txa_4.to_er7() == "20261129103000-0500"
