"""FHIR R4 connector against Medplum's FHIR router (in-memory repository) on loopback.

Every resource the server ends up holding is also validated with fhir.resources (R4B)."""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhir.resources.R4B.documentreference import DocumentReference

from localscribe.ehr.fhir import FhirConnector
from localscribe.ehr.fhir_auth import client_assertion
from localscribe.ehr.fhir_document import build_document_reference, loinc_for_template
from localscribe.ehr.outbox import Outbox, RetryPolicy
from localscribe.ehr.protocol import (ConnectorConfig, DeliveryError, PatientIdentifierMissing,
                                      SettingsError)

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.999.1"


def fhir(server, **extra):
    settings = {"base_url": server.base, "mrn_system": MRN_SYSTEM, "auth": "bearer",
                "timeout_seconds": 5.0, **extra}
    secrets = {"token": extra.pop("token", server.token)}
    settings.pop("token", None)
    return FhirConnector(ConnectorConfig(name="ehr", kind="fhir-r4", settings=settings,
                                         secrets=secrets))


def documents(server, note_id):
    bundle = server.get("DocumentReference", identifier=f"urn:localscribe:note-id|{note_id}")
    return [e["resource"] for e in bundle.get("entry", [])]


def test_check_reports_fhir_version(fhir_server):
    result = fhir(fhir_server).check()
    assert result.ok and "4.0.1" in result.summary


def test_create_then_retried_create_does_not_duplicate(fhir_server, note_factory):
    note = note_factory(1)
    c = fhir(fhir_server)
    first = c.push(note)
    again = c.push(note)                      # e.g. the first answer was lost
    assert first.delivered and again.delivered
    assert first.remote_id and again.remote_id == first.remote_id
    assert "already" in again.detail
    stored = documents(fhir_server, note.note_id)
    assert len(stored) == 1
    doc = DocumentReference.model_validate(stored[0])
    assert base64.b64decode(stored[0]["content"][0]["attachment"]["data"]).decode() == note.text
    assert doc.type.coding[0].code == "11506-3"
    assert stored[0]["subject"]["identifier"] == {"system": MRN_SYSTEM, "value": "MRN-0042"}
    assert stored[0]["context"]["encounter"][0]["identifier"]["value"] == note.encounter_id
    assert stored[0]["category"][0]["coding"][0]["code"] == "clinical-note"


def test_amendment_replaces_the_original(fhir_server, note_factory):
    c = fhir(fhir_server)
    original = note_factory(2)
    first = c.push(original)
    amended = note_factory(2, text="Corrected plan.", replaces=original.note_id)
    receipt = c.amend(amended, first.remote_id)
    [doc] = documents(fhir_server, amended.note_id)
    DocumentReference.model_validate(doc)
    assert doc["relatesTo"] == [{"code": "replaces",
                                 "target": {"reference": f"DocumentReference/{first.remote_id}"}}]
    assert doc["docStatus"] == "amended" and receipt.remote_id == doc["id"]
    assert len(documents(fhir_server, original.note_id)) == 1


def test_wrong_token_is_a_permanent_failure(fhir_server, note_factory):
    with pytest.raises(DeliveryError) as err:
        fhir(fhir_server, token="wrong").push(note_factory(3))
    assert not err.value.retryable and "credentials" in err.value.message


def test_patient_search_links_the_server_record(fhir_server, note_factory):
    patient = fhir_server.post("Patient", {"resourceType": "Patient", "identifier": [
        {"system": MRN_SYSTEM, "value": "MRN-7777"}], "name": [{"family": "Silva"}]})
    c = fhir(fhir_server, patient_lookup="search")
    note = note_factory(4, mrn="MRN-7777")
    c.push(note)
    [doc] = documents(fhir_server, note.note_id)
    assert doc["subject"]["reference"] == f"Patient/{patient['id']}"
    with pytest.raises(DeliveryError) as err:              # nobody with that MRN there
        c.push(note_factory(5, mrn="MRN-NOPE"))
    assert not err.value.retryable and "no patient" in err.value.message


def test_missing_mrn_blocks_sending(fhir_server, note_factory):
    with pytest.raises(PatientIdentifierMissing):
        fhir(fhir_server).push(note_factory(6, mrn=""))


def test_server_down_queued_then_delivered_once_back(fhir_server, note_factory, db, cipher,
                                                     audit):
    clock = [1000.0]
    outbox = Outbox(db, cipher, audit, RetryPolicy(base_s=10, jitter=0), clock=lambda: clock[0])
    c = fhir(fhir_server)
    note = note_factory(7)
    fhir_server.stop()
    job = outbox.enqueue("ehr", note)
    report = outbox.drain(lambda name: c)
    assert report.retrying == [job.id]
    job = outbox.get(job.id)
    assert job.state == "queued" and job.attempts == 1 and "unreachable" in job.last_error
    assert job.next_attempt_at == pytest.approx(1010.0)
    assert outbox.drain(lambda name: c).retrying == []        # not due yet
    fhir_server.start()                                       # same port, same stored state
    clock[0] += 11
    assert outbox.drain(lambda name: c).delivered == [job.id]
    assert outbox.get(job.id).state == "delivered"
    assert len(documents(fhir_server, note.note_id)) == 1


def test_settings_refuse_plain_http_to_remote_hosts():
    with pytest.raises(SettingsError) as err:
        FhirConnector(ConnectorConfig("ehr", "fhir-r4", {"base_url": "http://ehr.example/fhir",
                                                         "mrn_system": "x", "auth": "bearer"},
                                      {"token": "t"}))
    assert "https" in str(err.value)
    with pytest.raises(SettingsError) as err:
        FhirConnector(ConnectorConfig("ehr", "fhir-r4", {"base_url": "https://ehr.example/fhir",
                                                         "mrn_system": "x", "auth": "smart"}))
    assert "token_url" in str(err.value) and "private_key" in str(err.value)


def test_tls_verification_is_on_by_default():
    c = FhirConnector(ConnectorConfig("ehr", "fhir-r4", {"base_url": "https://ehr.example/fhir",
                                                         "mrn_system": "x", "auth": "bearer"},
                                      {"token": "t"}))
    assert c.session().verify is True


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_smart_client_assertion_verifies_with_the_public_key(alg):
    key = rsa.generate_private_key(65537, 2048) if alg == "RS384" \
        else ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    token = client_assertion("client-1", "https://ehr.example/token", pem, alg, key_id="k1")
    assert jwt.get_unverified_header(token)["alg"] == alg
    claims = jwt.decode(token, key.public_key(), algorithms=[alg],
                        audience="https://ehr.example/token")
    assert claims["iss"] == claims["sub"] == "client-1" and claims["exp"] - claims["iat"] == 300


def test_every_built_document_validates(note_factory):
    note = note_factory(8)
    doc = build_document_reference(note, {"identifier": {"system": "s", "value": "v"}},
                                   replaces_remote_id="abc")
    DocumentReference.model_validate(doc)
    bad = dict(doc, status="bogus")
    from localscribe.ehr.fhir_document import validate_document_reference

    with pytest.raises(DeliveryError):
        validate_document_reference(bad)
    assert loinc_for_template("no-such-template") == ("11506-3", "Progress note")
