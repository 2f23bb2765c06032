"""MDM^T02 as an interface engineer checks it (issue 13, item 3), against hl7apy's MLLPServer
validating every message strictly (conftest.validate_strictly) and the fields read back with
hl7apy: MSH-4/5/6/7/11, PID-3/5/8, TXA-5/9/10/12/22, OBX-2/4/5, and what AE and AR lead to."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
from hl7apy.parser import parse_message

from localscribe.domain import Patient
from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.hl7v2 import FT_CHUNK, build_mdm
from localscribe.ehr.mllp import send_message
from localscribe.ehr.outbox import DELIVERED, FAILED, QUEUED
from localscribe.ehr.patient import PatientDataInvalid
from localscribe.ehr.protocol import ConnectorConfig, SettingsError
from localscribe.ehr.service import EhrService

from conftest import Receiver, make_note, note_text, wire

NPI = "1234567893"
SETTINGS = {"sending_facility": "CLINIC-A", "receiving_application": "EHRAPP",
            "receiving_facility": "HOSP", "processing_id": "T", "mrn_authority": "HOSP-MRN",
            "mrn_authority_oid": "1.2.3.4.5", "clinician_npi": f"Dr Jane Roe={NPI}",
            "patient_class": "E", "point_of_care": "ED-WEST"}


def connector(port, **extra):
    # Generous ACK wait: hl7apy's strict validation of a long note is slow on a loaded machine.
    settings = {"host": "127.0.0.1", "port": port, "timeout_seconds": 10,
                "resend_on_timeout": 1, **SETTINGS, **extra}
    return Hl7MllpConnector(ConnectorConfig(name="hl7", kind="hl7v2-mllp", settings=settings))


def with_patient(note, name):
    return note.__class__(**{**note.__dict__, "patient": Patient(name, "MRN-9", "1970-05-04")})


def test_every_field_an_interface_engineer_checks(receiver):
    note = make_note(1)
    started = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    assert connector(receiver.port).push(note).delivered
    assert receiver.invalid == []
    [raw] = receiver.received
    msg = parse_message(raw, find_groups=False)
    msh, pid, txa = msg.msh, msg.pid, msg.txa
    assert (msh.msh_4.to_er7(), msh.msh_5.to_er7(), msh.msh_6.to_er7()) == (
        "CLINIC-A", "EHRAPP", "HOSP")
    assert msh.msh_11.to_er7() == "T"
    assert msh.msh_7.to_er7()[:14] >= started, "MSH-7 is this attempt's time, not the signing"
    assert pid.pid_3.to_er7() == "MRN-0042^^^HOSP-MRN&1.2.3.4.5&ISO^MR"
    assert pid.pid_5.to_er7() == "Silva^Ana Maria^^^^^L"
    assert pid.pid_8.to_er7() == "U"
    assert (msg.pv1.pv1_2.to_er7(), msg.pv1.pv1_3.to_er7()) == ("E", "ED-WEST^^^CLINIC-A")
    xcn = f"{NPI}^^^^^^^^NPI&2.16.840.1.113883.4.6&ISO^^^^NPI"
    for field in (txa.txa_5, txa.txa_9, txa.txa_10):
        assert field.to_er7() == xcn
    assert txa.txa_17.to_er7() == "LA"
    assert txa.txa_22.to_er7() == xcn + "^^20261126100000+0000"   # who authenticated, when
    assert txa.txa_12.to_er7() == f"{note.note_id}^LOCALSCRIBE"
    [obx] = msg.children.get("OBX")
    assert (obx.obx_2.to_er7(), obx.obx_4.to_er7()) == ("FT", "1")
    assert note_text(raw) == note.text


def test_a_clinician_without_npi_is_a_namespaced_id_not_a_family_name(receiver):
    note = make_note(2)
    connector(receiver.port, clinician_npi="").push(note)
    txa = parse_message(receiver.received[0], find_groups=False).txa
    assert txa.txa_5.to_er7() == "Dr Jane Roe^^^^^^^^LOCALSCRIBE^^^^PRN"
    assert wire(txa.txa_5.txa_5_2) == ""                  # the family-name component stays empty


@pytest.mark.parametrize("name,xpn", [("de la Cruz, Maria", "de la Cruz^Maria^^^^^L"),
                                      ("Ana Silva", "Silva^Ana^^^^^L"),
                                      ("Cher", "Cher^^^^^^L")])
def test_pid5_from_the_name_parts_the_user_stated(name, xpn):
    msg = parse_message(build_mdm(with_patient(make_note(3), name)), find_groups=False)
    assert msg.pid.pid_5.to_er7() == xpn


def test_an_ambiguous_name_is_not_guessed(receiver):
    with pytest.raises(PatientDataInvalid) as err:
        connector(receiver.port).push(with_patient(make_note(4), "Maria de la Cruz"))
    assert "'Family, Given'" in str(err.value) and not err.value.retryable
    assert "Cruz" not in str(err.value)                    # no PHI in the message
    assert receiver.received == []


def test_tx_repetitions_carry_the_exact_note(receiver):
    text = "S: cough\r\n\nO: | ^ & ~ \\ \\.br\\\n  indented\n"
    note = make_note(5, text=text)
    connector(receiver.port, note_format="TX").push(note)
    assert receiver.invalid == []
    [obx] = parse_message(receiver.received[0], find_groups=False).children.get("OBX")
    assert (obx.obx_2.to_er7(), obx.obx_4.to_er7()) == ("TX", "1")
    assert len(obx.obx_5) == len(text.split("\n"))           # one repetition per line
    assert note_text(receiver.received[0]) == text


def test_a_note_longer_than_a_field_continues_under_obx4_sub_ids(receiver):
    text = "\n".join(f"line {i} " + "x" * 990 for i in range(150))    # ~150 kB
    note = make_note(6, text=text)
    connector(receiver.port).push(note)
    assert receiver.invalid == []
    obx = parse_message(receiver.received[0], find_groups=False).children.get("OBX")
    assert [o.obx_4.to_er7() for o in obx] == [str(i) for i in range(1, len(obx) + 1)]
    assert len(obx) >= 3 and {o.obx_3.to_er7() for o in obx} == {"11506-3^Progress note^LN"}
    assert all(len(wire(o.obx_5)) <= FT_CHUNK + 1000 for o in obx)
    assert note_text(receiver.received[0]) == text


def test_message_time_is_per_attempt_and_identifiers_are_not(receiver, monkeypatch):
    # The clock is stepped by hand so that the two attempts fall in different seconds however
    # slow the machine is (everything else is real: the lost ACK, the resend, the receiver).
    ticks = iter(["20261129120000+0000", "20261129120007+0000"])
    monkeypatch.setattr("localscribe.ehr.hl7v2._now", lambda: next(ticks))
    receiver.behave = lambda msg, n: ("silent", "") if n == 1 else ("AA", "")
    receiver.silent_wait = 3.0
    note = make_note(7)
    assert connector(receiver.port, timeout_seconds=2.0).push(note).delivered
    first, second = (parse_message(m, find_groups=False) for m in receiver.received)
    assert first.msh.msh_10.to_er7() == second.msh.msh_10.to_er7()
    assert first.txa.txa_12.to_er7() == second.txa.txa_12.to_er7()
    assert (first.msh.msh_7.to_er7(), second.msh.msh_7.to_er7()) == (
        "20261129120000+0000", "20261129120007+0000")
    assert list(receiver.documents) == [note.note_id]


def test_ae_is_held_for_review_and_ar_is_retried(receiver, db, cipher, audit):
    service = EhrService(db, cipher, audit)
    service.configure("hl7", {"host": "127.0.0.1", "port": receiver.port,
                              "timeout_seconds": 10, **SETTINGS}, kind="hl7v2-mllp")
    receiver.behave = lambda msg, n: ("AE", "PID-3 unknown to this EHR")
    held = service.send(make_note(8), "hl7")
    assert held.state == FAILED and "held for review" in held.last_error
    assert held.error_detail.startswith("PID-3 unknown to this EHR")
    assert held.attempts == 1 and len(receiver.received) == 1      # not retried blindly

    receiver.behave = lambda msg, n: ("AR", "interface paused")
    busy = service.send(make_note(9), "hl7")
    assert busy.state == QUEUED and "interface paused" in busy.error_detail

    receiver.behave = lambda msg, n: ("AA", "")                # a person fixed the data
    service.outbox.retry(held.id)
    assert service.outbox.attempt(held.id, service._resolve).state == DELIVERED
    service.outbox.retry(busy.id)
    assert service.outbox.attempt(busy.id, service._resolve).state == DELIVERED


@pytest.mark.parametrize("values,needle", [({"processing_id": "X"}, "processing_id"),
                                           ({"clinician_npi": "dr.lee=12"}, "clinician_npi"),
                                           ({"note_format": "RTF"}, "note_format")])
def test_bad_conformance_settings_are_refused(db, cipher, values, needle):
    service = EhrService(db, cipher)
    with pytest.raises(SettingsError) as err:
        service.configure("hl7", {"host": "127.0.0.1", "port": 2575, **values},
                          kind="hl7v2-mllp")
    assert needle in str(err.value)


def test_the_strict_receiver_does_reject_a_broken_structure(receiver):
    """Negative control: the receiver's validation is live (a message without EVN fails)."""
    good = build_mdm(make_note(10))
    broken = "\r".join(s for s in good.split("\r") if not s.startswith("EVN"))
    ack = send_message("127.0.0.1", receiver.port, broken, 5)
    assert "|AE|" in ack and receiver.documents == {}
    assert "EVN" in receiver.invalid[0]


