"""Keyboard (issue 12): on every screen of the window each Alt+letter mnemonic belongs to one
widget only (Alt+T was both Settings and Test microphone, Alt+R both Refresh and Security
report); Return in the first-passphrase field adds the user; Draft from the saved recording
and Cancel drafting have mnemonics."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar, QWidget

from localscribe.domain import Draft, Patient, Section, Segment, Statement, Transcript

from ui_helpers import PASSPHRASE, require_core, unlock, wait_until


def mnemonics(root: QWidget) -> dict[str, list[str]]:
    """letter -> the visible texts that claim it (buttons, buddy labels, tab titles)."""
    found: dict[str, list[str]] = {}
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible():
            continue
        texts = []
        if isinstance(w, (QAbstractButton, QLabel)):
            texts.append(w.text())
        if isinstance(w, QTabBar):
            texts += [w.tabText(i) for i in range(w.count()) if w.isTabVisible(i)]
        for text in texts:
            m = re.search(r"&([^&\s])", text.replace("&&", ""))
            if m:
                found.setdefault(m.group(1).lower(), []).append(text)
    return found


def assert_unique(window, screen: str) -> None:
    taken = mnemonics(window)
    dups = {k: v for k, v in taken.items() if len(v) > 1}
    assert not dups, f"{screen}: one Alt+letter, several widgets: {dups}"


def _reviewable(vault) -> str:
    s = vault.unlock("drjones", PASSPHRASE)
    eid = s.create_encounter(Patient(name="Key Board", mrn="KB-1"), "soap")
    s.save_transcript(eid, Transcript([Segment("s0", 0.0, 2.0, "Any cough?", "clinician"),
                                       Segment("s1", 2.0, 4.0, "A dry cough.", "patient")]))
    s.save_draft(eid, Draft("soap", sections=[
        Section("subjective", "Subjective", [Statement("st1", "Dry cough", ["s1"])])]))
    s.set_status(eid, "review")
    s.lock()
    return eid


def test_first_run_screen_has_unique_mnemonics(qtbot, window):
    assert_unique(window, "first run")


def test_every_screen_has_unique_mnemonics(qtbot, vault, window):
    require_core("localscribe.draft.render:render_note")
    window.unlock_view.set_recording(True)          # the locked screen with its Stop button
    assert_unique(window, "locked, recording")
    window.unlock_view.set_recording(False)
    eid = _reviewable(vault)
    unlock(window, qtbot, "drjones")
    assert_unique(window, "day")
    window.open_encounter(eid)
    enc = window.encounter
    assert enc.pages.currentWidget() is enc.review
    assert_unique(window, "review")
    enc.retry.show()
    enc.review.begin_draft("Drafting…")
    assert enc.retry.text().count("&") == 1 and enc.review.cancel.text().count("&") == 1
    assert_unique(window, "review while drafting, with Draft from the saved recording")
    enc.review.end_progress()
    enc.pages.setCurrentWidget(enc.panel)
    assert_unique(window, "recording panel")
    window.show_settings()
    for i in range(window.settings.tabs.count()):
        window.settings.tabs.setCurrentIndex(i)
        assert_unique(window, f"settings, clinician, tab {window.settings.tabs.tabText(i)}")
    window.lock()
    unlock(window, qtbot, "admin")
    for i in range(window.settings.tabs.count()):
        window.settings.tabs.setCurrentIndex(i)
        assert_unique(window, f"settings, admin, tab {window.settings.tabs.tabText(i)}")
    window.lock()
    unlock(window, qtbot, "audrey")
    for i in range(window.audit.tabs.count()):
        window.audit.tabs.setCurrentIndex(i)
        assert_unique(window, f"audit, tab {window.audit.tabs.tabText(i)}")


def test_return_in_the_first_passphrase_field_adds_the_user(qtbot, vault, window):
    unlock(window, qtbot, "admin")
    window.show_settings()
    s = window.settings
    s.tabs.setCurrentIndex(s.tabs.indexOf(s.users.parentWidget()))
    s.new_user.setText("nina")
    s.new_role.setCurrentText("assistant")
    s.new_pass.setText(PASSPHRASE + " nina")
    s.new_pass.setFocus()
    qtbot.keyClick(s.new_pass, Qt.Key.Key_Return)
    wait_until(lambda: "Added nina" in s.users_state.text(), timeout=60_000)
    assert "nina" in [s.users.item(r, 0).text() for r in range(s.users.rowCount())]
