"""The clinic day: encounters with their status, search, earlier days, and a new encounter."""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget, QAbstractItemView)

from localscribe.domain import Patient
from localscribe.ingest.model import ScheduledVisit
from localscribe.ui.core import EncounterRow
from localscribe.ui.patient_form import IDENTITY_HINT, PatientFields, error_label
from localscribe.ui.style import shortcut
from localscribe.ui.qtcompat import emit

RECORD_NOW_KEY = "Ctrl+R"      # the same key as Record on an encounter


class NewEncounterDialog(QDialog):
    """Patient name, date of birth or MRN, and the visit type (a note template)."""

    def __init__(self, templates: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New encounter")
        self.setMinimumWidth(480)
        form = QFormLayout()
        self.fields = PatientFields(form)
        self.name, self.birth_date, self.mrn = self.fields.name, self.fields.birth_date, self.fields.mrn
        self.template = QComboBox()
        self.template.setAccessibleName("Visit type")
        for key, title in templates:
            self.template.addItem(title, key)
        form.addRow("&Visit type:", self.template)
        self.error = error_label()
        note = QLabel(IDENTITY_HINT)
        note.setObjectName("Muted")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Start encounter")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def patient(self) -> Patient:
        return self.fields.patient()

    def template_key(self) -> str:
        return str(self.template.currentData() or "")

    def _accept(self) -> None:
        problem = self.fields.problem()
        if not problem and not self.template_key():
            problem = "No visit types are installed; see Settings > Templates."
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        self.accept()


class DayView(QWidget):
    open_requested = Signal(str)          # encounter id
    new_requested = Signal()
    record_requested = Signal()           # Record first: start now, name the patient later
    start_scheduled = Signal(str)         # scheduled visit id (from the EHR's schedule)

    COLUMNS = ("Time", "Patient", "DOB / MRN", "Visit type", "Status")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[EncounterRow] = []
        self._template_titles: dict[str, str] = {}
        self.title = QLabel("Today")
        self.title.setObjectName("Title")
        self.new_button = QPushButton("&New encounter")
        self.new_button.setObjectName("NewEncounterButton")
        self.new_button.setToolTip("Ctrl+N")
        self.new_button.clicked.connect(self.new_requested)
        # One click: an unnamed visit starts recording at once; the patient's details and
        # consent are attached before signing (the form above stays for those who want it first).
        self.record_button = QPushButton(f"● Record now ({RECORD_NOW_KEY})")
        self.record_button.setObjectName("RecordNowButton")
        self.record_button.setAccessibleName("Record now, add the patient later")
        self.record_button.setToolTip("Start recording an unnamed visit at once; add the "
                                      "patient's details before signing.")
        self.record_button.clicked.connect(self.record_requested)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, MRN, visit type or status (Ctrl+F)")
        self.search.setAccessibleName("Search encounters")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._refill)
        self.day = QDateEdit()
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setAccessibleName("Day shown")
        self.day.setDate(QDate.currentDate())
        self.day.dateChanged.connect(self._refill)
        self.all_days = QPushButton("&All days")
        self.all_days.setCheckable(True)
        self.all_days.toggled.connect(self._refill)
        self.today_button = QPushButton("Show to&day")
        self.today_button.clicked.connect(self.show_today)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("EncounterTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemActivated.connect(lambda item: self._open_row(item.row()))
        self.table.cellDoubleClicked.connect(lambda r, _c: self._open_row(r))
        self.empty = QLabel("")
        self.empty.setObjectName("Muted")
        self.empty.setWordWrap(True)
        # The EHR's schedule for the day shown (FHIR pull or HL7 SIU/ADT): a visit not started
        # yet starts with one activation, carrying the EHR's patient and visit identifiers.
        self._scheduled: list[ScheduledVisit] = []
        self.schedule_label = QLabel("Scheduled (from the EHR), not started yet:")
        self.schedule = QTableWidget(0, 4)
        self.schedule.setObjectName("ScheduleTable")
        self.schedule.setAccessibleName("Scheduled visits")
        self.schedule.setHorizontalHeaderLabels(("Time", "Patient", "MRN", "Clinician"))
        self.schedule.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.schedule.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.schedule.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.schedule.verticalHeader().hide()
        self.schedule.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.schedule.itemActivated.connect(lambda item: self._start_row(item.row()))
        self.schedule.cellDoubleClicked.connect(lambda r, _c: self._start_row(r))
        self.schedule_label.hide()
        self.schedule.hide()

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.record_button)
        top.addWidget(self.new_button)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        filters.addWidget(QLabel("Day:"))
        filters.addWidget(self.day)
        filters.addWidget(self.today_button)
        filters.addWidget(self.all_days)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.schedule_label)
        layout.addWidget(self.schedule)
        self._shortcuts = [shortcut(self, "Ctrl+F", self.search.setFocus, local=True),
                           shortcut(self, RECORD_NOW_KEY, self.record_button.click, local=True)]
        for a, b in ((self.record_button, self.new_button), (self.new_button, self.search),
                     (self.search, self.day),
                     (self.day, self.today_button), (self.today_button, self.all_days),
                     (self.all_days, self.table)):
            self.setTabOrder(a, b)

    def set_templates(self, templates: list[tuple[str, str]]) -> None:
        self._template_titles = dict(templates)

    def set_encounters(self, rows: list[EncounterRow]) -> None:
        self._rows = list(rows)
        self._refill()

    def set_schedule(self, visits: list[ScheduledVisit]) -> None:
        """The day's scheduled visits not started yet (``ingest.ScheduledVisit``)."""
        self._scheduled = list(visits)
        self.schedule.setRowCount(len(self._scheduled))
        for i, v in enumerate(self._scheduled):
            values = (v.visit_time[11:16], v.display_name, v.patient_id,
                      v.clinician_name or v.clinician_id)
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, v.id)
                self.schedule.setItem(i, c, item)
        shown = bool(self._scheduled)
        self.schedule_label.setVisible(shown)
        self.schedule.setVisible(shown)

    def shown_day(self) -> str:
        return self.day.date().toString("yyyy-MM-dd")

    def clear(self) -> None:
        """Forget every patient shown (used when the window locks)."""
        self._rows = []
        self.search.clear()
        self.table.setRowCount(0)
        self.set_schedule([])

    def show_today(self) -> None:
        self.all_days.setChecked(False)
        self.day.setDate(QDate.currentDate())

    def visible_rows(self) -> list[EncounterRow]:
        needle = self.search.text().strip().lower()
        day = self.day.date().toString("yyyy-MM-dd")
        out = []
        for r in self._rows:
            if not self.all_days.isChecked() and r.day and r.day != day:
                continue
            hay = " ".join((r.title, r.patient.mrn, r.patient.birth_date, r.template,
                            self._template_titles.get(r.template, ""), r.status_label)).lower()
            if needle and needle not in hay:
                continue
            out.append(r)
        return out

    def _refill(self, *_: object) -> None:
        rows = self.visible_rows()
        is_today = self.day.date() == QDate.currentDate()
        self.title.setText("All encounters" if self.all_days.isChecked()
                           else "Today" if is_today else self.day.date().toString("dddd d MMMM yyyy"))
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            when = r.local_created if self.all_days.isChecked() else r.local_created[11:16]
            values = (when, r.title, r.identifier,
                      self._template_titles.get(r.template, r.template), r.status_label)
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setData(Qt.ItemDataRole.UserRole, r.id)
                self.table.setItem(i, c, item)
        if rows:
            self.empty.hide()
        else:
            self.empty.setText("No encounters match the search." if self.search.text()
                               else "No encounters on this day. Press Record now (Ctrl+R) to start "
                               "one at once, or New encounter (Ctrl+N) to name the patient first.")
            self.empty.show()

    def _start_row(self, row: int) -> None:
        item = self.schedule.item(row, 0)
        if item is not None:
            emit(self.start_scheduled, item.data(Qt.ItemDataRole.UserRole))

    def _open_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            emit(self.open_requested, item.data(Qt.ItemDataRole.UserRole))
