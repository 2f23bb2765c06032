"""Qt clipboard backend for the clipboard connector; used only by the desktop UI.

PySide6 is imported lazily so that importing ``localscribe.ehr`` never pulls in Qt.
Must be created and used on the Qt GUI thread (QClipboard's rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class QtClipboardBackend:
    def __init__(self, clipboard: Any = None) -> None:
        from PySide6.QtGui import QGuiApplication

        self._clipboard = clipboard or QGuiApplication.clipboard()

    def set_text(self, text: str) -> None:
        self._clipboard.setText(text)

    def get_text(self) -> str:
        return str(self._clipboard.text())

    def schedule(self, seconds: float, fn: Callable[[], None]) -> None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(seconds * 1000), fn)
