"""File drop (three formats, atomic, idempotent) and clipboard (xclip on Xvfb, Qt offscreen)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from fhir.resources.R4B.documentreference import DocumentReference

from localscribe.domain import Patient
from localscribe.ehr.clipboard import (ClipboardConnector, ClipboardUnavailable,
                                       CommandClipboardBackend)
from localscribe.ehr.filedrop import FileDropConnector
from localscribe.ehr.service import EhrService
from localscribe.ehr.hl7v2 import read_text
from localscribe.ehr.protocol import ConnectorConfig, ConnectorContext, DeliveryError


def drop(folder, fmt):
    return FileDropConnector(ConnectorConfig("drop", "filedrop", {"folder": str(folder),
                                                                  "format": fmt,
                                                                  "mrn_system": "urn:mrn"}))


@pytest.mark.parametrize("fmt", ["text", "fhir-json", "hl7v2"])
def test_each_format_lands_once_and_whole(tmp_path, note_factory, fmt):
    note = note_factory(1)
    c = drop(tmp_path, fmt)
    assert c.check().ok
    first = c.push(note)
    c.push(note)                                      # a retry rewrites the same file
    files = sorted(p.name for p in tmp_path.iterdir())
    name = first.detail.removeprefix("written as ")
    assert files == [name], files                     # no temp files, no second copy
    assert name.startswith(note.note_id) and first.remote_id == note.note_id
    data = (tmp_path / name).read_bytes()
    if fmt == "text":
        assert note.text in data.decode() and "MRN: MRN-0042" in data.decode()
    elif fmt == "fhir-json":
        doc = json.loads(data)
        DocumentReference.model_validate(doc)
        assert doc["identifier"][0]["value"] == note.note_id
    else:
        assert read_text(data.decode().rstrip("\r"))["text"] == note.text


def test_amendment_file_and_missing_folder(tmp_path, note_factory):
    c = drop(tmp_path, "fhir-json")
    original = note_factory(2)
    c.push(original)
    amended = note_factory(2, text="fixed", replaces=original.note_id)
    receipt = c.amend(amended, original.note_id)
    doc = json.loads((tmp_path / f"{receipt.remote_id}.json").read_text())
    DocumentReference.model_validate(doc)
    assert doc["relatesTo"][0]["target"]["identifier"]["value"] == original.note_id
    gone = drop(tmp_path / "unmounted", "text")
    assert not gone.check().ok
    with pytest.raises(DeliveryError) as err:
        gone.push(note_factory(3))
    assert err.value.retryable


def test_no_clipboard_is_a_clear_error():
    with pytest.raises(ClipboardUnavailable) as err:
        CommandClipboardBackend(env={"PATH": os.environ.get("PATH", "")})
    assert "xclip" in str(err.value)
    c = ClipboardConnector(ConnectorConfig("clip", "clipboard", {}), ConnectorContext())
    c.context.clipboard = None
    os_env = dict(os.environ)
    try:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
        assert not c.check().ok
    finally:
        os.environ.clear()
        os.environ.update(os_env)


def test_xclip_copy_and_auto_clear(xvfb, note_factory):
    """The detached clearer (what the CLI uses) empties the clipboard after the delay."""
    backend = CommandClipboardBackend(env=xvfb)
    c = ClipboardConnector(ConnectorConfig("clip", "clipboard", {"auto_clear_seconds": 3}),
                           ConnectorContext(clipboard=backend))
    note = note_factory(4)
    started = time.monotonic()
    receipt = c.push(note)
    assert receipt.delivered and "clears in 3 s" in receipt.detail
    seen = backend.get_text()
    if time.monotonic() - started < 2.5:       # a loaded machine may take longer to get here
        assert seen == note.text
    deadline = started + 30
    while backend.get_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert backend.get_text() == ""
    assert time.monotonic() - started >= 3


class InProcessBackend(CommandClipboardBackend):
    """xclip with the clearing on a timer thread the test can wait for (the fallback path a
    backend without a detached clearer takes); the rule applied is the same clear_if_ours."""

    schedule_clear = None

    def __init__(self, env):
        super().__init__(env=env)
        self.timers = []

    def schedule(self, seconds, fn):
        timer = threading.Timer(seconds, fn)
        timer.start()
        self.timers.append(timer)


def test_auto_clear_spares_what_the_user_copied_since(xvfb, note_factory):
    backend = InProcessBackend(xvfb)
    c = ClipboardConnector(ConnectorConfig("clip", "clipboard", {"auto_clear_seconds": 1}),
                           ConnectorContext(clipboard=backend))
    c.push(note_factory(5))
    backend.set_text("something else")
    backend.timers[-1].join(timeout=60)
    assert not backend.timers[-1].is_alive()
    assert backend.get_text() == "something else"
    c.push(note_factory(6))                               # control: ours is cleared
    backend.timers[-1].join(timeout=60)
    assert backend.get_text() == ""


def test_qt_backend_offscreen(note_factory):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])
    from localscribe.ehr.clipboard_qt import QtClipboardBackend

    backend = QtClipboardBackend()
    c = ClipboardConnector(ConnectorConfig("clip", "clipboard", {"auto_clear_seconds": 0}),
                           ConnectorContext(clipboard=backend))
    note = note_factory(6)
    c.push(note)
    assert app.clipboard().text() == note.text


def test_the_ehr_core_never_imports_qt():
    import sys as _sys

    code = ("import sys, localscribe.ehr.service, localscribe.ehr.clipboard, "
            "localscribe.ehr.fhir, localscribe.ehr.hl7_mllp, localscribe.ehr.filedrop, "
            "localscribe.cli.ehr_cmd; print(any(m.startswith('PySide6') for m in sys.modules))")
    r = subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def _header(data: str) -> list[tuple[str, str]]:
    """The text format as an importer reads it: 'Key: value' lines up to the first blank line."""
    head = data.split("\n\n", 1)[0]
    return [tuple(line.split(": ", 1)) for line in head.split("\n")]


def test_a_patient_name_cannot_forge_header_lines(tmp_path, note_factory):
    note = note_factory(7)
    evil = Patient(name="Ana\nNote-ID: FORGED\r\nMRN: 666\rAuthor: x\\n\u2028Signed: y",
                   mrn="M-7\nReplaces: other", birth_date="1980-02-29")
    note = note.__class__(**{**note.__dict__, "patient": evil})
    receipt = drop(tmp_path, "text").push(note)
    data = (tmp_path / receipt.detail.removeprefix("written as ")).read_bytes().decode()
    header = _header(data)
    keys = [k for k, _ in header]
    assert keys == ["MRN", "Patient", "Encounter", "Author", "Signed", "Note-ID"], keys
    values = dict(header)
    assert values["Note-ID"] == note.note_id and "FORGED" not in values["Note-ID"]
    assert values["Patient"] == ("Ana\\nNote-ID: FORGED\\r\\nMRN: 666\\rAuthor: x\\\\n"
                                 "\\u2028Signed: y")               # escaped, nothing lost
    assert data.endswith(note.text + "\n")


def test_retention_removes_only_expired_files_we_dropped(tmp_path, db, cipher, audit,
                                                           note_factory):
    folder = tmp_path / "import"
    folder.mkdir()
    service = EhrService(db, cipher, audit)
    service.configure("drop", {"folder": str(folder), "format": "text", "retention_hours": "1"},
                      kind="filedrop")
    old, fresh = note_factory(8), note_factory(9)
    for note in (old, fresh):
        assert service.send(note, "drop").state == "delivered"
    foreign = folder / "from-another-system.txt"
    foreign.write_text("not ours")
    two_hours_ago = time.time() - 7200
    for path in (folder / f"{old.note_id}.txt", foreign):
        os.utime(path, (two_hours_ago, two_hours_ago))
    service.drain()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{fresh.note_id}.txt", foreign.name])
    [event] = [d for a, _, _, d in audit if a == "ehr.retention.expire"]
    assert event["files"] == [f"{old.note_id}.txt"] and event["count"] == 1
    service.drain()                                      # nothing more to remove, no new event
    assert [a for a in audit.actions() if a == "ehr.retention.expire"] == [
        "ehr.retention.expire"]


def test_retention_is_off_unless_configured(tmp_path, db, cipher, audit, note_factory):
    service = EhrService(db, cipher, audit)
    service.configure("drop", {"folder": str(tmp_path), "format": "text"}, kind="filedrop")
    note = note_factory(10)
    service.send(note, "drop")
    os.utime(tmp_path / f"{note.note_id}.txt", (0, 0))
    service.drain()
    assert (tmp_path / f"{note.note_id}.txt").exists()


def test_auto_clear_is_on_by_default(xvfb, note_factory):
    backend = CommandClipboardBackend(env=xvfb)
    c = ClipboardConnector(ConnectorConfig("clip", "clipboard", {}),
                           ConnectorContext(clipboard=backend))
    assert c.auto_clear_seconds == 60
    assert "clears in 60 s" in c.push(note_factory(11)).detail
