"""Shared steps of the lock and latency tests: a clinician's visit through the virtual
microphone with the real tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui_helpers import require_core, unlock, wait_until, when_modal

SPEECH = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")


def tiny_models_or_skip(paths) -> None:
    require_core("localscribe.models:resolve_model", "localscribe.pipeline:LiveVisit")
    from localscribe.models import ModelError, resolve_model
    try:
        resolve_model("asr", "tiny", paths)
        resolve_model("llm", "tiny", paths)
    except ModelError as exc:
        pytest.skip(f"needs the tiny models (installer/install.sh --profile tiny): {exc}")
    if not SPEECH.exists():
        pytest.skip(f"needs {SPEECH} (Debian pocketsphinx-testdata) to speak into the microphone")


def pick_virtual_microphone(panel) -> None:
    names = [panel.mic.itemText(i) for i in range(panel.mic.count())]
    pulse = next((i for i, n in enumerate(names) if n.startswith("pulse")), None)
    assert pulse is not None, f"the virtual microphone is not offered; devices: {names}"
    panel.mic.setCurrentIndex(pulse)


def start_recording(window, qtbot, user: str = "drjones") -> str:
    """Unlock, start a visit with Record and return its encounter id (consent given)."""
    if window.is_locked:
        unlock(window, qtbot, user)
    def fill(dialog):
        dialog.name.setText("Lock Test")
        dialog.mrn.setText("LT-1")
        dialog._accept()
    when_modal(fill)
    window.day.new_button.click()
    enc = window.encounter
    wait_until(lambda: window.content.currentWidget() is enc, timeout=5000)
    pick_virtual_microphone(enc.panel)

    def agree(box):
        next(b for b in box.buttons() if "agreed" in b.text()).click()
    when_modal(agree)
    enc.panel.record_button.click()
    wait_until(lambda: enc.panel.state == "recording", timeout=10000)
    return enc.row.id


def audit_actions(vault, user="drjones"):
    from ui_helpers import PASSPHRASE
    s = vault.unlock("audrey", PASSPHRASE)
    try:
        return [(e.action, e.object, e.details) for e in s.audit_events()]
    finally:
        s.lock()