def test_check_names_the_identifiers_left_empty(receiver):
    result = connector(receiver.port, sending_facility="", mrn_authority="").check()
    assert result.ok
    assert any("MSH-4" in d for d in result.details) and any("PID-3.4" in d for d in result.details)
    assert any("MSH-11 is T" in d for d in result.details)
    assert not any("MSH-5" in d for d in connector(receiver.port).check().details)


def test_entry_screens_can_ask_the_same_rules_before_the_visit():
    from localscribe.ehr.patient import patient_problems

    assert patient_problems(Patient("de la Cruz, Maria", "M-1", "1970-05-04")) == []
    problems = patient_problems(Patient("Maria de la Cruz", "M-1", "1970-02-30"))
    assert len(problems) == 2 and "calendar" in problems[0] and "'Family, Given'" in problems[1]


@pytest.mark.parametrize("persistent,connections", [(True, 1), (False, 3)])
def test_persistent_connection_option(persistent, connections):

    r = Receiver(keep_alive=True).start()
    try:
        c = connector(r.port, persistent_connection=persistent)
        notes = [make_note(20 + i) for i in range(3)]
        for note in notes:
            assert c.push(note).delivered
        c.close()
        assert r.connections == connections
        assert sorted(r.documents) == sorted(n.note_id for n in notes) and r.duplicates == 0
    finally:
        r.stop()


