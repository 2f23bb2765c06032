"""A child process that uses the vault like the app does; driven by the tests.

Usage: python session_child.py DATA_DIR USER PASSPHRASE MODE
MODE "store": store known phrases and audio, print "ready", wait for a line on stdin, exit.
MODE "record": record a known ramp in real time, printing "t <samples handed to the spool>"
after each block, until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from localscribe.security.egress import install_guard

install_guard()

import numpy as np  # noqa: E402

from localscribe.config import Paths  # noqa: E402
from localscribe.domain import (Draft, Patient, Section, Segment, Statement,  # noqa: E402
                                Transcript)
from localscribe.vault import Vault  # noqa: E402

PHRASES = {
    "name": "Zebulon Quackenbush",
    "mrn": "MRN-77812345",
    "dob": "1931-07-19",
    "transcript": "persistent tingling in the left pinky since the ferry crossing",
    "draft": "Patient describes tingling after the ferry crossing",
    "note": "Assessment: suspected ulnar neuropathy, Quackenbush to return in two weeks",
    "amend": "Addendum: nerve conduction study booked at Lighthouse Clinic",
}


def known_audio(start: int, n: int) -> np.ndarray:
    """A ramp-modulated tone whose every sample is predictable from its index."""
    i = np.arange(start, start + n, dtype=np.float64)
    return (0.5 * np.sin(2 * np.pi * 440.0 * i / 16000.0) * (0.5 + 0.4 * np.sin(i / 7919.0))
            ).astype(np.float32)


def store(session) -> None:
    eid = session.create_encounter(Patient(PHRASES["name"], PHRASES["mrn"], PHRASES["dob"]), "soap")
    with session.open_audio_spool(eid) as spool:
        for k in range(0, 48000, 1600):
            spool.write(known_audio(k, 1600))
    session.save_transcript(eid, Transcript([Segment("s1", 0.0, 3.0, PHRASES["transcript"],
                                                     "patient")]))
    draft = Draft("soap", [Section("subjective", "SUBJECTIVE",
                                   [Statement("st1", PHRASES["draft"], ["s1"])])])
    session.save_draft(eid, draft)
    session.save_note_version(eid, PHRASES["note"])
    from localscribe.vault.consent import record as record_consent
    record_consent(session, eid, True)      # the recorded patient consented (vault.consent)
    session.sign(eid)
    session.amend(eid, PHRASES["note"] + "\n" + PHRASES["amend"])
    # a second encounter stays unsigned so its audio remains on disk
    eid2 = session.create_encounter(Patient(PHRASES["name"], PHRASES["mrn"], PHRASES["dob"]),
                                    "soap")
    with session.open_audio_spool(eid2) as spool:
        spool.write(known_audio(0, 32000))
    session.save_transcript(eid2, Transcript([Segment("s1", 0.0, 2.0, PHRASES["transcript"])]))
    session.save_note_version(eid2, PHRASES["note"])
    print("ready", eid, eid2, flush=True)
    sys.stdin.readline()
    session.lock()


def record(session) -> None:
    eid = session.create_encounter(Patient("Rec Test", "R-1", ""), "soap")
    print("eid", eid, flush=True)
    spool = session.open_audio_spool(eid)
    block, given = 1600, 0     # 100 ms blocks, as a capture callback delivers them
    t0 = time.monotonic()
    while True:
        spool.write(known_audio(given, block))
        given += block
        print("t", given, flush=True)
        time.sleep(max(0.0, t0 + given / 16000.0 - time.monotonic()))


def main() -> None:
    data_dir, user, passphrase, mode = sys.argv[1:5]
    vault = Vault.open(Paths(Path(data_dir), Path(data_dir) / "models"))
    session = vault.unlock(user, passphrase)
    {"store": store, "record": record}[mode](session)


if __name__ == "__main__":
    main()
