"""R4 (4.0.1) validation of what goes out and what comes in (fhirclient's R4 models).

An invalid outbound DocumentReference is refused with one PHI-free line before any request
reaches the server: a real loopback HTTP server counts what arrives. An invalid resource in a
schedule pull costs that visit only, named by its id."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import replace

import pytest

from localscribe.ehr.fhir import FhirConnector
from localscribe.ehr.fhir_document import build_document_reference
from localscribe.ehr.fhir_r4 import R4Invalid, validate_r4
from localscribe.ehr.protocol import ConnectorConfig, DeliveryError
from localscribe.ingest.fhir_schedule import SchedulePull

GOOD = {"resourceType": "DocumentReference", "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}],
        "subject": {"reference": "Patient/1"}, "date": "2026-11-26T10:00:00Z"}


@pytest.mark.parametrize("bad, where", [
    (dict(GOOD, status=3), "status (wrong type)"),
    (dict(GOOD, patientName="Maria de la Cruz"), "patientName (not an R4 element)"),
    ({k: v for k, v in GOOD.items() if k != "content"}, "content (required, missing)"),
    (dict(GOOD, date="Maria de la Cruz"), "date (bad format)"),
    (dict(GOOD, subject=[{"reference": "Patient/1"}]), "subject (wrong type)"),
    (dict(GOOD, content=[{"attachment": {"note": "Maria de la Cruz"}}]),
     "content.0.attachment.note (not an R4 element)"),
    # R4B/R5 spell the encounter context differently; R4 has context.encounter as a list.
    (dict(GOOD, context={"encounter": {"reference": "Encounter/1"}}),
     "context.encounter (wrong type)"),
])
def test_invalid_r4_is_one_phi_free_line_naming_the_element(bad, where):
    with pytest.raises(R4Invalid) as err:
        validate_r4(bad)
    message = str(err.value)
    assert where in message and "\n" not in message
    assert "Maria" not in message               # values stay in .detail, not the message
    validate_r4(GOOD)                            # and the valid one passes


def test_unknown_resource_types_and_non_objects_are_refused():
    for bad in ({"resourceType": "Bundle"}, {"status": "current"}, ["x"]):
        with pytest.raises(R4Invalid):
            validate_r4(bad)   # type: ignore[arg-type]


def test_every_built_document_is_valid_r4(note_factory):
    doc = build_document_reference(note_factory(3), {"reference": "Patient/p1"},
                                   replaces_remote_id="abc")
    validate_r4(doc)


class _Counting(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []
    body: bytes | None = None        # None: a created DocumentReference

    def _answer(self):
        type(self).seen.append(f"{self.command} {self.path}")
        body = self.body if self.body is not None else \
            json.dumps({"resourceType": "DocumentReference", "id": "x"}).encode()
        self.send_response(201 if self.body is None else 200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    _Counting.seen, _Counting.body = [], None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Counting.seen
    server.shutdown()
    server.server_close()


def test_an_invalid_body_is_refused_before_anything_is_sent(counting_server, note_factory):
    server, seen = counting_server
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    connector = FhirConnector(ConnectorConfig(name="ehr", kind="fhir-r4",
                                              settings={"base_url": base, "auth": "none"},
                                              secrets={}))
    good = note_factory(1)
    assert connector.push(good).delivered and [s.split()[0] for s in seen] == ["POST"]
    seen.clear()
    # A signing time that is no FHIR instant (a corrupted import, say) makes `date` invalid.
    bad = replace(note_factory(2), signed_at="Maria 26/11")
    with pytest.raises(DeliveryError) as err:
        connector.push(bad)
    assert "not valid FHIR R4 at" in err.value.message and "date (bad format)" in err.value.message
    assert "\n" not in err.value.message and "Maria" not in err.value.message
    assert err.value.retryable is False
    assert seen == []                            # nothing reached the server


def test_a_schedule_resource_that_is_not_r4_costs_only_its_visit():
    # Orchestration only (the Medplum server refuses to store invalid R4, so it cannot serve
    # one): search/read are plain callables here.
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Silva", "given": ["Ana"]}],
               "identifier": [{"system": "urn:mrn", "value": "M1"}], "birthDate": "1980-02-29"}
    good = {"resourceType": "Encounter", "id": "e1", "status": "planned",
            "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-11-26T10:00:00Z"}}
    bad = dict(good, id="e2", period={"start": "tomorrow-ish"})
    bundles = {"Encounter": [good, bad], "Appointment": []}

    def search(kind, params):
        return {"resourceType": "Bundle", "entry": [{"resource": r} for r in bundles[kind]]}

    result = SchedulePull(search, {"Patient/p1": patient}.__getitem__, "urn:mrn").pull("2026-11-26")
    assert [v.fhir_encounter for v, _ in result.visits] == ["Encounter/e1"]
    assert result.problems == ["Encounter/e2: Encounter is not valid FHIR R4 at "
                               "period.start (bad format)"]


def test_an_answer_that_is_not_a_fhir_object_is_a_clear_error(counting_server):
    # A proxy's HTML page with status 200, or a JSON list, where a Bundle belongs.
    server, _ = counting_server
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    connector = FhirConnector(ConnectorConfig(name="ehr", kind="fhir-r4",
                                              settings={"base_url": base, "auth": "none"},
                                              secrets={}))
    for body in (b"<html>proxy login</html>", b"[1, 2]"):
        _Counting.body = body
        with pytest.raises(DeliveryError, match="Encounter search answer was not a FHIR JSON"):
            connector.search("Encounter", {"date": "2026-11-26"})
