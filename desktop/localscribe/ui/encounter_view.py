"""One encounter: record it, then review, sign, copy and send its note.

This is the glue between the widgets and the core: it owns the live visit, turns its events
into widget updates through `VisitBridge`, and calls vault / pipeline / ehr through `core`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPushButton, QStackedWidget,
                               QVBoxLayout, QWidget)

from localscribe.config import Paths
from localscribe.domain import Draft, Segment, Transcript
from localscribe.pipeline import events as ev
from localscribe.ui import core
from localscribe.ui.audio_player import AudioPlayer
from localscribe.ui.prefs import UiPrefs
from localscribe.ui.record_panel import RecordPanel, ask_consent
from localscribe.ui.review_view import ReviewView
from localscribe.ui.sign_dialog import SendDialog, SignDialog
from localscribe.ui.visit_bridge import VisitBridge
from localscribe.ui.workers import TaskRunner, describe_error
from localscribe.ui.qtcompat import emit
from localscribe.vault.encounters import SIGNED_STATUSES

if TYPE_CHECKING:
    from localscribe.vault.session import Session

LIVE_STATES = ("recording", "paused")
MIC_TEST_MS = 4000


class EncounterView(QWidget):
    back_requested = Signal()
    changed = Signal()                 # the encounter's status changed (refresh the day)

    def __init__(self, runner: TaskRunner, prefs: UiPrefs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.prefs = prefs
        self.session: Session | None = None
        self.paths: Paths | None = None
        self.profile = ""
        self.row: core.EncounterRow | None = None
        self.visit: Any = None
        self.visit_state = "idle"
        self._audio: np.ndarray | None = None
        self._amending = False
        self._recovering = False        # a recovery run audits its own failures (core)
        self._segments: dict[str, Any] = {}
        self._hidden = False          # locked: pipeline events update state, never the widgets
        self.bridge = VisitBridge(self)
        self.player = AudioPlayer(self)

        self.back = QPushButton("← &Back to the day")
        self.back.setToolTip("Back to the day list (Alt+B)")
        self.back.clicked.connect(self._back)
        self.header = QLabel("")
        self.header.setObjectName("Title")
        self.patient_button = QPushButton("Pat&ient details…")
        self.patient_button.setToolTip("Add or correct the patient's name, date of birth, MRN "
                                       "and consent (needed before signing)")
        self.patient_button.clicked.connect(self._edit_patient)
        self.patient_button.hide()
        self.subheader = QLabel("")
        self.subheader.setObjectName("Subtitle")
        self.error = QLabel("")
        self.error.setObjectName("ErrorBanner")
        self.error.setWordWrap(True)
        self.error.hide()
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry = QPushButton("D&raft from the saved recording")
        self.retry.hide()
        self.retry.clicked.connect(self._redraft_current)
        self.panel = RecordPanel()
        self.review = ReviewView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.panel)
        self.pages.addWidget(self.review)

        top = QHBoxLayout()
        top.addWidget(self.back)
        titles = QVBoxLayout()
        titles.addWidget(self.header)
        titles.addWidget(self.subheader)
        top.addLayout(titles, 1)
        top.addWidget(self.patient_button)
        erow = QHBoxLayout()
        erow.addWidget(self.error, 1)
        erow.addWidget(self.retry)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(erow)
        layout.addWidget(self.pages, 1)

        p, r, b = self.panel, self.review, self.bridge
        p.record_clicked.connect(self._record)
        p.pause_clicked.connect(self._pause)
        p.stop_clicked.connect(self._stop)
        p.refresh_devices.connect(self.refresh_devices)
        p.test_requested.connect(self._test_microphone)
        b.level.connect(p.set_level)
        b.state.connect(self._on_state)
        b.segment.connect(self._on_segment)
        b.token.connect(lambda t: None if self._hidden else r.add_token(t))
        b.section.connect(lambda sec: None if self._hidden else r.add_section(sec))
        b.draft.connect(self._on_draft)
        b.progress.connect(self._on_progress)
        b.error.connect(self._on_error)
        r.play_requested.connect(self._play)
        r.copy_requested.connect(self._copy)
        r.sign_requested.connect(self._sign)
        r.amend_requested.connect(self._amend)
        r.send_requested.connect(self._send)
        r.regenerate_requested.connect(self._regenerate)
        r.template_requested.connect(self._switch_template)
        r.cancel_requested.connect(self._cancel)
        self.player.failed.connect(r.show_evidence_message)
        self.player.started.connect(lambda a, b_: r.show_evidence_message("▶ Playing evidence…"))
        self.player.finished.connect(lambda: r.show_evidence_message("Played the evidence."))

    # --- opening and closing -------------------------------------------------------------------
    @property
    def recording_active(self) -> bool:
        return self.visit is not None and self.visit_state in LIVE_STATES

    @property
    def visit_in_progress(self) -> bool:
        """Recording, transcribing or drafting: the visit's result is not stored yet."""
        return (self.visit is not None and not getattr(self.visit, "done", False)) \
            or self.runner.session_work()

    def open(self, session: Session, eid: str, paths: Paths, profile: str) -> None:
        self._hidden = False
        self.session, self.paths, self.profile = session, paths, profile
        self.row = core.encounter(session, eid)
        self._audio = None
        self._amending = False
        self._segments = {}
        self.error.hide()
        self.retry.hide()
        self._show_subheader()
        self.review.clear()
        self.review.set_templates(self._templates(), self.row.template)
        self.panel.reset()
        if not self.row.recorded:
            self.refresh_devices()
            self.pages.setCurrentWidget(self.panel)
            self.panel.record_button.setFocus()
        else:
            self._load_review()

    def _current(self) -> tuple[Session, core.EncounterRow]:
        """The unlocked session and the open encounter. Every action below is offered only with
        both; reaching one without them is a mistake in the window's code, said as such."""
        if self.session is None or self.row is None:
            raise RuntimeError("no encounter is open")
        return self.session, self.row

    def _show_subheader(self) -> None:
        """The header and the line under it: who (or "Unnamed visit 14:32"), what, status."""
        if self.row is None:
            return
        p = self.row.patient
        self.header.setText(self.row.title)
        self.subheader.setText(" · ".join(x for x in (
            f"DOB {p.birth_date}" if p.birth_date else "", f"MRN {p.mrn}" if p.mrn else "",
            "" if self.row.identified else "⚠ patient details needed before signing",
            self._template_title(self.row.template), self.row.status_label) if x))
        self.patient_button.setVisible(not self.row.signed and self._can("phi.write"))

    def refresh_status(self) -> None:
        """Show a status that changed behind the view's back (a queued note went out)."""
        if self.row is None or self.session is None or not self.header.text():
            return
        self._refresh_row()
        self._show_subheader()
        if self.row.status in SIGNED_STATUSES:
            self.review.set_signed(True, f"Status: {self.row.status_label}.", self._can("note.push"))

    def close_encounter(self) -> None:
        """Leave the encounter (a live recording goes on in the background until stopped)."""
        self.player.stop()
        self.review.flush()

    def hide_phi(self) -> None:
        self._hidden = True
        self.player.stop()          # a locked screen must not go on speaking the visit aloud
        self.review.flush()
        self.review.clear()
        self.panel.transcript.clear()
        self.header.clear()
        self.subheader.clear()
        self.error.hide()
        self._audio = None
        self._segments = {}

    def set_session(self, session: Session) -> None:
        self.session = session

    def reveal(self, session: Session) -> None:
        """Back from a lock: show the encounter again, read from the vault (the view forgot
        it at the lock); a visit still recording or drafting goes on being shown live."""
        self._hidden = False
        self.session = session
        if self.row is None:
            return
        if not self.visit_in_progress:
            assert self.paths is not None          # set with the row by open()
            self.open(session, self.row.id, self.paths, self.profile)
            return
        self._show_subheader()
        transcript = session.load_transcript(self.row.id) or Transcript()
        self._segments = {seg.id: seg for seg in transcript.segments}
        if self.recording_active:
            self.panel.transcript.clear()
            for seg in transcript.segments:
                self.panel.add_segment(seg)
            self.pages.setCurrentWidget(self.panel)
            return
        self.review.set_transcript(transcript)
        self.review.begin_draft("Drafting the note (it went on while the window was locked)…")
        self.pages.setCurrentWidget(self.review)

    def stop_recording(self) -> None:
        """Stop from the locked screen: capture ends, drafting goes on in the background."""
        if self.recording_active:
            self._stop()

    # --- recording -----------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        try:
            devices = core.input_devices()
            problem = ""
        except Exception as exc:
            devices, problem = [], f"No microphone is usable: {describe_error(exc)}"
        preferred = self.prefs.microphone
        if preferred:
            devices = sorted(devices, key=lambda d: d.name != preferred)
            devices = [core.InputDevice(d.id, d.name, d.name == preferred) for d in devices]
        self.panel.set_devices(devices, problem)

    def _test_microphone(self, device) -> None:
        """A few seconds of level readings from the chosen microphone; the audio is dropped."""
        def on_level(level) -> None:
            self.bridge.post(ev.LevelChanged(level.rms_db))
        try:
            source = core.microphone_source(device.id if device else None, on_level=on_level)
            source.start()
        except Exception as exc:
            self.panel.show_problem(f"The microphone cannot be opened: {describe_error(exc)}")
            return
        self.panel.set_testing(True)

        def finish() -> None:
            try:
                source.stop()
            finally:
                self.panel.set_testing(False)
        QTimer.singleShot(MIC_TEST_MS, finish)

    def record_now(self) -> None:
        """Record first: start at once; consent is recorded with the patient's details later."""
        self._record(with_consent=False)

    def _record(self, with_consent: bool = True) -> None:
        if self.visit is not None and self.visit_state == "paused":
            self._call_visit("resume")
            return
        if self.visit is not None:
            return
        session, row = self._current()
        assert self.paths is not None              # set with the row by open()
        if not row.recorded and with_consent:
            agreed = ask_consent(self, row.patient.name)
            core.consent_recorded(session, row.id, agreed)
            if not agreed:
                self.panel.show_problem("Not recorded: the patient did not agree. You can write the "
                                        "note yourself in the record system.")
                return
        device = self.panel.device()
        try:
            source = core.microphone_source(device.id if device else None)
            self.visit = core.live_visit(session, row.id, profile=self.profile,
                                         template=row.template, source=source,
                                         on_event=self.bridge.post, paths=self.paths)
            self.visit.start()
        except Exception as exc:
            self.visit = None
            self._show_error(f"Recording could not start: {describe_error(exc)}")
            return
        self.visit_state = "recording"
        self.panel.set_state("recording")
        emit(self.changed)

    def _pause(self) -> None:
        self._call_visit("pause")

    def _stop(self) -> None:
        if self._call_visit("stop"):
            self.panel.set_state("finishing")
            self.visit_state = "finishing"
            if self._hidden:
                return
            assert self.row is not None            # a visit is recorded only into an open encounter
            self.review.set_transcript(Transcript(segments=self._live_segments()))
            self.review.begin_draft("Finishing the transcript, then drafting the note…",
                                   self._section_count(self.row.template))
            self.pages.setCurrentWidget(self.review)
            self.review.tree.setFocus()

    def _cancel(self) -> None:
        if self.row is not None and self.session is not None and self.visit_in_progress:
            try:
                self.session.audit("draft.abandoned", self.row.id, reason="cancelled")
            except Exception:
                pass     # the cancel itself must still happen
        if self.visit is not None:
            self._call_visit("cancel")
        self.review.end_progress()
        try:      # the audit trail says the visit stopped short, and how far it got
            session, row = self._current()
            cov = core.record_stopped_short(session, row.id, "cancelled")
            how_far = f" ({cov.words()})"
        except Exception:  # noqa: BLE001 - telling the clinician matters more than the detail
            how_far = ""
        self.review.show_status(f"Drafting cancelled{how_far}. The recording and transcript are "
                                "kept; Draft from the saved recording transcribes all of it "
                                "again and drafts the note.")
        self.retry.show()

    def _call_visit(self, name: str) -> bool:
        if self.visit is None:
            return False
        try:
            getattr(self.visit, name)()
            return True
        except Exception as exc:
            self._show_error(f"Could not {name}: {describe_error(exc)}")
            return False

    def _live_segments(self) -> list[Segment]:
        return sorted(self._segments.values(), key=lambda s: s.t0)

    # --- pipeline events -----------------------------------------------------------------------
    def _on_state(self, state: str) -> None:
        self.visit_state = state
        if state in ("recording", "paused"):
            self.panel.set_state(state)
        elif state in ("transcribing", "drafting"):
            self.panel.set_state("finishing")
            self.review.progress_label.setText("Transcribing the last words…" if state == "transcribing"
                                               else "Drafting the note…")
        self._refresh_row()          # the header says what the vault now holds
        self._show_subheader()
        emit(self.changed)

    def _on_segment(self, seg) -> None:
        if self._hidden:
            return
        self._segments[seg.id] = seg
        self.panel.add_segment(seg)
        if self.pages.currentWidget() is self.review:
            self.review.transcript.add_segment(seg)

    def _on_progress(self, stage: str, fraction: object) -> None:
        if self.review.progress_row.isVisible():
            pct = f" ({int(float(fraction) * 100)}%)" if isinstance(fraction, (int, float)) else ""
            self.review.progress_label.setText(f"{stage.capitalize()}{pct}…")

    def _on_draft(self, draft: Draft) -> None:
        self.visit = None if self.visit_state not in LIVE_STATES else self.visit
        self.visit_state = "review"
        self.panel.set_state("done")
        if self._hidden:              # stored in the vault; shown at the next unlock
            emit(self.changed)
            return
        self.retry.hide()
        self.error.hide()
        try:
            text = core.render_note(draft, self.paths.data_dir if self.paths else None)
        except core.TEMPLATE_ERRORS as exc:
            text = ""
            self._show_error(f"The note text cannot be rendered: {exc}")
        self.review.set_draft(draft, text)
        self.pages.setCurrentWidget(self.review)
        self._refresh_row()
        self._show_subheader()
        self._apply_permissions()
        self.review.set_saver(self._save_version)
        emit(self.changed)

    def _on_error(self, stage: str, message: str, recoverable: bool) -> None:
        if stage == "capture":
            self.panel.show_problem(message)
        kept = " The recording made so far is safe on disk." if recoverable or stage != "storage" else ""
        self._show_error(f"{stage.capitalize()} problem: {message}{kept}")
        self.review.end_progress()
        self.retry.setVisible(stage in ("transcribe", "draft"))
        if stage in ("transcribe", "draft") and not self._recovering and self.row is not None \
                and self.session is not None:
            try:
                core.record_stopped_short(self.session, self.row.id, "failed", f"{stage}: {message}")
            except Exception:  # noqa: BLE001 - the clinician has been told already
                pass
        emit(self.changed)

    def _show_error(self, text: str) -> None:
        self.error.setText("⚠ " + text)
        self.error.show()

    # --- review --------------------------------------------------------------------------------
    def _load_review(self) -> None:
        session, row = self._current()
        self.pages.setCurrentWidget(self.review)
        transcript = session.load_transcript(row.id) or Transcript()
        self.review.set_transcript(transcript)
        draft = session.load_draft(row.id)
        if draft is None:
            if core.resumable(session, row.id):
                cov = core.transcript_coverage(session, row.id)
                self._show_error(f"This visit stopped before a draft was made: {cov.words()}. "
                                 "The whole recording is kept; Draft from the saved recording "
                                 "transcribes all of it, to the last second, then drafts.")
                self.retry.show()
            return
        edited = core.latest_note_text(session, row.id)
        try:
            rendered = core.render_note(draft, self.paths.data_dir if self.paths else None)
        except core.TEMPLATE_ERRORS as exc:
            rendered = ""
            self._show_error(f"The note text cannot be rendered: {exc}")
        self.review.set_draft(draft, edited if edited is not None else rendered, edited is not None)
        signed = row.status in SIGNED_STATUSES
        self._apply_permissions()
        if signed:
            self.review.set_signed(True, f"Status: {row.status_label}.", self._can("note.push"))
            self.review.set_saver(None)
        else:
            self.review.set_saver(self._save_version)

    def _save_version(self, text: str) -> int:
        """Save the text; the statements, their evidence and flags follow it (re-verified)."""
        session, row = self._current()
        edit = core.save_note_edit(session, row.id, text,
                                   self.paths.data_dir if self.paths else None)
        if edit.draft is not None and edit.changed:
            self.review.update_draft(edit.draft)
        return edit.version

    def _can(self, permission: str) -> bool:
        return core.allows(self.session, permission)

    def _apply_permissions(self) -> None:
        self.review.set_permissions(self._can("note.sign"), self._can("note.copy"),
                                    self._can("note.push"))

    def _refresh_row(self) -> None:
        if self.row is not None and self.session is not None:
            try:
                self.row = core.encounter(self.session, self.row.id)
            except Exception:  # noqa: BLE001 - locked meanwhile: the next open reads it again
                pass

    def _section_count(self, template: str) -> int:
        return core.section_count(template, self.paths.data_dir if self.paths else None)

    def _template_title(self, key: str) -> str:
        return dict(self._templates()).get(key, key)

    def _templates(self) -> list[tuple[str, str]]:
        try:
            return core.templates(self.paths.data_dir if self.paths else None)
        except core.TEMPLATE_ERRORS:
            return []

    def _play(self, t0: float, t1: float) -> None:
        if self._audio is None:
            try:
                session, row = self._current()
                self._audio = session.read_audio(row.id)
            except Exception as exc:
                self.review.show_evidence_message(f"The audio cannot be read: {describe_error(exc)}")
                return
        self.player.play(self._audio, t0, t1)

    def _copy(self) -> None:
        from localscribe.ehr.clipboard_qt import QtClipboardBackend
        try:
            session, row = self._current()
            text = core.copy_signed_note(session, row.id, self.prefs.clipboard_clear_s)
        except Exception as exc:
            self.review.show_status(f"Not copied: {describe_error(exc)}", error=True)
            return
        from localscribe.ehr.clipboard import copy_with_auto_clear
        seconds = self.prefs.clipboard_clear_s
        copy_with_auto_clear(QtClipboardBackend(), text, seconds)   # the one auto-clear rule
        self.review.show_status("✓ Copied to the clipboard" + (f"; it clears itself in {seconds} s."
                                                                 if seconds > 0 else "."))

    def _edit_patient(self) -> None:
        """Attach or correct the patient (and their consent) before signing."""
        from localscribe.ui.patient_form import PatientDialog
        if self.row is None or self.session is None:
            return
        dialog = PatientDialog(self.row.patient, self)
        if dialog.exec() != PatientDialog.DialogCode.Accepted:
            return
        try:
            core.attach_patient(self.session, self.row.id, dialog.patient(), dialog.consent_given())
        except Exception as exc:
            self._show_error(f"The patient's details were not saved: {describe_error(exc)}")
            return
        self.error.hide()
        self._refresh_row()
        self._show_subheader()
        emit(self.changed)

    def _sign(self) -> None:
        self.review.flush()
        self._refresh_row()          # details attached elsewhere (the CLI) count too
        refusal = core.sign_refusal(self.row) if self.row is not None else ""
        if refusal:        # the vault refuses it too; said before the dialog asks for anything
            self.review.show_status(f"Not signed: {refusal}.", error=True)
            self.patient_button.setFocus()
            return
        try:
            session, row = self._current()
            text = self.review.note_text()
            if core.latest_note_text(session, row.id) != text:
                # What is signed is exactly what is on screen, and the dialog asks about the
                # flags of that text (saving re-verifies it), never of an earlier one.
                self._save_version(text)
        except Exception as exc:
            self.review.show_status(f"Not signed: {describe_error(exc)}", error=True)
            return
        try:
            consent = core.consent_problem(session, row.id)
            instructions = core.instructions_summary(session, row.id)
        except Exception as exc:
            self.review.show_status(f"Not signed: {describe_error(exc)}", error=True)
            return
        if consent is not None and consent.value == "declined":
            self.review.show_status("Not signed: the patient declined the recording; its audio "
                                    "and transcript were erased.", error=True)
            return
        signer = str(getattr(self.session, "user", ""))
        dialog = SignDialog(self.review.draft, signer, self, instructions=instructions,
                            consent_needed=consent is not None)
        accepted = dialog.exec() == SignDialog.DialogCode.Accepted
        if dialog.declined:
            self._consent_declined()
            return
        if not accepted:
            return
        try:
            if dialog.consent_given():     # ticked in place: recorded as the consent event
                core.consent_recorded(session, row.id, True, after_start=True, via="sign_dialog")
            note = session.sign(row.id, acknowledged_flag_ids=dialog.acknowledged())
        except Exception as exc:
            self.review.show_status(f"Not signed: {describe_error(exc)}", error=True)
            return
        self._closed_for_editing()
        self.review.set_signed(True, f"Version {getattr(note, 'version', '?')} signed by {signer}.",
                               self._can("note.push"))
        emit(self.changed)

    def _closed_for_editing(self) -> None:
        """After signing or an erase: the row and header as stored, no more saving of edits."""
        self._refresh_row()
        self._show_subheader()
        self.review.set_saver(None)

    def _consent_declined(self) -> None:
        """The patient declined: the core erases the recording and transcript (audited)."""
        try:
            session, row = self._current()
            core.consent_recorded(session, row.id, False, after_start=True, via="sign_dialog")
        except Exception as exc:
            self.review.show_status(f"Not erased: {describe_error(exc)}", error=True)
            return
        self._closed_for_editing()
        self.review.set_transcript(Transcript())
        self.review.tree.clear_draft()
        self.review.draft = None
        self.review.set_note_text("")
        self.review.editor.setReadOnly(True)
        self.review.sign_button.setEnabled(False)
        self.review.show_status("The patient declined the recording: its audio, transcript and "
                                "draft were erased (audited).")
        emit(self.changed)

    def _amend(self) -> None:
        if not self._amending:
            self._amending = True
            self.review.editor.setReadOnly(False)
            self.review.amend_button.setText("Save &amendment")
            self.review.show_status("Amending: edit the note, then press Save amendment.")
            self.review.editor.setFocus()
            return
        try:
            session, row = self._current()
            note = session.amend(row.id, self.review.note_text())
        except Exception as exc:
            self.review.show_status(f"Amendment not saved: {describe_error(exc)}", error=True)
            return
        self._amending = False
        self.review.amend_button.setText("&Amend…")
        self._refresh_row()
        self._show_subheader()
        self.review.set_signed(True, f"Amendment saved as version {getattr(note, 'version', '?')}.",
                               self._can("note.push"))
        emit(self.changed)

    def _send(self) -> None:
        try:
            session, row = self._current()
            names = core.connector_names(session)
        except Exception as exc:
            self.review.show_status(f"Cannot send: {describe_error(exc)}", error=True)
            return
        if not names:
            self.review.show_status("No connector is configured. An administrator can set one up in "
                                    "Settings > Connectors.", error=True)
            return
        dialog = SendDialog(names, self)
        if dialog.exec() != SendDialog.DialogCode.Accepted:
            return
        eid, target = row.id, dialog.choice()
        self.review.show_status(f"Sending to {target}…")
        if dict(core.connectors(session)).get(target) == "clipboard":
            # Qt's clipboard belongs to the UI thread, and copying is instant.
            from localscribe.ehr.clipboard_qt import QtClipboardBackend
            try:
                self._sent(target, core.send_note(session, eid, target, QtClipboardBackend()))
            except Exception as exc:
                self._send_failed(target, describe_error(exc))
            return
        self.runner.start(f"Sending to {target}", core.send_note, session, eid, target,
                          on_done=lambda r: self._sent(target, r),
                          on_error=lambda m: self._send_failed(target, m))

    def _sent(self, target: str, receipt: dict[str, Any]) -> None:
        word = "✓ Delivered" if receipt["delivered"] else f"… {receipt['state'].capitalize()}"
        self.review.show_status(f"{word} to {target}. {receipt['detail']}".strip())
        self._refresh_row()
        self._show_subheader()
        emit(self.changed)

    def _send_failed(self, target: str, message: str) -> None:
        self.review.show_status(f"✗ Sending to {target} failed: {message} The note stays signed and "
                                "can be sent again.", error=True)
        self._refresh_row()
        self._show_subheader()
        emit(self.changed)

    def _regenerate(self, key: str) -> None:
        self.review.progress_label.setText(f"Regenerating {key}…")
        self.review.progress_row.show()
        session, row = self._current()
        self.runner.start(f"Regenerating {key}", core.regenerate_section, session, row.id,
                          key, profile=self.profile, paths=self.paths, on_event=self.bridge.post,
                          on_error=self._task_failed, keeps_session=True)

    def _switch_template(self, key: str) -> None:
        _, row = self._current()
        if not key or key == row.template:
            return
        answer = QMessageBox.question(self, "Switch visit type",
                                      "Draft the note again with this template? Your edits to the "
                                      "current text are kept as an earlier version.")
        if answer != QMessageBox.StandardButton.Yes:
            self.review.set_templates(self._templates(), row.template)
            return
        self.review.flush()
        self._redraft(key)

    def _redraft_current(self) -> None:
        session, row = self._current()
        if not core.resumable(session, row.id):
            self._redraft(row.template)
            return
        # Never only what the live transcriber got to: the spool, to its last second.
        self.retry.hide()
        self.error.hide()
        self.pages.setCurrentWidget(self.review)
        self.review.set_transcript(Transcript())
        self._segments = {}
        self.review.begin_draft("Transcribing the whole recording, then drafting the note…",
                                   self._section_count(row.template))

        def started(visit) -> None:
            self.visit = visit          # so that Cancel drafting reaches it
        self._recovering = True
        self.runner.start("Drafting from the saved recording", core.recover_visit, session,
                          row.id, profile=self.profile, paths=self.paths,
                          on_event=self.bridge.post, on_start=started,
                          on_done=lambda _r: self._recovered(), on_error=self._task_failed)

    def _recovered(self) -> None:
        self._recovering = False
        if self.visit is not None and self.visit_state not in LIVE_STATES:
            self.visit = None
        self._refresh_row()
        self._show_subheader()
        emit(self.changed)

    def _redraft(self, template: str) -> None:
        self.retry.hide()
        self.error.hide()
        self.pages.setCurrentWidget(self.review)
        self.review.begin_draft("Drafting the note again…", self._section_count(template))
        session, row = self._current()
        self.runner.start("Drafting", core.redraft, session, row.id, template,
                          profile=self.profile, paths=self.paths, on_event=self.bridge.post,
                          on_error=self._task_failed, keeps_session=True)

    def _task_failed(self, message: str) -> None:
        self._recovering = False
        self.review.end_progress()
        self._show_error(message)

    def _back(self) -> None:
        self.close_encounter()
        emit(self.back_requested)
