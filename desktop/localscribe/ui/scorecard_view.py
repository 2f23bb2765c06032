"""For admins and auditors: the practice scorecard with weekly trends, exportable as CSV and
as a one-page PDF. Shows no PHI: everything comes from ``localscribe.scorecard`` (counts,
times, user names)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from localscribe.scorecard import export, service
from localscribe.scorecard.model import PRACTICE, ClinicHours, Scorecard
from localscribe.ui.scorecard_charts import draw_charts, summary_lines, write_pdf
from localscribe.ui.settings_view import _fill, _table
from localscribe.ui.workers import describe_error


class ChartsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card: Scorecard | None = None
        self.clinician = PRACTICE
        self.setMinimumHeight(360)
        self.setAccessibleName("Weekly trend charts")

    def show_card(self, card: Scorecard | None, clinician: str) -> None:
        self.card, self.clinician = card, clinician
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        if self.card is not None:
            draw_charts(p, QRectF(self.rect()).adjusted(10, 8, -10, -8), self.card,
                        self.clinician)
        p.end()


class ScorecardView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: Any = None
        self.card: Scorecard | None = None
        title = QLabel("Practice scorecard")
        title.setObjectName("Title")
        self.since = QLineEdit()
        self.since.setPlaceholderText("from YYYY-MM-DD")
        self.since.setAccessibleName("First visit day")
        self.until = QLineEdit()
        self.until.setPlaceholderText("to YYYY-MM-DD")
        self.until.setAccessibleName("Last visit day")
        self.clinician = QComboBox()
        self.clinician.setAccessibleName("Charts for")
        self.clinician.currentIndexChanged.connect(self._redraw)
        self.refresh = QPushButton("&Refresh")
        self.refresh.clicked.connect(self.reload)
        self.export_csv_button = QPushButton("Scorec&ard")
        self.export_csv_button.clicked.connect(lambda: self.export_csv())
        self.export_pdf_button = QPushButton("Export &PDF…")
        self.export_pdf_button.clicked.connect(lambda: self.export_pdf())
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.state.setObjectName("Muted")
        self.table = _table(list(summary_lines(_EMPTY)[0]))
        self.table.setObjectName("ScorecardTable")
        self.table.setMaximumHeight(170)
        self.sections = QLabel("")
        self.sections.setWordWrap(True)
        self.sections.setObjectName("Muted")
        self.charts = ChartsWidget()
        bar = QHBoxLayout()
        for w in (QLabel("Visits"), self.since, self.until, QLabel("Charts for"),
                  self.clinician, self.refresh):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_pdf_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(bar)
        layout.addWidget(self.state)
        layout.addWidget(self.table)
        layout.addWidget(self.sections)
        layout.addWidget(self.charts, 1)

    # --- data ----------------------------------------------------------------------------------
    def show_for(self, session: Any) -> None:
        self.session = session
        self.reload()

    def _day(self, field: QLineEdit, what: str) -> date | None:
        text = field.text().strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"the {what} day must be a date like 2026-11-16") from None

    def reload(self) -> None:
        if self.session is None:
            return
        try:
            card = service.load(self.session, since=self._day(self.since, "first"),
                                until=self._day(self.until, "last"))
        except Exception as exc:
            self.state.setText(f"⚠ The scorecard cannot be shown: {describe_error(exc)}")
            return
        self.card = card
        chosen = self.clinician.currentData() or PRACTICE
        self.clinician.blockSignals(True)
        self.clinician.clear()
        self.clinician.addItem("Practice", PRACTICE)
        for user in card.clinicians:
            self.clinician.addItem(user, user)
        self.clinician.setCurrentIndex(max(0, self.clinician.findData(chosen)))
        self.clinician.blockSignals(False)
        lines = summary_lines(card)
        _fill(self.table, [list(line) for line in lines[1:]])
        weeks = f"{len(card.weeks)} week(s)" if card.weeks else "no visits in this range"
        trail = "" if card.trail_ok else (f"⚠ The audit trail fails verification; these "
                                          f"figures may be wrong: {card.trail_problem} ")
        self.state.setText(f"{trail}{weeks}; clinic hours {card.hours.start}-{card.hours.end}. "
                           "Counts and times only; no patient data. Figures are defined in "
                           "the CSV/JSON export and the README.")
        self._redraw()

    def _redraw(self) -> None:
        who = self.clinician.currentData() or PRACTICE
        self.charts.show_card(self.card, who)
        row = self.card.row(clinician=who) if self.card is not None else None
        self.sections.setText(section_summary(row.quality) if row is not None else "")

    # --- export --------------------------------------------------------------------------------
    def _target(self, path: str | Path | None, caption: str, pattern: str) -> Path | None:
        if path is not None:
            return Path(path)
        chosen, _ = QFileDialog.getSaveFileName(self, caption, "", pattern)
        return Path(chosen) if chosen else None

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        return self._export(path, "csv", "Export the scorecard as CSV", "CSV (*.csv)",
                            lambda p, card: p.write_text(export.to_csv(card), encoding="utf-8"))

    def export_pdf(self, path: str | Path | None = None) -> Path | None:
        return self._export(path, "pdf", "Export the scorecard as PDF", "PDF (*.pdf)",
                            lambda p, card: write_pdf(p, card,
                                                self.clinician.currentData() or PRACTICE))

    def _export(self, path: str | Path | None, fmt: str, caption: str, pattern: str,
                write: Callable[[Path, Scorecard], object]) -> Path | None:
        card = self.card
        if card is None or self.session is None:
            return None
        target = self._target(path, caption, pattern)
        if target is None:
            return None
        try:
            service.record_export(self.session, fmt, card)   # audited before it leaves
            write(target, card)
        except Exception as exc:
            self.state.setText(f"⚠ The {fmt.upper()} was not written: {describe_error(exc)}")
            return None
        self.state.setText(f"Wrote {target.name}.")
        return target

    def clear(self) -> None:
        self.session = self.card = None
        self.table.setRowCount(0)
        self.clinician.clear()
        self.charts.show_card(None, PRACTICE)
        self.state.setText("")
        self.sections.setText("")


def section_summary(quality) -> str:
    """Where the edits go, per section: notes in which it was changed, share of its words."""
    parts = []
    for s in quality.sections:
        words = "" if s.edit_ratio is None else f", {s.edit_ratio:.0%} of its words"
        parts.append(f"{s.key} {s.edited} of {s.notes}{words}")
    return ("Sections edited (notes changed of notes signed): " + "; ".join(parts)
            if parts else "")


def install(window: Any) -> ScorecardView:
    """Add the screen to the main window for roles that may read it: a nav button next to
    Audit, a page in the content stack, cleared on lock. Called once from MainWindow."""
    from localscribe.ui import core
    view = ScorecardView()
    button = QPushButton("Sc&orecard")
    button.hide()
    window.content.addWidget(view)
    nav = next(lay for lay in _layouts(window.workspace.layout())
               if lay.indexOf(window.nav_audit) >= 0)
    nav.insertWidget(nav.indexOf(window.nav_audit) + 1, button)

    def show() -> None:
        if window.session is not None and core.allows(window.session, "scorecard.read"):
            view.show_for(window.session)
            window.content.setCurrentWidget(view)

    def unlocked(_role: str) -> None:
        button.setVisible(core.allows(window.session, "scorecard.read"))

    def locked() -> None:
        button.hide()
        view.clear()

    button.clicked.connect(show)
    window.unlocked.connect(unlocked)
    window.locked.connect(locked)
    window.scorecard, window.nav_scorecard, window.show_scorecard = view, button, show
    return view


def _layouts(layout):
    yield layout
    for i in range(layout.count()):
        child = layout.itemAt(i).layout()
        if child is not None:
            yield from _layouts(child)


_EMPTY = Scorecard(None, None, None, "", ClinicHours(), (), (), ())
