"""The scorecard drawn with QPainter: weekly trend charts and the one-page PDF.

One drawing path serves the window and the PDF (QPdfWriter is just another paint device), so
the printed page shows what the screen shows. PySide6-Essentials has no QtCharts; a handful
of lines and labels does not justify adding matplotlib. Everything drawn comes from a
``Scorecard``, which holds user names, week labels and numbers only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from localscribe.scorecard.export import label
from localscribe.scorecard.model import ALL_PERIODS, Row, Scorecard

BLUE, ORANGE, GREEN, GREY = QColor("#1f5fa8"), QColor("#c8641e"), QColor("#2e8540"), \
    QColor("#777777")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]     # one per week; None: nothing to show that week
    color: QColor


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str            # "%", "h", "" (counts)
    series: tuple[Series, ...]


def _weekly(card: Scorecard, clinician: str) -> list[Row | None]:
    return [card.row(w, clinician) for w in card.weeks]


def charts(card: Scorecard, clinician: str) -> list[Chart]:
    """The four trends the practice meeting looks at, for one clinician or the practice."""
    rows = [r for r in _weekly(card, clinician) if r is not None]

    def pct(v: float | None) -> float | None:
        return None if v is None else 100.0 * v

    def hours(s: float | None) -> float | None:
        return None if s is None else s / 3600.0

    q = [r.quality for r in rows]
    o = [r.operations for r in rows]
    a = [r.adoption for r in rows]
    return [
        Chart("Notes signed with edits", "%", (
            Series("minor", tuple(pct(x.share(x.minor)) for x in q), BLUE),
            Series("major", tuple(pct(x.share(x.major)) for x in q), ORANGE))),
        Chart("Visit end to signature (median)", "h", (
            Series("chart closure", tuple(hours(x.stop_to_signature.median_s) for x in o), BLUE),
        )),
        Chart("Signed outside clinic hours", "%", (
            Series("after hours", tuple(pct(x.after_hours_share) for x in o), ORANGE),)),
        Chart("Visits per week", "", (
            Series("recorded", tuple(float(x.visits_recorded) for x in a), BLUE),
            Series("signed", tuple(float(r.quality.notes_signed) for r in rows), GREEN),
            Series("abandoned", tuple(float(x.abandoned_total) for x in a), GREY))),
    ]


def _fmt(v: float, unit: str) -> str:
    if unit == "%":
        return f"{v:.0f}%"
    if unit == "h":
        return f"{v:.1f} h" if v < 10 else f"{v:.0f} h"
    return f"{v:.0f}"


def draw_chart(p: QPainter, rect: QRectF, chart: Chart, weeks: tuple[str, ...]) -> None:
    p.save()
    base = p.font()
    title = QFont(base)
    title.setBold(True)
    p.setFont(title)
    fm = p.fontMetrics()
    line_h = fm.height()
    p.setPen(QColor("#222222"))
    p.drawText(QRectF(rect.left(), rect.top(), rect.width(), line_h),
               Qt.AlignmentFlag.AlignLeft, chart.title)
    p.setFont(base)
    fm = p.fontMetrics()
    legend_y = rect.top() + line_h + 2
    x = rect.left()
    for s in chart.series:
        p.fillRect(QRectF(x, legend_y + fm.height() / 2 - 3, 10, 6), s.color)
        p.drawText(QPointF(x + 14, legend_y + fm.ascent()), s.name)
        x += 24 + fm.horizontalAdvance(s.name)
    left = rect.left() + fm.horizontalAdvance("100% ") + 4
    plot = QRectF(left, legend_y + fm.height() + 8, rect.right() - left - 22,
                  rect.bottom() - legend_y - 2 * fm.height() - 16)
    values = [v for s in chart.series for v in s.values if v is not None]
    top = max(values, default=0.0)
    if chart.unit == "%":
        top = 100.0
    elif chart.unit == "h":                # whole hours, in four even steps past 4 h
        top = max(1.0, math.ceil(top * 1.1))
        top = 4.0 * math.ceil(top / 4) if top > 4 else top
    else:                                  # counts: four whole-number steps
        top = max(4.0, 4.0 * math.ceil(top * 1.1 / 4))
    p.setPen(QPen(QColor("#cccccc"), 1))
    for i in range(5):
        y = plot.bottom() - plot.height() * i / 4
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        p.setPen(QColor("#555555"))
        p.drawText(QRectF(rect.left(), y - fm.height() / 2, left - rect.left() - 4, fm.height()),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   _fmt(top * i / 4, chart.unit))
        p.setPen(QPen(QColor("#cccccc"), 1))
    n = len(weeks)
    if n == 0:
        p.setPen(QColor("#555555"))
        p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No visits in this range")
        p.restore()
        return
    step = plot.width() / max(n - 1, 1)
    xs = [plot.left() + (i * step if n > 1 else plot.width() / 2) for i in range(n)]
    p.setPen(QColor("#555555"))
    every = max(1, int(n / max(1, plot.width() // (fm.horizontalAdvance("W00") + 12))))
    for i, week in enumerate(weeks):
        if i % every == 0 or i == n - 1:
            text = week.split("-")[-1]
            p.drawText(QRectF(xs[i] - 30, plot.bottom() + 5, 60, fm.height()),
                       Qt.AlignmentFlag.AlignHCenter, text)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for s in chart.series:
        pen = QPen(s.color, 2)
        p.setPen(pen)
        prev = None
        for x, v in zip(xs, s.values):
            if v is None:
                prev = None
                continue
            pt = QPointF(x, plot.bottom() - plot.height() * min(v / top, 1.0))
            if prev is not None:
                p.drawLine(prev, pt)
            p.setBrush(s.color)
            p.drawEllipse(pt, 3, 3)
            prev = pt
    p.restore()


def draw_charts(p: QPainter, rect: QRectF, card: Scorecard, clinician: str) -> None:
    """Four charts in a 2 x 2 grid."""
    gap = 16.0
    w, h = (rect.width() - gap) / 2, (rect.height() - gap) / 2
    for i, chart in enumerate(charts(card, clinician)):
        r, c = divmod(i, 2)
        draw_chart(p, QRectF(rect.left() + c * (w + gap), rect.top() + r * (h + gap), w, h),
                   chart, card.weeks)


def summary_lines(card: Scorecard) -> list[tuple[str, ...]]:
    """The page's table: one line per clinician and the practice, whole range."""
    def pct(v):
        return "-" if v is None else f"{v:.0%}"

    def dur(s):
        if s is None:
            return "-"
        return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else \
            f"{s / 3600:.1f} h"

    lines: list[tuple[str, ...]] = [("Clinician", "Visits", "Signed", "Minor edits", "Major edits", "Flags fixed",
              "Stop to draft", "Stop to signature", "After hours", "Sent/failed/waiting",
              "Abandoned")]
    for r in card.rows:
        if r.period != ALL_PERIODS:
            continue
        q, o, a = r.quality, r.operations, r.adoption
        lines.append((label(r.clinician), str(a.visits), str(q.notes_signed),
                      pct(q.share(q.minor)), pct(q.share(q.major)),
                      f"{q.flags_fixed} of {q.flags_raised}", dur(o.stop_to_draft.median_s),
                      dur(o.stop_to_signature.median_s), pct(o.after_hours_share),
                      f"{o.sent}/{o.send_failed}/{o.send_pending + o.not_sent}",
                      str(a.abandoned_total)))
    return lines


