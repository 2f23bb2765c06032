"""Permissions are enforced by the core API, whatever the UI shows."""

import pytest

from localscribe.domain import Draft, Flag, Patient, Section, Statement, Transcript, Segment
from localscribe.vault import NoteLocked, PermissionDenied, UnacknowledgedFlags

from vault_helpers import unlock


@pytest.fixture
def encounter(vault):
    s = unlock(vault, "doc")
    eid = s.create_encounter(Patient("Ann Example", "MRN-1", "1950-02-03"), "soap")
    s.save_transcript(eid, Transcript([Segment("s1", 0, 1, "cough for a week")]))
    s.save_note_version(eid, "Cough for one week.")
    s.lock()
    return eid


def test_assistant_prepares_but_cannot_sign(vault, encounter):
    a = unlock(vault, "asst")
    a.save_draft(encounter, Draft("soap", [Section("s", "S", [Statement("st1", "cough")])]))
    assert a.save_note_version(encounter, "Cough, one week.") == 2
    for action in (lambda: a.sign(encounter), lambda: a.amend(encounter, "x"),
                   lambda: a.record_push(encounter, "fhir", "ok"),
                   lambda: a.record_copy(encounter)):
        with pytest.raises(PermissionDenied, match="assistant"):
            action()
    assert unlock(vault, "doc").get_encounter(encounter).status == "new"
    denied = [e for e in unlock(vault, "aud").audit_events() if e.outcome == "denied"]
    assert {e.details["permission"] for e in denied} >= {"note.sign", "note.push", "note.copy"}


@pytest.mark.parametrize("user", ["aud", "admin"])
def test_auditor_and_admin_cannot_read_phi(vault, encounter, user):
    s = unlock(vault, user)
    for read in (s.list_encounters, lambda: s.get_encounter(encounter),
                 lambda: s.load_transcript(encounter), lambda: s.load_draft(encounter),
                 lambda: s.note_versions(encounter), lambda: s.signed_note(encounter),
                 lambda: s.read_audio(encounter), lambda: s.open_audio_spool(encounter),
                 lambda: s.create_encounter(Patient("X"), "soap")):
        with pytest.raises(PermissionDenied):
            read()


def test_auditor_cannot_manage_and_clinician_cannot_admin(vault):
    aud, doc = unlock(vault, "aud"), unlock(vault, "doc")
    with pytest.raises(PermissionDenied):
        aud.add_user("eve", "admin", "eve passphrase")
    with pytest.raises(PermissionDenied):
        doc.set_setting("retention.audio_days", 30)
    with pytest.raises(PermissionDenied):
        doc.put_secret("fhir.token", b"t")
    with pytest.raises(PermissionDenied):
        doc.verify_audit()
    with pytest.raises(PermissionDenied):
        doc.set_passphrase("asst", "new passphrase x")


def test_sign_locks_note_and_amend_replaces(vault, encounter):
    doc = unlock(vault, "doc")
    first = doc.sign(encounter)
    assert first.version == 1 and first.replaces is None
    assert first.patient == Patient("Ann Example", "MRN-1", "1950-02-03")
    with pytest.raises(NoteLocked):
        doc.save_note_version(encounter, "sneaky edit")
    with pytest.raises(NoteLocked):
        doc.sign(encounter)
    second = doc.amend(encounter, "Cough for one week. Addendum: no fever.")
    assert second.replaces == first.note_id and second.note_id != first.note_id
    assert second.version == 2
    assert doc.get_encounter(encounter).status == "amended"
    assert [n.note_id for n in doc.signed_notes(encounter)] == [first.note_id, second.note_id]
    assert doc.signed_note(encounter).note_id == second.note_id
    doc.set_status(encounter, "send_pending")
    with pytest.raises(ValueError):
        doc.set_status(encounter, "review")


def test_flagged_statements_must_be_acknowledged(vault, encounter):
    doc = unlock(vault, "doc")
    flagged = Statement("st2", "BP 180/100", ["s1"], [Flag("number", "not in transcript", "180")])
    doc.save_draft(encounter, Draft("soap", [Section("o", "O", [Statement("st1", "ok"), flagged])]))
    with pytest.raises(UnacknowledgedFlags, match="st2"):
        doc.sign(encounter)
    assert doc.sign(encounter, acknowledged_flag_ids=["st2#0"]).version == 1


def test_only_blocking_flags_and_empty_section_notices_block_signing(vault, encounter):
    doc = unlock(vault, "doc")
    info = Statement("st1", "Cough for a week.", ["s1"], [Flag("evidence", "said elsewhere", tier="info")])
    block = Statement("st2", "BP 180/100", ["s1"], [Flag("evidence", "x", tier="info"),
                                                   Flag("number", "not in transcript", "180")])
    plan = Section("plan", "PLAN", [], notice="Nothing was drafted for PLAN, though the visit discussed it.")
    doc.save_draft(encounter, Draft("soap", [Section("o", "O", [info, block]), plan]))
    with pytest.raises(UnacknowledgedFlags) as err:
        doc.sign(encounter)
    assert "st2" in str(err.value) and "section:plan" in str(err.value) and "st1" not in str(err.value)
    with pytest.raises(UnacknowledgedFlags, match="section:plan"):
        doc.sign(encounter, acknowledged_flag_ids=["st2#1"])
    # The blocking flag is the second one: acknowledging only the informational one is not enough.
    with pytest.raises(UnacknowledgedFlags, match="st2"):
        doc.sign(encounter, acknowledged_flag_ids=["st2#0", "section:plan"])
    assert doc.sign(encounter, acknowledged_flag_ids=["st2#1", "section:plan"]).version == 1


def test_set_status_validates(vault, encounter):
    doc = unlock(vault, "doc")
    doc.set_status(encounter, "transcribing")
    with pytest.raises(ValueError, match="unknown encounter status"):
        doc.set_status(encounter, "teleported")
    with pytest.raises(ValueError, match="sign"):
        doc.set_status(encounter, "signed")
    with pytest.raises(ValueError, match="not signed"):
        doc.set_status(encounter, "sent")
