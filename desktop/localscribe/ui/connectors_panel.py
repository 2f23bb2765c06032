"""Settings > Connectors: set one up (kind and its settings), check it, see its state.

The same core calls as `localscribe connectors configure/check` (ehr.service), so the rules
(validation, refused insecure settings, endpoints joining the allowlist) have one home.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from localscribe.ui import core
from localscribe.ui.workers import TaskRunner, describe_error

if TYPE_CHECKING:
    from localscribe.vault.session import Session


def _discover() -> dict[str, Any]:
    from localscribe.ehr import registry
    return registry.discover().connectors


def _configure(session: Session, name: str, kind: str, values: dict[str, str]) -> Any:
    from localscribe.ehr.service import configure_connector
    return configure_connector(session, name, values, kind=kind)


class ConnectorsPanel(QWidget):
    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.session: Session | None = None
        self.checked: dict[str, str] = {}          # name -> last check result, this session
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("ConnectorTable")
        self.table.setHorizontalHeaderLabels(["Connector", "Kind", "State"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.check_button = QPushButton("C&heck the selected connector")
        self.check_button.clicked.connect(self.check_selected)
        self.name = QLineEdit()
        self.name.setAccessibleName("Connector name")
        self.kind = QComboBox()
        self.kind.setAccessibleName("Connector kind")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.fields: dict[str, QLineEdit] = {}
        self.form = QFormLayout()
        self.form.addRow("Name:", self.name)
        self.form.addRow("Kind:", self.kind)
        self.save_button = QPushButton("&Save connector")
        self.save_button.clicked.connect(self.save)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.check_button)
        row.addStretch(1)
        v = QVBoxLayout(self)
        v.addWidget(self.table, 1)
        v.addLayout(row)
        v.addLayout(self.form)
        v.addWidget(self.save_button)
        v.addWidget(self.state)
        self._infos: dict[str, Any] = {}

    def show_for(self, session: Session) -> None:
        self.session = session
        admin = core.allows(session, "settings.manage")
        for w in (self.name, self.kind, self.save_button):
            w.setEnabled(admin)
        if self._infos:
            self.refresh()
            return
        # Finding the installed kinds imports every connector (HL7, FHIR) and the EHR core:
        # off the UI thread; the list follows.
        self.runner.start("Looking for connector kinds", _discover, on_done=self._kinds_found,
                          on_error=lambda m: self.state.setText(f"Connector kinds are not available: {m}"))

    def _kinds_found(self, infos: dict[str, Any]) -> None:
        self._infos = infos
        self.kind.blockSignals(True)
        self.kind.clear()
        for kind, info in sorted(self._infos.items()):
            self.kind.addItem(f"{info.title} ({kind})", kind)
        self.kind.blockSignals(False)
        self._kind_changed()
        if self.session is not None:
            self.refresh()

    def refresh(self) -> None:
        if self.session is None:        # locked: nothing to list
            return
        try:
            rows = core.connectors(self.session)
        except Exception as exc:
            self.table.setRowCount(0)
            self.state.setText(f"Connectors are not available: {describe_error(exc)}")
            return
        self.table.setRowCount(len(rows))
        for i, (name, kind) in enumerate(rows):
            for j, text in enumerate((name, kind, self.checked.get(name, "configured, not checked yet"))):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.check_button.setEnabled(bool(rows))
        if not rows and not self.state.text():
            self.state.setText("No connector is configured yet.")

    def _kind_changed(self) -> None:
        for name in list(self.fields):
            self.form.removeRow(self.fields.pop(name))
        info = self._infos.get(str(self.kind.currentData() or ""))
        if info is None:
            return
        for setting in info.settings:
            field = QLineEdit()
            field.setAccessibleName(setting.name)
            if setting.kind == "secret":
                field.setEchoMode(QLineEdit.EchoMode.Password)
            if setting.default not in (None, ""):
                field.setPlaceholderText(str(setting.default))
            field.setToolTip(setting.help)
            self.form.addRow(f"{setting.name}{' *' if setting.required else ''}:", field)
            self.fields[setting.name] = field

    def save(self) -> None:
        name, kind = self.name.text().strip(), str(self.kind.currentData() or "")
        values = {k: f.text().strip() for k, f in self.fields.items() if f.text().strip()}
        if self.session is None:
            return
        try:
            config = _configure(self.session, name, kind, values)
        except Exception as exc:
            self.state.setText(f"⚠ Not saved: {describe_error(exc)}")
            return
        self.checked.pop(config.name, None)
        self.state.setText(f"✓ Saved {config.name} ({config.kind}); its endpoints joined the "
                           "network allowlist. Check it before use.")
        self.refresh()

    def check_selected(self) -> None:
        row = self.table.currentRow()
        row = 0 if row < 0 else row
        item = self.table.item(row, 0)
        if item is None:
            return
        name = item.text()
        self.check_button.setEnabled(False)
        self.state.setText(f"Checking {name}…")
        self.runner.start(f"Checking {name}", core.check_connector, self.session, name,
                          on_done=lambda r: self._checked(name, r),
                          on_error=lambda m: self._checked(name, (False, m)))

    def _checked(self, name: str, result: tuple[bool, str]) -> None:
        ok, summary = result
        self.checked[name] = ("✓ ok: " if ok else "✗ failed: ") + summary
        self.check_button.setEnabled(True)
        if self.session is None:
            return
        self.state.setText(f"{name}: {self.checked[name]}")
        self.refresh()

    def clear(self) -> None:
        self.session = None
        self.table.setRowCount(0)
        self.state.clear()
        for f in self.fields.values():
            f.clear()
