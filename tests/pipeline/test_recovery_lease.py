"""Which encounters the next unlock marks interrupted: only those in an active status that no
live process holds, and not one created and never recorded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from localscribe.pipeline import VaultVisitStore
from localscribe.vault import visit_lease
from localscribe.vault.encounters import EncounterStatus

from tests.pipeline.conftest import PASS


def _unlock_again(session):
    return session.vault.unlock(session.user, PASS)


def test_only_orphaned_recorded_visits_become_interrupted(clinician_session):
    s = clinician_session
    from localscribe.domain import Patient
    never = s.create_encounter(Patient(name="Never Recorded"), "soap")
    held = s.create_encounter(Patient(name="Held"), "soap")
    orphan = s.create_encounter(Patient(name="Orphan"), "soap")
    drafting = s.create_encounter(Patient(name="Drafting"), "soap")
    for eid in (held, orphan):
        s.set_status(eid, EncounterStatus.RECORDING.value)     # as LiveVisit.start does
        spool = s.open_audio_spool(eid)
        spool.write(np.zeros(16000, dtype=np.float32))
        spool.flush()                  # on disk, never closed: as after a kill -9
    s.set_status(drafting, EncounterStatus.DRAFTING.value)
    live = VaultVisitStore(s, held)
    live.begin()                       # this process is still working on `held`
    # A lease held by another, live process counts too (flock is per open file).
    data_dir = s.vault.paths.data_dir
    other = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from pathlib import Path
from localscribe.vault.visit_lease import VisitLease
VisitLease(Path({str(data_dir)!r}), {drafting!r}).acquire(); print("held", flush=True); time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        again = _unlock_again(s)
        status = {e.id: e.status for e in again.list_encounters()}
        assert status == {never: "new", held: "recording", orphan: "interrupted",
                          drafting: "drafting"}
        other.kill()
        other.wait(10)
        live.finished()
        third = _unlock_again(s)
        status = {e.id: e.status for e in third.list_encounters()}
        assert status[drafting] == status[held] == "interrupted" and status[never] == "new"
        assert visit_lease.spooled_samples(s.vault.paths.audio_dir, orphan) == 16000
        marked = {e.object for e in s.auditor().audit_events()
                  if e.action == "encounter.interrupted"}
        assert marked == {orphan, held, drafting}       # each marking is on the audit trail
    finally:
        if other.poll() is None:
            other.kill()
