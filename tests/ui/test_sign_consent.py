"""The sign dialog (issue 12 and issue 15 item 3): the patient's consent to the recording is
ticked in place when the practice requires it and it is not on record (one click, audited as the
consent event), "Patient declined" erases the visit's recording and transcript, and the patient
instructions' blocking flags are acknowledged beside the note's before Sign opens. Real vault,
real window (offscreen), real modal dialogs."""

from __future__ import annotations

import numpy as np
import pytest

from localscribe.domain import Draft, Flag, Section, Statement

from review_fixtures import reviewable_encounter
from ui_helpers import PASSPHRASE, pump, unlock, wait_until, when_modal

pytestmark = pytest.mark.usefixtures("qtbot")
PI_TEXT = "Take ibuprofen 400 mg three times a day."
PI_REASON = "The summary says 400 mg, but 400 was never said in the visit."
PI_ES = "Tome ibuprofeno 400 mg tres veces al día."


def _recorded_visit(vault, instructions: bool = True, spanish: bool = False) -> str:
    """A visit recorded (audio spooled), drafted with one flagged note statement and, with
    ``instructions``, a patient summary with one blocking flag (``spanish``: its translation,
    the English kept as the statement's source); no consent on record."""
    from localscribe.instructions import store
    from localscribe.instructions.prompts import Language

    eid = reviewable_encounter(vault)
    s = vault.unlock("drjones", PASSPHRASE)
    with s.open_audio_spool(eid) as spool:
        spool.write(np.full(8000, 0.05, np.float32))
    if instructions:
        st = (Statement("pi1", PI_ES, ["s4"], [Flag("number", PI_REASON, "400 mg")], source=PI_TEXT)
              if spanish else Statement("pi1", PI_TEXT, ["s4"], [Flag("number", PI_REASON, "400 mg")]))
        store.save(s, eid, Draft("patient_instructions", [Section("pi_meds", "YOUR MEDICINES", [st])]),
                   Language("es" if spanish else "en"))
    s.lock()
    return eid


def _events(vault, eid: str) -> list:
    auditor = vault.unlock("audrey", PASSPHRASE)
    try:
        return [e for e in auditor.audit_events() if e.object == eid]
    finally:
        auditor.lock()


def test_consent_and_the_instructions_flags_are_acknowledged_in_the_sign_dialog(
        qtbot, vault, window):
    from localscribe.instructions import store

    eid = _recorded_visit(vault)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    review = window.encounter.review
    seen: dict = {}

    def sign(dialog):
        pump(50)
        seen["consent_shown"] = dialog.consent is not None and dialog.consent.isVisible()
        seen["consent_text"] = dialog.consent.text().replace("&", "") if dialog.consent else ""
        seen["items"] = list(dialog.texts)
        for cb, _ids in dialog.items:
            cb.setChecked(True)
        seen["enabled_without_consent"] = dialog.sign_button.isEnabled()
        seen["says"] = dialog.remaining.text()
        dialog.consent.setChecked(True)
        seen["enabled_with_consent"] = dialog.sign_button.isEnabled()
        dialog.sign_button.click()
    when_modal(sign)
    review.sign_button.click()
    wait_until(lambda: "sign" in seen.get("says", "") or review.signed, timeout=5000)

    assert seen["consent_shown"] and seen["consent_text"] == "Patient consented to recording"
    # The note's flags first, then the summary's one, each its own item to tick.
    assert len(seen["items"]) >= 2 and all("Amoxicillin" in t for t in seen["items"][:-1])
    assert PI_TEXT in seen["items"][-1] and PI_REASON in seen["items"][-1], seen["items"]
    assert not seen["enabled_without_consent"] and "consent" in seen["says"]
    assert seen["enabled_with_consent"]
    assert review.signed, review.status.text()
    events = _events(vault, eid)
    consent = [e for e in events if e.action == "consent"]
    assert [(e.outcome, e.details) for e in consent] == [
        ("ok", {"after_start": True, "via": "sign_dialog"})]
    signed = next(e for e in events if e.action == "sign" and e.outcome == "ok")
    assert {"st3#0", "pi1#0"} <= set(signed.details["acknowledged"])
    assert consent[0].seq < signed.seq
    s = vault.unlock("drjones", PASSPHRASE)
    assert store.signed(s, eid) is not None and PI_TEXT in store.signed(s, eid).text
    s.lock()


def test_a_translated_summarys_flag_shows_the_english_it_came_from(qtbot, vault, window):
    """A clinician who reads no Spanish acknowledges a flag on a Spanish sentence knowing what
    it says: the item shows the sentence and its verified English source."""
    eid = _recorded_visit(vault, spanish=True)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    seen: dict = {}

    def look(dialog):
        pump(50)
        seen["items"] = list(dialog.texts)
        dialog.reject()
    when_modal(look)
    window.encounter.review.sign_button.click()
    wait_until(lambda: "items" in seen, timeout=5000)
    assert PI_ES in seen["items"][-1] and f"(English: “{PI_TEXT}”)" in seen["items"][-1], seen["items"]
    assert PI_REASON in seen["items"][-1]


def test_patient_declined_in_the_sign_dialog_erases_the_recording(qtbot, vault, window):
    from PySide6.QtWidgets import QMessageBox

    from localscribe.vault import audio_spool

    eid = _recorded_visit(vault, instructions=False)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    review = window.encounter.review
    asked: list[str] = []

    def yes(box):
        if not isinstance(box, QMessageBox):      # the sign dialog, before the question opens
            when_modal(yes)
            return
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.Yes).click()

    def decline(dialog):
        when_modal(yes)
        dialog.decline_button.click()
    when_modal(decline)
    review.sign_button.click()
    wait_until(lambda: window.encounter.row.status == "declined", timeout=5000)

    assert asked and "cannot be undone" in asked[0]
    assert not review.signed and not review.sign_button.isEnabled()
    assert "declined" in review.status.text() and review.note_text() == ""
    assert "Consent declined" in window.encounter.subheader.text()
    s = vault.unlock("drjones", PASSPHRASE)
    assert s.load_transcript(eid) is None and s.load_draft(eid) is None
    assert not audio_spool.encounter_dir(s.paths.audio_dir, eid).exists()
    s.lock()
    events = _events(vault, eid)
    assert [(e.action, e.outcome) for e in events if e.action in ("consent", "purge", "sign")] == [
        ("consent", "declined"), ("purge", "ok")]


def test_no_checkbox_where_the_practice_does_not_require_consent(qtbot, vault, window):
    admin = vault.unlock("admin", PASSPHRASE)
    admin.set_setting("consent.required_before_signing", False)
    admin.lock()
    eid = _recorded_visit(vault, instructions=False)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    seen: dict = {}

    def sign(dialog):
        seen["consent"] = dialog.consent
        for cb, _ids in dialog.items:
            cb.setChecked(True)
        dialog.sign_button.click()
    when_modal(sign)
    window.encounter.review.sign_button.click()
    wait_until(lambda: window.encounter.review.signed, timeout=5000)
    assert seen["consent"] is None