def test_a_kept_connection_the_receiver_closed_is_reopened_without_duplicates(receiver):
    """hl7apy's own handler hangs up after each ACK, as many receivers do."""
    c = connector(receiver.port, persistent_connection=True, resend_on_timeout=0)
    notes = [make_note(30 + i) for i in range(3)]
    for note in notes:
        assert c.push(note).delivered
    assert len(receiver.received) == 3 and receiver.duplicates == 0


def test_iso_8859_1_for_an_old_receiver_carries_the_exact_note():
    from localscribe.ehr.hl7v2 import Hl7Options
    from localscribe.ehr.mllp import frame

    text = "Fièvre 38,5 °C, naïve\r\nPlan: ½ dose\x85after NEL | ~\n"
    note = make_note(40, text=text)
    wire_bytes = frame(build_mdm(note, Hl7Options(charset="ISO-8859-1")), "latin-1")
    assert b"Fi\xe8vre" in wire_bytes and b"\xc3" not in wire_bytes     # latin-1, not UTF-8
    r = Receiver(encoding="latin-1").start()
    try:
        assert connector(r.port, charset="ISO-8859-1").push(note).delivered
        assert r.invalid == []
        raw = r.received[0]
        assert parse_message(raw, find_groups=False).msh.msh_18.to_er7() == "8859/1"
        assert note_text(raw, "latin-1") == text
    finally:
        r.stop()


@pytest.mark.parametrize("charset,text,code", [("ASCII", "Fièvre", "U+00E8"),
                                               ("ISO-8859-1", "SpO2 ≥ 94 %", "U+2265"),
                                               ("ISO-8859-1", "line\u2028sep", "U+2028")])
def test_text_a_charset_cannot_carry_is_held_never_cut(receiver, charset, text, code):
    from localscribe.ehr.hl7v2 import CharsetUnsupported

    with pytest.raises(CharsetUnsupported) as err:
        connector(receiver.port, charset=charset).push(make_note(41, text=text))
    assert code in str(err.value) and charset in str(err.value) and not err.value.retryable
    assert text not in str(err.value) and receiver.received == []
