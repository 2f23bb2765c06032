"""Record first, name later (issue 12): a visit started with no patient is signed only once its
patient is identified. The rule is the core's (``Patient.identity_problem``, enforced by the
vault at signing): the session, the store beneath it and `localscribe note sign` all refuse
with the same one line, and attaching the patient is audited without PHI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from localscribe.domain import Patient
from localscribe.pipeline.patient import PatientDetailsError, attach_patient
from localscribe.vault.encounters import NoteLocked, PatientNotIdentified
from localscribe.vault.roles import PermissionDenied

NAME, MRN, DOB = "Quentin Zarkov", "MRN-QZ-8812", "1957-03-09"
PASS = "correct horse battery staple"      # tests/pipeline/conftest.py's


def _unnamed_with_note(s) -> str:
    eid = s.create_encounter(Patient(), "soap")
    s.save_note_version(eid, "PLAN\nRest and fluids.")
    return eid


def test_identity_rule():
    assert Patient().identity_problem() == "the patient's name is missing"
    assert Patient(name="  ", mrn="M-1").identity_problem() == "the patient's name is missing"
    assert Patient(name=NAME).identity_problem() == "a date of birth or an MRN is missing"
    assert Patient(name=NAME, mrn=" ").identity_problem() == "a date of birth or an MRN is missing"
    assert Patient(name=NAME, mrn=MRN).identity_problem() == ""
    assert Patient(name=NAME, birth_date=DOB).identity_problem() == ""


def test_sign_refused_until_the_patient_is_attached_then_signed(clinician_session):
    s = clinician_session
    eid = _unnamed_with_note(s)
    with pytest.raises(PatientNotIdentified) as refused:
        s.sign(eid)
    message = str(refused.value)
    assert "\n" not in message and "not identified" in message and "name" in message
    # A name alone is not an identity: still refused, now for the missing DOB/MRN.
    attach_patient(s, eid, Patient(name=NAME))
    with pytest.raises(PatientNotIdentified, match="date of birth or an MRN is missing"):
        s.sign(eid)
    # The store beneath the session holds the same rule (nothing signs around the session).
    with pytest.raises(PatientNotIdentified):
        s._encounters.sign(eid, s.user)
    assert s.signed_note(eid) is None and s.get_encounter(eid).status == "new"

    attach_patient(s, eid, Patient(name=f"  {NAME} ", mrn=MRN, birth_date=DOB), consent=True)
    note = s.sign(eid)
    assert note.patient == Patient(NAME, MRN, DOB)            # what was attached, trimmed
    assert s.get_encounter(eid).status == "signed"
    # Once signed, the patient the note was signed for stays: no re-attaching.
    with pytest.raises(NoteLocked):
        attach_patient(s, eid, Patient(name="Someone Else", mrn="X-1"))
    assert s.signed_note(eid).patient == Patient(NAME, MRN, DOB)

    auditor = s.auditor()
    try:
        events = auditor.audit_events()
    finally:
        auditor.lock()
    mine = [(e.action, e.outcome, e.details) for e in events if e.object == eid]
    refusals = [d for a, o, d in mine if a == "sign" and o == "refused"]
    assert [d["missing"] for d in refusals] == ["the patient's name is missing",
                                                "a date of birth or an MRN is missing"]
    attached = [d for a, o, d in mine if a == "encounter.patient"]
    assert attached == [{"fields": ["name"], "identified": False},
                        {"fields": ["name", "mrn", "birth_date"], "identified": True}]
    assert ("consent", "ok", {"after_start": True}) in mine
    assert ("sign", "ok") in [(a, o) for a, o, _ in mine]
    # No PHI in the trail: like encounter.create, the events name fields, never values.
    trail = json.dumps([(e.action, e.object, e.details) for e in events])
    for phi in (NAME, "Quentin", MRN, DOB):
        assert phi not in trail


def test_bad_details_are_refused_and_change_nothing(clinician_session):
    s = clinician_session
    eid = _unnamed_with_note(s)
    for bad, why in ((Patient(NAME, birth_date="09/03/1957"), "not a date"),
                     (Patient(NAME, birth_date="2999-01-01"), "in the future")):
        with pytest.raises(PatientDetailsError, match=why):
            attach_patient(s, eid, bad)
        assert s.get_encounter(eid).patient == Patient()


def test_a_visit_from_the_ehr_schedule_keeps_the_ehr_patient(clinician_session):
    from localscribe.ingest import service as schedule
    from localscribe.ingest.model import ScheduledVisit
    s = clinician_session
    visit = schedule.receive(s, ScheduledVisit(source="hl7", patient_id="MRN-4471", family="Cruz",
                                               given="Maria", birth_date="1961-04-02",
                                               visit_time="2026-11-29T09:30:00"),
                             b"MSH|test", "SIU^S12")
    eid = schedule.start_visit(s, visit.id, "soap")
    ehr_patient = s.get_encounter(eid).patient
    assert ehr_patient.mrn == "MRN-4471"
    with pytest.raises(PatientDetailsError, match="EHR's schedule"):
        attach_patient(s, eid, Patient(NAME, MRN))
    assert s.get_encounter(eid).patient == ehr_patient
    attach_patient(s, eid, ehr_patient, consent=True)       # the same details: nothing changes
    assert s.get_encounter(eid).patient == ehr_patient


def test_only_phi_writers_attach(tmp_path):
    from localscribe.config import Paths
    from localscribe.vault import TEST_PARAMS, Vault
    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    vault = Vault.create(paths, "admin", "pass phrase one two", kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", "pass phrase one two")
    admin.add_user("doc", "clinician", "pass phrase one two")
    admin.add_user("asst", "assistant", "pass phrase one two")
    doc = vault.unlock("doc", "pass phrase one two")
    eid = doc.create_encounter(Patient(), "soap")
    with pytest.raises(PermissionDenied):
        admin.set_patient(eid, Patient(NAME, MRN))          # an admin never touches PHI
    asst = vault.unlock("asst", "pass phrase one two")
    asst.set_patient(eid, Patient(NAME, MRN))               # the assistant prepares the visit
    assert doc.get_encounter(eid).patient == Patient(NAME, MRN)
    for s in (admin, doc, asst):
        s.lock()
    vault.close()


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess:
    """`localscribe ARGS` as the clinician, in a fresh process, against the test's vault."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER="drlee", LOCALSCRIBE_PASSPHRASE=PASS,
               LOCALSCRIBE_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "localscribe", *args], capture_output=True,
                          text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_note_sign_obeys_the_same_rule(clinician_session):
    s = clinician_session
    eid = _unnamed_with_note(s)
    data = s.vault.paths.data_dir
    s.lock()
    r = _cli(data, "note", "sign", eid)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not identified" in lines[0], r.stderr
    assert f"localscribe encounters patient {eid}" in lines[0]

    r = _cli(data, "encounters", "patient", eid[:8], "--patient-name", NAME, "--dob", "1957-13-40")
    assert r.returncode == 2 and "not a date" in r.stderr, r.stderr
    r = _cli(data, "encounters", "patient", eid[:8], "--patient-name", NAME, "--mrn", MRN,
             "--consent", "agreed", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["patient"] == {"name": NAME, "mrn": MRN, "birth_date": ""}
    r = _cli(data, "note", "sign", eid, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 1


def test_a_note_signed_before_the_rule_can_still_be_amended(clinician_session):
    """Vaults from before this rule hold notes signed for a name alone; an amendment keeps
    the patient its note was signed for instead of locking the note for good."""
    from localscribe.vault.db import transaction
    s = clinician_session
    eid = s.create_encounter(Patient(NAME, MRN), "soap")
    s.save_note_version(eid, "PLAN\nRest.")
    s.sign(eid)
    store = s._encounters       # as an older version left it: the MRN never given
    with transaction(store.db):
        store.db.execute("UPDATE encounters SET patient_mrn = ? WHERE id = ?",
                         (store.cipher.seal_text("encounters", eid, "patient_mrn", ""), eid))
    assert s.get_encounter(eid).patient == Patient(NAME)
    note = s.amend(eid, "PLAN\nRest and fluids.")
    assert note.version == 2 and s.get_encounter(eid).status == "amended"
