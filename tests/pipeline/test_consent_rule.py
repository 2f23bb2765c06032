"""The practice's consent rule (issue 12: "patient details and consent attachable before
signing"): a visit recorded in this vault is signed only once the patient's consent is on the
audit trail (``vault.consent``, checked by ``Session.sign`` next to the identity rule), and a
patient who declines has the visit's recording, transcript and drafts erased, audited.
Real vaults, real files; each attack an auditor would try is kept as a test."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from localscribe.domain import Draft, Patient, Section, Segment, Statement, Transcript
from localscribe.instructions import store as instructions
from localscribe.instructions.prompts import Language
from localscribe.pipeline.patient import attach_patient
from localscribe.vault import audio_spool, consent
from localscribe.vault.consent import ConsentMissing, ConsentState
from localscribe.vault.crypto import TamperError
from localscribe.vault.integrity import IntegrityError

from tests.pipeline.test_record_first_core import _cli   # the clinician's CLI, one home

NAME, MRN = "Quentin Zarkov", "MRN-QZ-8812"
SPOKEN = "the ferry crossing left my left knee swollen"
PASS = "correct horse battery staple"      # tests/pipeline/conftest.py's


def _recorded(s, text: str = SPOKEN) -> str:
    """A visit as Record makes it: audio spooled (recording.start), transcript, draft, note."""
    eid = s.create_encounter(Patient(NAME, MRN), "soap")
    with s.open_audio_spool(eid) as spool:
        spool.write(np.full(16000, 0.1, np.float32))
    s.save_transcript(eid, Transcript([Segment("s1", 0.0, 1.0, text, "patient")]))
    s.save_draft(eid, Draft("soap", [Section("subjective", "SUBJECTIVE",
                                             [Statement("st1", text, ["s1"])])]))
    s.save_note_version(eid, f"SUBJECTIVE\n{text}\n")
    return eid


def _events(s, eid: str) -> list[tuple[str, str, dict]]:
    aud = s.auditor()
    try:
        return [(e.action, e.outcome, e.details) for e in aud.audit_events() if e.object == eid]
    finally:
        aud.lock()


def test_a_recorded_visit_is_signed_only_with_consent_on_record(clinician_session):
    s = clinician_session
    eid = _recorded(s)
    assert consent.sign_problem(s, eid) is ConsentState.NOT_RECORDED
    with pytest.raises(ConsentMissing) as refused:
        s.sign(eid)
    message = str(refused.value)
    assert "\n" not in message and "consent" in message and "Patient consented" in message
    assert s.signed_note(eid) is None
    consent.record(s, eid, True, after_start=True, via="sign_dialog")
    assert consent.sign_problem(s, eid) is None
    assert s.sign(eid).version == 1
    mine = _events(s, eid)
    assert ("sign", "refused", {"reason": "consent_not_recorded"}) in mine
    assert ("consent", "ok", {"after_start": True, "via": "sign_dialog"}) in mine


def test_a_visit_nothing_was_recorded_for_needs_no_consent(clinician_session):
    s = clinician_session
    eid = s.create_encounter(Patient(NAME, MRN), "soap")       # a note typed, nothing recorded
    s.save_note_version(eid, "PLAN\nRest.")
    assert consent.sign_problem(s, eid) is None
    assert s.sign(eid).version == 1


def test_the_practice_may_turn_the_rule_off_and_only_an_admin_can(clinician_session, tmp_path):
    from localscribe.vault.roles import PermissionDenied
    s = clinician_session
    eid = _recorded(s)
    with pytest.raises(PermissionDenied):
        s.set_setting(consent.REQUIRED, False)                 # a clinician cannot
    with pytest.raises(ValueError, match="true or false"):
        s.vault.unlock("admin", PASS).set_setting(consent.REQUIRED, "no")
    admin = s.vault.unlock("admin", PASS)
    admin.set_setting(consent.REQUIRED, False)
    admin.lock()
    assert s.sign(eid).version == 1


def test_the_setting_edited_in_the_file_is_refused(clinician_session):
    """An attacker with the file flips the rule off in the plain settings table: the signed
    security state disagrees and the vault refuses to open until an admin repairs it."""
    s = clinician_session
    paths = s.vault.paths
    s.lock()
    raw = sqlite3.connect(paths.vault_db)
    raw.execute("INSERT OR REPLACE INTO settings (key, value, updated_at, updated_by) VALUES "
                "(?, 'false', '2026-01-01T00:00:00Z', 'admin')", (consent.REQUIRED,))
    raw.commit()
    raw.close()
    from localscribe.vault import Vault
    vault = Vault.open(paths)
    try:
        with pytest.raises(IntegrityError):
            vault.unlock("drlee", PASS)
    finally:
        vault.close()


def test_a_consent_row_typed_into_the_file_is_not_consent(clinician_session):
    """Forging the patient's answer: a `consent ok` row inserted into the audit table (or the
    clinician's refusal rewritten to ok) does not verify, and signing says the file was edited."""
    s = clinician_session
    eid = _recorded(s)
    last = s.vault.db.execute("SELECT seq, prev_hash, hash, signer, sig FROM audit_events "
                              "ORDER BY seq DESC LIMIT 1").fetchone()
    s.vault.db.execute(
        "INSERT INTO audit_events (seq, time, actor, role, action, object, outcome, details, "
        "prev_hash, hash, mac, signer, sig) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (last[0] + 1000, "2026-01-01T00:00:00Z", "drlee", "clinician", "consent", eid, "ok", "{}",
         last[2], "0" * 64, "", last[3], last[4]))
    with pytest.raises(TamperError, match="does not verify"):
        s.sign(eid)
    assert s.signed_note(eid) is None


