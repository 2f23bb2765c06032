"""Signing: every blocking flag and empty-section notice acknowledged one by one before the Sign button opens.
Sending a signed note through a connector, with its delivery state."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QLabel,
                               QScrollArea, QVBoxLayout, QWidget)

from localscribe.domain import Draft
from localscribe.domain import flag_id, notice_id


class SignDialog(QDialog):
    def __init__(self, draft: Draft | None, signer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign note")
        self.setMinimumWidth(620)
        self.checks: list[tuple[QCheckBox, str]] = []
        layout = QVBoxLayout(self)
        blocking = draft.blocking if draft else []
        notices = draft.notices if draft else []
        intro = QLabel(f"Signing as {signer}. A signed note is locked; later changes become amendments.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        if blocking or notices:
            n = sum(len(s.blocking_flags) for s in blocking) + len(notices)
            head = QLabel(f"⚠ {n} item(s) need your acknowledgement. "
                          "Tick each one after checking the note text (edit it first if needed):")
            head.setWordWrap(True)
            layout.addWidget(head)
            box = QWidget()
            inner = QVBoxLayout(box)
            for sec in notices:
                cb = QCheckBox(f"{sec.title}\n    ⚠ {sec.notice}")
                cb.setAccessibleName(f"Acknowledge: {sec.notice}")
                cb.toggled.connect(self._update)
                inner.addWidget(cb)
                self.checks.append((cb, notice_id(sec.key)))
            for st in blocking:
                for i, flag in enumerate(st.flags):
                    if not flag.blocking:
                        continue
                    cb = QCheckBox(f"“{st.text}”\n    ⚠ {flag.reason}")
                    cb.setAccessibleName(f"Acknowledge: {flag.reason}")
                    cb.toggled.connect(self._update)
                    inner.addWidget(cb)
                    self.checks.append((cb, flag_id(st.id, i)))
            inner.addStretch(1)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(box)
            layout.addWidget(scroll, 1)
        else:
            layout.addWidget(QLabel("✓ Nothing in the draft needs acknowledging."))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_button.setText("&Sign and lock")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.remaining = QLabel("")
        layout.addWidget(self.remaining)
        layout.addWidget(self.buttons)
        self._update()

    def acknowledged(self) -> list[str]:
        return [fid for cb, fid in self.checks if cb.isChecked()]

    def _update(self) -> None:
        left = sum(not cb.isChecked() for cb, _ in self.checks)
        self.sign_button.setEnabled(left == 0)
        self.remaining.setText(f"{left} flag(s) still to acknowledge." if left else "")


class SendDialog(QDialog):
    """Pick the connector a signed note goes through."""

    def __init__(self, connectors: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send signed note")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Send the signed note to:"))
        self.connector = QComboBox()
        self.connector.setAccessibleName("Connector")
        self.connector.addItems(connectors)
        layout.addWidget(self.connector)
        note = QLabel("If the record system cannot be reached the note waits in the outbox and is "
                      "retried; it is never delivered twice.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> str:
        return self.connector.currentText()
