"""Signing: every blocking flag and empty-section notice, of the note and of the patient's
instructions, acknowledged one by one before the Sign button opens; the patient's consent to the
recording ticked in place when the practice requires it and it is not on record yet.
Sending a signed note through a connector, with its delivery state."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QHBoxLayout,
                               QLabel, QMessageBox, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from localscribe.domain import Draft, distinct_flags, flag_id, notice_id

CONSENT_TEXT = "Patient consented to recording"


class _TickingLabel(QLabel):
    """An item's words: clicking them ticks its checkbox too."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text)
        self.setWordWrap(True)
        self.setBuddy(box)
        self._box = box

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._box.toggle()


def _to_check(draft: Draft | None) -> int:
    return draft.items_to_check() if draft else 0


class SignDialog(QDialog):
    """``instructions``: the patient's summary signed with the note (its flags are listed after
    the note's). ``consent_needed``: the consent checkbox is shown and must be ticked; the
    caller records it (``vault.consent.record``) before signing. "Patient declined" closes the
    dialog with ``declined`` set, for the caller to erase the recording."""

    def __init__(self, draft: Draft | None, signer: str, parent: QWidget | None = None, *,
                 instructions: Draft | None = None, consent_needed: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign note")
        self.setMinimumWidth(620)
        # (checkbox, flag ids it acknowledges): identical flags of a statement are one item.
        self.items: list[tuple[QCheckBox, list[str]]] = []
        self.texts: list[str] = []      # what each item says, as shown
        self.consent: QCheckBox | None = None
        self.declined = False
        layout = QVBoxLayout(self)
        intro = QLabel(f"Signing as {signer}. A signed note is locked; later changes become amendments."
                       + (" The patient's instructions are signed with it." if instructions else ""))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        if consent_needed:
            layout.addWidget(self._consent_row())
        n = _to_check(draft) + _to_check(instructions)
        self._inner = QVBoxLayout()
        self.scroll_area = QScrollArea()
        if n:
            head = QLabel(f"⚠ {n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} your "
                          "acknowledgement. Tick each one after checking the note text (edit it "
                          "first if needed):")
            head.setWordWrap(True)
            layout.addWidget(head)
            box = QWidget()
            self._inner = QVBoxLayout(box)
            self._add_draft(draft)
            if _to_check(instructions):
                title = QLabel("Patient instructions:")
                title.setObjectName("SectionTitle")
                self._inner.addWidget(title)
                self._add_draft(instructions, "Patient instructions: ")
            self._inner.addStretch(1)
            self.scroll_area.setWidgetResizable(True)
            # Statements wrap to the dialog's width: never a sideways scroll to read one.
            self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.scroll_area.setWidget(box)
            layout.addWidget(self.scroll_area, 1)
        else:
            layout.addWidget(QLabel("✓ Nothing in the draft needs acknowledging."))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        sign_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert sign_button is not None
        self.sign_button = sign_button
        self.sign_button.setText("&Sign and lock")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.remaining = QLabel("")
        layout.addWidget(self.remaining)
        layout.addWidget(self.buttons)
        self._update()

    def _consent_row(self) -> QWidget:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.consent = QCheckBox("Patient &consented to recording")
        self.consent.setAccessibleName(CONSENT_TEXT)
        self.consent.setToolTip("The practice requires the patient's consent on record before a "
                                "recorded visit is signed; ticking records it in the audit trail.")
        self.consent.toggled.connect(self._update)
        self.decline_button = QPushButton("Patient &declined…")
        self.decline_button.setToolTip("Erase this visit's recording and transcript")
        self.decline_button.clicked.connect(self._decline)
        h.addWidget(self.consent, 1)
        h.addWidget(self.decline_button)
        return row

    def _decline(self) -> None:
        answer = QMessageBox.question(
            self, "Patient declined",
            "Erase this visit's recording, transcript and draft? This cannot be undone; the "
            "audit trail records that the patient declined. No note is signed from this visit.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.declined = True
            self.reject()

    @property
    def checks(self) -> list[tuple[QCheckBox, str]]:
        """One (checkbox, first flag id) per item shown."""
        return [(cb, ids[0]) for cb, ids in self.items]

    def _add_draft(self, draft: Draft | None, prefix: str = "") -> None:
        if draft is None:
            return
        for sec in draft.notices:
            self._add(f"{sec.title}\n⚠ {sec.notice}", prefix + sec.notice, [notice_id(sec.key)])
        for st in draft.blocking:
            for flag, copies in distinct_flags(st.flags):
                if not flag.blocking:
                    continue
                times = f" (×{len(copies)})" if len(copies) > 1 else ""
                # A translated sentence shows the verified English it came from as well.
                source = f"\n(English: “{st.source}”)" if st.source else ""
                self._add(f"“{st.text}”{source}\n⚠ {flag.reason}{times}", prefix + flag.reason,
                          [flag_id(st.id, i) for i in copies])

    def _add(self, text: str, reason: str, ids: list[str]) -> None:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        cb = QCheckBox()
        cb.setAccessibleName(f"Acknowledge: {reason}")
        label = _TickingLabel(text, cb)
        h.addWidget(cb, 0, Qt.AlignmentFlag.AlignTop)
        h.addWidget(label, 1)
        cb.toggled.connect(self._update)
        cb.installEventFilter(self)
        self._inner.addWidget(row)
        self.items.append((cb, ids))
        self.texts.append(text)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Keyboard focus brings the whole item into view, checkbox included.
        if event.type() == QEvent.Type.FocusIn and isinstance(obj, QCheckBox):
            parent = obj.parentWidget()
            if parent is not None:
                self.scroll_area.ensureWidgetVisible(parent, 0, 8)
        return super().eventFilter(obj, event)

    def acknowledged(self) -> list[str]:
        return [fid for cb, ids in self.items if cb.isChecked() for fid in ids]

    def consent_given(self) -> bool:
        """The consent box was shown and ticked (the caller records it before signing)."""
        return self.consent is not None and self.consent.isChecked()

    def _update(self) -> None:
        left = sum(not cb.isChecked() for cb, _ in self.items)
        no_consent = self.consent is not None and not self.consent.isChecked()
        self.sign_button.setEnabled(left == 0 and not no_consent)
        parts = []
        if left:
            parts.append(f"{left} item{'s' if left != 1 else ''} still to acknowledge.")
        if no_consent:
            parts.append("The patient's consent to the recording is needed before signing.")
        self.remaining.setText(" ".join(parts))


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
                      "retried; it is never delivered twice. Where the connector carries a second "
                      "document, the signed patient instructions go with the note.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("&Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> str:
        return self.connector.currentText()
