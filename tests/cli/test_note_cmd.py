"""`localscribe note show|edit|sign|amend` and `encounters list|show --json`, headless: a real
vault file, the command in fresh processes, the audit trail read back by the auditor. The
drafts here are stored through the vault's own API (what a drafting run stores), so the
flags to acknowledge are known; test_note_scribe_e2e.py does the same from a real recording."""

from __future__ import annotations

import json
import os
import sys

from localscribe.domain import Draft, Flag, Patient, Section, Statement
from localscribe.draft.templates import load_template
from localscribe.ehr.fhir_document import build_document_reference
from localscribe.ehr.hl7v2 import build_mdm
from tests.support.cli_vault import PASS, VaultDir, vdir  # noqa: F401 (the fixture)


def flagged_draft(template_key: str) -> Draft:
    """One supported statement, one with a blocking and an informational flag, an empty
    section the visit spoke to: the three kinds of thing `note sign` must handle."""
    return Draft(template=template_key, sections=[
        Section("cc", "CHIEF COMPLAINT", [
            Statement("st1", "knee pain for two weeks", ["s1"]),
            Statement("st2", "takes ibuprofen 800 mg", [], [
                Flag("unsupported", "not said in the visit", "800 mg"),
                Flag("dose", "dose worth a look", "800 mg", tier="info")])]),
        Section("plan", "PLAN", [], notice="The visit spoke to the plan but none was drafted.")])


def stored_encounter(v: VaultDir) -> str:
    template = load_template(str(v.template))
    s = v.session("doc")
    try:
        eid = s.create_encounter(Patient(name="Dana Reyes", mrn="MRN-77",
                                         birth_date="1960-02-03"), template.key)
        s.save_draft(eid, flagged_draft(template.key))
        s.set_status(eid, "review")
    finally:
        s.lock()
    return eid


