"""The style in a real vault: learned at signing, sealed at rest, the clinician's own only,
resettable, audited without PHI, and a failure to learn never blocks a signature."""

from __future__ import annotations

import sqlite3

import pytest

from localscribe.domain import Patient
from localscribe.style import edits as E
from localscribe.style import store
from localscribe.style.profile import StyleHistory, StyleProfile, learn
from localscribe.vault.crypto import TamperError
from localscribe.vault.roles import PermissionDenied

from tests.style.style_helpers import ONE_OFF, draft, drafted_text, signed, titles, transcript
from tests.support.cli_vault import PASS, vdir  # noqa: F401 (fixture)

PHI = ("Ada Quillfeather", "MRN-5150", ONE_OFF, "shortness of breath", "milligrams", "ibuprofen")


def _sign(s, i: int) -> str:
    eid = s.create_encounter(Patient(name="Ada Quillfeather", mrn="MRN-5150"), "soap")
    s.save_transcript(eid, transcript(60))
    s.save_draft(eid, draft(i))
    s.save_note_version(eid, signed(i))
    s.sign(eid)
    return eid


def _disk(v) -> bytes:
    db = v.paths.vault_db
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _events(v, action: str):
    aud = v.session("aud")
    try:
        return [e for e in aud.audit_events() if e.action == action]
    finally:
        aud.lock()


def _add_clinician(v, name: str) -> None:
    admin = v.session("admin")
    admin.add_user(name, "clinician", PASS)
    admin.lock()


def _doc_after_three_signings(vdir):
    """Dr doc's session after three signed visits with the scripted edits (``_sign``)."""
    s = vdir.session("doc")
    for i in range(3):
        _sign(s, i)
    return s


def test_signing_learns_exactly_the_scripted_style(vdir):
    s = _doc_after_three_signings(vdir)
    got = store.profile(s)
    s.lock()
    expected = StyleHistory()
    for i in range(3):
        expected.add(E.observe(titles(), drafted_text(draft(i)), signed(i), 60))
    assert got == learn(expected)
    assert got.swaps == (("milligrams", "mg"), ("shortness of breath", "SOB"))
    assert got.section("objective").skip and got.section("assessment").always
    assert got.negative == "no"
    events = _events(vdir, "style.learned")
    assert [e.details["notes"] for e in events] == [1, 2, 3]
    assert all(e.outcome == "ok" and e.actor == "doc" for e in events)
    assert events[-1].details["rules"] == len(got.describe())
    blob = repr([e.details for e in events])
    assert not any(w.lower() in blob.lower() for w in PHI)


def test_sealed_at_rest_no_learned_phrase_in_the_file(vdir):
    s = _doc_after_three_signings(vdir)
    assert ("shortness of breath", "SOB") in store.profile(s).swaps
    s.lock()
    raw = _disk(vdir)
    row = sqlite3.connect(vdir.paths.vault_db).execute(
        "SELECT user, notes, body FROM style_profiles").fetchall()
    assert [(u, n) for u, n, _ in row] == [("doc", 3)]
    for word in (b"shortness of breath", b"milligrams", b"SOB\"", b"mg\""):
        assert word not in raw and word not in row[0][2]


def test_reset_forgets_and_is_audited(vdir):
    s = _doc_after_three_signings(vdir)
    assert not store.profile(s).empty
    assert store.reset(s) == 3
    assert store.profile(s) == StyleProfile() and store.history(s).notes == 0
    s.lock()
    (ev,) = _events(vdir, "style.reset")
    assert (ev.actor, ev.object, ev.details["notes"]) == ("doc", "doc", 3)


def test_a_clinician_sees_and_resets_only_their_own(vdir):
    _add_clinician(vdir, "doc2")
    s = _doc_after_three_signings(vdir)
    s.lock()
    other = vdir.session("doc2")
    assert store.profile(other).empty                       # their own: nothing learned yet
    with pytest.raises(PermissionDenied, match="only their own"):
        store.profile(other, clinician="doc")
    with pytest.raises(PermissionDenied, match="only their own"):
        store.reset(other, clinician="doc")
    other.lock()
    for user in ("asst", "aud", "admin"):                    # no other role has a style at all
        sess = vdir.session(user)
        with pytest.raises(PermissionDenied, match="style.own"):
            store.profile(sess)
        with pytest.raises(PermissionDenied, match="style.own"):
            store.reset(sess, clinician="doc")
        sess.lock()
    s = vdir.session("doc")
    assert store.history(s).notes == 3                       # untouched by the attempts
    s.lock()
    denied = [e for e in _events(vdir, "denied") + _events(vdir, "style.show") + _events(vdir, "style.reset")
              if e.outcome == "denied"]
    assert {e.actor for e in denied} >= {"doc2", "asst", "aud", "admin"}


def test_a_row_copied_to_another_clinician_fails_to_open_and_signing_still_works(vdir):
    _add_clinician(vdir, "doc2")
    s = _doc_after_three_signings(vdir)
    s.lock()
    raw = sqlite3.connect(vdir.paths.vault_db)
    # An attacker with the file gives doc2 doc's learned style (to steer doc2's drafts).
    raw.execute("INSERT INTO style_profiles (user, updated_at, notes, body) "
                "SELECT 'doc2', updated_at, notes, body FROM style_profiles WHERE user = 'doc'")
    raw.commit()
    raw.close()
    other = vdir.session("doc2")
    with pytest.raises(TamperError):
        store.profile(other)
    eid = _sign(other, 0)                                    # learning fails; the signature stands
    assert other.signed_note(eid) is not None
    other.lock()
    failed = [e for e in _events(vdir, "style.learned") if e.actor == "doc2"]
    assert [(e.outcome, e.details["error"]) for e in failed] == [("error", "TamperError")]


def test_drafting_uses_the_clinicians_own_style_and_never_fails_a_draft(vdir):
    _add_clinician(vdir, "doc2")
    s = vdir.session("doc")
    assert store.drafting_style(s) is None                   # nothing learned yet
    for i in range(3):
        _sign(s, i)
    learned = store.profile(s)
    assert store.drafting_style(s) == learned
    s.lock()
    asst = vdir.session("asst")
    assert store.drafting_style(asst) is None                # an assistant's drafts: no style
    asst.lock()
    raw = sqlite3.connect(vdir.paths.vault_db)
    raw.execute("UPDATE style_profiles SET body = X'00'")    # damaged: the draft goes on
    raw.commit()
    raw.close()
    s = vdir.session("doc")
    assert store.drafting_style(s, "enc-1") is None
    s.lock()
    applied, failed = _events(vdir, "style.apply")          # the one use above, then the damage
    assert (applied.outcome, applied.object, applied.details["notes"]) == ("ok", "doc", 3)
    assert applied.details["fingerprint"] == learned.fingerprint()
    assert applied.details["rules"] == len(learned.describe())
    assert not any(w.lower() in repr(applied.details).lower() for w in PHI + ("SOB", "mg"))
    assert (failed.outcome, failed.object, failed.details["error"]) == ("error", "enc-1", "TamperError")
