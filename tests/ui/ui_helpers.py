"""Helpers for the UI tests: what a person can read on screen, driving modal dialogs,
unlocking, signing, waiting, and naming the core pieces and models a test drives (failing
when one is gone)."""

from __future__ import annotations

import pytest

from tests.support.qt_wait import pump, wait_until  # noqa: F401 (the UI tests import them from here)

PASSPHRASE = "correct horse battery staple"


def visible_texts(root=None) -> list[str]:
    """Every piece of text a person could read in the visible widgets (and window titles)."""
    from PySide6.QtWidgets import (QAbstractButton, QApplication, QComboBox, QLabel, QLineEdit,
                                   QListWidget, QPlainTextEdit, QTableWidget, QTextEdit, QTreeWidget)
    out: list[str] = []
    widgets = QApplication.allWidgets() if root is None else [root, *root.findChildren(object)]
    for w in widgets:
        if not hasattr(w, "isVisible") or not w.isVisible():
            continue
        if w.isWindow():
            out.append(w.windowTitle())
        if isinstance(w, (QLabel, QAbstractButton)) or (
                isinstance(w, QLineEdit) and w.echoMode() == QLineEdit.EchoMode.Normal):
            out.append(w.text())
        elif isinstance(w, (QPlainTextEdit, QTextEdit)):
            out.append(w.toPlainText())
        elif isinstance(w, QComboBox):
            out.extend(w.itemText(i) for i in range(w.count()))
        elif isinstance(w, QListWidget):
            out.extend(w.item(i).text() for i in range(w.count()))
        elif isinstance(w, QTableWidget):
            out.extend(w.item(r, c).text() for r in range(w.rowCount()) for c in range(w.columnCount())
                       if w.item(r, c) is not None)
        elif isinstance(w, QTreeWidget):
            stack = [w.topLevelItem(i) for i in range(w.topLevelItemCount())]
            while stack:
                it = stack.pop()
                out.append(it.text(0))
                stack.extend(it.child(j) for j in range(it.childCount()))
        if hasattr(w, "toolTip"):
            out.append(w.toolTip())
    return [t for t in out if t]


def require_core(*modules: str) -> None:
    """Fail, naming what is missing, when a core piece this test drives ("module" or
    "module:attribute") is gone. Every piece is built: a missing one is a rename or a removal
    that broke the UI, never a reason to skip."""
    import importlib
    for name in modules:
        mod_name, _, attr = name.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            pytest.fail(f"the UI drives {name}, which no longer imports: {exc}", pytrace=False)
        if attr and not hasattr(mod, attr):
            pytest.fail(f"the UI drives {name}, but {mod_name} has no {attr}", pytrace=False)


def require_tiny_models(paths) -> None:
    """tests/run.sh installs the tiny models: a missing one is a broken setup, never a reason
    to skip."""
    from localscribe.models import ModelError, resolve_model
    try:
        resolve_model("asr", "tiny", paths)
        resolve_model("llm", "tiny", paths)
    except ModelError as exc:
        pytest.fail(f"needs the tiny models (installer/install.sh --profile tiny): {exc}")


def when_modal(handler, qtbot=None):
    """Run `handler(dialog)` as soon as a modal dialog is open (dialogs block in exec())."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def poll():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
        else:
            handler(dialog)
    QTimer.singleShot(0, poll)


def open_new_encounter(window, name: str, mrn: str):
    """New encounter from the day list, the patient's name and MRN typed into its dialog;
    returns the encounter view once it shows."""
    def fill(dialog):
        dialog.name.setText(name)
        dialog.mrn.setText(mrn)
        dialog._accept()
    when_modal(fill)
    window.day.new_button.click()
    enc = window.encounter
    wait_until(lambda: window.content.currentWidget() is enc, timeout=5000)
    return enc


def pick_virtual_microphone(panel) -> None:
    """Choose the PulseAudio virtual microphone (the virtual_microphone fixture) in the panel."""
    names = [panel.mic.itemText(i) for i in range(panel.mic.count())]
    pulse = next((i for i, n in enumerate(names) if n.startswith("pulse")), None)
    assert pulse is not None, f"the virtual microphone is not offered; devices: {names}"
    panel.mic.setCurrentIndex(pulse)


def sign_acknowledging_every_flag(review) -> None:
    """Press Sign and, in the real sign dialog, tick every flag it asks about, then sign."""
    def sign(dialog):
        for cb, _fid in dialog.checks:
            cb.setChecked(True)
        dialog.sign_button.click()
    when_modal(sign)
    review.sign_button.click()


def send_through_dialog(review, connector: str) -> None:
    """Press Send and choose `connector` in the send dialog."""
    def choose(dialog):
        dialog.connector.setCurrentText(connector)
        dialog.accept()
    when_modal(choose)
    review.send_button.click()


def unlock(window, qtbot, user, passphrase=PASSPHRASE):
    view = window.unlock_view
    view.user.setText(user)
    view.passphrase.setText(passphrase)
    view.button.click()
    wait_until(lambda: not window.is_locked, timeout=10000)
