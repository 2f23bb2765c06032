"""Review a draft: statements with their flags, the evidence behind each in the transcript,
and the note text, which saves itself as encrypted versions a moment after each edit.

Business rules (what is flagged, how a note renders, what may be signed) come from the core;
this view shows them and reports what the clinician does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton,
                               QSplitter, QStyle, QVBoxLayout, QWidget)

from localscribe.domain import Draft, Section, Segment, Statement, Transcript, distinct_flags
from localscribe.ui.record_panel import segment_line
from localscribe.ui.style import mmss, shortcut
from localscribe.ui.qtcompat import emit

AUTOSAVE_MS = 1500
EVIDENCE_MARK = "▶ "
FLAG_MARK = "⚠ "
ROLE_KIND = Qt.ItemDataRole.UserRole
ROLE_ID = Qt.ItemDataRole.UserRole + 1


class DraftTree(QListWidget):
    """Sections, their statements, and under a flagged statement the reason in words.

    A list rather than a tree: list rows wrap long text, so no statement is ever cut off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DraftTree")
        self.setAccessibleName("Draft statements (select one to see its evidence)")
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._sections: dict[str, Section] = {}
        self._statements: dict[str, Statement] = {}
        self._warn_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)

    def clear_draft(self) -> None:
        self.clear()
        self._sections.clear()
        self._statements.clear()

    def section_count(self) -> int:
        return len(self._sections)

    def put_section(self, section: Section) -> None:
        """Add a section, or replace it when it was regenerated (its place is kept)."""
        current = self.selected_statement()
        self._sections[section.key] = section
        self._render()
        if current is not None:
            self.select_statement(current.id)

    def _render(self) -> None:
        self.blockSignals(True)
        self.clear()
        self._statements.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for section in self._sections.values():
            head = QListWidgetItem(section.title)
            head.setFont(bold)
            head.setData(ROLE_KIND, "section")
            head.setData(ROLE_ID, section.key)
            self.addItem(head)
            if not section.statements:
                empty = QListWidgetItem(f"    {FLAG_MARK}{section.notice}" if section.notice
                                        else "    (nothing said about this)")
                empty.setData(ROLE_KIND, "section")
                empty.setData(ROLE_ID, section.key)
                self.addItem(empty)
            for st in section.statements:
                self._statements[st.id] = st
                item = QListWidgetItem(("    " + FLAG_MARK if st.blocking_flags else "    ") + st.text)
                item.setData(ROLE_KIND, "statement")
                item.setData(ROLE_ID, st.id)
                if st.blocking_flags:
                    item.setIcon(self._warn_icon)
                self.addItem(item)
                for flag, copies in distinct_flags(st.flags):
                    times = f" (×{len(copies)})" if len(copies) > 1 else ""
                    reason = QListWidgetItem(f"        {'Check' if flag.blocking else 'Note'}: {flag.reason}"
                                             + (f" (“{flag.span}”)" if flag.span else "") + times)
                    reason.setData(ROLE_KIND, "flag")
                    reason.setData(ROLE_ID, st.id)
                    reason.setForeground(QBrush(QColor("#8a4b00")))
                    self.addItem(reason)
        self.blockSignals(False)

    def selected_statement(self) -> Statement | None:
        item = self.currentItem()
        if item is None or item.data(ROLE_KIND) not in ("statement", "flag"):
            return None
        return self._statements.get(item.data(ROLE_ID))

    def selected_section_key(self) -> str | None:
        item: QListWidgetItem | None = self.currentItem()   # None when nothing is selected
        if item is None:
            return None
        if item.data(ROLE_KIND) == "section":
            return item.data(ROLE_ID)
        for key, section in self._sections.items():
            if any(st.id == item.data(ROLE_ID) for st in section.statements):
                return key
        return None

    def select_statement(self, statement_id: str) -> bool:
        for i in range(self.count()):
            item = self.item(i)
            if item.data(ROLE_KIND) == "statement" and item.data(ROLE_ID) == statement_id:
                self.setCurrentItem(item)
                return True
        return False


