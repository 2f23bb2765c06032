"""Signing: every blocking flag and empty-section notice acknowledged one by one before the Sign button opens.
Sending a signed note through a connector, with its delivery state."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QHBoxLayout,
                               QLabel, QScrollArea, QVBoxLayout, QWidget)

from localscribe.domain import Draft, distinct_flags, flag_id, notice_id


class SignDialog(QDialog):
    def __init__(self, draft: Draft | None, signer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign note")
        self.setMinimumWidth(620)
        # (checkbox, flag ids it acknowledges): identical flags of a statement are one item.
        self.items: list[tuple[QCheckBox, list[str]]] = []
        self.texts: list[str] = []      # what each item says, as shown
        layout = QVBoxLayout(self)
        blocking = draft.blocking if draft else []
        notices = draft.notices if draft else []
        intro = QLabel(f"Signing as {signer}. A signed note is locked; later changes become amendments.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        n = draft.items_to_check() if draft else 0
        if n:
            head = QLabel(f"⚠ {n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} your "
                          "acknowledgement. Tick each one after checking the note text (edit it "
                          "first if needed):")
            head.setWordWrap(True)
            layout.addWidget(head)
            box = QWidget()
            self._inner = QVBoxLayout(box)
            for sec in notices:
                self._add(f"{sec.title}\n⚠ {sec.notice}", sec.notice, [notice_id(sec.key)])
            for st in blocking:
                for flag, copies in distinct_flags(st.flags):
                    if not flag.blocking:
                        continue
                    times = f" (×{len(copies)})" if len(copies) > 1 else ""
                    self._add(f"“{st.text}”\n⚠ {flag.reason}{times}", flag.reason,
                              [flag_id(st.id, i) for i in copies])
            self._inner.addStretch(1)
            self.scroll = QScrollArea()
            self.scroll.setWidgetResizable(True)
            # Statements wrap to the dialog's width: never a sideways scroll to read one.
            self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.scroll.setWidget(box)
            layout.addWidget(self.scroll, 1)
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

    @property
    def checks(self) -> list[tuple[QCheckBox, str]]:
        """One (checkbox, first flag id) per item shown."""
        return [(cb, ids[0]) for cb, ids in self.items]

    def _add(self, text: str, reason: str, ids: list[str]) -> None:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        cb = QCheckBox()
        cb.setAccessibleName(f"Acknowledge: {reason}")
        label = QLabel(text)
        label.setWordWrap(True)
        label.setBuddy(cb)
        label.mousePressEvent = lambda _e, c=cb: c.toggle()      # the words tick it too
        h.addWidget(cb, 0, Qt.AlignmentFlag.AlignTop)
        h.addWidget(label, 1)
        cb.toggled.connect(self._update)
        cb.installEventFilter(self)
        self._inner.addWidget(row)
        self.items.append((cb, ids))
        self.texts.append(text)

    def eventFilter(self, obj, event) -> bool:
        # Keyboard focus brings the whole item into view, checkbox included.
        if event.type() == QEvent.Type.FocusIn and isinstance(obj, QCheckBox):
            self.scroll.ensureWidgetVisible(obj.parentWidget(), 0, 8)
        return super().eventFilter(obj, event)

    def acknowledged(self) -> list[str]:
        return [fid for cb, ids in self.items if cb.isChecked() for fid in ids]

    def _update(self) -> None:
        left = sum(not cb.isChecked() for cb, _ in self.items)
        self.sign_button.setEnabled(left == 0)
        self.remaining.setText(f"{left} item{'s' if left != 1 else ''} still to acknowledge."
                               if left else "")


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
