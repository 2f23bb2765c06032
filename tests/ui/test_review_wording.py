"""What the review screens say (issue 12, "Says what is not so" 7 and "Gets in the way" 11):
drafting progress instead of raw model output, identical flags shown once with a count that
the banner and the sign dialog agree on, and a sign dialog read without sideways scrolling
whose keyboard focus keeps the checkbox in view. Real vault and window (offscreen)."""

from __future__ import annotations

import pytest

from localscribe.domain import Draft, Flag, Patient, Section, Statement

from review_fixtures import TRANSCRIPT
from ui_helpers import PASSPHRASE, pump, unlock, when_modal

pytestmark = pytest.mark.usefixtures("qtbot")
LONG = ("The patient reports a dry cough for two weeks that is worse at night, keeps her awake, "
        "is not relieved by honey or warm fluids, and has not produced any blood or sputum.")


def _stacked_encounter(vault) -> str:
    dup = Flag("number", "The note says '3 weeks', but 3 was never said in the visit.", "3 weeks")
    statements = [Statement("st1", "Cough for three weeks.", ["s1"], [dup] * 12 + [
        Flag("weak-evidence", "Nothing said clearly supports this.", tier="info")])]
    statements += [Statement(f"st{i}", f"{LONG} ({i})", [], [
        Flag("unsupported", "Nothing in the visit mentions this.", "blood")]) for i in range(2, 9)]
    s = vault.unlock("drjones", PASSPHRASE)
    eid = s.create_encounter(Patient(name="Alan Turing", mrn="MRN-42"), "soap")
    s.save_transcript(eid, TRANSCRIPT)
    s.save_draft(eid, Draft("soap", sections=[Section("subjective", "SUBJECTIVE", statements)]))
    s.set_status(eid, "review")
    s.lock()
    return eid


def test_identical_flags_show_once_with_a_count_and_every_count_agrees(qtbot, vault, window):
    eid = _stacked_encounter(vault)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    review = window.encounter.review
    rows = [review.tree.item(i).text() for i in range(review.tree.count())]
    stacked = [r for r in rows if "3 weeks" in r]
    assert len(stacked) == 1 and stacked[0].endswith("(×12)"), stacked
    assert "8 items need checking" in review.status.text(), review.status.text()
    assert not any("[S" in r or "s1," in r for r in rows)

    seen = {}

    def read(dialog):
        dialog.resize(640, 420)
        pump(50)
        seen["items"] = list(dialog.texts)
        seen["head"] = next(w.text() for w in dialog.findChildren(type(dialog.remaining))
                            if "acknowledgement" in w.text())
        seen["sideways"] = dialog.scroll_area.horizontalScrollBar().maximum()
        last = dialog.items[-1][0]
        last.setFocus()
        pump(50)
        seen["last_in_view"] = not last.visibleRegion().isEmpty()
        for cb, _ids in dialog.items:
            cb.setChecked(True)
        dialog.sign_button.click()
    when_modal(read)
    review.sign_button.click()
    assert len(seen["items"]) == 8 and seen["head"].startswith("⚠ 8 items")
    assert seen["sideways"] == 0                    # long statements wrap
    assert seen["last_in_view"]                     # focus scrolled it into view
    assert review.signed, review.status.text()
    auditor = vault.unlock("audrey", PASSPHRASE)
    sign = next(e for e in auditor.audit_events() if e.action == "sign" and e.outcome == "ok")
    assert {f"st1#{i}" for i in range(12)} <= set(sign.details["acknowledged"])


def test_drafting_line_shows_progress_never_model_output(qtbot, window):
    review = window.encounter.review
    review.begin_draft("Drafting the note…", sections=4)
    for piece in ("The patient", " reports", " [S1,S2,", "\n", "None.", "\n", "She"):
        review.add_token(piece)
    text = review.progress_label.text()
    assert text == "Drafting: section 3 of 4…", text
    assert "[S" not in text and "patient" not in text
