"""Helpers for the UI tests: what a person can read on screen, driving modal dialogs,
unlocking, and naming the core pieces a test drives (failing when one is gone)."""

from __future__ import annotations

import pytest

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


def unlock(window, qtbot, user, passphrase=PASSPHRASE):
    view = window.unlock_view
    view.user.setText(user)
    view.passphrase.setText(passphrase)
    view.button.click()
    wait_until(lambda: not window.is_locked, timeout=10000)


def pump(ms: int) -> None:
    """Run the Qt event loop for `ms` milliseconds.

    Used instead of qtbot.wait/waitUntil: those call QTest.qWait, and in PySide6 6.12 each
    processEvents() there drops a reference to None, which crashes a long test run."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(predicate, timeout: int = 5000, step: int = 20) -> None:
    """Like qtbot.waitUntil (raises on timeout), without QTest.qWait (see pump)."""
    import time
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if predicate() not in (False, None):
                return
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} ms")
        pump(step)
