"""The Scorecard screen in the real window: shown to an auditor with data and charts, exported
as CSV and a one-page PDF without PHI, cleared on lock; a clinician gets a refusal.
Runs in the Qt test process (tests/run.sh), beside tests/ui."""

from __future__ import annotations

import re
import zlib

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from localscribe.scorecard import service
from localscribe.ui import scorecard_charts
from scorecard_helpers import NOW, PASS, PHI_WORDS
from tests.support.qt_wait import wait_until


@pytest.fixture
def window(qtbot, practice):
    from PySide6.QtWidgets import QApplication

    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs
    vault, _ = practice
    style.apply(QApplication.instance())
    w = MainWindow(vault.paths, "tiny", UiPrefs())
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.cancel_all()
    w.runner.wait(30000)


def _blue_pixels(image: QImage) -> int:
    target = scorecard_charts.BLUE
    return sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
               if QColor(image.pixel(x, y)) == target)


def test_auditor_sees_scorecard_and_exports(window, practice, tmp_path, qtbot):
    _, eids = practice
    assert window.nav_scorecard.isHidden()
    window.unlock("aud", PASS)                   # key derivation runs off the UI thread
    wait_until(lambda: not window.is_locked, timeout=60000)
    assert window.nav_scorecard.isVisible()
    window.nav_scorecard.click()
    view = window.scorecard
    assert window.content.currentWidget() is view
    table = view.table
    cells = [[table.item(r, c).text() for c in range(table.columnCount())]
             for r in range(table.rowCount())]
    assert [row[:3] for row in cells] == [["practice", "9", "4"], ["dr.ames", "4", "3"],
                                          ["dr.brook", "5", "1"]]
    assert cells[0][4] == "50%" and cells[0][5] == "3 of 4"     # major edits; flags fixed
    assert "subjective 1 of 4, 18% of its words" in view.sections.text()
    assert "_other 1 of 1; assessment 1 of 4, 25% of its words" in view.sections.text()
    view.charts.resize(900, 420)
    assert _blue_pixels(view.charts.grab().toImage()) > 50       # trend lines were drawn
    view.clinician.setCurrentIndex(view.clinician.findData("dr.brook"))
    assert view.charts.clinician == "dr.brook"
    assert "objective 1 of 1, 100% of its words" in view.sections.text()   # V3's deletion

    csv_path, pdf_path = view.export_csv(tmp_path / "card.csv"), view.export_pdf(tmp_path / "c.pdf")
    csv_text = csv_path.read_text("utf-8")
    assert csv_text.startswith("period,clinician,visits")
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    streams = b"".join(_inflate(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf,
                                                       re.S))
    for blob in (csv_text, pdf.decode("latin-1"), streams.decode("latin-1")):
        low = blob.lower()
        assert not [w for w in PHI_WORDS if w.lower() in low]
        assert not [e for e in eids.values() if e in blob]
    events = [e for e in window.session.audit_events() if e.action == "scorecard.export"]
    assert [e.details["format"] for e in events[-2:]] == ["csv", "pdf"]

    window.lock("Locked.")
    assert window.nav_scorecard.isHidden() and view.card is None and table.rowCount() == 0


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


class _Recorder(QPainter):
    """Keeps every string the page drawing code draws (the PDF's text is glyph ids)."""

    def __init__(self, device):
        super().__init__(device)
        self.texts: list[str] = []

    def drawText(self, *args):  # noqa: N802 (Qt name)
        self.texts.extend(a for a in args if isinstance(a, str))
        return super().drawText(*args)


def test_every_string_on_the_pdf_page_is_phi_free(practice):
    vault, eids = practice
    s = vault.unlock("aud", PASS)
    try:
        card = service.load(s, now=NOW)
    finally:
        s.lock()
    image = QImage(1123, 794, QImage.Format.Format_RGB32)
    p = _Recorder(image)
    scorecard_charts.draw_page(p, QRectF(0, 0, 1123, 794), card, "dr.ames")
    p.end()
    drawn = "\n".join(p.texts)
    assert "LocalScribe practice scorecard" in drawn and "dr.brook" in drawn and "W48" in drawn
    assert not [w for w in PHI_WORDS if w.lower() in drawn.lower()]
    assert not [e for e in eids.values() if e in drawn]


def test_clinician_is_refused_on_the_screen(practice, qtbot):
    from localscribe.ui.scorecard_view import ScorecardView
    vault, _ = practice
    view = ScorecardView()
    qtbot.addWidget(view)
    s = vault.unlock("dr.ames", PASS)
    try:
        view.show_for(s)
    finally:
        s.lock()
    assert view.card is None and view.table.rowCount() == 0
    assert "not allowed" in view.state.text() and "scorecard" in view.state.text()
