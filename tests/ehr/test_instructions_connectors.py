"""The patient's signed instructions through connectors (issue 15 item 3): where a connector
carries a second document it is sent with the note, in the same job and as idempotently (FHIR: a
second DocumentReference, LOINC 69730-0, that appends the note, checked by Medplum on loopback
and by the R4 models; HL7: a second MDM^T02 to hl7apy's MLLP receiver; file drop: a second file);
a connector that cannot carry it says so in `connectors list/check` and on the audit trail."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace

import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from hl7apy.parser import parse_message

from localscribe.domain import Draft, Patient, Section, Statement
from localscribe.ehr import delivery
from localscribe.ehr.filedrop import FileDropConnector
from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.instructions_doc import NOT_CARRIED, carried_by, companion_id
from localscribe.ehr.protocol import ConnectorConfig, ConnectorContext
from localscribe.ehr.service import EhrService
from localscribe.vault.consent import record as record_consent

from conftest import hl7_unescape, note_text, vault_with_clinician, wire
from test_fhir import documents, fhir

TEXT = ("WHAT WE FOUND\nYour left ankle is sprained.\nYOUR MEDICINES\nIbuprofen 400 mg three "
        "times a day with food.\n")


def _carrying(note, language: str = "en"):
    return replace(note, instructions=TEXT, instructions_language=language)


def test_fhir_sends_a_second_document_reference_that_appends_the_note(fhir_server, note_factory):
    note = _carrying(note_factory(901))
    c = fhir(fhir_server)
    first = c.push(note)
    again = c.push(note)                              # a retried job: nothing new is created
    assert again.remote_id == first.remote_id and "patient instructions" in again.detail
    [doc] = documents(fhir_server, note.note_id)
    [pi] = documents(fhir_server, companion_id(note.note_id))
    DocumentReference.model_validate(pi)                              # the R4 models agree
    assert pi["type"]["coding"] == [{"system": "http://loinc.org", "code": "69730-0",
                                     "display": "Instructions"}]
    assert base64.b64decode(pi["content"][0]["attachment"]["data"]).decode() == TEXT
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]).decode() == note.text
    # The summary says its language; the note, in the practice's language, says none.
    assert pi["content"][0]["attachment"]["language"] == "en"
    assert "language" not in doc["content"][0]["attachment"]
    assert pi["relatesTo"] == [{"code": "appends",
                                "target": {"reference": f"DocumentReference/{doc['id']}"}}]
    assert pi["subject"] == doc["subject"] and pi["context"] == doc["context"]
    assert pi["docStatus"] == "final"
    # An amendment corrects the note, not the patient's copy: no second summary goes out.
    fix = _carrying(note_factory(901, replaces=note.note_id))
    c.amend(fix, first.remote_id)
    assert documents(fhir_server, companion_id(fix.note_id)) == []
    # A note signed without instructions sends one document, as before.
    plain = note_factory(902)
    c.push(plain)
    assert documents(fhir_server, companion_id(plain.note_id)) == []
    # A Spanish summary reaches the EHR labelled as Spanish.
    spanish = _carrying(note_factory(905), "es")
    c.push(spanish)
    [pi_es] = documents(fhir_server, companion_id(spanish.note_id))
    DocumentReference.model_validate(pi_es)
    assert pi_es["content"][0]["attachment"]["language"] == "es"


def test_hl7_sends_a_second_mdm_t02_after_the_note(receiver, note_factory):
    note = _carrying(note_factory(903))
    c = Hl7MllpConnector(ConnectorConfig(name="hl7", kind="hl7v2-mllp", settings={
        "host": "127.0.0.1", "port": receiver.port, "timeout_seconds": 5,
        "mrn_authority": "CLINIC"}), None)
    try:
        c.push(note)
        c.push(note)                                  # a retried job: the TXA-12 check holds
    finally:
        c.close()
    assert receiver.invalid == []                     # both pass hl7apy's strict validation
    assert sorted(receiver.documents) == sorted([note.note_id, companion_id(note.note_id)])
    assert receiver.duplicates == 2
    [message] = receiver.documents[companion_id(note.note_id)]
    parsed = parse_message(message, find_groups=False)
    assert wire(parsed.msh.msh_9) == "MDM" and "T02" in parsed.msh.msh_9.to_er7()
    assert wire(parsed.txa.txa_2) == "PI"
    assert "69730-0" in parsed.obx.obx_3.to_er7()
    assert note_text(message).strip() == TEXT.strip()
    assert hl7_unescape(wire(parsed.pid.pid_3)) == note.patient.mrn
    # The note's own message went first and carries the note.
    assert note_text(receiver.received[0]).strip() == note.text.strip()


def test_file_drop_writes_a_second_file_and_retention_removes_both(tmp_path, note_factory):
    folder = tmp_path / "import"
    folder.mkdir()
    c = FileDropConnector(ConnectorConfig("drop", "filedrop", {
        "folder": str(folder), "format": "text", "retention_hours": 1.0}))
    note = _carrying(note_factory(904))
    c.push(note)
    c.push(note)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{note.note_id}.txt", f"{companion_id(note.note_id)}.txt"])
    pi = (folder / f"{companion_id(note.note_id)}.txt").read_text()
    assert pi.endswith("\n\n" + TEXT) and f"Note-ID: {companion_id(note.note_id)}" in pi
    assert "Cough" not in pi and TEXT not in (folder / f"{note.note_id}.txt").read_text()
    removed = c.housekeeping([note.note_id], now=os.path.getmtime(folder / names[0]) + 7200)
    assert sorted(removed) == names and not any(folder.iterdir())


@pytest.fixture
def signed_with_instructions(tmp_path):
    """A real vault: a note signed with its patient instructions (the window's path)."""
    from localscribe.instructions import store
    from localscribe.instructions.prompts import Language

    paths, vault, admin = vault_with_clinician(tmp_path)
    doc = vault.unlock("doc", "clinician pass 1")
    eid = doc.create_encounter(Patient(name="Ana Silva", mrn="MRN-1"), "soap")
    store.save(doc, eid, Draft("patient_instructions", [Section("pi_todo", "WHAT TO DO", [
        Statement("pi1", "Rest the ankle and keep it raised.", [])])]), Language("en"))
    doc.save_note_version(eid, "SUBJECTIVE\nLeft ankle pain.\nPLAN\nRest.")
    record_consent(doc, eid, True)
    doc.sign(eid)
    yield vault, admin, doc, eid, paths
    vault.close()


def test_send_encounter_carries_the_signed_summary_or_says_it_did_not(signed_with_instructions,
                                                                      tmp_path):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from localscribe.ehr.clipboard_qt import QtClipboardBackend

    app = QGuiApplication.instance() or QGuiApplication([])
    vault, admin, doc, eid, paths = signed_with_instructions
    folder = tmp_path / "import"
    folder.mkdir()
    # The system clipboard of an offscreen Qt session: the clipboard connector cannot carry
    # a second document, which is what this half of the test is about.
    context = ConnectorContext(clipboard=QtClipboardBackend())
    EhrService.from_session(admin, context).configure(
        "drop", {"folder": str(folder), "format": "text"}, kind="filedrop")
    EhrService.from_session(admin, context).configure("clip", {"auto_clear_seconds": 0},
                                                      kind="clipboard")
    svc = EhrService.from_session(doc, context)
    [job] = delivery.send_encounter(doc, svc, eid, "drop")
    assert job.state == "delivered"
    note_id = doc.signed_note(eid).note_id
    pi = (folder / f"{companion_id(note_id)}.txt").read_text()
    assert "Rest the ankle and keep it raised." in pi
    [job] = delivery.send_encounter(doc, svc, eid, "clip")
    assert job.state == "delivered" and "Rest the ankle" not in app.clipboard().text()
    events = [(e.action, e.object, e.details) for e in _trail(vault)]
    assert ("instructions.not_sent", eid, {"connector": "clip", "note_id": note_id,
                                           "reason": NOT_CARRIED}) in events
    assert not any(a == "instructions.not_sent" and d.get("connector") == "drop"
                   for a, _o, d in events)
    check = svc.check("clip")
    assert NOT_CARRIED in check.details
    assert any("second file" in d for d in svc.check("drop").details)


def _trail(vault):
    admin = vault.unlock("admin", "admin pass 1")
    admin.add_user("aud", "auditor", "auditor pass 1")
    aud = vault.unlock("aud", "auditor pass 1")
    try:
        return aud.audit_events()
    finally:
        aud.lock()
        admin.lock()


def test_connectors_list_says_how_each_carries_the_instructions(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env["LOCALSCRIBE_DATA_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-m", "localscribe", "connectors", "list", "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    kinds = {i["kind"]: i["second_document"] for i in json.loads(r.stdout)["installed"]}
    assert kinds["clipboard"] == NOT_CARRIED
    assert "69730-0" in kinds["fhir-r4"] and "MDM^T02" in kinds["hl7v2-mllp"]
    assert "second file" in kinds["filedrop"]
    assert carried_by(object) == NOT_CARRIED
