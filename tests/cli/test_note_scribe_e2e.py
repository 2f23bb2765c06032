"""Headless end to end with the real tiny models: `scribe --template PATH` (a practice H&P kept
outside the data directory) -> `note show --json` -> `note edit --file` -> `note sign --ack ...`
-> signed and audited -> `note amend`; the note carries the template's LOINC (34117-2) into
the FHIR DocumentReference and the HL7 message built for it. And `draft --template PATH`."""

from __future__ import annotations

import json

import pytest

from localscribe.ehr.fhir_document import build_document_reference
from localscribe.ehr.hl7v2 import build_mdm
from localscribe.models import resolve_model
from localscribe.resources import asset
from tests.support.cli_vault import VaultDir, vdir  # noqa: F401 (the fixture)
from tests.support.tiny_models import tiny_models  # noqa: F401 (the fixture)

SLOW = 900   # seconds for one model run on a shared 2-core machine


pytestmark = pytest.mark.usefixtures("tiny_models")


def _models_dir() -> str:
    return str(resolve_model("llm", "tiny").path.parent)


def test_scribe_then_show_edit_sign_amend_headless(vdir: VaultDir, tmp_path):
    r = vdir.run("scribe", str(asset("sample_visit", "visit.ogg")), "--json", "--profile", "tiny",
                 "--models-dir", _models_dir(), "--template", str(vdir.template),
                 "--patient-name", "Sample Patient", "--mrn", "S-1", timeout=SLOW)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    eid = out["encounter"]
    assert out["template"] == str(vdir.template.resolve())
    keys = [s["key"] for s in out["draft"]["sections"]]
    assert keys and set(keys) <= {"cc", "plan"}             # the practice's sections, no others

    shown = json.loads(vdir.run("note", "show", eid, "--json").stdout)
    assert shown["status"] == "review" and shown["source"] == "draft"
    assert shown["text"] == out["note"]                     # what scribe printed is the draft
    need = shown["checks"]["to_acknowledge"]

    f = tmp_path / "edited.txt"
    f.write_text(shown["text"] + "\nReviewed with the patient.\n", encoding="utf-8")
    r = vdir.run("note", "edit", eid, "--file", str(f))
    assert r.returncode == 0 and "saved version 1" in r.stdout, r.stderr

    if need:
        # Whatever the model flagged must be acknowledged: refused, one line naming each.
        r = vdir.run("note", "sign", eid, "--consent", "agreed")
        assert r.returncode == 2
        line = r.stderr.strip()
        assert "\n" not in line and all(i in line for i in need), line
    r = vdir.run("note", "sign", eid, *[a for i in need for a in ("--ack", i)], "--consent",
                 "agreed", "--json")
    assert r.returncode == 0, r.stderr
    signed = json.loads(r.stdout)
    enc = json.loads(vdir.run("encounters", "show", eid, "--json").stdout)
    assert enc["status"] == "signed" and enc["note_id"] == signed["note_id"]

    r = vdir.run("note", "amend", eid, "--file", "-", stdin=f.read_text() + "Addendum.\n")
    assert r.returncode == 0, r.stderr

    s = vdir.session("doc")
    try:
        notes = s.signed_notes(eid)
    finally:
        s.lock()
    assert [n.version for n in notes] == [1, 2] and notes[1].replaces == notes[0].note_id
    for note in notes:
        assert note.loinc == "34117-2"
        doc = build_document_reference(note, {"identifier": {"system": "urn:mrn", "value": "S-1"}})
        assert doc["type"]["coding"][0]["code"] == "34117-2"
        obx = [seg for seg in build_mdm(note).split("\r") if seg.startswith("OBX|")]
        assert obx and all(seg.split("|")[3].startswith("34117-2^") for seg in obx)

    a = vdir.session("aud")
    try:
        events = [(e.actor, e.action, e.outcome) for e in a.audit_events() if e.object == eid]
    finally:
        a.lock()
    assert ("doc", "encounter.create", "ok") in events and ("doc", "generate", "ok") in events
    assert ("doc", "edit", "ok") in events and ("doc", "sign", "ok") in events
    assert ("doc", "amend", "ok") in events
    assert (("doc", "sign", "refused") in events) == bool(need)


def test_draft_takes_a_template_from_any_path(vdir: VaultDir, tmp_path):
    transcript = tmp_path / "visit.txt"
    transcript.write_text("[doctor] What brings you in today?\n"
                          "[patient] My left knee has hurt for two weeks.\n"
                          "[doctor] Let's get an x-ray and see you back in a week.\n",
                          encoding="utf-8")
    r = vdir.run("draft", str(transcript), "--json", "--profile", "tiny", "--models-dir",
                 _models_dir(), "--template", str(vdir.template), "--max-tokens", "80",
                 timeout=SLOW)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["template"] == str(vdir.template.resolve()) and out["loinc"] == "34117-2"
    keys = [s["key"] for s in out["draft"]["sections"]]
    assert keys and set(keys) <= {"cc", "plan"}
    # A path that is not there is one clear line, not a traceback.
    r = vdir.run("draft", str(transcript), "--profile", "tiny", "--models-dir", _models_dir(),
                 "--template", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "missing" in r.stderr
