"""The window against a real vault (SQLite file, AES-GCM, audit trail) in a temporary folder:
first run, unlock, the day, a new encounter, idle lock, review, sign, copy, roles."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from localscribe.domain import Draft, Flag, Patient, Section, Segment, Statement, Transcript

from review_fixtures import sign_in_vault
from ui_helpers import wait_until, PASSPHRASE, require_core, send_through_dialog, unlock, visible_texts, when_modal

pytestmark = pytest.mark.usefixtures("qtbot")


def test_first_run_creates_the_vault_and_the_admin_sees_no_patients(qtbot, window, paths):
    require_core("localscribe.vault:Vault")
    view = window.unlock_view
    assert window.is_locked and view.confirm.isVisible() and "Create" in view.button.text()
    view.user.setText("admin")
    view.passphrase.setText(PASSPHRASE)
    view.confirm.setText(PASSPHRASE)
    view.button.click()
    wait_until(lambda: not window.is_locked, timeout=120000)   # two production scrypt runs, off the UI thread
    assert paths.vault_db.exists()
    assert window.content.currentWidget() is window.settings
    assert not window.nav_today.isVisible()           # admins never see PHI
    assert "admin · admin" in window.user_label.text()


def test_wrong_passphrase_is_refused_then_the_clinician_sees_today(qtbot, vault, window):
    view = window.unlock_view
    assert not view.confirm.isVisible()
    view.user.setText("drjones")
    view.passphrase.setText("not the passphrase")
    view.button.click()
    wait_until(lambda: view.error.isVisible(), timeout=30000)    # checked off the UI thread
    assert window.is_locked and view.error.text()
    # The focus goes back to the passphrase, selected, so that the clinician types it again.
    # focusWidget() and not hasFocus(): an offscreen window is never the active one.
    assert window.focusWidget() is view.passphrase
    unlock(window, qtbot, "drjones")
    assert window.content.currentWidget() is window.day
    assert window.day.title.text() == "Today"


def _new_encounter(window, qtbot, name="Ada Lovelace", dob="1968-04-23"):
    def fill(dialog):
        dialog.name.setText(name)
        dialog.birth_date.setText(dob)
        dialog.template.setCurrentIndex(max(0, dialog.template.findData("soap")))
        dialog._accept()
    when_modal(fill)
    window.day.new_button.click()
    wait_until(lambda: window.content.currentWidget() is window.encounter, timeout=5000)
    return window.encounter.row.id


def test_new_encounter_opens_ready_to_record_and_lists_in_the_day(qtbot, vault, window):
    require_core("localscribe.draft.templates:available_templates")
    unlock(window, qtbot, "drjones")
    eid = _new_encounter(window, qtbot)
    enc = window.encounter
    assert enc.header.text() == "Ada Lovelace" and "DOB 1968-04-23" in enc.subheader.text()
    assert enc.pages.currentWidget() is enc.panel
    # Either a microphone is offered, or the panel says plainly why not; never a silent dead end.
    assert enc.panel.record_button.isEnabled() or enc.panel.no_mic.isVisible()
    enc.back.click()
    assert window.content.currentWidget() is window.day
    rows = window.day.visible_rows()
    assert [r.id for r in rows] == [eid]
    assert window.day.table.item(0, 1).text() == "Ada Lovelace"
    assert window.day.table.item(0, 4).text() == "Not recorded yet"


def test_idle_lock_hides_every_phi_view_and_unlock_brings_it_back(qtbot, vault, window):
    require_core("localscribe.draft.templates:available_templates")
    unlock(window, qtbot, "drjones")
    _new_encounter(window, qtbot, name="Grace Hopper", dob="1906-12-09")
    assert any("Grace Hopper" in t for t in visible_texts())
    window.encounter.back.click()
    # A dialog with PHI is open when the idle timer fires: it must go too.
    window.idle.set_timeout(0.5)
    window.idle.arm()
    opened = []
    when_modal(lambda d: opened.append(d))
    window.day.new_button.click()            # returns once the lock closes the dialog
    assert opened and not opened[0].isVisible()
    assert window.is_locked
    texts = visible_texts()
    assert not any("Grace" in t or "Hopper" in t or "1906" in t for t in texts), texts
    assert "without activity" in window.unlock_view.error.text()
    assert window.session is None                         # the vault session was locked too
    assert window.unlock_view.user.text() == "drjones"    # only the user name stays
    unlock(window, qtbot, "drjones")
    assert window.day.table.item(0, 1).text() == "Grace Hopper"


def _reviewable_encounter(vault, name="Alan Turing"):
    """An encounter as the pipeline leaves it: transcript and a verified draft with one flag."""
    s = vault.unlock("sam", PASSPHRASE)
    eid = s.create_encounter(Patient(name=name, mrn="MRN-42"), "soap")
    s.save_transcript(eid, Transcript([
        Segment("s0", 0.0, 2.0, "What brings you in today?", "clinician"),
        Segment("s1", 2.5, 6.0, "I have had a dry cough for two weeks.", "patient"),
        Segment("s2", 6.5, 8.0, "Any chest pain?", "clinician"),
        Segment("s3", 8.2, 9.0, "No chest pain.", "patient")]))
    s.save_draft(eid, Draft("soap", sections=[
        Section("subjective", "Subjective", [Statement("st1", "Dry cough for two weeks", ["s1"]),
                                             Statement("st2", "Denies chest pain", ["s2", "s3"])]),
        Section("plan", "Plan", [Statement("st3", "Amoxicillin 500 mg three times daily", [],
                                           [Flag("unsupported", "Nothing in the visit mentions this.",
                                                 "Amoxicillin")])])]))
    s.set_status(eid, "review")
    s.lock()
    return eid


def test_assistant_cannot_sign_in_the_window_nor_in_the_core(qtbot, vault, window):
    require_core("localscribe.draft.render:render_note")
    from localscribe.vault import PermissionDenied
    eid = _reviewable_encounter(vault)
    unlock(window, qtbot, "sam")
    window.open_encounter(eid)
    review = window.encounter.review
    assert window.encounter.pages.currentWidget() is review
    assert not review.sign_button.isEnabled()
    assert "Only a clinician" in review.sign_button.toolTip()
    assert not review.copy_button.isEnabled()
    with pytest.raises(PermissionDenied):
        window.session.sign(eid, acknowledged_flag_ids=["st3"])


def test_clinician_follows_evidence_edits_signs_each_flag_and_copies(qtbot, vault, window, monkeypatch):
    require_core("localscribe.draft.render:render_note", "localscribe.ehr.clipboard_qt")
    from localscribe.ui import review_view
    monkeypatch.setattr(review_view, "AUTOSAVE_MS", 300)
    eid = _reviewable_encounter(vault)
    unlock(window, qtbot, "drjones")
    window.day.all_days.setChecked(True)
    window.day.table.setCurrentCell(0, 0)
    window.day.table.setFocus()
    qtbot.keyClick(window.day.table, Qt.Key.Key_Return)           # keyboard only
    review = window.encounter.review
    wait_until(lambda: window.encounter.pages.currentWidget() is review, timeout=3000)
    assert "Dry cough for two weeks." in review.note_text()
    assert review.tree.select_statement("st2")
    assert review.transcript.highlighted == ["s2", "s3"]

    review.editor.moveCursor(review.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(review.editor, "Follow up in one week.")
    wait_until(lambda: "Saved as version" in review.save_state.text(), timeout=5000)
    s = window.session
    assert s.latest_version(eid).text.endswith("Follow up in one week.")

    ticks = []

    def sign(dialog):
        assert not dialog.sign_button.isEnabled()
        for cb, _fid in dialog.checks:
            ticks.append(dialog.sign_button.isEnabled())
            cb.setChecked(True)
        assert dialog.sign_button.isEnabled()
        dialog.sign_button.click()
    when_modal(sign)
    review.sign_button.click()
    assert ticks == [False, False]   # the drafted flag, and the typed "one week" (two were said)
    assert review.signed and review.editor.isReadOnly()
    assert "Signed and locked" in review.status.text()
    note = s.signed_note(eid)
    assert note is not None and note.text.endswith("Follow up in one week.")
    assert s.get_encounter(eid).status == "signed"

    window.prefs.clipboard_clear_s = 1
    assert review.copy_button.isEnabled()
    review.copy_button.click()
    assert QApplication.clipboard().text() == note.text
    assert "clears itself in 1 s" in review.status.text()
    wait_until(lambda: QApplication.clipboard().text() == "", timeout=4000)
    auditor = vault.unlock("audrey", PASSPHRASE)
    copies = [e for e in auditor.audit_events() if e.action == "copy" and e.object == eid]
    assert len(copies) == 1 and copies[0].actor == "drjones"


def test_signed_note_change_is_an_amendment(qtbot, vault, window):
    require_core("localscribe.draft.render:render_note")
    eid = _reviewable_encounter(vault, name="Katherine Johnson")
    sign_in_vault(vault, eid, "Subjective\n\nDry cough.\n")
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    review = window.encounter.review
    assert review.signed and review.amend_button.isVisible() and review.editor.isReadOnly()
    review.amend_button.click()
    assert not review.editor.isReadOnly()
    review.editor.setPlainText("Subjective\n\nDry cough, improving.\n")
    review.amend_button.click()
    latest = window.session.signed_note(eid)
    assert latest.text.endswith("improving.\n") and latest.replaces
    assert window.session.get_encounter(eid).status == "amended"
    assert review.editor.isReadOnly()


def _hl7_receiver_module():
    """tests/ehr/conftest.py's hl7apy receiver, loaded under its own name (both folders have
    a conftest module)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "ehr" / "conftest.py"
    spec = importlib.util.spec_from_file_location("ehr_receiver_rig", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_note_sent_while_the_ehr_is_down_goes_out_by_itself(qtbot, vault, window, monkeypatch):
    from localscribe.ehr.outbox import RetryPolicy
    from localscribe.ehr.protocol import ConnectorContext
    from localscribe.ehr.service import EhrService
    from localscribe.ui import core
    rig = _hl7_receiver_module()
    eid = _reviewable_encounter(vault, name="Grace Hopper")
    s = vault.unlock("drjones", PASSPHRASE)
    s.save_note_version(eid, "Subjective\n\nDry cough for two weeks.\n")
    s.sign(eid, acknowledged_flag_ids=["st3"])
    s.lock()
    port = rig.free_port()
    admin = vault.unlock("admin", PASSPHRASE)
    EhrService.from_session(admin).configure(
        "hl7", {"host": "127.0.0.1", "port": port, "timeout_seconds": 1}, kind="hl7v2-mllp")
    admin.lock()
    # The product retries after 30 s and more; the test shortens the backoff and the poll, so
    # that what it waits for is the window's own background delivery.
    fast = RetryPolicy(base_s=0.3, cap_s=0.5, jitter=0.0)
    monkeypatch.setattr(core, "_ehr", lambda session, clipboard=None: EhrService(
        session.db, session.cipher, session.audit, ConnectorContext(clipboard=clipboard), policy=fast))

    unlock(window, qtbot, "drjones")
    assert window.outbox_timer.isActive()
    window.outbox_timer.setInterval(200)
    window.open_encounter(eid)
    review = window.encounter.review
    assert review.send_button.isVisible() and review.send_button.isEnabled()

    send_through_dialog(review, "hl7")
    wait_until(lambda: "Send pending" in window.encounter.subheader.text(), timeout=15000)
    assert window.session.get_encounter(eid).status == "send_pending"
    assert "Queued to hl7" in review.status.text(), review.status.text()

    receiver = rig.Receiver()
    receiver.port = port
    receiver.start()
    try:
        wait_until(lambda: window.session.get_encounter(eid).status == "sent", timeout=20000)
        wait_until(lambda: "Sent" in window.encounter.subheader.text(), timeout=5000)
        assert len(receiver.documents) == 1
        window.show_day()
        assert "Sent" in visible_texts()          # the day list
    finally:
        receiver.stop()
    window.lock()
    assert not window.outbox_timer.isActive()