def test_a_declined_visit_loses_its_recording_and_transcript_and_is_never_signed(
        clinician_session):
    s = clinician_session
    eid = _recorded(s)
    instructions.save(s, eid, Draft("pi", [Section("pi_found", "WHAT WE FOUND",
                                                   [Statement("pi1", SPOKEN, ["s1"])])]),
                      Language("en"))
    audio_dir = audio_spool.encounter_dir(s.paths.audio_dir, eid)
    assert any(audio_dir.iterdir())
    cipher_rows = [r[0] for r in s.vault.db.execute(
        "SELECT body FROM transcripts WHERE encounter_id = ? UNION ALL SELECT body FROM drafts "
        "WHERE encounter_id = ? UNION ALL SELECT body FROM note_versions WHERE encounter_id = ?",
        (eid, eid, eid)).fetchall()]
    assert len(cipher_rows) == 3

    erased = attach_patient(s, eid, Patient(NAME, MRN), consent=False) and \
        consent.state(s.vault.db, eid)
    assert erased is ConsentState.DECLINED
    assert not audio_dir.exists()
    assert s.load_transcript(eid) is None and s.load_draft(eid) is None
    assert s.latest_version(eid) is None and instructions.load(s, eid) is None
    enc = s.get_encounter(eid)
    assert enc.status == "declined" and enc.audio_purged_at and enc.patient.name == NAME
    with pytest.raises(FileNotFoundError):
        s.read_audio(eid)
    # The ciphertext is gone from the database file and its write-ahead log, not only unlinked.
    s.vault.db.execute("SELECT 1").fetchone()
    on_disk = b"".join(p.read_bytes() for p in s.paths.vault_db.parent.iterdir()
                       if p.name.startswith(s.paths.vault_db.name))
    assert not any(bytes(c)[:64] in on_disk for c in cipher_rows)
    # Never signed: not by the window's path, not by the store beneath it, not after a "yes".
    with pytest.raises(ConsentMissing, match="declined"):
        s.sign(eid)
    assert consent.sign_problem(s, eid) is ConsentState.DECLINED
    mine = _events(s, eid)
    assert ("consent", "declined", {"after_start": True}) in mine
    purge = [d for a, o, d in mine if a == "purge"]
    assert purge == [{"what": "recording", "reason": "consent_declined", "chunks": 1,
                      "transcripts": 1, "drafts": 1, "patient_instructions": 1,
                      "note_versions": 1}]
    assert ("sign", "refused", {"reason": "consent_declined"}) in mine
    aud = s.auditor()
    assert aud.verify_audit().ok            # the erase went through the chain, not around it
    aud.lock()


def test_a_refusal_is_refused_where_it_would_erase_the_wrong_thing(clinician_session):
    s = clinician_session
    signed = _recorded(s)
    consent.record(s, signed, True)
    s.sign(signed)
    with pytest.raises(ValueError, match="already signed"):
        consent.record(s, signed, False)                       # the signed note is the record
    live = s.create_encounter(Patient(NAME, MRN), "soap")
    s.set_status(live, "recording")
    with pytest.raises(ValueError, match="stop the recording"):
        consent.record(s, live, False)
    assert s.signed_note(signed) is not None


def test_declined_before_anything_was_recorded_erases_nothing_and_keeps_the_status(
        clinician_session):
    s = clinician_session
    eid = s.create_encounter(Patient(NAME, MRN), "soap")
    assert consent.record(s, eid, False) == {"chunks": 0, "transcripts": 0, "drafts": 0,
                                             "patient_instructions": 0, "note_versions": 0}
    assert s.get_encounter(eid).status == "new"


def test_cli_note_sign_obeys_the_same_rule(clinician_session):
    s = clinician_session
    eid, other = _recorded(s), _recorded(s)
    data = s.vault.paths.data_dir
    s.lock()
    r = _cli(data, "note", "show", eid)
    assert r.returncode == 0 and "--consent agreed" in r.stdout, r.stderr
    assert json.loads(_cli(data, "note", "show", eid, "--json").stdout)["consent_needed"] \
        == "not_recorded"
    r = _cli(data, "note", "sign", eid)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "consent" in lines[0], r.stderr
    r = _cli(data, "note", "sign", eid, "--consent", "agreed", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 1
    r = _cli(data, "note", "sign", other, "--consent", "declined", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "declined", r.stderr
    r = _cli(data, "encounters", "show", other, "--json")
    assert json.loads(r.stdout)["status"] == "declined", r.stdout
    assert json.loads(_cli(data, "note", "show", eid, "--json").stdout)["consent_needed"] is None
    assert json.loads(_cli(data, "note", "show", other, "--json").stdout)["consent_needed"] \
        == "declined"
    r = _cli(data, "note", "sign", other)                  # the recording and its note are gone
    assert r.returncode == 2 and "declined" in r.stderr, r.stderr
