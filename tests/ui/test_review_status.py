"""One encounter status, owned by the core, drives the header, the day list and the buttons
(issue 12, "Says what is not so" 4 and 5). Real vault, real window (offscreen), a real
clipboard connector for sending. The pipeline's part is played by the calls it makes: the
vault store's status changes and the events LiveVisit emits (orchestration only; the real
pipeline through the window is test_flow_e2e.py and test_review_recovery.py)."""

from __future__ import annotations

import pytest

from localscribe.domain import Patient
from localscribe.pipeline import events as ev
from localscribe.pipeline.stores import VaultVisitStore
from review_fixtures import TRANSCRIPT, reviewable_encounter, sign_in_vault
from ui_helpers import PASSPHRASE, send_through_dialog, unlock, wait_until, when_modal

pytestmark = pytest.mark.usefixtures("qtbot")


def _labels(window, eid) -> tuple[str, str]:
    """(what the header's status says, what the day list's Status column says)."""
    sub = window.encounter.subheader.text().split(" · ")[-1]
    day = window.day
    rows = [r.id for r in day._rows]
    cell = next((day.table.item(i, 4).text() for i in range(day.table.rowCount())
                 if day.visible_rows()[i].id == eid), None) if eid in rows else None
    return sub, cell


def _step(window, state: str, label: str, eid: str) -> None:
    VaultVisitStore(window.session, eid).set_status(state)
    window.encounter.bridge.post(ev.StateChanged(state))
    wait_until(lambda: _labels(window, eid) == (label, label), timeout=5000)


def test_labels_through_a_whole_visit_in_header_and_day_list(qtbot, vault, window):
    admin = vault.unlock("admin", PASSPHRASE)
    from localscribe.ehr.service import EhrService
    EhrService.from_session(admin).configure("clip", {}, kind="clipboard")
    admin.lock()
    unlock(window, qtbot, "drjones")
    window.day.all_days.setChecked(True)
    eid = window.session.create_encounter(Patient(name="Ada Lovelace", mrn="AL-1"), "soap")
    window.refresh_day()
    window.open_encounter(eid)
    enc = window.encounter
    wait_until(lambda: _labels(window, eid) == ("Not recorded yet", "Not recorded yet"))
    _step(window, "recording", "Recording", eid)
    _step(window, "transcribing", "Transcribing", eid)
    _step(window, "drafting", "Drafting", eid)

    from localscribe.verify import verify_draft
    from localscribe.domain import Draft, Section, Statement
    draft = verify_draft(Draft("soap", sections=[Section("subjective", "SUBJECTIVE", [
        Statement("st1", "Dry cough for two weeks.", ["s1"])])]), TRANSCRIPT)
    s = window.session
    s.save_transcript(eid, TRANSCRIPT)
    s.save_draft(eid, draft)
    VaultVisitStore(s, eid).set_status("review")
    enc.bridge.post(ev.DraftReady(draft))
    enc.bridge.post(ev.StateChanged("review"))
    wait_until(lambda: _labels(window, eid) == ("Needs review", "Needs review"), timeout=5000)
    review = enc.review
    assert review.sign_button.isVisible() and review.sign_button.isEnabled()
    assert not review.copy_button.isEnabled() and not review.send_button.isVisible()

    def sign(dialog):
        dialog.sign_button.click()
    when_modal(sign)
    review.sign_button.click()
    wait_until(lambda: _labels(window, eid) == ("Signed", "Signed"), timeout=5000)
    assert review.copy_button.isEnabled() and review.send_button.isVisible()

    send_through_dialog(review, "clip")
    wait_until(lambda: _labels(window, eid) == ("Sent", "Sent"), timeout=10000)
    assert s.get_encounter(eid).status == "sent"


def test_a_new_encounter_after_a_signed_one_offers_none_of_its_buttons(qtbot, vault, window):
    signed = reviewable_encounter(vault, name="Katherine Johnson")
    sign_in_vault(vault, signed, "SUBJECTIVE\n\nDry cough.\n")
    unlock(window, qtbot, "drjones")
    window.open_encounter(signed)
    review = window.encounter.review
    assert review.copy_button.isEnabled() and review.amend_button.isVisible()

    eid = window.session.create_encounter(Patient(name="Grace Hopper", mrn="GH-1"), "soap")
    window.open_encounter(eid)
    enc = window.encounter
    assert enc.pages.currentWidget() is enc.panel
    assert "Not recorded yet" in enc.subheader.text()
    # What the review page would offer once recording stops: nothing of the last patient.
    assert not review.copy_button.isEnabled()
    # (isHidden: the review page itself is behind the record panel until Stop)
    assert review.amend_button.isHidden() and review.send_button.isHidden()
    assert not review.sign_button.isHidden() and not review.sign_button.isEnabled()
    assert not review.signed and not review.editor.isReadOnly()
    assert review.note_text() == "" and review.tree.count() == 0


def test_a_visit_that_ended_without_a_draft_is_not_listed_as_needing_review(qtbot, vault, window):
    """The 0.1 s visit: LiveVisit found no speech and left 'review' without a draft."""
    s = vault.unlock("drjones", PASSPHRASE)
    eid = s.create_encounter(Patient(name="Empty Visit", mrn="EV-1"), "soap")
    s.set_status(eid, "recording")
    s.set_status(eid, "review")
    s.lock()
    unlock(window, qtbot, "drjones")
    window.day.all_days.setChecked(True)
    window.open_encounter(eid)
    sub, cell = _labels(window, eid)
    assert sub == cell == "No draft (audio kept)"
