"""Unlock screen (and, on first run, creating the first administrator).

The screen shows nothing about patients: it is also what a locked window shows.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from localscribe.ui.qtcompat import emit


class UnlockView(QWidget):
    unlock_requested = Signal(str, str)              # user, passphrase
    create_requested = Signal(str, str)              # first admin user, passphrase
    stop_requested = Signal()                        # Stop the recording, no passphrase needed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UnlockView")
        self._first_run = False
        self.title = QLabel("LocalScribe is locked")
        self.title.setObjectName("LockedTitle")
        self.hint = QLabel("Enter your user name and passphrase to continue.")
        self.hint.setWordWrap(True)
        self.hint.setMinimumHeight(self.hint.fontMetrics().lineSpacing() * 4)
        self.user = QLineEdit()
        self.user.setObjectName("UserField")
        self.user.setAccessibleName("User name")
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("PassphraseField")
        self.passphrase.setAccessibleName("Passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setAccessibleName("Repeat passphrase")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("ErrorBanner")
        self.error.setWordWrap(True)
        self.error.hide()
        self.button = QPushButton("&Unlock")
        self.button.setObjectName("UnlockButton")
        self.button.setDefault(True)
        self.button.clicked.connect(self._submit)
        # Stopping a recording needs no passphrase: it reveals nothing and only ends capture
        # early (SECURITY.md, "Locked screen"); it is shown only while a recording runs.
        self.stop_button = QPushButton("■ &Stop the recording")
        self.stop_button.setObjectName("StopButton")
        self.stop_button.setAccessibleName("Stop the recording (no passphrase needed)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()
        self.passphrase.returnPressed.connect(self._submit)
        self.confirm.returnPressed.connect(self._submit)
        self.user.returnPressed.connect(self.passphrase.setFocus)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("User &name:", self.user)
        form.addRow("&Passphrase:", self.passphrase)
        self._confirm_label = QLabel("&Repeat passphrase:")
        self._confirm_label.setBuddy(self.confirm)
        form.addRow(self._confirm_label, self.confirm)

        box = QWidget()
        box.setFixedWidth(600)     # a fixed width lets the wrapped hint compute its height
        inner = QVBoxLayout(box)
        inner.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinimumSize)
        inner.addWidget(self.title)
        inner.addWidget(self.hint)
        inner.addLayout(form)
        inner.addWidget(self.error)
        row = QHBoxLayout()
        row.addWidget(self.stop_button)
        row.addStretch(1)
        row.addWidget(self.button)
        inner.addLayout(row)

        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(box)
        centre.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(2)
        self.setTabOrder(self.user, self.passphrase)
        self.setTabOrder(self.passphrase, self.confirm)
        self.setTabOrder(self.confirm, self.button)
        self.set_first_run(False)

    def set_first_run(self, first_run: bool) -> None:
        self._first_run = first_run
        self.confirm.setVisible(first_run)
        self._confirm_label.setVisible(first_run)
        if first_run:
            self.title.setText("Welcome to LocalScribe")
            self.hint.setText("No vault exists here yet. Create the first administrator account; "
                              "the passphrase protects every record on this computer and cannot "
                              "be recovered if lost.")
            self.button.setText("&Create vault")
        else:
            self.title.setText("LocalScribe is locked")
            self.hint.setText("Enter your user name and passphrase to continue.")
            self.button.setText("&Unlock")

    def reset(self, user: str = "", message: str = "") -> None:
        """Back to an empty form; `message` explains why (e.g. locked after inactivity)."""
        self.passphrase.clear()
        self.confirm.clear()
        if user:
            self.user.setText(user)
        self.show_error(message) if message else self.error.hide()
        (self.passphrase if self.user.text() else self.user).setFocus()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.passphrase.selectAll()
        self.passphrase.setFocus()

    def set_recording(self, recording: bool) -> None:
        """A visit is being recorded behind the lock: offer Stop."""
        self.stop_button.setVisible(recording)

    def set_busy(self, busy: bool, text: str = "Unlocking…") -> None:
        self.button.setEnabled(not busy)
        for w in (self.user, self.passphrase, self.confirm):
            w.setReadOnly(busy)
        self.button.setText(text if busy else ("&Create vault" if self._first_run else "&Unlock"))

    def _submit(self) -> None:
        user, phrase = self.user.text().strip(), self.passphrase.text()
        if not user or not phrase:
            self.show_error("Enter both a user name and a passphrase.")
            return
        if self._first_run:
            if phrase != self.confirm.text():
                self.show_error("The two passphrases differ. Type them again.")
                return
            emit(self.create_requested, user, phrase)
        else:
            emit(self.unlock_requested, user, phrase)
