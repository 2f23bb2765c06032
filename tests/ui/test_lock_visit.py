"""A lock never costs a visit (issue 12): the idle lock fires while the note is drafting, or
while the visit is still being recorded, with the real vault, the virtual microphone and the
tiny whisper.cpp / llama.cpp models. Slow-ish: the speech plays in real time (7 s)."""

from __future__ import annotations

import pytest

from lock_helpers import SPEECH, audit_actions, idle_lock, no_phi_on_screen, start_recording, require_models_and_speech
from ui_helpers import pump, unlock, wait_until

pytestmark = pytest.mark.slow


def test_idle_lock_while_drafting_keeps_the_draft_for_the_next_unlock(virtual_microphone, qtbot,
                                                                       vault, window, paths):
    require_models_and_speech(paths)
    eid = start_recording(window, qtbot)
    enc = window.encounter
    player = virtual_microphone(SPEECH)
    wait_until(lambda: player.poll() is not None, timeout=30000)
    pump(1000)
    enc.panel.stop_button.click()
    assert enc.visit_in_progress                  # transcribing the tail / drafting
    idle_lock(window)
    assert enc.visit_in_progress, "the lock came too late to test anything"
    assert window.session is None and window._held_session is not None
    no_phi_on_screen()
    assert "still being drafted" in window.unlock_view.error.text()

    wait_until(lambda: not enc.visit_in_progress, timeout=600_000)
    pump(6000)                                    # the keep-alive tick locks the held session
    assert window._held_session is None
    no_phi_on_screen()
    assert "stored" in window.unlock_view.error.text()

    unlock(window, qtbot, "drjones")
    assert window.content.currentWidget() is enc and enc.pages.currentWidget() is enc.review
    assert enc.review.draft is not None, enc.error.text()
    assert not enc.error.isVisible(), enc.error.text()
    assert enc.review.note_text().strip()
    assert window.session.load_draft(eid) is not None          # stored, encrypted, in the vault
    locks = [d for a, o, d in audit_actions(vault) if a == "lock" and o == "drjones"]
    assert {"reason": "idle", "session_kept": "visit in progress"} in locks
    assert {"reason": "visit_stored"} in locks


def test_idle_lock_while_recording_keeps_recording_and_stop_needs_no_passphrase(
        virtual_microphone, qtbot, vault, window, paths):
    require_models_and_speech(paths)
    eid = start_recording(window, qtbot)
    enc = window.encounter
    player = virtual_microphone(SPEECH)
    pump(1500)
    idle_lock(window)
    assert enc.recording_active and window.unlock_view.stop_button.isVisible()
    no_phi_on_screen()
    heard = enc.visit.result.timings.audio_seconds
    wait_until(lambda: player.poll() is not None, timeout=30000)
    pump(1000)
    assert enc.visit.result.timings.audio_seconds > heard + 4      # captured behind the lock

    # Another user cannot unlock over a running visit; its owner's Stop needs no passphrase.
    view = window.unlock_view
    view.user.setText("sam")
    view.passphrase.setText("whatever")
    view.button.click()
    assert window.is_locked and "only they can unlock" in view.error.text()
    view.passphrase.clear()
    view.stop_button.click()
    assert window.is_locked and not view.stop_button.isVisible()
    assert enc.visit_state in ("finishing", "transcribing", "drafting", "review")
    no_phi_on_screen()

    wait_until(lambda: not enc.visit_in_progress, timeout=600_000)
    unlock(window, qtbot, "drjones")
    assert enc.review.draft is not None, enc.error.text()
    audio = window.session.read_audio(eid)
    assert len(audio) / 16000 >= 6.0              # the whole clip, recorded through the lock
    actions = audit_actions(vault)
    assert ("recording.stop_request", eid, {"from_locked_screen": True}) in actions
    assert any(a == "recording.stop" and o == eid for a, o, _ in actions)
