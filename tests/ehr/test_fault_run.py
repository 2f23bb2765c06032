"""Fault run: 100 signed notes through the outbox to an HL7 v2 receiver (hl7apy's MLLPServer)
that answers AR (busy), loses ACKs, drops connections and restarts at random (seeded). Every
note must end up stored exactly once, nothing lost. Prints the counts."""

from __future__ import annotations

import random
import threading
import time

from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.hl7v2 import read_text
from localscribe.ehr.outbox import Outbox, RetryPolicy
from localscribe.ehr.protocol import ConnectorConfig

from conftest import Receiver

N_NOTES = 100
SEED = 20261127


def test_fault_run_every_note_exactly_once(db, cipher, audit, note_factory, capsys):
    rng = random.Random(SEED)
    counts = {"AA": 0, "AR": 0, "ack lost": 0, "dropped": 0, "restarts": 0}

    def behave(msg, n):
        roll = rng.random()
        kind = ("AR", "boom: database busy") if roll < 0.12 else \
            ("silent", "") if roll < 0.22 else ("drop", "") if roll < 0.32 else ("AA", "")
        counts[{"AR": "AR", "silent": "ack lost", "drop": "dropped", "AA": "AA"}[kind[0]]] += 1
        return kind

    # Delivery semantics under chaos; the structure is validated strictly in the other HL7
    # tests, and doing it here too would turn most ACKs into timeouts on a loaded machine.
    receiver = Receiver(behave, strict=False)
    receiver.silent_wait = 0.3
    receiver.start()
    stop = threading.Event()

    def chaos():
        chaos_rng = random.Random(SEED + 1)
        while not stop.wait(chaos_rng.uniform(0.3, 0.8)):
            receiver.stop()
            counts["restarts"] += 1
            time.sleep(chaos_rng.uniform(0.05, 0.2))
            receiver.start()

    connector = Hl7MllpConnector(ConnectorConfig("hl7", "hl7v2-mllp", {
        "host": "127.0.0.1", "port": receiver.port, "timeout_seconds": 0.15,
        "resend_on_timeout": 1}))
    outbox = Outbox(db, cipher, audit, RetryPolicy(base_s=0.01, cap_s=0.1, max_attempts=10_000),
                    rng=random.Random(SEED + 2))
    notes = [note_factory(i) for i in range(N_NOTES)]
    for note in notes:
        outbox.enqueue("hl7", note)

    chaos_thread = threading.Thread(target=chaos, daemon=True)
    chaos_thread.start()
    started = time.monotonic()
    drains = 0
    try:
        while outbox.counts()["delivered"] < N_NOTES and time.monotonic() - started < 45:
            outbox.drain(lambda name: connector)
            drains += 1
            time.sleep(0.01)
    finally:
        stop.set()
        chaos_thread.join()
        receiver.stop()
    elapsed = time.monotonic() - started

    jobs = outbox.list()
    attempts = sum(j.attempts for j in jobs)
    arrivals: dict[str, set[str]] = {}
    for msg in receiver.received:
        info = read_text(msg)
        arrivals.setdefault(info["document_number"], set()).add(info["control_id"])
    repeats = len(receiver.received) - len(arrivals)
    summary = (f"\nfault run: {N_NOTES} notes, {outbox.counts()['delivered']} delivered, "
          f"{len(receiver.documents)} stored by the receiver, {len(receiver.received)} messages "
          f"received ({repeats} repeats; {receiver.duplicates} reached the store and were kept "
          f"out by the TXA-12 check), {attempts} outbox "
          f"attempts over {drains} drains; receiver answered AA {counts['AA']}, AR {counts['AR']}, "
          f"lost {counts['ack lost']} ACKs, dropped {counts['dropped']} connections, restarted "
          f"{counts['restarts']} times; {elapsed:.1f} s")
    with capsys.disabled():     # shown in the CI log even when the test passes
        print(summary)

    assert outbox.counts()["delivered"] == N_NOTES, outbox.counts()
    assert sorted(receiver.documents) == sorted(n.note_id for n in notes)   # nothing lost
    for doc, control_ids in arrivals.items():
        assert len(control_ids) == 1, f"{doc} was retried with a different MSH-10"
    # The faults really happened (a run without them would prove nothing).
    assert counts["AR"] and counts["ack lost"] and counts["dropped"] and counts["restarts"]
    assert receiver.duplicates > 0      # retries after lost ACKs did reach the receiver
