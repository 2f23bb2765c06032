"""The lock's orchestration alone (issue 12), fast: the real window, vault, LiveVisit and
VaultVisitStore, with three named stand-ins so that the test controls *when* things happen:
`PacedSource` (silence at real-time pace instead of a microphone), `CountingTranscriber` (a
segment every second instead of whisper.cpp) and `GatedDrafter` (a draft only when the test
releases it, instead of llama.cpp). The same behaviour with the real microphone and models is
tests/ui/test_lock_visit.py (slow)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from localscribe.capture.sources import AudioBlock
from localscribe.domain import Draft, Section, Segment, Statement

from lock_helpers import audit_actions, idle_lock, no_phi_on_screen, start_recording
from ui_helpers import pump, unlock, wait_until, when_modal

RATE = 16000


class PacedSource:
    """0.1 s blocks of quiet noise at real-time pace until stop() (a microphone stand-in)."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def start(self):
        return self

    def stop(self) -> None:
        time.sleep(0.5)                      # closing a real device takes a while: never on the UI thread
        self._stop.set()

    def blocks(self):
        t, began = 0.0, time.monotonic()
        while not self._stop.is_set():
            delay = began + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield AudioBlock((np.random.default_rng().standard_normal(1600) * 0.01).astype(np.float32), t)
            t += 0.1


class CountingTranscriber:
    def __init__(self) -> None:
        self.blocks = 0

    def feed(self, samples, channels=None):
        self.blocks += 1
        if self.blocks % 10:
            return []
        n = self.blocks // 10
        return [Segment(f"s{n}", n - 1.0, float(n), f"Lockless words number {n}.", "patient")]

    def finish(self):
        return []

    def close(self) -> None:
        pass


class GatedDrafter:
    release = threading.Event()

    def feed(self, segments) -> None:
        pass

    def finish(self, on_text=None) -> Draft:
        assert self.release.wait(60), "the test never released the draft"
        return Draft("soap", sections=[Section("subjective", "Subjective", [
            Statement("st1", "Words were said", ["s1"])])])

    def close(self) -> None:
        pass


@pytest.fixture
def stand_ins(monkeypatch):
    from localscribe.pipeline import LiveVisit, VaultVisitStore
    from localscribe.ui import core
    GatedDrafter.release = threading.Event()
    visits = []

    def live_visit(session, eid, *, profile, template, source, on_event, paths):
        visit = LiveVisit(PacedSource(), VaultVisitStore(session, eid),
                          transcriber_factory=CountingTranscriber, drafter_factory=GatedDrafter,
                          on_event=on_event)
        visits.append(visit)
        return visit
    monkeypatch.setattr(core, "live_visit", live_visit)
    monkeypatch.setattr(core, "input_devices", lambda: [core.InputDevice(0, "paced test source", True)])
    monkeypatch.setattr(core, "microphone_source", lambda device, on_level=None: None)
    yield visits
    GatedDrafter.release.set()
    for v in visits:
        v.cancel()
        v.wait(10)


def test_idle_lock_while_drafting_stores_the_draft_for_the_next_unlock(qtbot, vault, window, stand_ins):
    eid = start_recording(window, qtbot, virtual_microphone=False)
    enc = window.encounter
    wait_until(lambda: enc.panel.transcript.count() >= 1, timeout=5000)
    enc.panel.stop_button.click()
    wait_until(lambda: enc.visit_state == "drafting", timeout=10000)
    idle_lock(window)
    no_phi_on_screen("Lockless")
    assert window.session is None and window._held_session is not None
    assert "still being drafted" in window.unlock_view.error.text()
    GatedDrafter.release.set()                          # the draft finishes behind the lock
    wait_until(lambda: not enc.visit_in_progress, timeout=10000)
    wait_until(lambda: window._held_session is None, timeout=15000)
    no_phi_on_screen("Lockless")
    assert "stored" in window.unlock_view.error.text()
    unlock(window, qtbot, "drjones")
    assert window.content.currentWidget() is enc and enc.pages.currentWidget() is enc.review
    assert enc.review.draft is not None and not enc.error.isVisible(), enc.error.text()
    assert "Words were said" in enc.review.note_text()
    assert window.session.load_draft(eid) is not None          # stored, encrypted, in the vault
    locks = [d for a, o, d in audit_actions(vault) if a == "lock" and o == "drjones"]
    assert {"reason": "idle", "session_kept": "visit in progress"} in locks
    assert {"reason": "visit_stored"} in locks


def test_lock_while_recording_keeps_recording_and_stop_needs_no_passphrase(qtbot, vault, window, stand_ins):
    eid = start_recording(window, qtbot, virtual_microphone=False)
    enc = window.encounter
    pump(500)
    window.lock_button.click()                          # the user's own lock, Ctrl+L's button
    assert window.is_locked and enc.recording_active
    view = window.unlock_view
    assert view.stop_button.isVisible() and "Stop ends it without a passphrase" in view.error.text()
    no_phi_on_screen("Lockless")
    heard = enc.visit.result.timings.audio_seconds
    pump(2500)
    assert enc.visit.result.timings.audio_seconds >= heard + 2     # still capturing
    view.user.setText("sam")
    view.passphrase.setText("whatever it is")
    view.button.click()
    assert window.is_locked and "only they can unlock" in view.error.text()
    view.stop_button.click()                            # no passphrase typed
    assert not view.stop_button.isVisible() and window.is_locked
    wait_until(lambda: enc.visit_state == "drafting", timeout=10000)
    GatedDrafter.release.set()
    wait_until(lambda: not enc.visit_in_progress, timeout=10000)
    unlock(window, qtbot, "drjones")
    assert enc.review.draft is not None
    assert len(window.session.read_audio(eid)) / RATE >= 2.5
    actions = audit_actions(vault)
    assert ("recording.stop_request", eid, {"from_locked_screen": True}) in actions
    assert any(a == "recording.stop" and o == eid for a, o, _ in actions)
    assert any(a == "lock" and d.get("reason") == "user" for a, o, d in actions)


def test_quitting_mid_recording_and_cancelling_a_draft_are_audited(qtbot, vault, window, stand_ins, paths):
    eid = start_recording(window, qtbot, virtual_microphone=False)
    enc = window.encounter
    pump(1200)
    enc.panel.stop_button.click()
    wait_until(lambda: enc.visit_state == "drafting", timeout=10000)
    enc.review.cancel.click()
    GatedDrafter.release.set()
    wait_until(lambda: not enc.visit_in_progress, timeout=10000)
    GatedDrafter.release = threading.Event()
    enc.back.click()
    # A second visit, quit while it records.
    when_modal(lambda d: (d.name.setText("Quit Test"), d.mrn.setText("QT-1"), d._accept()))
    window.day.new_button.click()
    wait_until(lambda: window.content.currentWidget() is enc and enc.row.id != eid)
    second = enc.row.id
    when_modal(lambda box: next(b for b in box.buttons() if "agreed" in b.text()).click())
    enc.panel.record_button.click()
    pump(600)
    when_modal(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    window.close()
    actions = audit_actions(vault)
    assert ("draft.abandoned", eid, {"reason": "cancelled"}) in actions
    assert ("recording.end", second, {"reason": "window_closed"}) in actions
    assert any(a == "lock" and d.get("reason") == "window_closed" for a, o, d in actions)
