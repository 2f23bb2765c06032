"""Settings > Your style: the rules LocalScribe learned from the signed-in clinician's signed
notes, in plain words, and a Reset that forgets them (after an explicit second click).

The same core calls as `localscribe style show|reset` (``style.store``), so the rule that a
clinician sees and resets only their own has one home. The panel reads the session each time
it is shown (a getter, so its registration in the settings view is one line) and forgets what
it showed when hidden (the window locks by hiding its views).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from localscribe.ui import core
from localscribe.ui.workers import TaskRunner

if TYPE_CHECKING:
    from localscribe.vault.session import Session


def _load(session: Session) -> tuple[int, list[str]]:
    from localscribe.style import store
    from localscribe.style.profile import learn

    history = store.history(session)
    return history.notes, learn(history).describe()


def _reset(session: Session) -> int:
    from localscribe.style import store

    return store.reset(session)


class StylePanel(QWidget):
    def __init__(self, runner: TaskRunner, session: Callable[[], Session | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self._session = runner, session
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.rules = QListWidget()
        self.rules.setObjectName("StyleRules")
        self.rules.setAccessibleName("Learned style rules")
        self.reset_button = QPushButton("Reset lear&ned style…")
        self.reset_button.clicked.connect(self._ask)
        self.confirm_button = QPushButton("Yes, forget everyth&ing learned")
        self.confirm_button.clicked.connect(self._confirmed)
        self.confirm_button.hide()
        self.state = QLabel("")
        self.state.setWordWrap(True)
        explain = QLabel("Drafts follow how you write: learned from the differences between each "
                         "draft and the note you signed. A rule needs the same habit in several "
                         "notes. Stored encrypted in the vault; only you see or reset it.")
        explain.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.reset_button)
        row.addWidget(self.confirm_button)
        row.addStretch(1)
        v = QVBoxLayout(self)
        v.addWidget(explain)
        v.addWidget(self.summary)
        v.addWidget(self.rules, 1)
        v.addLayout(row)
        v.addWidget(self.state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.clear()
        self.state.clear()

    def refresh(self) -> None:
        session = self._session()
        self.confirm_button.hide()
        if session is None:
            self.clear()
            return
        if not core.allows(session, "style.own"):
            self.clear()
            self.summary.setText("Only clinicians have a learned drafting style.")
            return
        self.reset_button.setEnabled(False)
        self.runner.start("Reading your style", _load, session, on_done=self._show,
                          on_error=self._failed)

    def _show(self, result: tuple[int, list[str]]) -> None:
        notes, rules = result
        self.rules.clear()
        self.rules.addItems(rules)
        self.summary.setText(f"Learned from {notes} signed note(s); {len(rules)} rule(s)."
                             + ("" if rules else " No rule yet."))
        self.reset_button.setEnabled(notes > 0)

    def _failed(self, message: str) -> None:
        self.state.setText(f"⚠ {message}")
        self.reset_button.setEnabled(True)

    def _ask(self) -> None:
        self.confirm_button.show()
        self.state.setText("Reset forgets every rule learned from your signed notes. Your notes "
                           "themselves are not changed.")

    def _confirmed(self) -> None:
        session = self._session()
        self.confirm_button.hide()
        if session is None:
            return
        self.runner.start("Resetting your style", _reset, session, on_done=self._was_reset,
                          on_error=self._failed)

    def _was_reset(self, forgotten: Any) -> None:
        self.state.setText(f"✓ Style reset: {forgotten} signed note(s) forgotten (audited).")
        self.refresh()

    def clear(self) -> None:
        self.rules.clear()
        self.summary.clear()
        self.confirm_button.hide()
        self.reset_button.setEnabled(False)
