r"""File-drop connector: one file per note in a folder an EHR imports from.

Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder), so
the importer never sees half a note. The file is named after the note id: a retry rewrites
the same file instead of adding a second one.

In the text format the header ends at the first blank line and each header value is escaped
(backslash, CR, LF and other control characters as ``\\``, ``\r``, ``\n``, ``\xHH``), so a
patient name cannot add or forge header lines. With ``retention_hours`` set, files this
connector dropped are removed once older than that (when the outbox drains; audited).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from collections.abc import Iterable

from localscribe.domain import PushReceipt, SignedNote
from localscribe.ehr.fhir_document import (ENCOUNTER_SYSTEM, NOTE_SYSTEM, DocumentOptions,
                                           build_document_reference)
from localscribe.ehr.hl7_mllp import HL7_SETTINGS, hl7_options
from localscribe.ehr.instructions_doc import companion_id, with_companion
from localscribe.ehr.hl7v2 import build_mdm
from localscribe.ehr.patient import logical_subject, require_mrn
from localscribe.ehr.protocol import (BaseConnector, CheckResult, ConnectorConfig,
                                      ConnectorContext, DeliveryError, Setting)

EXTENSIONS = {"text": ".txt", "fhir-json": ".json", "hl7v2": ".hl7"}


def atomic_write(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` so that readers see either nothing or the whole file."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ls-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        target = folder / name
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)     # make the rename itself durable
    finally:
        os.close(dir_fd)
    return target


def _safe_name(note_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", note_id)


_NAMED = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}


def header_value(value: str) -> str:
    """One header value on one line, reversibly: nothing in it can end the line."""
    out = []
    for ch in str(value):
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def text_document(note: SignedNote) -> str:
    fields = [("MRN", note.patient.mrn), ("Patient", note.patient.name),
              ("Encounter", note.encounter_id), ("Author", note.author),
              ("Signed", note.signed_at), ("Note-ID", note.note_id)]
    if note.replaces:
        fields.append(("Replaces", note.replaces))
    header = [f"{key}: {header_value(value)}" for key, value in fields]
    return "\n".join(header) + "\n\n" + note.text + ("" if note.text.endswith("\n") else "\n")


class FileDropConnector(BaseConnector):
    kind = "filedrop"
    title = "Write each note as a file into a folder the EHR imports from"
    settings = (
        Setting("folder", "path", required=True, help="the EHR's import folder"),
        Setting("format", "choice", default="text", choices=tuple(EXTENSIONS),
                help="text, fhir-json (DocumentReference) or hl7v2 (MDM^T02 file)"),
        Setting("mrn_system", default="urn:localscribe:mrn",
                help="identifier system of MRNs (fhir-json)"),
        Setting("retention_hours", "float", default=0.0,
                help="remove dropped files older than this many hours (0: leave them to the "
                     "EHR's importer)"),
        Setting("note_identifier_system", default=NOTE_SYSTEM),
        Setting("encounter_identifier_system", default=ENCOUNTER_SYSTEM),
        *HL7_SETTINGS,
    )

    def __init__(self, config: ConnectorConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self.hl7 = hl7_options(self.config)          # bad values refused when configured

    @property
    def folder(self) -> Path:
        return Path(self.config.get("folder"))

    def check(self) -> CheckResult:
        folder = self.folder
        if not folder.is_dir():
            return CheckResult(False, f"folder {folder} does not exist")
        try:
            probe = atomic_write(folder, ".localscribe-check", b"ok")
            probe.unlink()
        except OSError as exc:
            return CheckResult(False, f"cannot write into {folder}: {exc.strerror or exc}")
        return CheckResult(True, f"{folder} is writable; format {self.config.get('format')}")

    second_document = "a second file beside the note's, named <note id>-pi"

    def push(self, note: SignedNote) -> PushReceipt:
        return with_companion(lambda n: self._drop(n, None), note, self.receipt)

    def housekeeping(self, note_ids: Iterable[str], now: float | None = None) -> list[str]:
        """Remove the files this connector dropped for ``note_ids`` (the outbox's delivered
        notes) once they are older than ``retention_hours``; returns the names removed.

        Only those names are touched, never another program's files in the same folder."""
        hours = float(self.config.get("retention_hours", 0.0) or 0.0)
        if hours <= 0 or not self.folder.is_dir():
            return []
        cutoff = (time.time() if now is None else now) - hours * 3600
        removed = []
        ids = set(note_ids)
        for note_id in sorted(ids | {companion_id(i) for i in ids}):
            for ext in EXTENSIONS.values():     # the format may have changed since
                path = self.folder / (_safe_name(note_id) + ext)
                try:
                    if path.lstat().st_mtime <= cutoff:
                        path.unlink()
                        removed.append(path.name)
                except OSError:
                    continue    # the importer took it already, or it is not ours to remove
        return removed

    def amend(self, note: SignedNote, replaces_remote_id: str) -> PushReceipt:
        return self._drop(note, replaces_remote_id)

    def render(self, note: SignedNote, replaces: str | None) -> bytes:
        fmt = self.config.get("format", "text")
        if fmt == "text":
            return text_document(note).encode("utf-8")
        if fmt == "fhir-json":
            options = DocumentOptions(
                note_system=self.config.get("note_identifier_system"),
                encounter_system=self.config.get("encounter_identifier_system"))
            doc = build_document_reference(note, logical_subject(note, self.config.get(
                "mrn_system")), options, replaces, replaces_by_identifier=True)
            return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
        require_mrn(note)
        # HL7 files conventionally end each segment with CR.
        return (build_mdm(note, self.hl7, replaces_document=replaces)
                + "\r").encode(self.hl7.codec)

    def _drop(self, note: SignedNote, replaces: str | None) -> PushReceipt:
        data = self.render(note, replaces)
        if not self.folder.is_dir():
            # A network share that is not mounted yet: wait and retry, never create it here.
            raise DeliveryError("the drop folder is not there (unmounted share?)", retryable=True)
        name = _safe_name(note.note_id) + EXTENSIONS[self.config.get("format", "text")]
        try:
            atomic_write(self.folder, name, data)
        except OSError as exc:
            raise DeliveryError(f"cannot write into the drop folder: {exc.strerror or exc}",
                                retryable=True) from None
        # The note id is what an amendment names as the document it replaces.
        return self.receipt(note, remote_id=note.note_id, detail=f"written as {name}")
