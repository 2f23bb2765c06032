"""Settings: model profile and files (with verification), microphone, templates, retention,
users and roles, connectors, and this window's own preferences.

Each tab asks the core and shows what it says; a part of the core that is missing is shown
as such instead of being guessed at here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget, QAbstractItemView)

from localscribe.config import PROFILES, Paths
from localscribe.ui import core
from localscribe.ui.connectors_panel import ConnectorsPanel
from localscribe.ui.prefs import UiPrefs
from localscribe.ui.style_panel import StylePanel
from localscribe.ui.workers import TaskRunner, describe_error
from localscribe.ui.qtcompat import emit

if TYPE_CHECKING:
    from localscribe.vault.session import Session


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.verticalHeader().hide()
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            table.setItem(i, j, QTableWidgetItem(str(v)))


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("Muted")
    return label


class SettingsView(QWidget):
    prefs_changed = Signal()
    own_passphrase_changed = Signal()

    def __init__(self, runner: TaskRunner, prefs: UiPrefs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self.prefs = runner, prefs
        self.session: Session | None = None
        self.paths: Paths | None = None
        title = QLabel("Settings")
        title.setObjectName("Title")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("SettingsTabs")
        self.tabs.addTab(self._models_tab(), "&Models")
        self.tabs.addTab(self._microphone_tab(), "Micro&phone")
        self.tabs.addTab(self._templates_tab(), "&Templates")
        self.tabs.addTab(self._retention_tab(), "Retention and loc&king")
        self.tabs.addTab(self._users_tab(), "Users and &roles")
        self.tabs.addTab(self._connectors_tab(), "&Connectors")
        self.account_tab = self._account_tab()
        self.tabs.addTab(self.account_tab, "&Your passphrase")
        self.tabs.addTab(StylePanel(self.runner, lambda: self.session), "Your &drafting style")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)

    # --- tabs ----------------------------------------------------------------------------------
    def _models_tab(self) -> QWidget:
        w = QWidget()
        self.profile = QComboBox()
        self.profile.setAccessibleName("Model profile")
        self.profile.addItems(PROFILES)
        self.profile.activated.connect(self._profile_chosen)
        self.verify = QPushButton("&Verify model files")
        self.verify.clicked.connect(self.verify_models)
        self.models = _table(["Role", "File", "State", "SHA-256"])
        self.models.setObjectName("ModelTable")
        self.models_state = QLabel("")
        self.models_state.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Profile:"))
        row.addWidget(self.profile)
        row.addWidget(self.verify)
        row.addStretch(1)
        v = QVBoxLayout(w)
        v.addLayout(row)
        v.addWidget(_note("standard: the profile for patient care; needs about 3 GB of memory. "
                          "tiny: for testing the software only; its notes are not usable. "
                          "Files are checked against their SHA-256 before use; "
                          "nothing is ever downloaded while the app runs."))
        v.addWidget(self.models, 1)
        v.addWidget(self.models_state)
        return w

    def _microphone_tab(self) -> QWidget:
        w = QWidget()
        self.mics = QListWidget()
        self.mics.setAccessibleName("Microphones")
        self.mic_state = QLabel("")
        self.mic_state.setWordWrap(True)
        refresh = QPushButton("&Find microphones")
        refresh.clicked.connect(self.refresh_microphones)
        use = QPushButton("Use the &selected one by default")
        use.clicked.connect(self._use_mic)
        row = QHBoxLayout()
        row.addWidget(refresh)
        row.addWidget(use)
        row.addStretch(1)
        v = QVBoxLayout(w)
        v.addWidget(self.mics, 1)
        v.addWidget(self.mic_state)
        v.addLayout(row)
        return w

    def _templates_tab(self) -> QWidget:
        w = QWidget()
        self.template_list = QListWidget()
        self.template_list.setAccessibleName("Templates")
        v = QVBoxLayout(w)
        v.addWidget(self.template_list, 1)
        v.addWidget(_note("A practice adds its own visit type by placing a template file in the "
                          "templates folder; see the README."))
        return w

    def _retention_tab(self) -> QWidget:
        w = QWidget()
        self.retention = QSpinBox()
        self.retention.setRange(0, 3650)
        self.retention.setSuffix(" days")
        self.retention.setAccessibleName("Keep audio after signing, days")
        self.idle = QSpinBox()
        self.idle.setRange(1, 120)          # the vault accepts 30 s .. 24 h
        self.idle.setSuffix(" minutes")
        self.idle.setAccessibleName("Lock after inactivity, minutes")
        self.retention_save = QPushButton("Sa&ve retention and locking")
        self.retention_save.clicked.connect(self._save_retention)
        self.clip = QSpinBox()
        self.clip.setRange(0, 3600)
        self.clip.setSuffix(" seconds")
        self.clip.setAccessibleName("Clear clipboard after, seconds (0 never)")
        save_prefs = QPushButton("Save &window settings")
        save_prefs.clicked.connect(self._save_prefs)
        self.retention_state = QLabel("")
        self.retention_state.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Keep audio after signing (0 = delete when signed):", self.retention)
        form.addRow("Lock the window after no activity for:", self.idle)
        form.addRow("", self.retention_save)
        form.addRow("Clear a copied note from the clipboard after (0 = never):", self.clip)
        form.addRow("", save_prefs)
        v = QVBoxLayout(w)
        v.addLayout(form)
        v.addWidget(self.retention_state)
        v.addStretch(1)
        return w

    def _users_tab(self) -> QWidget:
        w = QWidget()
        self.users = _table(["User", "Role", "State"])
        self.users.setObjectName("UserTable")
        self.new_user = QLineEdit()
        self.new_user.setAccessibleName("New user name")
        self.new_role = QComboBox()
        self.new_role.setAccessibleName("New user role")
        self.new_role.addItems(list(core.ROLE_NAMES))
        self.new_pass = QLineEdit()
        self.new_pass.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pass.setAccessibleName("New user passphrase")
        self.add_button = add = QPushButton("&Add user")
        add.clicked.connect(self._add_user)
        self.new_pass.returnPressed.connect(self._add_user)
        self.users_state = QLabel("")
        self.users_state.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name:", self.new_user)
        form.addRow("Role:", self.new_role)
        form.addRow("First passphrase:", self.new_pass)
        form.addRow("", add)
        v = QVBoxLayout(w)
        v.addWidget(self.users, 1)
        v.addWidget(_note("clinician: records, edits, signs, sends. assistant: records and prepares "
                          "drafts, never signs. auditor: audit trail and security report, never "
                          "patient data. admin: users, connectors and settings, never patient data."))
        v.addLayout(form)
        v.addWidget(self.users_state)
        return w

    def _account_tab(self) -> QWidget:
        """Every user changes their own passphrase here (same keys, a new wrap; audited)."""
        w = QWidget()
        self.own_pass = QLineEdit()
        self.own_pass.setEchoMode(QLineEdit.EchoMode.Password)
        self.own_pass.setAccessibleName("New passphrase")
        self.own_repeat = QLineEdit()
        self.own_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.own_repeat.setAccessibleName("Repeat the new passphrase")
        self.own_change = QPushButton("C&hange my passphrase")
        self.own_change.clicked.connect(self._change_own_passphrase)
        self.own_repeat.returnPressed.connect(self._change_own_passphrase)
        self.own_state = QLabel("")
        self.own_state.setWordWrap(True)
        form = QFormLayout()
        form.addRow("New passphrase:", self.own_pass)
        form.addRow("Repeat it:", self.own_repeat)
        form.addRow("", self.own_change)
        v = QVBoxLayout(w)
        v.addLayout(form)
        v.addWidget(_note("At least 12 characters that are hard to guess: several unrelated words "
                          "work well. Nobody can recover it if it is lost."))
        v.addWidget(self.own_state)
        v.addStretch(1)
        return w

    def _change_own_passphrase(self) -> None:
        if self.session is None or not self.own_change.isEnabled():
            return
        new = self.own_pass.text()
        if new != self.own_repeat.text():
            self.own_state.setText("⚠ The two passphrases differ. Type them again.")
            return
        self.own_change.setEnabled(False)
        self.own_state.setText("Changing your passphrase…")
        self.runner.start("Changing the passphrase", core.change_own_passphrase, self.session, new,
                          on_done=self._own_changed, on_error=self._own_not_changed)

    def require_own_passphrase(self) -> None:
        """First sign-in with a passphrase an admin chose: only this tab until it is changed."""
        for i in range(self.tabs.count()):
            self.tabs.setTabEnabled(i, self.tabs.widget(i) is self.account_tab)
        self.tabs.setCurrentWidget(self.account_tab)
        self.own_state.setText("An administrator set your passphrase. Choose your own to continue; "
                               "then only you know it.")
        self.own_pass.setFocus()

    def _own_changed(self, _result: object) -> None:
        for i in range(self.tabs.count()):
            self.tabs.setTabEnabled(i, True)
        if self.session is not None:
            self.tabs.setTabEnabled(4, core.allows(self.session, "users.manage"))
        emit(self.own_passphrase_changed)
        self.own_change.setEnabled(True)
        self.own_pass.clear()
        self.own_repeat.clear()
        self.own_state.setText("✓ Passphrase changed (audited). Use the new one from now on.")

    def _own_not_changed(self, message: str) -> None:
        self.own_change.setEnabled(True)
        self.own_state.setText(f"⚠ Not changed: {message}")

    def _connectors_tab(self) -> QWidget:
        self.connector_panel = ConnectorsPanel(self.runner)
        self.connectors = self.connector_panel.table
        self.connectors_state = self.connector_panel.state
        return self.connector_panel

    # --- filling -------------------------------------------------------------------------------
    def show_for(self, session: Session, paths: Paths, profile: str) -> None:
        self.session, self.paths = session, paths
        self.profile.setCurrentText(profile)
        self.idle.setValue(max(1, round((core.idle_timeout_s(session) or 300) / 60)))
        self.idle.setEnabled(core.allows(session, "settings.manage"))
        self.clip.setValue(self.prefs.clipboard_clear_s)
        admin = core.allows(session, "users.manage")
        for i in range(self.tabs.count()):
            self.tabs.setTabEnabled(i, True)
        self.tabs.setTabEnabled(4, admin)
        self.retention_save.setEnabled(core.allows(session, "settings.manage"))
        self.refresh_microphones()
        self._fill_templates()
        self._fill_retention(session)
        if admin:
            self._fill_users(session)
        self.connector_panel.show_for(session)
        self.verify_models()

    def verify_models(self) -> None:
        if self.paths is None:
            return
        self.models_state.setText("Checking model files (hashing can take a few seconds)…")
        self.verify.setEnabled(False)
        self.runner.start("Verifying model files", core.model_status, self.profile.currentText(),
                          self.paths, on_done=self._models_done, on_error=self._models_failed)

    def _models_done(self, rows: list[dict[str, Any]]) -> None:
        self.verify.setEnabled(True)
        _fill(self.models, [[r["role"], r["name"] or "—", r["state"], r["sha256"][:16]] for r in rows])
        bad = [r for r in rows if not r["state"].startswith("Verified")]
        self.models_state.setText("✓ All model files verified." if not bad
                                  else f"⚠ {len(bad)} model file(s) need attention (see State).")

    def _models_failed(self, message: str) -> None:
        self.verify.setEnabled(True)
        self.models_state.setText(f"⚠ Could not check the model files: {message}")

    def _profile_chosen(self) -> None:
        self.prefs.profile = self.profile.currentText()
        emit(self.prefs_changed)
        self.verify_models()

    def refresh_microphones(self) -> None:
        """Asking the audio system (PortAudio starts up: a second or more) runs off the UI thread."""
        self.mic_state.setText("Looking for microphones…")
        self.runner.start("Looking for microphones", core.input_devices, on_done=self._show_microphones,
                          on_error=lambda m: self.mic_state.setText(f"⚠ No microphone is usable: {m}"))

    def _show_microphones(self, devices: list[core.InputDevice]) -> None:
        self.mics.clear()
        for d in devices:
            mark = " ✓ (preferred)" if d.name == self.prefs.microphone else ""
            self.mics.addItem(d.name + (" (system default)" if d.is_default else "") + mark)
        self.mic_state.setText(f"{len(devices)} microphone(s) found." if devices
                               else "⚠ No microphone found. Connect one, then look again.")

    def _use_mic(self) -> None:
        item: QListWidgetItem | None = self.mics.currentItem()   # None when nothing is selected
        if item is None:
            return
        self.prefs.microphone = item.text().split(" (system default)")[0].split(" ✓")[0]
        emit(self.prefs_changed)
        self.refresh_microphones()

    def _fill_templates(self) -> None:
        self.template_list.clear()
        try:
            for key, title in core.templates(self.paths.data_dir if self.paths else None):
                self.template_list.addItem(f"{title}  ({key})")
        except core.TEMPLATE_ERRORS as exc:
            self.template_list.addItem(f"Templates are not available: {exc}")

    def _fill_retention(self, session: Session) -> None:
        try:
            days = core.retention_days(session)
            self.retention.setValue(days or 0)
            self.retention_state.setText("")
        except Exception as exc:
            self.retention.setEnabled(False)
            self.retention_state.setText(f"Retention cannot be read here: {describe_error(exc)}")

    def _save_retention(self) -> None:
        if self.session is None:          # locked meanwhile
            self.retention_state.setText("⚠ Not saved: the vault is locked.")
            return
        try:
            core.set_retention_days(self.session, self.retention.value())
            core.set_idle_timeout_s(self.session, self.idle.value() * 60)
            emit(self.prefs_changed)          # the window re-reads its idle lock
            self.retention_state.setText("✓ Retention and idle lock saved (audited); the idle lock "
                                         "applies to every user of this vault.")
        except Exception as exc:
            self.retention_state.setText(f"⚠ Not saved: {describe_error(exc)}")

    def _save_prefs(self) -> None:
        self.prefs.clipboard_clear_s = self.clip.value()
        emit(self.prefs_changed)
        self.retention_state.setText("✓ Window settings saved.")

    def _fill_users(self, session: Session) -> None:
        try:
            rows = core.users(session)
            _fill(self.users, [[u["name"], u["role"], "disabled" if u["disabled"]
                                else "locked out" if u["locked"] else "active"] for u in rows])
        except Exception as exc:
            self.users_state.setText(f"Users cannot be listed here: {describe_error(exc)}")

    def _add_user(self) -> None:
        """Deriving the new user's keys (scrypt) takes about a second: off the UI thread."""
        if not self.add_button.isEnabled() or self.session is None:
            return
        name = self.new_user.text().strip()
        self.add_button.setEnabled(False)
        self.users_state.setText(f"Adding {name}…")
        self.runner.start("Adding a user", core.add_user, self.session, name,
                          self.new_role.currentText(), self.new_pass.text(),
                          on_done=lambda _r: self._user_added(name), on_error=self._user_not_added)

    def _user_added(self, name: str) -> None:
        self.add_button.setEnabled(True)
        if self.session is None:          # locked meanwhile
            return
        self.users_state.setText(f"✓ Added {name}.")
        self.new_user.clear()
        self.new_pass.clear()
        self._fill_users(self.session)

    def _user_not_added(self, message: str) -> None:
        self.add_button.setEnabled(True)
        self.users_state.setText(f"⚠ Not added: {message}")

    def clear(self) -> None:
        self.session = None
        self.own_pass.clear()
        self.own_repeat.clear()
        self.own_state.clear()
        self.connector_panel.clear()
        self.users.setRowCount(0)
