"""HL7 v2 inbound (issue 13, item 1): SIU^S12 and ADT^A04/A08 built with hl7apy (a library this
project did not write) sent over MLLP to LocalScribe's listener on loopback; each ACK read back
with hl7apy; what was stored read back from the real SQLite file, sealed. A malformed message
is answered AE/AR with the reason and nothing is stored."""

from __future__ import annotations

import socket

import pytest
from hl7apy.core import Message
from hl7apy.parser import parse_message

from localscribe.ingest.listener import BindRefused, Hl7Listener, check_bind
from localscribe.ingest.store import INBOUND, VISITS, ScheduleStore

NPI = "1234567893"


def siu(control="CTRL-1", mrn="MRN-55", family="de la Cruz", given="Maria", start="202611291030",
        visit="V-1001", dob="19700504", sex="F", event="S12"):
    m = Message(f"SIU_{event}", version="2.5")
    m.msh.msh_3, m.msh.msh_4 = "EPIC", "HOSP"
    m.msh.msh_7 = "20261129090000"
    m.msh.msh_9 = f"SIU^{event}^SIU_S12"
    m.msh.msh_10, m.msh.msh_11, m.msh.msh_12 = control, "P", "2.5"
    m.sch.sch_1, m.sch.sch_2 = "PL1", "APPT-77"
    m.sch.sch_11 = f"^^^{start}" if start else ""
    m.sch.sch_25 = "Booked"
    p = m.add_group("SIU_S12_PATIENT")
    if mrn is not None:
        p.pid.pid_3 = f"{mrn}^^^HOSP&1.2.3.4&ISO^MR"
    p.pid.pid_5 = f"{family}^{given}^Luisa"
    p.pid.pid_7, p.pid.pid_8 = dob, sex
    p.pv1.pv1_2, p.pv1.pv1_3 = "O", "CLINIC-2"
    p.pv1.pv1_19 = f"{visit}^^^HOSP-VN"
    r = m.add_group("SIU_S12_RESOURCES")
    r.rgs.rgs_1 = "1"
    r.add_group("SIU_S12_PERSONNEL_RESOURCE").aip.aip_3 = \
        f"{NPI}^Lee^Dana^^^^^^NPI&2.16.840.1.113883.4.6&ISO^^^^NPI"
    return m.to_er7()


def adt(event="A04", control="ADT-1", visit="V-2002", admit="202611291400", family="Okafor"):
    m = Message("ADT_A01", version="2.5")
    m.msh.msh_3 = "EPIC"
    m.msh.msh_9 = f"ADT^{event}^ADT_A01"
    m.msh.msh_10, m.msh.msh_11, m.msh.msh_12 = control, "P", "2.5"
    m.evn.evn_2 = "20261129135500"
    m.pid.pid_3 = "MRN-66^^^HOSP^MR"
    m.pid.pid_5 = f"{family}^Chidi"
    m.pid.pid_7, m.pid.pid_8 = "19851112", "M"
    m.pv1.pv1_2, m.pv1.pv1_3 = "O", "ROOM-4"
    m.pv1.pv1_7 = "D-9^Park^Jin"
    m.pv1.pv1_19 = visit
    m.pv1.pv1_44 = admit
    return m.to_er7()


def send(port: int, message: str | bytes) -> Message:
    """An MLLP client: frame, send, read the ACK frame, parse it with hl7apy."""
    data = message.encode() if isinstance(message, str) else message
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x0b" + data + b"\x1c\x0d")
        buf = b""
        while not buf.endswith(b"\x1c\x0d"):
            chunk = s.recv(4096)
            assert chunk, "listener closed without an ACK"
            buf += chunk
    return parse_message(buf[1:-2].decode(), find_groups=False)


@pytest.fixture
def listening(db, cipher):
    store = ScheduleStore(db, cipher)
    lst = Hl7Listener(lambda v, raw, kind: store.put(v, raw, kind)[0]).start()
    yield lst, store
    lst.stop()


