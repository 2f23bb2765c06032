"""The scorecard's figures from a vault of scripted visits equal the numbers worked out by hand
(see scorecard_helpers.script_practice for each visit's story)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from localscribe.scorecard import service
from localscribe.scorecard.model import ALL_PERIODS, PRACTICE, Durations
from localscribe.vault import PermissionDenied
from scorecard_helpers import NOW, PASS


@pytest.fixture(scope="module")
def card(practice):
    vault, _ = practice
    s = vault.unlock("aud", PASS)
    try:
        yield service.load(s, now=NOW)
    finally:
        s.lock()


def test_practice_quality(card):
    q = card.row().quality
    assert (q.notes_signed, q.edits_measured, q.unchanged, q.minor, q.major) == (4, 4, 1, 1, 2)
    assert (q.flags_raised, q.flags_unchanged, q.flags_fixed) == (4, 1, 3)
    sections = {s.key: (s.notes, s.edited, s.draft_words, s.changed_words) for s in q.sections}
    assert sections == {"subjective": (4, 1, 28, 5), "objective": (4, 1, 8, 2),
                        "assessment": (4, 1, 8, 2), "plan": (4, 1, 28, 1),
                        "_other": (1, 1, 0, 3)}


def test_practice_operations(card):
    o = card.row().operations
    assert o.stop_to_draft == Durations(6, 35.0, 60.0)          # 10 20 30 40 45 60 s
    assert o.stop_to_signature == Durations(4, 11700.0, 343800.0)  # 30 min x2, 6 h, 4 d - 30 min
    assert (o.signed, o.signed_after_hours) == (4, 2)           # Monday 20:20, Saturday
    assert (o.sent, o.send_failed, o.send_pending, o.not_sent) == (1, 1, 1, 1)


def test_practice_adoption(card):
    a = card.row().adoption
    assert (a.visits, a.visits_recorded, a.open) == (9, 8, 1)
    assert a.abandoned == {"consent_declined": 1, "failed": 1, "interrupted": 1,
                           "left_unsigned": 1}


def test_weeks_and_clinicians(card):
    assert card.weeks == ("2026-W47", "2026-W48")
    assert card.clinicians == ("dr.ames", "dr.brook")
    w47, w48 = card.row("2026-W47"), card.row("2026-W48")
    assert (w47.adoption.visits, w48.adoption.visits) == (7, 2)
    assert (w47.quality.major, w48.quality.major) == (1, 1)
    assert w48.operations.stop_to_draft == Durations(2, 32.5, 45.0)
    ames = card.row(ALL_PERIODS, "dr.ames")
    assert (ames.adoption.visits, ames.quality.notes_signed, ames.operations.signed_after_hours,
            ames.adoption.open) == (4, 3, 1, 1)
    brook_w47 = card.row("2026-W47", "dr.brook")
    assert (brook_w47.adoption.visits, brook_w47.adoption.abandoned_total) == (5, 4)
    assert brook_w47.operations.stop_to_signature == Durations(1, 343800.0, 343800.0)
    assert card.row("2026-W48", "dr.brook").adoption.visits == 0   # a week without visits


def test_date_range_and_clinician_filter(practice):
    vault, _ = practice
    s = vault.unlock("admin", PASS)
    try:
        # Local days: V3 on Tue 17th, V4 and V5 on Wed 18th (Europe/Berlin, as set).
        card = service.load(s, since=date(2026, 11, 17), until=date(2026, 11, 18), now=NOW)
        assert card.row().adoption.visits == 4                   # V3, V9, V4, V5
        only = service.load(s, clinician="dr.ames", now=NOW)
        assert {r.clinician for r in only.rows} == {"dr.ames"}
        assert only.row(ALL_PERIODS, "dr.ames").adoption.visits == 4
        assert only.row(ALL_PERIODS, PRACTICE) is None
        with pytest.raises(ValueError, match="before"):
            service.load(s, since=date(2026, 11, 20), until=date(2026, 11, 1))
    finally:
        s.lock()


def test_clinic_hours_setting_changes_after_hours(practice, tmp_path):
    """Opening hours to 08:00-21:00 every day makes both after-hours signatures in-hours."""
    vault, _ = practice
    admin = vault.unlock("admin", PASS)
    try:
        admin.set_setting("scorecard.clinic_hours",
                          {"days": [1, 2, 3, 4, 5, 6, 7], "start": "08:00", "end": "21:00"})
        assert service.load(admin, now=NOW).row().operations.signed_after_hours == 0
        admin.set_setting("scorecard.clinic_hours", {"start": "9am"})
        with pytest.raises(ValueError, match="HH:MM"):
            service.load(admin, now=NOW)
    finally:
        admin.set_setting("scorecard.clinic_hours", None)
        admin.lock()


@pytest.mark.parametrize("user", ["dr.ames", "asst"])
def test_clinician_and_assistant_are_refused_and_audited(practice, user):
    vault, _ = practice
    s = vault.unlock(user, PASS)
    try:
        with pytest.raises(PermissionDenied, match="scorecard"):
            service.load(s, now=NOW)
    finally:
        s.lock()
    aud = vault.unlock("aud", PASS)
    try:
        last = [e for e in aud.audit_events() if e.action == "denied"][-1]
        assert (last.actor, last.object, last.details["permission"]) == \
            (user, "scorecard", "scorecard.read")
    finally:
        aud.lock()


def test_reads_are_audited(practice):
    vault, _ = practice
    s = vault.unlock("aud", PASS)
    try:
        service.load(s, since=date(2026, 11, 16), clinician="dr.brook", purpose="csv", now=NOW)
        ev = [e for e in s.audit_events() if e.action == "scorecard.read"][-1]
        assert (ev.actor, ev.details["purpose"], ev.details["since"], ev.details["clinician"]) \
            == ("aud", "csv", "2026-11-16", "dr.brook")
    finally:
        s.lock()


def test_a_forged_edit_count_is_not_taken_silently(paths):
    """Someone with the vault file rewrites a visit's edit counts to flatter a clinician: the
    figures would change, so the scorecard says the trail fails verification."""
    from localscribe.vault import TEST_PARAMS, Vault
    from localscribe.vault.audit import use_clock
    from scorecard_helpers import Clock, draft, visit
    from localscribe.domain import Patient

    clock = Clock("2026-11-16T08:00:00")
    with use_clock(clock):
        vault = Vault.create(paths, "admin", PASS, kdf_params=TEST_PARAMS)
        admin = vault.unlock("admin", PASS)
        admin.add_user("doc", "clinician", PASS)
        admin.add_user("aud", "auditor", PASS)
        admin.lock()
        doc = vault.unlock("doc", PASS)
        visit(doc, clock, Patient("Zelda Quixote", "MRN-4471"), start="2026-11-16T09:00:00",
              stop="2026-11-16T09:10:00", draft_at="2026-11-16T09:10:30", the_draft=draft(),
              sign_at="2026-11-16T09:30:00", edit=lambda t: t.replace("No fever", "Afebrile"))
        doc.lock()
    aud = vault.unlock("aud", PASS)
    honest = service.load(aud, now=NOW)
    assert honest.trail_ok and honest.row().quality.minor == 1
    row = vault.db.execute("SELECT seq, details FROM audit_events WHERE action = "
                           "'scorecard.edits'").fetchone()
    raw = sqlite3.connect(paths.vault_db)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")     # an attacker with the file
    raw.execute("UPDATE audit_events SET details = ? WHERE seq = ?",
                (row[1].replace('"grade": "minor"', '"grade": "unchanged"').replace(
                    '"changed": 2', '"changed": 0'), row[0]))
    raw.commit()
    raw.close()
    forged = service.load(aud, now=NOW)
    assert not forged.trail_ok and f"#{row[0]}" in forged.trail_problem
    aud.lock()
    vault.close()
