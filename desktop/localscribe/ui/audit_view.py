"""For auditors: the audit trail, its chain verification, and the security report. No PHI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from localscribe.config import Paths
from localscribe.ui import core
from localscribe.ui.settings_view import _fill, _table
from localscribe.ui.workers import TaskRunner, describe_error

if TYPE_CHECKING:
    from localscribe.vault.session import Session


class AuditView(QWidget):
    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.session: Session | None = None
        self.paths: Paths | None = None
        title = QLabel("Audit and security")
        title.setObjectName("Title")
        self.events = _table(["#", "When (UTC)", "User", "Role", "Action", "Object", "Outcome", "Details"])
        self.events.setObjectName("AuditTable")
        self.refresh = QPushButton("&Refresh")
        self.refresh.clicked.connect(self.reload)
        self.verify = QPushButton("&Verify chain")
        self.verify.clicked.connect(self._verify)
        self.verify_state = QLabel("")
        self.verify_state.setWordWrap(True)
        self.report = QPlainTextEdit()
        self.report.setObjectName("SecurityReport")
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Security report")
        events_tab = QWidget()
        ev = QVBoxLayout(events_tab)
        row = QHBoxLayout()
        row.addWidget(self.refresh)
        row.addWidget(self.verify)
        row.addWidget(self.verify_state, 1)
        ev.addLayout(row)
        ev.addWidget(self.events, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(events_tab, "Audit &trail")
        self.tabs.addTab(self.report, "Security re&port")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)

    def show_for(self, session: Session, paths: Paths) -> None:
        self.session, self.paths = session, paths
        self.reload()

    def reload(self) -> None:
        if self.session is None:
            return
        try:
            rows = core.audit_events(self.session)
            _fill(self.events, [[e["seq"], str(e["at"])[:19], e["actor"], e["role"], e["action"],
                                 e["object"], e["outcome"],
                                 json.dumps(e["details"]) if isinstance(e["details"], dict) else e["details"]]
                                for e in reversed(rows)])
        except Exception as exc:
            self.verify_state.setText(f"The audit trail cannot be shown: {describe_error(exc)}")
        self.report.setPlainText("Building the security report…")
        self.runner.start("Building the security report", core.security_report_text, self.paths,
                          self.session, on_done=self.report.setPlainText,
                          on_error=lambda m: self.report.setPlainText(f"The security report is not "
                                                                      f"available: {m}"))

    def _verify(self) -> None:
        if self.session is None:
            return
        try:
            self.verify_state.setText(core.verify_audit(self.session))
        except Exception as exc:
            self.verify_state.setText(f"⚠ Cannot verify: {describe_error(exc)}")

    def clear(self) -> None:
        self.session = None
        self.events.setRowCount(0)