def one_line_error(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localscribe: error: "), r.stderr
    return lines[0]


def audit(v: VaultDir):
    s = v.session("aud")
    try:
        return s.audit_events()
    finally:
        s.lock()


def test_show_edit_sign_amend_with_acks_roles_and_audit(vdir, tmp_path):
    eid = stored_encounter(vdir)
    short = eid[:8]

    r = vdir.run("note", "show", short, "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["encounter"] == eid and shown["status"] == "review"
    assert shown["source"] == "draft" and shown["version"] is None
    assert shown["text"].startswith("CHIEF COMPLAINT\n\nKnee pain for two weeks.")
    assert shown["checks"]["to_acknowledge"] == ["st2", "section:plan"]
    assert {f["id"]: f["tier"] for f in shown["checks"]["flags"]} == {"st2#0": "blocking",
                                                                     "st2#1": "info"}
    assert shown["checks"]["summary"].startswith("2 to acknowledge before signing, 1 informational")
    assert any("must check" in line for line in shown["checks"]["lines"])
    text = vdir.run("note", "show", short)
    assert "to sign: localscribe note sign" in text.stdout and "--ack section:plan" in text.stdout

    # Refused without the acknowledgements: one line naming what is missing; nothing saved.
    r = vdir.run("note", "sign", short)
    assert r.returncode == 2
    line = one_line_error(r)
    assert "st2" in line and "section:plan" in line and "--ack" in line
    r = vdir.run("note", "sign", short, "--ack", "st2")
    assert r.returncode == 2 and "section:plan" in one_line_error(r) and "st2," not in r.stderr
    r = vdir.run("note", "sign", short, "--ack", "st2", "--ack", "section:plann")
    assert r.returncode == 2 and "section:plann" in one_line_error(r)   # a typo is not an ack

    # Edit from a file and from stdin; the same text again is not a new version.
    f = tmp_path / "note.txt"
    f.write_text("CHIEF COMPLAINT\n\nKnee pain for two weeks; no ibuprofen.\n", encoding="utf-8")
    r = vdir.run("note", "edit", short, "--file", str(f), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out[k] for k in ("encounter", "version", "saved")} == {
        "encounter": eid, "version": 1, "saved": True}
    # The text is the model now: the deleted ibuprofen statement (st2) and its flags are gone,
    # the rewritten sentence is a new statement, checked again (no transcript says "2 weeks").
    assert out["checks"]["to_acknowledge"] == ["ed1", "section:plan"]
    assert [f["kind"] for f in out["checks"]["flags"]] == ["number", "drug"]
    r = vdir.run("note", "edit", short, "--file", str(f))
    assert r.returncode == 0 and "unchanged" in r.stdout
    edited = f.read_text() + "\nPLAN\n\nKnee brace.\n"
    r = vdir.run("note", "edit", short, "--file", "-", stdin=edited)
    assert r.returncode == 0 and "saved version 2" in r.stdout
    assert "2 to acknowledge before signing, 1 informational" in r.stdout   # plan written: no notice
    r = vdir.run("note", "edit", short, "--file", "-", stdin="  \n")
    assert r.returncode == 2 and "empty" in one_line_error(r)
    shown = json.loads(vdir.run("note", "show", short, "--json").stdout)
    assert (shown["source"], shown["version"], shown["text"]) == ("edit", 2, edited)

    # Roles, checked in the core: an assistant edits but never signs; an auditor reads nothing.
    r = vdir.run("note", "sign", short, "--ack", "st2", user="asst")
    assert r.returncode == 2 and "st2" in one_line_error(r)     # no longer in the note
    r = vdir.run("note", "sign", short, "--ack", "ed1", user="asst")
    assert r.returncode == 3 and "sign" in one_line_error(r)
    r = vdir.run("note", "show", short, user="aud")
    assert r.returncode == 3 and "Dana" not in r.stdout + r.stderr and "Knee" not in r.stdout
    r = vdir.run("encounters", "list", "--json", user="aud")
    assert r.returncode == 3 and "Dana" not in r.stdout

    # Signed with each item acknowledged (the flag by its own id works as well as the statement).
    r = vdir.run("note", "sign", short, "--ack", "ed1#0", "--ack", "ed1#1", "--json")
    assert r.returncode == 0, r.stderr
    signed = json.loads(r.stdout)
    assert signed["version"] == 2 and signed["author"] == "doc" and signed["replaces"] is None
    enc = json.loads(vdir.run("encounters", "show", short, "--json").stdout)
    assert enc["status"] == "signed" and enc["note_id"] == signed["note_id"]
    listed = json.loads(vdir.run("encounters", "list", "--json", "--status", "signed").stdout)
    assert [e["id"] for e in listed["encounters"]] == [eid]
    r = vdir.run("encounters", "list", "--status", "sined")
    assert r.returncode == 2 and "unknown status" in one_line_error(r)

    # A signed note is locked: edit refused, sign again refused, amend creates an amendment.
    r = vdir.run("note", "edit", short, "--file", str(f))
    assert r.returncode == 2 and "signed" in one_line_error(r)
    r = vdir.run("note", "sign", short, "--ack", "ed1")
    assert r.returncode == 2 and "already signed" in one_line_error(r)
    r = vdir.run("note", "amend", short, "--file", "-", stdin=edited, user="doc")
    assert r.returncode == 2 and "same as the signed text" in one_line_error(r)
    amended_text = edited + "Addendum: ice twice a day.\n"
    r = vdir.run("note", "amend", short, "--file", "-", stdin=amended_text, user="asst")
    assert r.returncode == 3
    r = vdir.run("note", "amend", short, "--file", "-", "--json", stdin=amended_text)
    assert r.returncode == 0, r.stderr
    amend = json.loads(r.stdout)
    assert amend["replaces"] == signed["note_id"] and amend["version"] == 3
    shown = json.loads(vdir.run("note", "show", short, "--json").stdout)
    assert shown["status"] == "amended" and shown["text"] == amended_text
    assert shown["signed"]["note_id"] == amend["note_id"]

    # Audited as the window's actions are, with who did them.
    events = [(e.actor, e.action, e.outcome, e.object) for e in audit(vdir)
              if e.object == eid or e.details.get("permission")]
    assert ("doc", "sign", "refused", eid) in events
    assert [e for e in events if e[1] == "edit"] == [("doc", "edit", "ok", eid)] * 2
    assert ("asst", "denied", "denied", eid) in events or \
        any(e[0] == "asst" and e[1] == "denied" for e in events)
    assert any(e[0] == "aud" and e[1] == "denied" for e in events)
    assert ("doc", "sign", "ok", eid) in events and ("doc", "amend", "ok", eid) in events
    sign_event = next(e for e in audit(vdir) if e.action == "sign" and e.outcome == "ok")
    assert sign_event.details["acknowledged"] == ["ed1#0", "ed1#1"]


def test_signing_an_unedited_draft_signs_the_text_show_printed(vdir):
    eid = stored_encounter(vdir)
    shown = json.loads(vdir.run("note", "show", eid, "--json").stdout)
    r = vdir.run("note", "sign", eid, "--ack", "st2", "--ack", "section:plan")
    assert r.returncode == 0, r.stderr
    s = vdir.session("doc")
    try:
        note = s.signed_note(eid)
        assert note.text == shown["text"] and note.version == 1
    finally:
        s.lock()


def test_the_editor_copy_lives_in_a_private_directory_removed_after(vdir, tmp_path):
    eid = stored_encounter(vdir)
    report = tmp_path / "editor-report.json"
    editor = tmp_path / "fake editor.py"
    # A scripted stand-in for a person at $EDITOR: records where the file is and its modes,
    # then replaces the first line.
    editor.write_text(
        "import json, os, stat, sys\n"
        "p = sys.argv[1]\n"
        "d = os.path.dirname(p)\n"
        f"json.dump({{'path': p, 'dir_mode': stat.S_IMODE(os.stat(d).st_mode), "
        f"'file_mode': stat.S_IMODE(os.stat(p).st_mode), 'text': open(p).read()}}, "
        f"open({str(report)!r}, 'w'))\n"
        "open(p + '~', 'w').write('backup copy')\n"
        "open(p, 'w').write('CHIEF COMPLAINT\\n\\nEdited in the editor.\\n')\n",
        encoding="utf-8")
    r = vdir.run("note", "edit", eid, env={"EDITOR": f"{sys.executable} '{editor}'",
                                          "VISUAL": ""})
    assert r.returncode == 0, r.stderr
    seen = json.loads(report.read_text())
    assert seen["dir_mode"] == 0o700 and seen["file_mode"] == 0o600
    assert seen["text"].startswith("CHIEF COMPLAINT")        # it opened on the current text
    assert not os.path.exists(os.path.dirname(seen["path"]))  # file, backup and dir all gone
    shown = json.loads(vdir.run("note", "show", eid, "--json").stdout)
    assert shown["text"] == "CHIEF COMPLAINT\n\nEdited in the editor.\n"
    # A failing editor saves nothing; no editor at all is a one-line error.
    r = vdir.run("note", "edit", eid, env={"EDITOR": "false", "VISUAL": ""})
    assert r.returncode == 2 and "nothing saved" in one_line_error(r)
    r = vdir.run("note", "edit", eid, env={"EDITOR": "", "VISUAL": ""})
    assert r.returncode == 2 and "--file" in one_line_error(r)


def test_a_practice_templates_loinc_reaches_fhir_and_hl7(vdir):
    eid = stored_encounter(vdir)
    assert vdir.run("note", "sign", eid, "--ack", "st2", "--ack", "section:plan").returncode == 0
    s = vdir.session("doc")
    try:
        note = s.signed_note(eid)
        soap = s.create_encounter(Patient(name="B", mrn="MRN-78"), "soap")
        s.save_note_version(soap, "SUBJECTIVE\n\nCough.\n")
        soap_note = s.sign(soap)
    finally:
        s.lock()
    assert note.template == str(vdir.template.resolve())
    assert (note.loinc, note.loinc_display) == ("34117-2", "History and physical note")
    doc = build_document_reference(note, {"identifier": {"system": "urn:mrn", "value": "MRN-77"}})
    assert doc["type"]["coding"][0]["code"] == "34117-2"
    segments = {seg.split("|")[0]: seg.split("|") for seg in build_mdm(note).split("\r") if seg}
    assert segments["OBX"][3].startswith("34117-2^")
    assert segments["TXA"][2] == "HP"
    # The built-in SOAP template stays a progress note.
    assert soap_note.loinc == "11506-3"
    assert build_document_reference(soap_note, {"identifier": {"system": "urn:mrn", "value": "B"}}
                                    )["type"]["coding"][0]["code"] == "11506-3"


def _on_terminal(v: VaultDir, args: list[str], answers: list[str], timeout: float = 120):
    """Run the command with a pseudo-terminal as stdin/stdout (a person at a terminal),
    answering each `[y/N]` prompt in turn; returns (exit status, everything shown)."""
    import pty
    import select
    import time
    env = {k: val for k, val in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update({"LOCALSCRIBE_USER": "doc", "LOCALSCRIBE_PASSPHRASE": PASS,
                "LOCALSCRIBE_DATA_DIR": str(v.paths.data_dir)})
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "localscribe", *args], env)
    shown, pending, deadline = b"", list(answers), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        if shown.count(b"[y/N]") > len(answers) - len(pending) and pending:
            os.write(fd, (pending.pop(0) + "\n").encode())
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_on_a_terminal_each_item_is_asked_and_a_no_refuses(vdir):
    eid = stored_encounter(vdir)
    code, shown = _on_terminal(vdir, ["note", "sign", eid], ["y", "n"])
    assert code == 2, shown
    assert "The visit spoke to the plan" in shown and "not said in the visit" in shown
    assert "st2" in shown.splitlines()[-1]              # the refusal names what was declined
    code, shown = _on_terminal(vdir, ["note", "sign", eid], ["y", "y"])
    assert code == 0 and "signed: version 1 by doc" in shown, shown
    sign = [e for e in audit(vdir) if e.action == "sign" and e.object == eid]
    assert [e.outcome for e in sign] == ["refused", "ok"]
    assert sign[1].details["acknowledged"] == ["section:plan", "st2#0"]
