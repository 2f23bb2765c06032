"""The summary in the vault: sealed (the plaintext is not in the SQLite file), round trip,
bound to its encounter, role-checked, signed with the note (its blocking flags acknowledged
like the note's), immutable once signed, audited, and purged with its encounter."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from localscribe.domain import Patient
from localscribe.instructions import store
from localscribe.instructions.prompts import Language
from localscribe.vault.crypto import TamperError
from localscribe.vault.roles import PermissionDenied
from localscribe.vault.session import UnacknowledgedFlags

from tests.instructions.conftest import CANARY, handmade_summary, make_transcript


def _encounter(v) -> str:
    s = v.session("doc")
    try:
        eid = s.create_encounter(Patient(name="Dana Reyes", mrn="MRN-77"), "soap")
        s.save_transcript(eid, make_transcript())
        s.save_note_version(eid, "SUBJECTIVE\n\nCough for three days.\n")
    finally:
        s.lock()
    return eid


def _disk(v) -> bytes:
    db = v.paths.vault_db
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_sealed_round_trip_and_the_plaintext_is_not_on_disk(vdir):
    eid = _encounter(vdir)
    s = vdir.session("doc")
    iid = store.save(s, eid, handmade_summary(), Language.EN)
    got = store.load(s, eid)
    s.lock()
    assert got.id == iid and got.lang is Language.EN and got.created_by == "doc"
    assert got.summary.to_dict() == handmade_summary().to_dict()       # flags kept
    assert CANARY.encode() not in _disk(vdir)
    assert b"metformin" not in _disk(vdir)


def test_a_body_moved_to_another_encounter_is_refused(vdir):
    a, b = _encounter(vdir), _encounter(vdir)
    s = vdir.session("doc")
    store.save(s, a, handmade_summary(), Language.EN)
    s.lock()
    raw = sqlite3.connect(vdir.paths.vault_db)
    # The attacker with file access re-points the row at another visit: the sealed body is
    # bound to its (table, id, column), and its payload names its encounter.
    raw.execute("UPDATE patient_instructions SET encounter_id = ?", (b,))
    raw.commit()
    s = vdir.session("doc")
    with pytest.raises(TamperError):
        store.load(s, b)
    s.lock()


def test_roles_the_auditor_reads_no_summary_the_assistant_cannot_sign(vdir):
    eid = _encounter(vdir)
    asst = vdir.session("asst")
    store.save(asst, eid, handmade_summary(flagged=False), Language.EN)   # assistants prepare
    asst.lock()
    aud = vdir.session("aud")
    with pytest.raises(PermissionDenied):
        store.load(aud, eid)
    with pytest.raises(PermissionDenied):
        store.save(aud, eid, handmade_summary(), Language.EN)
    aud.lock()


def test_signed_with_the_note_flags_acknowledged_then_immutable_and_audited(vdir):
    eid = _encounter(vdir)
    s = vdir.session("doc")
    store.save(s, eid, handmade_summary(), Language.EN)
    # The summary's blocking flag blocks signing the note, by its own id.
    with pytest.raises(UnacknowledgedFlags) as refused:
        s.sign(eid)
    assert "pi3" in str(refused.value)
    assert store.signed(s, eid) is None
    note = s.sign(eid, ["pi3#0"])
    signed = store.signed(s, eid)
    assert signed.note_id == note.note_id and signed.author == "doc"
    assert signed.text.startswith("YOUR VISIT SUMMARY\n") and CANARY in signed.text
    assert signed.summary.to_dict() == handmade_summary().to_dict()
    # No redraft after signing, and the signed copy cannot be changed or removed.
    with pytest.raises(store.InstructionsError, match="signed"):
        store.save(s, eid, handmade_summary(flagged=False), Language.EN)
    s.lock()
    raw = sqlite3.connect(vdir.paths.vault_db, isolation_level=None)   # autocommit: no lock held
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw.execute("UPDATE signed_instructions SET author = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw.execute("DELETE FROM signed_instructions")
    assert CANARY.encode() not in _disk(vdir)
    aud = vdir.session("aud")
    events = [e for e in aud.audit_events() if e.object == eid]
    aud.lock()
    actions = [e.action for e in events]
    assert "instructions.save" in actions and "instructions.sign" in actions
    assert actions.index("instructions.sign") > actions.index("sign")
    sign_ev = next(e for e in events if e.action == "instructions.sign")
    assert sign_ev.details["note_id"] == note.note_id
    assert not any(CANARY in str(e.details) for e in events)


def test_a_note_without_a_summary_signs_as_before(vdir):
    eid = _encounter(vdir)
    s = vdir.session("doc")
    s.sign(eid)
    assert store.signed(s, eid) is None
    s.lock()


def test_retention_purges_the_summary_with_its_encounter(vdir):
    eid = _encounter(vdir)
    s = vdir.session("doc")
    store.save(s, eid, handmade_summary(), Language.EN)
    s.sign(eid, ["pi3"])
    s.lock()
    admin = vdir.session("admin")
    admin.set_setting("retention.records_days", 30)
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat().replace("+00:00", "Z")
    raw = sqlite3.connect(vdir.paths.vault_db)
    raw.execute("UPDATE encounters SET signed_at=? WHERE id=?", (old, eid))
    raw.commit()
    assert admin.run_retention()["records"] == [eid]
    admin.lock()
    for table in ("patient_instructions", "signed_instructions"):
        assert raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