def draw_page(p: QPainter, rect: QRectF, card: Scorecard, clinician: str) -> None:
    """The practice-meeting page: heading, the summary table, the four trends, definitions."""
    p.save()
    base = QFont(p.font())
    big = QFont(base)
    big.setPointSizeF(base.pointSizeF() * 1.6)
    big.setBold(True)
    p.setFont(big)
    fm = p.fontMetrics()
    p.setPen(QColor("#111111"))
    p.drawText(QPointF(rect.left(), rect.top() + fm.ascent()), "LocalScribe practice scorecard")
    y = rect.top() + fm.height() + 4
    p.setFont(base)
    fm = p.fontMetrics()
    rng = f"{card.since or 'first visit'} to {card.until or 'today'}"
    sub = (f"Visits {rng} · weeks {card.weeks[0] if card.weeks else '-'}"
           f"{' to ' + card.weeks[-1] if len(card.weeks) > 1 else ''} · clinic hours "
           f"{card.hours.start}-{card.hours.end} · charts: {label(clinician)} · "
           f"generated {card.generated_at[:16].replace('T', ' ')} UTC · no patient data · "
           + ("audit trail verified" if card.trail_ok
              else "WARNING: the audit trail FAILS verification"))
    p.drawText(QPointF(rect.left(), y + fm.ascent()), sub)
    y += fm.height() * 1.8
    lines = summary_lines(card)
    head = QFont(base)
    head.setBold(True)
    p.setFont(head)
    widths = [max(p.fontMetrics().horizontalAdvance(line[i]) for line in lines) + 14
              for i in range(len(lines[0]))]
    scale = min(1.0, rect.width() / sum(widths))
    for k, line in enumerate(lines):
        x = rect.left()
        bold = QFont(base)
        bold.setBold(k == 0)
        p.setFont(bold)
        for i, cell in enumerate(line):
            p.drawText(QRectF(x, y, widths[i] * scale, fm.height()),
                       Qt.AlignmentFlag.AlignLeft, cell)
            x += widths[i] * scale
        y += fm.height() + 3
    p.setFont(base)
    notes = ("Edits: words changed between draft and signed note (minor: at most 15% of the "
             "draft's words). Flags: blocking flags fixed by an edit. Times: median from Stop. "
             "Waiting: queued or never sent. Source: the vault's audit trail.")
    foot_h = fm.height() * 2.4
    draw_charts(p, QRectF(rect.left(), y + 10, rect.width(), rect.bottom() - y - 14 - foot_h),
                card, clinician)
    p.setPen(QColor("#555555"))
    p.drawText(QRectF(rect.left(), rect.bottom() - foot_h, rect.width(), foot_h),
               Qt.TextFlag.TextWordWrap, notes)
    p.restore()


def write_pdf(path: Path, card: Scorecard, clinician: str) -> None:
    """One landscape A4 page."""
    writer = QPdfWriter(str(path))
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Landscape, QMarginsF(12, 12, 12, 12),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(96)
    writer.setTitle("LocalScribe practice scorecard")
    writer.setCreator("LocalScribe")
    p = QPainter()
    if not p.begin(writer):
        raise OSError(f"cannot write {path}")
    try:
        font = QFont(p.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        draw_page(p, QRectF(0, 0, area.width(), area.height()), card, clinician)
    finally:
        p.end()
