"""A minimal third-party connector: one JSON line per note in an inbox file, idempotent on
note_id (a note already in the file is not written again)."""

from __future__ import annotations

import json
from pathlib import Path

from localscribe.domain import PushReceipt
from localscribe.ehr.protocol import BaseConnector, CheckResult, DeliveryError, Setting


class InboxConnector(BaseConnector):
    kind = "practice-inbox"
    title = "Practice inbox file (example third-party connector)"
    settings = (Setting("inbox", "path", required=True, help="JSON-lines file to append to"),)

    def _path(self) -> Path:
        return Path(self.config.get("inbox"))

    def _seen(self) -> set[str]:
        if not self._path().exists():
            return set()
        return {json.loads(line)["note_id"] for line in self._path().read_text().splitlines()}

    def check(self) -> CheckResult:
        ok = self._path().parent.is_dir()
        return CheckResult(ok, f"inbox folder {'exists' if ok else 'is missing'}")

    def push(self, note):
        return self._write(note, None)

    def amend(self, note, replaces_remote_id):
        return self._write(note, replaces_remote_id)

    def _write(self, note, replaces):
        if not self._path().parent.is_dir():
            raise DeliveryError("inbox folder is missing", retryable=True)
        if note.note_id not in self._seen():
            with self._path().open("a", encoding="utf-8") as f:
                f.write(json.dumps({"note_id": note.note_id, "mrn": note.patient.mrn,
                                    "text": note.text, "replaces": replaces}) + "\n")
        return PushReceipt(self.name, note.note_id, True, remote_id=note.note_id)
