"""The widgets that need no model: unlock form, idle watcher, record controls, event bridge,
day list, review (evidence, flags, autosave). Real Qt, offscreen; real domain values."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from localscribe.domain import Draft, Flag, Section, Segment, Statement, Transcript
from localscribe.pipeline import events as ev
from localscribe.ui.core import EncounterRow, InputDevice
from localscribe.domain import Patient

from ui_helpers import pump, wait_until


def test_unlock_view_validates_before_emitting(qtbot):
    from localscribe.ui.unlock_view import UnlockView
    view = UnlockView()
    qtbot.addWidget(view)
    view.show()
    got = []
    view.unlock_requested.connect(lambda u, p: got.append((u, p)))
    view.button.click()
    assert got == [] and "both" in view.error.text()
    qtbot.keyClicks(view.user, "drjones")
    qtbot.keyClicks(view.passphrase, "secret words")
    qtbot.keyClick(view.passphrase, Qt.Key.Key_Return)
    assert got == [("drjones", "secret words")]

    view.set_first_run(True)
    created = []
    view.create_requested.connect(lambda u, p: created.append(u))
    qtbot.keyClicks(view.confirm, "different")
    view.button.click()
    assert created == [] and "differ" in view.error.text()
    view.confirm.setText("secret words")
    view.button.click()
    assert created == ["drjones"]


def test_idle_watcher_fires_after_quiet_and_activity_postpones_it(qtbot):
    from PySide6.QtWidgets import QApplication, QLineEdit
    from localscribe.ui.idle_lock import IdleWatcher
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    watcher = IdleWatcher(0.4)
    QApplication.instance().installEventFilter(watcher)
    try:
        fired = []
        watcher.idle.connect(lambda: fired.append(True))
        watcher.arm()
        for _ in range(4):            # keep typing for ~0.6 s: longer than the timeout
            pump(150)
            qtbot.keyClick(field, Qt.Key.Key_A)
        assert fired == []
        wait_until(lambda: fired == [True], timeout=2000)
        watcher.disarm()
    finally:
        QApplication.instance().removeEventFilter(watcher)


def test_record_panel_controls_follow_state(qtbot):
    from localscribe.ui.record_panel import RECORD_KEY, RecordPanel
    panel = RecordPanel()
    qtbot.addWidget(panel)
    with qtbot.waitActive(panel):     # shortcuts only reach the active window
        panel.show()
        panel.activateWindow()
    panel.set_devices([], "No input device was found.")
    assert not panel.record_button.isEnabled()
    assert panel.no_mic.isVisible() and "No input device" in panel.no_mic.text()

    panel.set_devices([InputDevice(3, "USB mic", True), InputDevice(5, "Webcam")])
    assert panel.record_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.device().id == 3 and not panel.no_mic.isVisible()
    clicks = []
    panel.record_clicked.connect(lambda: clicks.append("record"))
    panel.pause_clicked.connect(lambda: clicks.append("pause"))
    panel.stop_clicked.connect(lambda: clicks.append("stop"))
    panel.record_button.setFocus()
    qtbot.keyClick(panel.record_button, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert clicks == ["record"]
    panel.set_state("recording")
    assert "Pause" in panel.record_button.text() and RECORD_KEY in panel.record_button.text()
    assert panel.stop_button.isEnabled() and not panel.mic.isEnabled()
    panel.set_level(-20.0)
    assert "-20 dB" in panel.meter.format() and "good" in panel.meter.format()
    pump(600)
    assert panel.elapsed_s() >= 0.5
    qtbot.keyClick(panel.record_button, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.record_button, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert clicks == ["record", "pause", "stop"]
    panel.set_state("paused")
    frozen = panel.elapsed_s()
    pump(300)
    assert panel.elapsed_s() == frozen and "Resume" in panel.record_button.text()

    panel.add_segment(Segment("s1", 1.0, 3.5, "Any chest pain?", "clinician"))
    panel.add_segment(Segment("s2", 4.0, 5.0, "No.", "unknown"))
    assert panel.transcript.item(0).text() == "[00:01] Clinician: Any chest pain?"
    assert panel.transcript.item(1).text().startswith("[00:04] Speaker:")


def test_bridge_delivers_worker_thread_events_on_the_ui_thread(qtbot):
    from PySide6.QtCore import QThread
    from localscribe.ui.visit_bridge import VisitBridge
    bridge = VisitBridge()
    seen = []
    ui_thread = QThread.currentThread()
    bridge.segment.connect(lambda s: seen.append(("segment", s.id, QThread.currentThread() is ui_thread)))
    bridge.error.connect(lambda st, m, r: seen.append(("error", st, r)))
    bridge.level.connect(lambda db: seen.append(("level", db)))

    def worker():
        bridge.post(ev.LevelChanged(-12.0))
        bridge.post(ev.SegmentAdded(Segment("a", 0, 1, "hello")))
        bridge.post(ev.PipelineError("transcribe", "The engine stopped.", True))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    wait_until(lambda: len(seen) == 3, timeout=2000)
    assert seen == [("level", -12.0), ("segment", "a", True), ("error", "transcribe", True)]


def _row(eid, name, mrn, created, status="review", samples=16000):
    return EncounterRow(eid, Patient(name=name, mrn=mrn), "soap", status, created, samples,
                        has_draft=status != "new")


def test_day_view_filters_by_day_and_search(qtbot):
    import datetime as dt
    from localscribe.ui.day_view import DayView
    view = DayView()
    qtbot.addWidget(view)
    view.show()
    now = dt.datetime.now().astimezone()
    earlier = now - dt.timedelta(days=3)
    view.set_templates([("soap", "SOAP note")])
    view.set_encounters([_row("1", "Ada Lovelace", "M1", now.isoformat(), "review"),
                         _row("2", "Alan Turing", "M2", now.isoformat(), "signed"),
                         _row("3", "Grace Hopper", "M3", earlier.isoformat(), "sent"),
                         _row("4", "Edsger Dijkstra", "M4", now.isoformat(), "new", 0)])
    assert [r.id for r in view.visible_rows()] == ["1", "2", "4"]
    statuses = [view.table.item(i, 4).text() for i in range(view.table.rowCount())]
    assert statuses == ["Needs review", "Signed", "Not recorded yet"]
    view.search.setText("turing")
    assert [r.id for r in view.visible_rows()] == ["2"]
    view.search.setText("needs review")
    assert [r.id for r in view.visible_rows()] == ["1"]
    view.search.clear()
    view.all_days.setChecked(True)
    assert {r.id for r in view.visible_rows()} == {"1", "2", "3", "4"}
    view.all_days.setChecked(False)
    view.day.setDate(view.day.date().addDays(-3))
    assert [r.id for r in view.visible_rows()] == ["3"]
    opened = []
    view.open_requested.connect(opened.append)
    view.table.setCurrentCell(0, 1)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert opened == ["3"]


def test_new_encounter_dialog_requires_name_and_dob_or_mrn(qtbot):
    from localscribe.ui.day_view import NewEncounterDialog
    d = NewEncounterDialog([("soap", "SOAP note"), ("hp", "History and physical")])
    qtbot.addWidget(d)
    d.show()
    d._accept()
    assert "name" in d.error.text()
    d.name.setText("Ada Lovelace")
    d._accept()
    assert "date of birth or an MRN" in d.error.text()
    d.birth_date.setText("31/02/68")         # no such day, and a two-digit year is never guessed
    d._accept()
    assert "1968-04-23" in d.error.text()
    d.birth_date.setText("1968-04-23")
    d.template.setCurrentIndex(1)
    d._accept()
    assert d.result() == d.DialogCode.Accepted
    assert d.patient().birth_date == "1968-04-23" and d.template_key() == "hp"


def _draft() -> tuple[Draft, Transcript]:
    segs = [Segment("s0", 0.0, 2.0, "What brings you in today?", "clinician"),
            Segment("s1", 2.5, 6.0, "I have had a cough for two weeks.", "patient"),
            Segment("s2", 6.5, 8.0, "Any chest pain?", "clinician"),
            Segment("s3", 8.2, 9.0, "No chest pain.", "patient")]
    draft = Draft("soap", sections=[
        Section("subjective", "SUBJECTIVE", [
            Statement("st1", "Cough for two weeks.", ["s1"]),
            Statement("st2", "Denies chest pain.", ["s2", "s3"])]),
        Section("plan", "PLAN", [
            Statement("st3", "Amoxicillin 500 mg three times daily.", [],
                      [Flag("unsupported", "No part of the visit mentions this.", "Amoxicillin 500 mg")])])])
    return draft, Transcript(segs)


def test_review_highlights_evidence_marks_flags_and_autosaves(qtbot, monkeypatch):
    from localscribe.ui import review_view
    from localscribe.ui.review_view import EVIDENCE_MARK, FLAG_MARK, ReviewView
    monkeypatch.setattr(review_view, "AUTOSAVE_MS", 300)
    view = ReviewView()
    qtbot.addWidget(view)
    view.show()
    draft, transcript = _draft()
    view.set_transcript(transcript)
    view.begin_draft()
    view.add_section(draft.sections[0])            # sections appear as they are generated
    assert view.tree.section_count() == 1 and view.progress_row.isVisible()
    view.set_draft(draft, "SUBJECTIVE\nCough for two weeks.\n")
    assert not view.progress_row.isVisible()
    assert "1 item needs checking" in view.status.text()

    assert view.tree.select_statement("st2")
    marked = [view.transcript.item(i).text() for i in range(view.transcript.count())
              if view.transcript.item(i).text().startswith(EVIDENCE_MARK)]
    assert len(marked) == 2 and "Any chest pain?" in marked[0] and "No chest pain." in marked[1]
    assert view.transcript.highlighted == ["s2", "s3"]
    assert "2 segments, 00:06–00:09" in view.evidence_label.text() and view.play.isEnabled()
    played = []
    view.play_requested.connect(lambda a, b: played.append((a, b)))
    view.play.click()
    assert played == [(6.5, 9.0)]

    assert view.tree.select_statement("st3")
    flagged = view.tree.currentItem()
    assert flagged.text().strip().startswith(FLAG_MARK) and not flagged.icon().isNull()
    reason = view.tree.item(view.tree.row(flagged) + 1)
    assert reason.text().strip().startswith("Check: No part of the visit mentions this.")
    assert view.transcript.highlighted == [] and not view.play.isEnabled()
    assert "No transcript evidence" in view.evidence_label.text()

    versions = []
    view.set_saver(lambda text: versions.append(text) or len(versions))
    view.editor.setFocus()
    qtbot.keyClicks(view.editor, "Edited. ")
    assert versions == []                            # debounced: not on every keystroke
    wait_until(lambda: len(versions) == 1, timeout=3000)
    assert versions[0].startswith("Edited. SUBJECTIVE")
    assert "Saved as version 1" in view.save_state.text()

    view.set_signed(True, "Version 1 signed by drjones.")
    assert view.editor.isReadOnly() and not view.sign_button.isVisible()
    assert "Signed and locked" in view.status.text()


def test_evidence_playback_stops_at_once_and_plays_to_the_end_through_a_real_sink(virtual_microphone, qtbot):
    """Stopping from the UI thread while the clip plays (what locking the screen does) must
    neither crash PortAudio nor leave the stream open; an unstopped clip plays to its end."""
    import numpy as np
    from localscribe.ui.audio_player import AudioPlayer
    player = AudioPlayer()
    finished, failed = [], []
    player.finished.connect(lambda: finished.append(True))
    player.failed.connect(failed.append)
    tone = (0.1 * np.sin(np.arange(16000 * 6) * 2 * np.pi * 440 / 16000)).astype(np.float32)

    for _ in range(3):                          # play, stop at once: repeatedly
        player.play(tone, 1.0, 5.0)
        assert player.playing or failed, failed
        pump(150)
        player.stop()
        assert not player.playing
    pump(300)
    assert not failed, failed

    finished.clear()
    started = threading.Event()
    player.started.connect(lambda a, b: started.set())
    player.play(tone, 0.0, 0.5)                 # 0.5 s plus padding
    assert started.is_set()
    wait_until(lambda: bool(finished or failed), timeout=10000)
    assert finished and not failed, failed
    assert not player.playing
