"""The patient's name, date of birth and MRN: typed before a visit (New encounter) or attached
to a visit recorded first (Patient details), with one set of checks for both.

What counts as an identified patient is the domain's rule (``Patient.identity_problem``, which
signing enforces); this form only reads dates in the user's locale and says what is missing.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from localscribe.domain import Patient
from localscribe.ui.dates import DateError, example as date_example, parse_date

IDENTITY_HINT = "A date of birth or an MRN is needed to tell patients apart."


class PatientFields:
    """The three fields, laid out on a form owned by the dialog that uses them."""

    def __init__(self, form: QFormLayout, patient: Patient | None = None) -> None:
        self.name = QLineEdit()
        self.name.setAccessibleName("Patient name")
        self.birth_date = QLineEdit()
        self.birth_date.setPlaceholderText(f"{date_example()} or 1968-04-23")
        self.birth_date.setAccessibleName("Date of birth")
        self.mrn = QLineEdit()
        self.mrn.setAccessibleName("Medical record number")
        form.addRow("Patient &name:", self.name)
        form.addRow("Date of &birth:", self.birth_date)
        form.addRow("&MRN:", self.mrn)
        if patient is not None:
            self.name.setText(patient.name)
            self.birth_date.setText(patient.birth_date)
            self.mrn.setText(patient.mrn)

    def patient(self) -> Patient:
        typed = self.birth_date.text().strip()
        try:      # stored as ISO whatever the locale form typed; a bad date is refused in problem()
            born = parse_date(typed).isoformat() if typed else ""
        except DateError:
            born = typed
        return Patient(name=self.name.text().strip(), mrn=self.mrn.text().strip(), birth_date=born)

    def problem(self) -> str:
        """One sentence saying what to fix, or "" when the patient is identified."""
        p = self.patient()
        missing = p.identity_problem()
        if missing:
            return missing[0].upper() + missing[1:] + "."
        if p.birth_date:
            try:
                if parse_date(p.birth_date) > dt.date.today():
                    return "The date of birth is in the future."
            except DateError as exc:
                return f"Date of birth: {exc}."
        return ""


def error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("ErrorBanner")
    label.setWordWrap(True)
    label.hide()
    return label


class PatientDialog(QDialog):
    """Patient details for a visit recorded first, and the patient's consent to the recording."""

    def __init__(self, patient: Patient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patient details")
        self.setMinimumWidth(480)
        form = QFormLayout()
        self.fields = PatientFields(form, patient)
        self.consent = QCheckBox("The patient &agreed to this visit being recorded")
        self.consent.setAccessibleName("Patient agreed to the recording")
        note = QLabel(IDENTITY_HINT + " The note can be signed once they are here.")
        note.setObjectName("Muted")
        note.setWordWrap(True)
        self.error = error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Save details")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.consent)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def patient(self) -> Patient:
        return self.fields.patient()

    def consent_given(self) -> bool | None:
        """True when ticked; None (nothing recorded) otherwise: an unticked box is not a refusal."""
        return True if self.consent.isChecked() else None

    def _accept(self) -> None:
        problem = self.fields.problem()
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        self.accept()
