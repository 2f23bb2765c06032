"""Shared steps of the lock and latency tests: a clinician's visit through the virtual
microphone with the real tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui_helpers import (open_new_encounter, pick_virtual_microphone, require_core, require_tiny_models,
                        unlock, visible_texts, wait_until, when_modal)

SPEECH = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")


def require_models_and_speech(paths) -> None:
    """The tiny models and the speech to play: `installer/install.sh --profile tiny --dev`
    (run by tests/run.sh) installs both, so a missing one fails the test, never skips it."""
    require_core("localscribe.models:resolve_model", "localscribe.pipeline:LiveVisit")
    require_tiny_models(paths)
    if not SPEECH.exists():
        pytest.fail(f"needs {SPEECH} (Debian pocketsphinx-testdata, installed by the installer's --dev)")


def start_recording(window, qtbot, user: str = "drjones", *, virtual_microphone: bool = True) -> str:
    """Unlock, start a visit ("Lock Test", LT-1) with Record and return its encounter id
    (consent given). virtual_microphone=False: keep the panel's device (a test that replaces
    the microphone source)."""
    if window.is_locked:
        unlock(window, qtbot, user)
    enc = open_new_encounter(window, "Lock Test", "LT-1")
    if virtual_microphone:
        pick_virtual_microphone(enc.panel)

    def agree(box):
        next(b for b in box.buttons() if "agreed" in b.text()).click()
    when_modal(agree)
    enc.panel.record_button.click()
    wait_until(lambda: enc.panel.state == "recording", timeout=10000)
    return enc.row.id


def idle_lock(window) -> None:
    """Let the idle lock fire now (0.2 s without input) and wait until it has."""
    window.idle.set_timeout(0.2)
    window.idle.arm()
    wait_until(lambda: window.is_locked, timeout=5000)


def no_phi_on_screen(*names: str) -> None:
    """Nothing a person can read names start_recording's patient (or any of `names`)."""
    texts = visible_texts()
    assert not any(n in t for t in texts for n in ("Lock Test", "LT-1", *names)), texts


def audit_actions(vault, user="drjones"):
    from ui_helpers import PASSPHRASE
    s = vault.unlock("audrey", PASSPHRASE)
    try:
        return [(e.action, e.object, e.details) for e in s.audit_events()]
    finally:
        s.lock()