class TranscriptPane(QListWidget):
    """The whole transcript; the evidence for the selected statement is marked and scrolled to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReviewTranscript")
        self.setAccessibleName("Transcript")
        self.setWordWrap(True)
        self._segments: dict[str, Segment] = {}
        self.highlighted: list[str] = []

    def set_transcript(self, transcript: Transcript) -> None:
        self.clear()
        self._segments.clear()
        self.highlighted = []
        for seg in transcript.segments:
            self.add_segment(seg)

    def add_segment(self, seg: Segment) -> None:
        self._segments[seg.id] = seg
        item = QListWidgetItem(segment_line(seg))
        item.setData(ROLE_ID, seg.id)
        self.addItem(item)

    def segments(self) -> list[Segment]:
        return list(self._segments.values())

    def highlight(self, segment_ids: list[str]) -> list[Segment]:
        wanted = set(segment_ids)
        found: list[Segment] = []
        bold = QFont(self.font())
        bold.setBold(True)
        first = None
        for i in range(self.count()):
            item = self.item(i)
            sid = item.data(ROLE_ID)
            seg = self._segments[sid]
            on = sid in wanted
            item.setText((EVIDENCE_MARK if on else "") + segment_line(seg))
            item.setFont(bold if on else self.font())
            item.setBackground(QBrush(QColor("#dbeafe")) if on else QBrush())
            if on:
                found.append(seg)
                first = first or item
        self.highlighted = [s.id for s in found]
        if first is not None:
            self.scrollToItem(first, QAbstractItemView.ScrollHint.PositionAtTop)
        return found


class ReviewView(QWidget):
    """Signals carry what the clinician asked for; the encounter view acts on them."""

    play_requested = Signal(float, float)
    regenerate_requested = Signal(str)         # section key
    template_requested = Signal(str)           # template key
    copy_requested = Signal()
    sign_requested = Signal()
    send_requested = Signal()
    amend_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._save: Callable[[str], int] | None = None
        self._loading = False
        self._dirty = False
        self.draft: Draft | None = None
        self.signed = False
        self._can_copy = False
        self._sections_total = 0
        self._sections_done = 0

        self.template = QComboBox()
        self.template.setObjectName("TemplatePicker")
        self.template.setAccessibleName("Visit type (template)")
        self.template.activated.connect(
            lambda _i: emit(self.template_requested, str(self.template.currentData())))
        self.regenerate = QPushButton("Re&generate section")
        self.regenerate.setEnabled(False)
        self.regenerate.clicked.connect(self._regenerate)
        self.copy_button = QPushButton("&Copy note")
        self.copy_button.setObjectName("CopyButton")
        self.copy_button.clicked.connect(self.copy_requested)
        self.sign_button = QPushButton("&Sign…")
        self.sign_button.setObjectName("SignButton")
        self.sign_button.clicked.connect(self.sign_requested)
        self.amend_button = QPushButton("&Amend…")
        self.amend_button.clicked.connect(self.amend_requested)
        self.amend_button.hide()
        self.send_button = QPushButton("Sen&d…")
        self.send_button.setObjectName("SendButton")
        self.send_button.clicked.connect(self.send_requested)
        self.send_button.hide()
        self.status = QLabel("")
        self.status.setObjectName("Banner")
        self.status.setWordWrap(True)
        self.status.hide()

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setAccessibleName("Drafting progress")
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.cancel = QPushButton("Cancel dra&fting")
        self.cancel.clicked.connect(self.cancel_requested)
        self.progress_row = QWidget()
        prow = QHBoxLayout(self.progress_row)
        prow.setContentsMargins(0, 0, 0, 0)
        prow.addWidget(self.progress_label, 2)
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel)
        self.progress_row.hide()

        self.tree = DraftTree()
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.transcript = TranscriptPane()
        self.evidence_label = QLabel("Select a statement to see what was said.")
        self.evidence_label.setObjectName("Muted")
        self.evidence_label.setWordWrap(True)
        self.play = QPushButton("▶ &Play evidence")
        self.play.setObjectName("PlayEvidence")
        self.play.setEnabled(False)
        self.play.clicked.connect(self._play)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("NoteEditor")
        self.editor.setAccessibleName("Note text")
        self.editor.textChanged.connect(self._edited)
        self.save_state = QLabel("")
        self.save_state.setObjectName("Muted")
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.flush)

        actions = QHBoxLayout()
        tlabel = QLabel("&Visit type:")
        tlabel.setBuddy(self.template)
        actions.addWidget(tlabel)
        actions.addWidget(self.template)
        actions.addWidget(self.regenerate)
        actions.addStretch(1)
        for b in (self.copy_button, self.amend_button, self.sign_button, self.send_button):
            actions.addWidget(b)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.tree, 3)
        elabel = QLabel("&Note text (saves itself, encrypted):")
        elabel.setBuddy(self.editor)
        lv.addWidget(elabel)
        lv.addWidget(self.editor, 2)
        lv.addWidget(self.save_state)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(QLabel("Transcript"))
        rv.addWidget(self.transcript, 1)
        erow = QHBoxLayout()
        erow.addWidget(self.evidence_label, 1)
        erow.addWidget(self.play)
        rv.addLayout(erow)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_row)
        layout.addWidget(split, 1)
        self._shortcuts = [shortcut(self, "Ctrl+P", self._play, local=True),
                           shortcut(self, "Ctrl+Shift+C", self._copy_shortcut, local=True)]
        order: list[QWidget] = [self.template, self.regenerate, self.copy_button, self.amend_button,
                                self.sign_button, self.send_button, self.tree, self.editor,
                                self.transcript, self.play]
        for first, then in zip(order, order[1:]):
            self.setTabOrder(first, then)

    # --- filled by the encounter view ----------------------------------------------------------
    def set_saver(self, save: Callable[[str], int] | None) -> None:
        """`save(text) -> version number`; None while the note is locked (signed)."""
        self._save = save

    def set_templates(self, templates: list[tuple[str, str]], current: str) -> None:
        self.template.clear()
        for key, title in templates:
            self.template.addItem(title, key)
        i = self.template.findData(current)
        if i < 0 and current:
            self.template.addItem(current, current)
            i = self.template.count() - 1
        self.template.setCurrentIndex(i)

    def set_transcript(self, transcript: Transcript) -> None:
        self.transcript.set_transcript(transcript)

    def begin_draft(self, message: str = "Drafting the note…", sections: int = 0) -> None:
        self.set_section_total(sections)
        self.tree.clear_draft()
        self.draft = None
        self.progress_label.setText(message)
        self.progress_row.show()
        self.regenerate.setEnabled(False)
        self.template.setEnabled(False)

    def set_section_total(self, total: int) -> None:
        """How many sections the template asks for (for "Drafting: section 3 of 6")."""
        self._sections_total = total
        self._sections_done = 0

    def add_token(self, text: str) -> None:
        # Progress, never the model's raw text: each section's turn ends with a newline.
        self._sections_done += text.count("\n")
        total = getattr(self, "_sections_total", 0)
        if total:
            self.progress_label.setText(
                f"Drafting: section {min(self._sections_done + 1, total)} of {total}…")
        else:
            self.progress_label.setText("Drafting the note…")

    def add_section(self, section: Section) -> None:
        self.tree.put_section(section)

    def set_draft(self, draft: Draft, note_text: str, edited: bool = False) -> None:
        """The finished draft; `note_text` is the saved version if the note was edited before."""
        self.draft = draft
        self.tree.clear_draft()
        for section in draft.sections:
            self.tree.put_section(section)
        self.end_progress()
        self.set_note_text(note_text)
        self._dirty = False
        self.save_state.setText("Edited version loaded." if edited else "Draft as generated.")
        self._show_checks(draft)

    def update_draft(self, draft: Draft) -> None:
        """The statements as the edited text now reads (the editor is left as typed)."""
        current = self.tree.selected_statement()
        self.draft = draft
        self.tree.clear_draft()
        for section in draft.sections:
            self.tree.put_section(section)
        if current is not None:
            self.tree.select_statement(current.id)
        self._show_checks(draft)

    def _show_checks(self, draft: Draft) -> None:
        n = draft.items_to_check()          # the same count the sign dialog shows
        self.show_status(f"{FLAG_MARK}{n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} "
                         "checking before signing." if n else "")

    def end_progress(self) -> None:
        self.progress_row.hide()
        self.template.setEnabled(not self.signed)
        self.regenerate.setEnabled(not self.signed and self.tree.selected_section_key() is not None)

    def set_note_text(self, text: str) -> None:
        self._loading = True
        self.editor.setPlainText(text)
        self._loading = False

    def set_permissions(self, can_sign: bool, can_copy: bool, can_send: bool) -> None:
        # Signing needs something to sign: a draft, or text the clinician wrote.
        has_note = self.draft is not None or bool(self.note_text().strip())
        self.sign_button.setEnabled(can_sign and not self.signed and has_note)
        self.sign_button.setToolTip("" if can_sign else "Only a clinician can sign notes.")
        self._can_copy = can_copy
        self.copy_button.setEnabled(can_copy and self.signed)
        self.copy_button.setToolTip("Copies the signed note (Ctrl+Shift+C)" if can_copy
                                    else "Only a clinician can copy notes out.")
        self.amend_button.setEnabled(can_sign)
        self.send_button.setEnabled(can_send)

    def set_signed(self, signed: bool, detail: str = "", can_send: bool = False) -> None:
        self.signed = signed
        self.editor.setReadOnly(signed)
        self.copy_button.setEnabled(signed and self._can_copy)
        if not signed:
            self.copy_button.setToolTip("Sign the note first: only a signed note can be copied.")
        self.sign_button.setVisible(not signed)
        self.amend_button.setVisible(signed)
        self.send_button.setVisible(signed and can_send)
        self.template.setEnabled(not signed)
        self.regenerate.setEnabled(False)
        if signed:
            self._autosave.stop()
            self.show_status(f"Signed and locked. {detail} Any change is made as an amendment.")

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setObjectName("ErrorBanner" if error else "Banner")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def show_evidence_message(self, text: str) -> None:
        self.evidence_label.setText(text)

    def note_text(self) -> str:
        return self.editor.toPlainText()

    def flush(self) -> int | None:
        """Save pending edits now (also called before leaving or locking)."""
        self._autosave.stop()
        if not self._dirty or self._save is None:
            return None
        try:
            version = self._save(self.note_text())
        except Exception as exc:
            self.save_state.setText(f"⚠ Not saved: {exc}. Your text is still here; it will be retried.")
            self._autosave.start()
            return None
        self._dirty = False
        self.save_state.setText(f"✓ Saved as version {version} at {dt.datetime.now():%H:%M:%S} (encrypted).")
        return version

    def clear(self) -> None:
        """Forget everything shown (when the window locks, or another encounter opens: no
        button of the previous patient's note may stay, e.g. Copy, Amend or Send)."""
        self._autosave.stop()
        self._save = None
        self.draft = None
        self._amending_reset()
        self.set_signed(False)
        self.set_permissions(False, False, False)
        self.tree.clear_draft()
        self.transcript.clear()
        self.set_note_text("")
        self.show_status("")
        self.save_state.setText("")
        self.evidence_label.setText("Select a statement to see what was said.")

    # --- internals -----------------------------------------------------------------------------
    def _amending_reset(self) -> None:
        self.amend_button.setText("&Amend…")
        self.editor.setReadOnly(False)

    def _edited(self) -> None:
        if self._loading or self.editor.isReadOnly():
            return
        self._dirty = True
        self.save_state.setText("Editing… (saves in a moment)")
        self._autosave.start()

    def _selection_changed(self) -> None:
        self.regenerate.setEnabled(not self.signed and self.draft is not None
                                   and self.tree.selected_section_key() is not None)
        st = self.tree.selected_statement()
        if st is None:
            self.transcript.highlight([])
            self.play.setEnabled(False)
            self.evidence_label.setText("Select a statement to see what was said.")
            return
        segs = self.transcript.highlight(st.evidence)
        if not segs:
            self.play.setEnabled(False)
            self.evidence_label.setText(f"{FLAG_MARK}No transcript evidence supports this statement.")
            return
        t0, t1 = min(s.t0 for s in segs), max(s.t1 for s in segs)
        self.play.setEnabled(True)
        self.evidence_label.setText(f"{EVIDENCE_MARK}Evidence: {len(segs)} segment"
                                    f"{'s' if len(segs) != 1 else ''}, {mmss(t0)}–{mmss(t1)}")

    def _play(self) -> None:
        st = self.tree.selected_statement()
        if st is None or not self.play.isEnabled():
            return
        segs = [s for s in self.transcript.segments() if s.id in set(st.evidence)]
        if segs:
            emit(self.play_requested, min(s.t0 for s in segs), max(s.t1 for s in segs))

    def _copy_shortcut(self) -> None:
        if self.copy_button.isEnabled():
            emit(self.copy_requested)

    def _regenerate(self) -> None:
        key = self.tree.selected_section_key()
        if key:
            emit(self.regenerate_requested, key)