def test_siu_s12_acknowledged_and_stored_sealed(listening, db):
    lst, store = listening
    ack = send(lst.port, siu())
    assert ack.msa.msa_1.to_er7() == "AA" and ack.msa.msa_2.to_er7() == "CTRL-1"
    [v] = store.all()
    assert (v.patient_id, v.patient_authority, v.patient_authority_oid) == ("MRN-55", "HOSP",
                                                                            "1.2.3.4")
    assert (v.family, v.given, v.middle) == ("de la Cruz", "Maria", "Luisa")
    assert v.display_name == "de la Cruz, Maria Luisa"
    assert (v.birth_date, v.sex, v.visit_number, v.visit_authority) == (
        "1970-05-04", "F", "V-1001", "HOSP-VN")
    assert (v.visit_time, v.location, v.clinician_npi) == ("2026-11-29T10:30:00", "CLINIC-2", NPI)
    # Sealed at rest: no identifier or name in the file's rows.
    for table, col in ((VISITS, "body"), (INBOUND, "raw")):
        for (blob,) in db.execute(f"SELECT {col} FROM {table}").fetchall():
            assert b"MRN-55" not in blob and b"Cruz" not in blob
    [(kind, raw)] = store.inbound(v.id)
    assert kind == "SIU^S12" and raw.decode() == siu().strip("\r")


def test_adt_a04_then_a08_updates_the_same_visit(listening):
    lst, store = listening
    assert send(lst.port, adt("A04", "ADT-1")).msa.msa_1.to_er7() == "AA"
    assert send(lst.port, adt("A08", "ADT-2", family="Okafor-Bello")).msa.msa_1.to_er7() == "AA"
    [v] = store.all()                                   # the update replaced, not added
    assert v.family == "Okafor-Bello" and v.visit_time == "2026-11-29T14:00:00"
    assert v.clinician_id == "D-9" and v.clinician_npi == ""   # not typed NPI: not taken as one
    assert [k for k, _ in store.inbound(v.id)] == ["ADT^A04", "ADT^A08"]


@pytest.mark.parametrize("message, code, words", [
    (siu(mrn=None), "AE", "PID-3.1"),
    (siu(family=""), "AE", "PID-5.1"),
    (siu(start=""), "AE", "visit has no time"),
    (siu(dob="19701345"), "AE", "PID-7"),
    (siu(sex="X"), "AE", "table 0001"),
    (siu(start="2026-11"), "AE", "SCH-11.4"),
    (siu(event="S14"), "AR", "SIU^S14"),
    ("PID|||X", "AR", "no MSH"),
    (siu().replace("|^~\\&|", "|^~\\#|", 1), "AR", "encoding characters"),
])
def test_bad_messages_get_ae_or_ar_and_nothing_is_stored(listening, message, code, words):
    lst, store = listening
    ack = send(lst.port, message)
    assert ack.msa.msa_1.to_er7() == code
    said = ack.msa.msa_3.to_er7() if ack.msa.msa_3 else ""
    assert words in said.replace("\\S\\", "^").replace("\\E\\", "\\"), said
    if message.startswith("MSH|^~\\&|"):
        assert ack.msa.msa_2.to_er7() == "CTRL-1"       # echoes the rejected message's MSH-10
    assert store.all() == []
    assert lst.stats.rejected == 1 and lst.stats.accepted == 0


def test_a_failing_store_answers_ae_so_the_sender_keeps_the_message(db, cipher):
    def broken(visit, raw, kind):
        raise OSError("disk full")
    lst = Hl7Listener(broken).start()
    try:
        ack = send(lst.port, siu())
    finally:
        lst.stop()
    assert ack.msa.msa_1.to_er7() == "AE" and "not stored" in ack.msa.msa_3.to_er7()


