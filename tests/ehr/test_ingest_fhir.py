"""FHIR R4 schedule in and the note out (issue 13, items 1 and 3) against Medplum's FHIR router
on loopback, seeded with Patient, Practitioner, Appointment and Encounter resources: the pull
reads the day on the connector's own credentials; the note started from it comes back as a US
Core DocumentReference that references the seeded Patient, Encounter and Practitioner (checked
on the server and validated with fhir.resources). Also: `check` proves the credentials, and a
lost HTTP answer is reported as such."""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import replace

import pytest
from fhir.resources.R4B.documentreference import DocumentReference

from localscribe.ehr.fhir import FhirConnector
from localscribe.ehr.fhir_document import FORMAT_CODE, US_CORE_PROFILE
from localscribe.ehr.protocol import ConnectorConfig, DeliveryError
from localscribe.ingest.fhir_schedule import NPI_SYSTEM, SchedulePull
from localscribe.ingest.store import ScheduleStore

from conftest import make_note

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.999.1"
NPI = "1234567893"
DAY = "2026-12-03"


def connector(base, token="test-token", **extra):
    settings = {"base_url": base, "mrn_system": MRN_SYSTEM, "auth": "bearer",
                "timeout_seconds": 5.0, "clinician_npi": f"Dr Jane Roe={NPI}", **extra}
    return FhirConnector(ConnectorConfig(name="ehr", kind="fhir-r4", settings=settings,
                                         secrets={"token": token}))


@pytest.fixture(scope="module")
def seeded(fhir_server):
    return seed(fhir_server)


def seed(fhir_server, day: str = DAY, npi: str = NPI) -> dict:
    """A day on the EHR: one Encounter with its Appointment, Patient and Practitioner; an
    Appointment with no Encounter; a cancelled one; one whose Patient has no name; one on
    the next day."""
    tag = uuid.uuid4().hex[:6]
    mrn = f"MRN-{tag}"
    patient = fhir_server.post("Patient", {
        "resourceType": "Patient", "identifier": [
            {"system": "urn:other", "value": "X-1"},
            {"system": MRN_SYSTEM, "value": mrn,
             "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                  "code": "MR"}]}}],
        "name": [{"use": "official", "family": "de la Cruz", "given": ["Maria", "Luisa"]}],
        "gender": "female", "birthDate": "1970-05-04"})
    other = fhir_server.post("Patient", {"resourceType": "Patient", "identifier": [
        {"system": MRN_SYSTEM, "value": f"MRN2-{tag}"}], "name": [{"family": "Okafor",
                                                                   "given": ["Chidi"]}]})
    nameless = fhir_server.post("Patient", {"resourceType": "Patient", "identifier": [
        {"system": MRN_SYSTEM, "value": f"MRN3-{tag}"}]})
    practitioner = fhir_server.post("Practitioner", {
        "resourceType": "Practitioner", "identifier": [{"system": NPI_SYSTEM, "value": npi}],
        "name": [{"family": "Roe", "given": ["Jane"]}]})
    appt = fhir_server.post("Appointment", {
        "resourceType": "Appointment", "status": "booked",
        "start": f"{day}T10:30:00Z", "end": f"{day}T10:50:00Z",
        "participant": [{"actor": {"reference": f"Patient/{patient['id']}"}, "status": "accepted"},
                        {"actor": {"reference": f"Practitioner/{practitioner['id']}"},
                         "status": "accepted"}]})
    encounter = fhir_server.post("Encounter", {
        "resourceType": "Encounter", "status": "planned",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999.2", "value": f"VN-{tag}",
                        "type": {"coding": [{"code": "VN"}]}}],
        "subject": {"reference": f"Patient/{patient['id']}"},
        "participant": [{"individual": {"reference": f"Practitioner/{practitioner['id']}"}}],
        "appointment": [{"reference": f"Appointment/{appt['id']}"}],
        "location": [{"location": {"display": "Clinic room 2"}}],
        "period": {"start": f"{day}T10:30:00Z", "end": f"{day}T10:50:00Z"}})
    for status, who in (("booked", other), ("cancelled", other), ("booked", nameless)):
        fhir_server.post("Appointment", {
            "resourceType": "Appointment", "status": status, "start": f"{day}T14:00:00Z",
            "end": f"{day}T14:20:00Z", "participant": [
                {"actor": {"reference": f"Patient/{who['id']}"}, "status": "accepted"}]})
    fhir_server.post("Appointment", {     # another day: not pulled
        "resourceType": "Appointment", "status": "booked", "start": "2026-12-04T09:00:00Z",
        "participant": [{"actor": {"reference": f"Patient/{other['id']}"}, "status": "accepted"}]})
    return {"mrn": mrn, "patient": patient, "practitioner": practitioner, "encounter": encounter,
            "appointment": appt, "nameless": nameless, "tag": tag}


def pull(fhir_server, **kw):
    c = connector(fhir_server.base, **kw)
    return SchedulePull(c.search, c.read, MRN_SYSTEM).pull(DAY)


