"""What an encounter's status says about delivery (``ehr.delivery``): a real vault, hl7apy's
MLLP receiver on loopback, down and then up."""

from __future__ import annotations

import time

import pytest

from localscribe.domain import Patient
from localscribe.ehr import delivery
from localscribe.ehr.outbox import RetryPolicy
from localscribe.ehr.service import EhrService
from localscribe.vault.roles import PermissionDenied

from conftest import Receiver, free_port, vault_with_clinician

# Seconds, not the product's 30 s: the test waits for the backoff to pass rather than
# making jobs due by hand, so what it checks is the automatic path.
FAST = RetryPolicy(base_s=0.2, cap_s=0.5, jitter=0.0)


@pytest.fixture
def world(tmp_path):
    paths, vault, admin = vault_with_clinician(tmp_path)
    port = free_port()
    EhrService.from_session(admin).configure(
        "hl7", {"host": "127.0.0.1", "port": port, "timeout_seconds": 10}, kind="hl7v2-mllp")
    doc = vault.unlock("doc", "clinician pass 1")
    eid = doc.create_encounter(Patient(name="Ana Silva", mrn="MRN-1"), "soap")
    doc.save_note_version(eid, "SUBJECTIVE\nCough for three days.\nPLAN\nFluids.")
    doc.sign(eid)
    receiver = Receiver()
    receiver.port = port
    yield vault, admin, doc, eid, receiver
    receiver.stop()
    vault.close()


def service(session):
    return EhrService(session.db, session.cipher, session.audit, policy=FAST)


def wait_until_due(svc):
    deadline = time.monotonic() + 5
    while not svc.outbox.due():
        assert time.monotonic() < deadline, "the retry never became due"
        time.sleep(0.05)


def test_send_pending_while_down_then_sent_by_the_drain(world):
    vault, admin, doc, eid, receiver = world
    svc = service(doc)
    jobs = delivery.send_encounter(doc, svc, eid, "hl7")
    assert [j.state for j in jobs] == ["queued"]
    assert doc.get_encounter(eid).status == "send_pending"

    receiver.start()
    wait_until_due(svc)
    report = delivery.drain(doc, svc)
    assert report.delivered == [jobs[0].id]
    assert doc.get_encounter(eid).status == "sent"
    assert len(receiver.documents) == 1


def test_an_amendment_not_yet_delivered_means_the_encounter_is_not_sent(world):
    vault, admin, doc, eid, receiver = world
    receiver.start()
    svc = service(doc)
    delivery.send_encounter(doc, svc, eid, "hl7")
    assert doc.get_encounter(eid).status == "sent"
    doc.amend(eid, "SUBJECTIVE\nCough for three days.\nPLAN\nFluids and rest.")
    receiver.stop()
    jobs = delivery.send_encounter(doc, svc, eid, "hl7")
    assert [j.kind for j in jobs] == ["push", "amend"]
    assert jobs[0].state == "delivered" and jobs[1].state == "queued"
    # What the clinician last signed has not arrived: the day list must not say "Sent".
    assert doc.get_encounter(eid).status == "send_pending"


def test_an_admin_cannot_drain_and_a_clinician_drain_brings_the_status_in_step(world):
    """Admins hold no patient-data key (separation of duties): a queued note is not theirs to
    send. A drain run as a clinician (the window's timer, or `outbox drain --user doc`) does."""
    vault, admin, doc, eid, receiver = world
    delivery.send_encounter(doc, service(doc), eid, "hl7")
    receiver.start()
    with pytest.raises(PermissionDenied):
        delivery.drain(admin, service(admin))
    assert not receiver.documents
    svc = service(doc)
    wait_until_due(svc)
    report = delivery.drain(doc, svc)
    assert len(report.delivered) == 1
    assert doc.get_encounter(eid).status == "sent"
    assert delivery.sync_statuses(doc, svc) == {}


def test_a_cancelled_job_shows_as_send_failed(world):
    vault, admin, doc, eid, receiver = world
    svc = service(doc)
    job = delivery.send_encounter(doc, svc, eid, "hl7")[0]
    svc.outbox.cancel(job.id)
    assert delivery.sync_statuses(doc, svc) == {eid: "send_failed"}
    assert doc.get_encounter(eid).status == "send_failed"
