"""Editing the note text is editing the statements (issue 12, "Loses work" 3): the window's
autosave re-splits the text, keeps the evidence of unchanged sentences, re-verifies the rest,
and the sign dialog asks about the flags of the text as it now reads. Real vault, real
verifier, real window (offscreen)."""

from __future__ import annotations

import pytest

from review_fixtures import FLAGGED, reviewable_encounter
from ui_helpers import sign_acknowledging_every_flag, unlock, wait_until, when_modal

pytestmark = pytest.mark.usefixtures("qtbot")


def _open(window, qtbot, vault, monkeypatch):
    from localscribe.ui import review_view
    monkeypatch.setattr(review_view, "AUTOSAVE_MS", 200)
    eid = reviewable_encounter(vault)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    review = window.encounter.review
    wait_until(lambda: window.encounter.pages.currentWidget() is review, timeout=5000)
    return eid, review


def _type(review, qtbot, text: str) -> None:
    """Replace the note as a person pasting would: select all, insert the new text."""
    review.editor.setFocus()
    review.editor.selectAll()
    review.editor.textCursor().insertText(text)


def _saved(review) -> None:
    """Autosave ran (the version number is not asserted: opening the sign dialog saves the
    text on screen as a version too)."""
    wait_until(lambda: "Saved as version" in review.save_state.text(), timeout=10000)


def _dialog_items(review) -> list[str]:
    """What the sign dialog asks to acknowledge (each checkbox's text); the dialog is cancelled."""
    seen: list[str] = []

    def read(dialog):
        seen.extend(dialog.texts)
        seen.append(f"enabled={dialog.sign_button.isEnabled()}")
        dialog.reject()
    when_modal(read)
    review.sign_button.click()
    return seen


def test_rewriting_a_flagged_statement_clears_its_flag_and_a_new_claim_is_flagged(
        qtbot, vault, window, monkeypatch):
    from localscribe.vault.session import UnacknowledgedFlags
    eid, review = _open(window, qtbot, vault, monkeypatch)
    before = _dialog_items(review)
    assert any("Amoxicillin" in t for t in before) and before[-1] == "enabled=False"

    # The flagged plan is rewritten into what the visit said: its flag must go.
    text = review.note_text().replace(FLAGGED, "Honey and warm fluids for the cough.")
    _type(review, qtbot, text)
    _saved(review)
    assert not any("Amoxicillin" in review.tree.item(i).text() for i in range(review.tree.count()))
    assert _dialog_items(review) == ["enabled=True"]
    stored = window.session.load_draft(eid)
    assert stored.blocking == [] and "st3" not in {st.id for st in stored.statements}
    # Unchanged sentences kept their statement and evidence (what the clinician already checked).
    kept = {st.id: st.evidence for st in stored.statements}
    assert kept["st1"] == ["s1"] and kept["st2"] == ["s2", "s3"]

    # A new sentence nobody said is checked like any drafted one and blocks signing.
    _type(review, qtbot, text + "Prescribed lisinopril 20 mg daily.\n")
    _saved(review)
    items = _dialog_items(review)
    assert items[-1] == "enabled=False"
    assert items[:-1] and all("lisinopril" in t for t in items[:-1]), items
    assert "checking before signing" in review.status.text()
    with pytest.raises(UnacknowledgedFlags):        # the core holds the same rule
        window.session.sign(eid, acknowledged_flag_ids=["st3"])

    sign_acknowledging_every_flag(review)
    assert review.signed, review.status.text()
    note = window.session.signed_note(eid)
    assert note.text.endswith("Prescribed lisinopril 20 mg daily.\n")
    from ui_helpers import PASSPHRASE
    auditor = vault.unlock("audrey", PASSPHRASE)
    event = next(e for e in auditor.audit_events() if e.action == "sign" and e.outcome == "ok")
    assert event.details["acknowledged"] and all(a.startswith("ed") for a in event.details["acknowledged"])


def test_deleting_a_flagged_statement_removes_its_flag_even_when_signing_at_once(
        qtbot, vault, window, monkeypatch):
    eid, review = _open(window, qtbot, vault, monkeypatch)
    # Deleted and signed straight away, before autosave ran: the dialog still sees the new text.
    review.editor.setPlainText(review.note_text().replace("PLAN\n\n" + FLAGGED + "\n", ""))
    assert "Amoxicillin" not in review.note_text()
    assert _dialog_items(review) == ["enabled=True"]
    assert window.session.load_draft(eid).blocking == []
    assert window.session.latest_version(eid).text == review.note_text()
