"""The whole clinic flow in the window with real parts: a real vault, a rebuilt PriMock57 visit
played into a PulseAudio virtual microphone, whisper.cpp and llama.cpp with the `tiny`
models, then review, evidence, autosave, sign and copy. Slow (the audio plays in real time).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.support.rebuild_visit import rebuild
from ui_helpers import pump, wait_until, require_core, unlock, when_modal
from ui_helpers import (open_new_encounter, pick_virtual_microphone, require_tiny_models,
                        sign_acknowledging_every_flag)

pytestmark = pytest.mark.slow
VISIT = "day1_consultation01"
VISIT_SECONDS = 45


def _rebuilt_visit() -> Path:
    return Path(rebuild(VISIT, max_seconds=VISIT_SECONDS).audio_path)


def test_record_review_sign_copy_through_a_virtual_microphone(virtual_microphone, qtbot, vault,
                                                              window, paths, monkeypatch):
    # virtual_microphone comes first so that it is torn down last, after the window has
    # stopped every stream that uses it.
    require_core("localscribe.pipeline:LiveVisit", "localscribe.pipeline.engines:transcriber_factory",
                 "localscribe.capture.sources:MicrophoneSource", "localscribe.draft.render:render_note",
                 "localscribe.ehr.clipboard_qt")
    require_tiny_models(paths)
    audio = _rebuilt_visit()
    from localscribe.ui import review_view
    monkeypatch.setattr(review_view, "AUTOSAVE_MS", 500)

    unlock(window, qtbot, "drjones")
    window.idle.set_timeout(3600)        # the clinician waits for the draft without touching

    enc = open_new_encounter(window, "Pat Primock", "PM-57")
    panel = enc.panel
    pick_virtual_microphone(panel)

    consent = []

    def agree(box):
        consent.append(box.text())
        next(b for b in box.buttons() if "agreed" in b.text()).click()
    when_modal(agree)
    panel.record_button.click()
    assert consent and "Pat Primock" in consent[0]
    assert panel.state == "recording"
    eid = enc.row.id
    player = virtual_microphone(audio)
    started = time.monotonic()
    levels = []
    enc.bridge.level.connect(levels.append)
    wait_until(lambda: player.poll() is not None, timeout=(VISIT_SECONDS + 30) * 1000)
    pump(1500)                                    # the last words reach the microphone
    assert levels and max(levels) > -40, f"the meter never heard speech: {levels[-5:]}"
    assert panel.transcript.count() >= 2, f"no live transcript while the visit played; {enc.error.text()}"
    assert panel.elapsed_s() >= time.monotonic() - started - 3

    panel.stop_button.click()
    review = enc.review
    assert enc.pages.currentWidget() is review and review.progress_row.isVisible()
    # generous: CI machines may be busy
    wait_until(lambda: review.draft is not None or enc.error.isVisible(), timeout=600_000)
    assert not enc.error.isVisible(), enc.error.text()
    s = window.session
    recorded = s.read_audio(eid)
    assert len(recorded) / 16000 >= VISIT_SECONDS * 0.8        # the audio is on disk, encrypted
    statements = review.draft.statements
    assert statements and review.note_text().strip()
    segment_ids = {seg.id for seg in s.load_transcript(eid).segments}
    grounded = [st for st in statements if st.evidence]
    assert grounded, "no statement points back to the transcript"
    st = grounded[0]
    assert review.tree.select_statement(st.id)
    assert review.transcript.highlighted and set(review.transcript.highlighted) <= segment_ids
    assert set(review.transcript.highlighted) == set(st.evidence) & segment_ids
    review.play.click()                                     # plays into the virtual sink
    wait_until(lambda: review.evidence_label.text().startswith(("▶ Playing", "Played", "Playback")),
               timeout=30000)
    assert not review.evidence_label.text().startswith("Playback failed"), review.evidence_label.text()

    review.editor.setFocus()
    review.editor.moveCursor(review.editor.textCursor().MoveOperation.End)
    qtbot.keyClick(review.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(review.editor, "Reviewed with the patient.")
    wait_until(lambda: "Saved as version" in review.save_state.text(), timeout=5000)
    assert s.latest_version(eid).text.endswith("Reviewed with the patient.")

    sign_acknowledging_every_flag(review)
    assert review.signed, review.status.text()
    note = s.signed_note(eid)
    assert note.text.endswith("Reviewed with the patient.")

    review.copy_button.click()
    assert QApplication.clipboard().text() == note.text
    window.encounter.back.click()
    row = next(r for r in window.day.visible_rows() if r.id == eid)
    assert row.status_label == "Signed"
