"""Look and feel: one stylesheet, sizes in points so 150% scaling stays readable.

Colour is never the only signal: every state the style colours also carries a word or a symbol
in the widget's text, so this file can change without hiding meaning.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

BASE_POINT_SIZE = 11

STYLESHEET = """
QWidget { font-size: 11pt; }
QLabel#Title { font-size: 16pt; font-weight: 600; }
QLabel#Subtitle { font-size: 12pt; color: #333; }
QLabel#Banner { background: #fff4ce; border: 1px solid #c8a400; padding: 6px; }
QLabel#ErrorBanner { background: #fde7e9; border: 1px solid #a4262c; padding: 6px; }
QLabel#Muted { color: #555; }
QPushButton { padding: 6px 14px; min-height: 1.6em; }
QPushButton#RecordButton { font-size: 16pt; font-weight: 600; padding: 12px 28px; min-width: 9em; }
QPushButton#StopButton { font-size: 16pt; padding: 12px 20px; }
QLabel#Elapsed { font-size: 20pt; font-family: monospace; }
QLabel#LockedTitle { font-size: 20pt; font-weight: 600; }
QPushButton:focus, QLineEdit:focus, QComboBox:focus, QListView:focus, QTreeView:focus,
QPlainTextEdit:focus, QTextEdit:focus, QTableView:focus { border: 2px solid #0b5cad; }
"""


def apply(app: QApplication) -> None:
    font = QFont(app.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def shortcut(parent, keys: str, slot, *, local: bool = False):
    """A keyboard shortcut owned by `parent`; `local` limits it to when focus is inside parent.

    The context is set after construction because the (key, parent, callable) constructor
    ignores a context keyword in PySide6 6.12; the caller keeps the returned object."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence, QShortcut

    sc = QShortcut(QKeySequence(keys), parent)
    sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut if local
                  else Qt.ShortcutContext.WindowShortcut)
    sc.activated.connect(slot)
    return sc