def test_pull_reads_the_day_with_patient_and_practitioner(fhir_server, seeded, db, cipher):
    result = pull(fhir_server)
    by_mrn = {v.patient_id: v for v, _ in result.visits}
    assert set(by_mrn) == {seeded["mrn"], f"MRN2-{seeded['tag']}"}      # cancelled, other day out
    v = by_mrn[seeded["mrn"]]
    assert (v.family, v.given, v.middle, v.sex, v.birth_date) == (
        "de la Cruz", "Maria", "Luisa", "F", "1970-05-04")
    assert (v.patient_authority, v.visit_number) == (MRN_SYSTEM, f"VN-{seeded['tag']}")
    assert v.visit_time == f"{DAY}T10:30:00Z" and v.location == "Clinic room 2"
    assert v.clinician_npi == NPI and v.fhir_patient == f"Patient/{seeded['patient']['id']}"
    assert v.fhir_encounter == f"Encounter/{seeded['encounter']['id']}"
    assert v.fhir_appointment == f"Appointment/{seeded['appointment']['id']}"
    # The appointment without a name is reported by id and skipped; the rest arrived.
    assert len(result.problems) == 1 and "family name" in result.problems[0]
    assert seeded["mrn"] not in result.problems[0]
    store = ScheduleStore(db, cipher)
    for visit, raw in result.visits:
        store.put(visit, raw, "fhir")
    for visit, raw in pull(fhir_server).visits:       # a second pull updates, never duplicates
        store.put(visit, raw, "fhir")
    assert len(store.day(DAY)) == 2


def test_pull_with_a_wrong_token_fails_with_a_clear_error(fhir_server, seeded):
    with pytest.raises(DeliveryError, match="refused our credentials"):
        pull(fhir_server, token="wrong")


def test_note_from_the_pulled_visit_references_the_seeded_resources(fhir_server, seeded):
    visit = next(v for v, _ in pull(fhir_server).visits if v.patient_id == seeded["mrn"])
    note = replace(make_note(7, mrn=seeded["mrn"]), patient=visit.patient(),
                   visit=visit.context())
    c = connector(fhir_server.base)
    receipt = c.push(note)
    doc = fhir_server.get(f"DocumentReference/{receipt.remote_id}")
    DocumentReference.model_validate(doc)
    assert doc["meta"]["profile"] == [US_CORE_PROFILE]
    assert doc["subject"]["reference"] == f"Patient/{seeded['patient']['id']}"
    assert doc["context"]["encounter"] == [{"reference":
                                            f"Encounter/{seeded['encounter']['id']}"}]
    assert doc["context"]["period"] == {"start": f"{DAY}T10:30:00Z", "end": f"{DAY}T10:50:00Z"}
    assert doc["author"][0]["reference"] == f"Practitioner/{seeded['practitioner']['id']}"
    assert doc["content"][0]["format"] == FORMAT_CODE
    # The EHR finds it from its own Encounter and Patient.
    by_enc = fhir_server.get("DocumentReference", encounter=f"Encounter/{seeded['encounter']['id']}")
    assert [e["resource"]["id"] for e in by_enc["entry"]] == [receipt.remote_id]
    by_patient = fhir_server.get("DocumentReference", subject=f"Patient/{seeded['patient']['id']}")
    assert receipt.remote_id in [e["resource"]["id"] for e in by_patient["entry"]]


def test_author_without_a_practitioner_on_the_server_is_a_logical_npi_reference(fhir_server):
    note = make_note(8)
    c = connector(fhir_server.base, clinician_npi="Dr Jane Roe=1999999992")
    assert c.author(note) == {"identifier": {"system": NPI_SYSTEM, "value": "1999999992"},
                              "display": "Dr Jane Roe"}
    assert connector(fhir_server.base, clinician_npi="").author(note) is None


def test_check_proves_the_credentials(fhir_server):
    assert connector(fhir_server.base).check().ok
    bad = connector(fhir_server.base, token="wrong").check()
    # /metadata answers without credentials; the authorized search is what fails.
    assert not bad.ok and "authorized search failed" in bad.summary
    assert "refused our credentials (401)" in bad.summary


def _swallowing_server():
    """A server that reads the request and closes without answering: the answer is lost."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)

    def run():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()
    threading.Thread(target=run, daemon=True).start()
    return srv


def test_a_lost_answer_is_reported_as_lost_not_unreachable():
    srv = _swallowing_server()
    try:
        c = connector(f"http://127.0.0.1:{srv.getsockname()[1]}/fhir", clinician_npi="")
        with pytest.raises(DeliveryError) as lost:
            c.push(make_note(9))
    finally:
        srv.close()
    assert "answer to the POST was lost" in lost.value.message and lost.value.retryable
    assert "unreachable" not in lost.value.message
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(DeliveryError) as down:
        connector(f"http://127.0.0.1:{closed}/fhir", clinician_npi="").push(make_note(10))
    assert "unreachable" in down.value.message and "nothing was sent" in down.value.message
