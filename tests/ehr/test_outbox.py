"""The outbox on a real SQLite file with the vault's real FieldCipher."""

from __future__ import annotations

import random

import pytest

from localscribe.domain import PushReceipt
from localscribe.ehr.outbox import Outbox, OutboxError, RetryPolicy
from localscribe.ehr.protocol import DeliveryError
from localscribe.vault.db import connect


class Recorder:
    """A connector that records what it was asked to deliver and fails on demand."""

    def __init__(self, fail_with=None):
        self.fail_with = fail_with
        self.pushed, self.amended = [], []

    def push(self, note):
        if self.fail_with:
            raise self.fail_with
        self.pushed.append(note)
        return PushReceipt("r", note.note_id, True, remote_id=f"R-{note.note_id}")

    def amend(self, note, replaces_remote_id):
        self.amended.append((note, replaces_remote_id))
        return PushReceipt("r", note.note_id, True, remote_id=f"R-{note.note_id}")


@pytest.fixture
def clock():
    return [1_000_000.0]


def make_outbox(db, cipher, audit, clock, **policy):
    return Outbox(db, cipher, audit, RetryPolicy(**policy), clock=lambda: clock[0],
                  rng=random.Random(7))


def test_payload_is_sealed_and_survives_a_restart(tmp_path, cipher, audit, clock, note_factory):
    path = tmp_path / "vault.sqlite"
    note = note_factory(1, text="Very private finding: left knee effusion.")
    job = make_outbox(connect(path), cipher, audit, clock).enqueue("ehr", note)
    raw = path.read_bytes()
    assert b"left knee effusion" not in raw and b"MRN-0042" not in raw
    reopened = make_outbox(connect(path), cipher, audit, clock)   # "restart"
    assert reopened.get(job.id).state == "queued"
    assert reopened.note(job.id) == note
    conn = Recorder()
    assert reopened.drain(lambda n: conn).delivered == [job.id]
    assert conn.pushed == [note]
    assert reopened.get(job.id).remote_id == f"R-{note.note_id}"
    assert "ehr.outbox.enqueue" in audit.actions() and "ehr.push" in audit.actions()


def test_enqueue_twice_is_one_job(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock)
    note = note_factory(2)
    assert ob.enqueue("ehr", note).id == ob.enqueue("ehr", note).id
    assert len(ob.list()) == 1


def test_backoff_grows_with_jitter_and_is_capped(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock, base_s=10, factor=2, cap_s=60, jitter=0.25,
                     max_attempts=100)
    job = ob.enqueue("ehr", note_factory(3))
    down = Recorder(DeliveryError("EHR unreachable", retryable=True))
    waits = []
    for _ in range(6):
        ob.drain(lambda n: down)
        j = ob.get(job.id)
        waits.append(j.next_attempt_at - clock[0])
        clock[0] = j.next_attempt_at
    nominal = [10, 20, 40, 60, 60, 60]
    for wait, nom in zip(waits, nominal):
        assert 0.75 * nom <= wait <= nom
    assert ob.get(job.id).attempts == 6 and ob.get(job.id).last_error == "EHR unreachable"


def test_max_attempts_then_failed_then_retry_by_hand(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock, base_s=1, jitter=0, max_attempts=3)
    job = ob.enqueue("ehr", note_factory(4))
    assert ob.next_due_in() == 0
    down = Recorder(DeliveryError("EHR unreachable", retryable=True, detail="503 from proxy"))
    for _ in range(3):
        ob.drain(lambda n: down)
        if ob.get(job.id).state == "queued":
            assert 0 < ob.next_due_in() <= 4
        clock[0] += 100
    assert ob.next_due_in() is None
    failed = ob.get(job.id)
    assert failed.state == "failed" and failed.attempts == 3
    assert failed.error_detail == "503 from proxy"
    assert b"503 from proxy" not in db.execute("select error_detail from ehr_outbox").fetchone()[0]
    ob.retry(job.id[:8])                    # by hand, with a short id
    assert ob.drain(lambda n: Recorder()).delivered == [job.id]
    with pytest.raises(OutboxError):
        ob.retry(job.id)                    # delivered jobs stay delivered


def test_permanent_error_fails_at_once_and_cancel(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock)
    job = ob.enqueue("ehr", note_factory(5))
    ob.drain(lambda n: Recorder(DeliveryError("rejected (AR)", retryable=False, detail="x")))
    assert ob.get(job.id).state == "failed"
    assert ob.cancel(job.id).state == "cancelled"
    assert ob.drain(lambda n: Recorder()).delivered == []
    with pytest.raises(OutboxError):
        ob.cancel(job.id)
    assert "ehr.outbox.cancel" in audit.actions()


def test_interrupted_send_is_taken_up_after_the_lease(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock, lease_s=300)
    job = ob.enqueue("ehr", note_factory(6))
    ob._claim(ob.get(job.id))               # the process dies right after claiming
    assert ob.get(job.id).state == "sending"
    restarted = make_outbox(db, cipher, audit, clock, lease_s=300)
    assert restarted.drain(lambda n: Recorder()).delivered == []     # lease still running
    clock[0] += 301
    assert restarted.drain(lambda n: Recorder()).delivered == [job.id]


def test_amendment_waits_for_its_original(db, cipher, audit, clock, note_factory):
    ob = make_outbox(db, cipher, audit, clock, base_s=5, jitter=0)
    original = note_factory(7)
    amended = note_factory(7, text="fixed", replaces=original.note_id)
    first = ob.enqueue("ehr", original)
    second = ob.enqueue("ehr", amended)
    down = Recorder(DeliveryError("down", retryable=True))
    report = ob.drain(lambda n: down)
    assert report.retrying == [first.id] and report.deferred == [second.id]
    assert ob.get(second.id).attempts == 0
    clock[0] += 60
    conn = Recorder()
    report = ob.drain(lambda n: conn)
    assert report.delivered == [first.id, second.id]
    assert conn.amended == [(amended, f"R-{original.note_id}")]


def test_unknown_connector_fails_the_job_with_a_clear_message(db, cipher, audit, clock,
                                                               note_factory):
    ob = make_outbox(db, cipher, audit, clock)
    job = ob.enqueue("gone", note_factory(8))

    def resolve(name):
        raise LookupError(f"no connector named '{name}' is configured")

    ob.drain(resolve)
    assert ob.get(job.id).state == "failed" and "gone" in ob.get(job.id).last_error