def test_several_messages_on_one_connection_and_split_frames(listening):
    lst, store = listening
    a, b = siu("C-1", visit="V-1"), siu("C-2", visit="V-2", mrn="MRN-77")
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        data = b"\x0b" + a.encode() + b"\x1c\x0d" + b"\x0b" + b.encode() + b"\x1c\x0d"
        s.sendall(data[:7])             # a frame split across TCP segments
        s.sendall(data[7:])
        buf = b""
        while buf.count(b"\x1c\x0d") < 2:
            buf += s.recv(4096)
    acks = [parse_message(f.strip(b"\x0b").decode(), find_groups=False)
            for f in buf.split(b"\x1c\x0d") if f]
    assert [x.msa.msa_2.to_er7() for x in acks] == ["C-1", "C-2"]
    assert sorted(v.visit_number for v in store.all()) == ["V-1", "V-2"]


def test_latin1_message_as_msh18_declares(listening):
    lst, store = listening
    text = siu(family="Müller").replace("|P|2.5", "|P|2.5||||||8859/1", 1)
    assert send(lst.port, text.encode("latin-1")).msa.msa_1.to_er7() == "AA"
    assert store.all()[0].family == "Müller"


def test_listener_binds_to_loopback_or_an_allowlisted_address_only():
    check_bind("127.0.0.1")
    check_bind("::1")
    for host in ("0.0.0.0", "::", "192.0.2.7", "eth0"):
        with pytest.raises(BindRefused):
            check_bind(host)
    check_bind("192.0.2.7", allowed=["192.0.2.7:2575"])      # the admin allowlisted it
    with pytest.raises(BindRefused):
        Hl7Listener(lambda *a: None, host="0.0.0.0")


def test_an_endless_frame_is_cut_off_and_nothing_stored(listening):
    lst, store = listening
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        s.sendall(b"\x0b" + siu().encode())
        closed = False
        try:
            for _ in range(40):                     # 40 x 64 KiB > 1 MiB, never an end byte
                s.sendall(b"A" * 65536)
        except OSError:
            closed = True
        if not closed:
            s.settimeout(10)
            try:
                closed = s.recv(10) == b""
            except ConnectionResetError:
                closed = True
    assert closed and store.all() == []


def test_visit_ids_are_looked_up_as_hex_only(db, cipher):
    from localscribe.ingest.hl7_inbound import read_visit
    from localscribe.ingest.store import VisitNotFound

    store = ScheduleStore(db, cipher)
    visit, _, kind = read_visit(siu().encode())
    stored, new = store.put(visit, b"raw", kind)
    assert new and store.find(stored.id[:6]).id == stored.id
    for wild in ("%", "_", "", "%%"):
        with pytest.raises(VisitNotFound):
            store.find(wild)


def test_only_roles_that_hold_patient_data_read_or_receive_the_schedule(tmp_path):
    from localscribe.config import Paths
    from localscribe.ingest import service
    from localscribe.ingest.hl7_inbound import read_visit
    from localscribe.vault import TEST_PARAMS, PermissionDenied, Vault

    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "m")
    vault = Vault.create(paths, "admin", "admin pass 1", kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", "admin pass 1")
    admin.add_user("doc", "clinician", "doc pass 12345")
    admin.add_user("asst", "assistant", "asst pass 12345")
    admin.add_user("aud", "auditor", "aud pass 12345")
    visit, _, kind = read_visit(siu().encode())
    with pytest.raises(PermissionDenied):
        service.receive(admin, visit, b"raw", kind)
    admin.lock()
    doc = vault.unlock("doc", "doc pass 12345")
    stored = service.receive(doc, visit, siu().encode(), kind)
    eid = service.start_visit(doc, stored.id[:8], "soap")
    assert doc.get_encounter(eid).patient.name == "de la Cruz, Maria Luisa"
    assert service.visit_context(doc, eid).visit_number == "V-1001"
    doc.lock()
    asst = vault.unlock("asst", "asst pass 12345")
    [entry] = service.day_schedule(asst, "2026-11-29")
    assert entry.visit.id == stored.id and entry.encounters == (eid,)
    asst.lock()
    aud = vault.unlock("aud", "aud pass 12345")
    with pytest.raises(PermissionDenied):
        service.day_schedule(aud, "2026-11-29")
    aud.lock()
