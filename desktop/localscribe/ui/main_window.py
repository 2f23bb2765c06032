"""The window: unlock, then the day, an encounter, settings or the audit view, depending on
what the signed-in role may see. Locks itself after inactivity and then shows nothing about
patients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QApplication, QDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QStackedWidget,
                               QVBoxLayout, QWidget)

from localscribe.config import Paths
from localscribe.ui import core
from localscribe.ui.audit_view import AuditView
from localscribe.ui.day_view import DayView, NewEncounterDialog
from localscribe.ui.encounter_view import EncounterView
from localscribe.ui.idle_lock import IdleWatcher
from localscribe.ui.prefs import UiPrefs
from localscribe.ui.scorecard_view import install as install_scorecard
from localscribe.ui.settings_view import SettingsView
from localscribe.ui.style import shortcut
from localscribe.ui.unlock_view import UnlockView
from localscribe.ui.workers import TaskRunner, describe_error
from localscribe.ui.qtcompat import emit
from localscribe.vault import settings as vault_settings

if TYPE_CHECKING:
    from localscribe.vault.session import Session

APP_TITLE = "LocalScribe"
# How often the window looks for queued notes that are due again (the outbox's own backoff
# decides whether one is; this is only how soon after that the window notices).
OUTBOX_POLL_MS = 30_000
# While a visit records or drafts, its session is touched this often so that the vault's own
# idle clock never locks it under the pipeline (a lock then would lose the draft).
VISIT_KEEPALIVE_MS = 5_000


def _unlock(paths: Paths, vault: Any, user: str, passphrase: str) -> tuple[Any, Any]:
    """Key derivation (scrypt) takes about a second: run off the UI thread."""
    vault = vault or core.open_vault(paths)
    return vault, vault.unlock(user, passphrase)


def _create(paths: Paths, user: str, passphrase: str) -> tuple[Any, Any]:
    vault = core.create_vault(paths, user, passphrase)
    return vault, vault.unlock(user, passphrase)


class MainWindow(QMainWindow):
    unlocked = Signal(str)            # role
    locked = Signal()
    ready_to_record = Signal()        # an encounter is open and Record is enabled

    def __init__(self, paths: Paths, profile: str, prefs: UiPrefs | None = None,
                 prefs_path: Any = None) -> None:
        super().__init__()
        self.paths, self.profile = paths, profile
        self.prefs = prefs or UiPrefs()
        self.prefs_path = prefs_path
        self.vault: Any = None
        self.session: Session | None = None
        self.models_ready = False
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 820)
        self.runner = TaskRunner(self)
        self.runner.busy_changed.connect(self._busy)

        self.unlock_view = UnlockView()
        self.unlock_view.unlock_requested.connect(self.unlock)
        self.unlock_view.create_requested.connect(self.create_vault)
        self.unlock_view.stop_requested.connect(self._stop_while_locked)
        self.day = DayView()
        self.day.new_requested.connect(self.new_encounter)
        self.day.record_requested.connect(self.record_first)
        self.day.open_requested.connect(self.open_encounter)
        self.day.start_scheduled.connect(self.start_scheduled)
        self.day.day.dateChanged.connect(lambda *_: self.refresh_schedule())
        self.encounter = EncounterView(self.runner, self.prefs)
        self.encounter.back_requested.connect(self.show_day)
        self.encounter.changed.connect(self.refresh_day)
        self.settings = SettingsView(self.runner, self.prefs)
        self.settings.prefs_changed.connect(self._prefs_changed)
        self.settings.own_passphrase_changed.connect(self._own_passphrase_chosen)
        self.audit = AuditView(self.runner)

        self.user_label = QLabel("")
        self.nav_today = QPushButton("T&oday")
        self.nav_today.clicked.connect(self.show_day)
        self.nav_settings = QPushButton("S&ettings")
        self.nav_settings.clicked.connect(self.show_settings)
        self.nav_audit = QPushButton("A&udit")
        self.nav_audit.clicked.connect(self.show_audit)
        self.lock_button = QPushButton("&Lock (Ctrl+L)")
        self.lock_button.setObjectName("LockButton")
        self.lock_button.clicked.connect(lambda: self.lock("Locked."))
        # A visit's session, kept open behind the lock until its recording/draft is stored.
        self._held_session: Session | None = None
        self._held_reason = ""
        self._resume_eid = ""       # the encounter on screen at the lock, shown again at unlock
        self._unlocking = False
        self.keepalive = QTimer(self)
        self.keepalive.setInterval(VISIT_KEEPALIVE_MS)
        self.keepalive.timeout.connect(self._visit_keepalive)
        self.keepalive.start()
        nav = QHBoxLayout()
        for b in (self.nav_today, self.nav_settings, self.nav_audit):
            nav.addWidget(b)
        nav.addStretch(1)
        nav.addWidget(self.user_label)
        nav.addWidget(self.lock_button)
        self.content = QStackedWidget()
        for w in (self.day, self.encounter, self.settings, self.audit):
            self.content.addWidget(w)
        self.busy_label = QLabel("")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(160)
        self.busy_cancel = QPushButton("Cancel")
        self.busy_cancel.clicked.connect(self.runner.cancel_all)
        for busy in (self.busy_label, self.busy_bar, self.busy_cancel):
            busy.hide()
        status = QHBoxLayout()
        status.addWidget(self.busy_label, 1)
        status.addWidget(self.busy_bar)
        status.addWidget(self.busy_cancel)
        self.models_label = QLabel("")
        self.models_label.setObjectName("Muted")
        status.addWidget(self.models_label)
        workspace = QWidget()
        wl = QVBoxLayout(workspace)
        wl.addLayout(nav)
        wl.addWidget(self.content, 1)
        wl.addLayout(status)
        self.workspace = workspace
        self.pages = QStackedWidget()
        self.pages.addWidget(self.unlock_view)
        self.pages.addWidget(workspace)
        self.setCentralWidget(self.pages)

        # The idle time is the vault's signed setting (session.idle_timeout_s), read at unlock:
        # one home, which the security report prints.
        self.idle = IdleWatcher(vault_settings.DEFAULTS[vault_settings.IDLE_TIMEOUT], self)
        self.idle.idle.connect(lambda: self.lock(
            f"Locked after {round(self.idle.timeout_s / 60) or 1} minute(s) without activity.",
            reason="idle"))
        self.idle.activity.connect(self._keep_session_alive)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
        self._shortcuts = [shortcut(self, "Ctrl+L", lambda: self.lock("Locked.")),
                           shortcut(self, "Ctrl+N", self.new_encounter),
                           shortcut(self, "Ctrl+1", self.show_day),
                           shortcut(self, "Ctrl+2", self.show_settings),
                           shortcut(self, "Ctrl+3", self.show_audit)]
        # Notes queued while the EHR was unreachable go out on their own while the app runs.
        self.outbox_timer = QTimer(self)
        self.outbox_timer.setInterval(OUTBOX_POLL_MS)
        self.outbox_timer.timeout.connect(self.drain_outbox)
        self._draining = False
        self.unlock_view.set_first_run(not core.vault_exists(paths))
        self.pages.setCurrentWidget(self.unlock_view)
        self.unlock_view.reset()
        install_scorecard(self)    # the Scorecard screen, for admins and auditors

    # --- unlock and lock -----------------------------------------------------------------------
    @property
    def is_locked(self) -> bool:
        return self.pages.currentWidget() is self.unlock_view

    def create_vault(self, user: str, passphrase: str) -> None:
        if self._unlocking:
            return
        self._unlocking = True
        self.unlock_view.set_busy(True, "Creating the vault…")
        self.runner.start("Creating the vault", _create, self.paths, user, passphrase,
                          on_done=self._created, on_error=self._create_failed)

    def _created(self, result: tuple[Any, Any]) -> None:
        self.unlock_view.set_first_run(False)
        self._unlocked(result)

    def _create_failed(self, message: str) -> None:
        self._unlocking = False
        self.unlock_view.set_busy(False)
        self.unlock_view.show_error(f"The vault could not be created: {message}")

    def unlock(self, user: str, passphrase: str) -> None:
        held = self._held_session
        if held is not None and user != str(held.user):
            what = "recorded" if self.encounter.recording_active else "drafted"
            self.unlock_view.show_error(f"A visit is being {what} by {held.user}; only they can "
                                        "unlock until it is stored.")
            return
        if self._unlocking:
            return
        self._unlocking = True
        self.unlock_view.set_busy(True)
        self.runner.start("Unlocking", _unlock, self.paths, self.vault, user, passphrase,
                          on_done=self._unlocked, on_error=self._unlock_failed)

    def _unlock_failed(self, message: str) -> None:
        self._unlocking = False
        self.unlock_view.set_busy(False)
        self.unlock_view.show_error(message)

    def _unlocked(self, result: tuple[Any, Any]) -> None:
        self._unlocking = False
        self.vault, session = result
        self.unlock_view.set_busy(False)
        if not self.is_locked:          # e.g. two unlock clicks raced: keep the first session
            session.lock(reason="duplicate")
            return
        self.unlock_view.reset()
        self.unlock_view.set_recording(False)
        self.session = session
        self.encounter.set_session(session)
        role = core.role_of(session)
        self.user_label.setText(f"{session.user} · {role}")
        self.pages.setCurrentWidget(self.workspace)
        self.idle.set_timeout(core.idle_timeout_s(session) or self.idle.timeout_s)
        self.idle.arm()
        if core.allows(session, "note.push"):
            self.outbox_timer.start()
            QTimer.singleShot(0, self.drain_outbox)     # what waited while the app was closed
        emit(self.unlocked, role)
        try:
            pending = core.first_passphrase_pending(session)
        except Exception:
            pending = False
        if pending:            # an admin chose it: the user picks their own before anything else
            for b in (self.nav_today, self.nav_audit, self.nav_settings):
                b.hide()
            self.show_settings()
            self.settings.require_own_passphrase()
            return
        self._show_home(session)

    def _own_passphrase_chosen(self) -> None:
        if self.session is not None and not self.is_locked:
            self.nav_settings.show()
            self._show_home(self.session)

    def _show_home(self, session: Session) -> None:
        phi = core.sees_patients(session)
        self.nav_today.setVisible(phi)
        self.nav_audit.setVisible(core.allows(session, "audit.read"))
        left, self._resume_eid = self._resume_eid, ""
        resume = left.startswith(f"{session.user}/")      # only for who left it
        if phi and self.encounter.row is not None and (resume or self.encounter.visit_in_progress):
            self.content.setCurrentWidget(self.encounter)
            try:
                self.encounter.reveal(session)
            except Exception as exc:
                QMessageBox.warning(self, "Cannot open", f"The encounter cannot be opened: {describe_error(exc)}")
                self.show_day()
            self._warm_up()
        elif phi:
            self.show_day()
            self._warm_up()
        elif core.allows(session, "audit.read"):
            self.show_audit()
        else:
            self.show_settings()

    def lock(self, message: str = "Locked.", reason: str = "user") -> None:
        """Hide every PHI view at once. The vault session ends, unless a visit is still being
        recorded or drafted: then it stays open (keys in memory, nothing shown) until the
        visit's audio and draft are stored, and is locked then."""
        if self.is_locked:
            return
        self.idle.disarm()
        self.outbox_timer.stop()
        for w in QApplication.topLevelWidgets():
            # Every dialog may show PHI (new encounter, sign, consent, message boxes).
            if isinstance(w, QDialog) and w.isVisible():
                w.reject()
                w.close()
        row = self.encounter.row if self.content.currentWidget() is self.encounter else None
        who = str(getattr(self.session, "user", ""))
        self._resume_eid = f"{who}/{row.id}" if row is not None else ""
        self.encounter.hide_phi()
        self.day.clear()
        self.settings.clear()
        self.audit.clear()
        self.user_label.clear()
        self.setWindowTitle(APP_TITLE)
        session, self.session = self.session, None
        user = str(getattr(session, "user", "")) if session is not None else ""
        recording = self.encounter.recording_active
        if session is not None and self.encounter.visit_in_progress:
            if self._held_session is not None and self._held_session is not session:
                self._lock_session(session, reason)     # the visit already holds its own
            else:
                self._held_session, self._held_reason = session, reason
                try:
                    session.audit("lock", session.user, reason=reason, session_kept="visit in progress")
                except Exception:
                    pass
            message += (" The recording continues: Stop ends it without a passphrase; unlock to see it."
                        if recording else " The note is still being drafted; it is stored, "
                        "encrypted, and shown at the next unlock.")
        elif session is not None:
            self._lock_session(session, reason)
        self.pages.setCurrentWidget(self.unlock_view)
        self.unlock_view.reset(user, message)
        self.unlock_view.set_recording(recording)
        emit(self.locked)

    @staticmethod
    def _lock_session(session: Session, reason: str) -> None:
        try:
            session.lock(reason=reason)
        except Exception:
            pass   # locking must never fail visibly; the session is dropped either way

    def _visit_keepalive(self) -> None:
        """Keep the visit's session open while it works; lock a held one once it is done."""
        busy = self.encounter.visit_in_progress
        if self.is_locked:
            self.unlock_view.set_recording(self.encounter.recording_active)
        for session in {id(s): s for s in (self._held_session, self.session) if s is not None}.values():
            if busy:
                try:
                    session.touch()
                except Exception:
                    pass     # the vault locked it (e.g. `localscribe lock`); the pipeline says so
        if busy:
            return
        held, self._held_session = self._held_session, None
        if held is not None and held is not self.session:
            self._lock_session(held, "visit_stored")
            if self.is_locked:
                self.unlock_view.show_error("Locked. The visit's note is stored; unlock to review it.")

    def _stop_while_locked(self) -> None:
        if not self.is_locked or not self.encounter.recording_active:
            return
        session = self._held_session
        if session is not None and self.encounter.row is not None:
            try:
                session.audit("recording.stop_request", self.encounter.row.id, from_locked_screen=True)
            except Exception:
                pass
        self.encounter.stop_recording()
        self.unlock_view.set_recording(False)
        self.unlock_view.show_error("Recording stopped. The note is being drafted and is stored, "
                                    "encrypted, for the next unlock.")

    # --- navigation ----------------------------------------------------------------------------
    def show_day(self) -> None:
        if not core.sees_patients(self.session):
            return
        try:
            self.day.set_templates(core.templates(self.paths.data_dir))
        except core.TEMPLATE_ERRORS:
            pass
        self.refresh_day()
        self.content.setCurrentWidget(self.day)
        self.day.table.setFocus() if self.day.table.rowCount() else self.day.new_button.setFocus()

    def refresh_day(self) -> None:
        if self.session is None or not core.sees_patients(self.session):
            return
        try:
            self.day.set_encounters(core.encounters(self.session))
        except Exception as exc:
            self.day.empty.setText(f"⚠ The encounters cannot be listed: {describe_error(exc)}")
            self.day.empty.show()
        self.refresh_schedule()

    def refresh_schedule(self) -> None:
        if self.session is None or not core.sees_patients(self.session):
            return
        try:
            self.day.set_schedule(core.scheduled_not_started(self.session, self.day.shown_day()))
        except Exception as exc:
            self.day.set_schedule([])
            self.day.empty.setText(f"⚠ The EHR schedule cannot be shown: {describe_error(exc)}")
            self.day.empty.show()

    def start_scheduled(self, visit_id: str) -> None:
        """One activation on a scheduled visit: an encounter with the EHR's identifiers."""
        if self.is_locked or self.session is None or not core.allows(self.session, "phi.write"):
            return
        try:
            eid = core.start_scheduled_visit(self.session, visit_id, core.default_template(self.paths.data_dir))
        except Exception as exc:
            QMessageBox.warning(self, "Not started", f"The visit was not started: {describe_error(exc)}")
            return
        self.refresh_day()
        self.open_encounter(eid)

    def show_settings(self) -> None:
        if self.session is None:
            return
        self.settings.show_for(self.session, self.paths, self.profile)
        self.content.setCurrentWidget(self.settings)

    def show_audit(self) -> None:
        if self.session is None or not core.allows(self.session, "audit.read"):
            return
        self.audit.show_for(self.session, self.paths)
        self.content.setCurrentWidget(self.audit)

    def new_encounter(self) -> None:
        if self.is_locked or self.session is None or not core.allows(self.session, "phi.write"):
            return
        try:
            templates = core.templates(self.paths.data_dir)
        except core.TEMPLATE_ERRORS as exc:
            QMessageBox.warning(self, "No visit types", f"Visit types are not available: {exc}")
            return
        dialog = NewEncounterDialog(templates, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            eid = self.session.create_encounter(dialog.patient(), dialog.template_key())
        except Exception as exc:
            QMessageBox.warning(self, "Not created", f"The encounter was not created: {describe_error(exc)}")
            return
        self.refresh_day()
        self.open_encounter(eid)

    def record_first(self) -> None:
        """One click: an unnamed visit, recording at once, no form or dialog in the way; the
        patient's details and consent are attached on the encounter before signing."""
        if self.is_locked or self.session is None or not core.allows(self.session, "phi.write"):
            return
        enc = self.encounter
        if enc.visit_in_progress:
            # One visit at a time: the one on screen is still recording or drafting.
            QMessageBox.information(self, "Visit in progress", (
                "Stop the current recording before starting another visit." if enc.recording_active
                else "The current visit's note is still being drafted; start the next visit when "
                     "it is stored."))
            if enc.row is not None:
                self.open_encounter(enc.row.id, keep_live=enc.recording_active)
            return
        try:
            eid = core.start_unnamed_visit(self.session, self.paths.data_dir)
        except Exception as exc:
            QMessageBox.warning(self, "Not started", f"The visit was not started: {describe_error(exc)}")
            return
        self.refresh_day()
        self.open_encounter(eid)
        if self.content.currentWidget() is self.encounter:
            self.encounter.record_now()

    def open_encounter(self, eid: str, keep_live: bool = False) -> None:
        if self.session is None:
            return
        current = self.encounter.row          # never None while recording or when keep_live
        if self.encounter.recording_active and not keep_live and current is not None and eid != current.id:
            QMessageBox.information(self, "Recording in progress",
                                    "Stop the current recording before opening another encounter.")
            self.open_encounter(current.id, keep_live=True)
            return
        if keep_live and current is not None:
            self.encounter.set_session(self.session)
            self.encounter.header.setText(current.title)
        else:
            try:
                self.encounter.open(self.session, eid, self.paths, self.profile)
            except Exception as exc:
                QMessageBox.warning(self, "Cannot open", f"The encounter cannot be opened: {describe_error(exc)}")
                return
        self.content.setCurrentWidget(self.encounter)
        panel = self.encounter.panel
        if panel.record_button.isEnabled() and self.encounter.pages.currentWidget() is panel:
            emit(self.ready_to_record)

    def _keep_session_alive(self) -> None:
        """Someone is using the window: tell the vault, whose session has its own idle clock."""
        if self.session is None or self.is_locked:
            return
        try:
            self.session.touch()
        except Exception:
            self.lock("The vault locked this session. Unlock again to continue.")

    # --- background work -----------------------------------------------------------------------
    def _warm_up(self) -> None:
        if self.models_ready:
            return
        self.models_label.setText("Loading models in the background…")
        self.runner.start("Loading models", core.warm_up, self.profile, self.paths,
                          on_done=lambda r: self._models_loaded("", str(r)),
                          on_error=self._models_loaded)

    def _models_loaded(self, problem: str, done: str = "") -> None:
        self.models_ready = not problem
        self.models_label.setText(f"Models ready: {done}" if not problem else f"⚠ Models: {problem}")

    def drain_outbox(self) -> None:
        """Send the due queued notes off the UI thread; the day list shows what changed."""
        session = self.session
        if self._draining or self.is_locked or session is None:
            return
        try:
            if not core.outbox_due(session):
                return
        except Exception as exc:   # e.g. the session expired between two ticks
            self.models_label.setText(f"⚠ Outbox: {describe_error(exc)}")
            return
        self._draining = True

        def finished(changed) -> None:
            self._draining = False
            if changed and not self.is_locked:
                self.refresh_day()
                self.encounter.refresh_status()

        def failed(problem: str) -> None:
            self._draining = False
            self.models_label.setText(f"⚠ Sending queued notes: {problem}")
        self.runner.start("Sending queued notes", core.drain_outbox, session,
                          on_done=finished, on_error=failed)

    def _busy(self, label: str, busy: bool) -> None:
        self.busy_label.setText(f"{label}…" if busy else "")
        for w in (self.busy_label, self.busy_bar, self.busy_cancel):
            w.setVisible(busy)
        self.busy_cancel.setEnabled(any(t.cancellable for t in self.runner.running()))

    def _prefs_changed(self) -> None:
        if self.session is not None:
            self.idle.set_timeout(core.idle_timeout_s(self.session) or self.idle.timeout_s)
        if self.prefs.profile:
            self.profile = self.prefs.profile
        if self.prefs_path is not None:
            self.prefs.save(self.prefs_path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        enc = self.encounter
        if enc.visit_in_progress:
            recording = enc.recording_active
            question = ("A visit is being recorded. Stop it and quit? The audio so far is kept and "
                        "can be drafted later." if recording else
                        "The note is still being drafted. Quit and abandon this draft? The recording "
                        "and transcript are kept; use Draft from the saved recording later.")
            answer = QMessageBox.question(self, "Visit in progress", question)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            session = self._held_session or self.session
            if session is not None and enc.row is not None:
                try:      # the trail says why this visit stopped short
                    session.audit("recording.end" if recording else "draft.abandoned", enc.row.id,
                                  reason="window_closed")
                except Exception:
                    pass
            enc._call_visit("cancel")
            if enc.visit is not None:
                enc.visit.wait(10)       # the spool closes (and audits) before the session locks
        enc.close_encounter()
        self.outbox_timer.stop()
        self.keepalive.stop()
        self.runner.cancel_all()
        self.runner.wait(5000)
        self.idle.disarm()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        for session in {id(s): s for s in (self._held_session, self.session) if s is not None}.values():
            self._lock_session(session, "window_closed")
        self._held_session = self.session = None
        event.accept()
