"""`localscribe instructions draft|show` in fresh processes against a real vault: the tiny
model writes the summary, it is stored sealed, shown as text, HTML and JSON with its checks
and reading level, acknowledged and signed through `note sign`, and audited."""

from __future__ import annotations

import json

from localscribe.domain import Draft, Patient, Section, Statement
from localscribe.instructions import store
from localscribe.instructions.prompts import Language
from tests.instructions.conftest import CANARY, handmade_summary, make_transcript
from tests.support.cli_vault import VaultDir, vdir  # noqa: F401 (the fixture)


def _encounter(v: VaultDir, with_note: bool = True) -> str:
    s = v.session("doc")
    try:
        eid = s.create_encounter(Patient(name="Dana Reyes", mrn="MRN-77"), "soap")
        s.save_transcript(eid, make_transcript())
        if with_note:
            s.save_note_version(eid, "PLAN\n\nViral infection. Fluids and rest.\n")
        s.set_status(eid, "review")
    finally:
        s.lock()
    return eid


def _one_line_error(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localscribe: error: "), r.stderr
    return lines[0]


def test_draft_with_the_tiny_model_then_show_as_json_and_text(vdir):
    eid = _encounter(vdir)
    r = vdir.run("instructions", "draft", eid[:8], "--profile", "tiny", "--threads", "1",
                 "--max-tokens", "60", "--json", timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "draft" and out["lang"] == "en"
    assert out["text"].startswith("YOUR VISIT SUMMARY\n")
    assert out["reading"]["metric"] == "flesch-kincaid-grade" and "meets_target" in out["reading"]
    sts = [st for sec in out["summary"]["sections"] for st in sec["statements"]]
    assert sts and all(st["id"].startswith("pi") for st in sts)
    assert out["timing"]["generated_tokens"] > 0

    shown = json.loads(vdir.run("instructions", "show", eid[:8], "--json").stdout)
    assert shown["summary"] == out["summary"] and shown["instructions_id"] == out["instructions_id"]
    text = vdir.run("instructions", "show", eid[:8])
    assert text.returncode == 0 and "reading level: flesch-kincaid-grade" in text.stdout

    aud = vdir.session("aud")
    events = [e for e in aud.audit_events() if e.object == eid]
    aud.lock()
    gen = [e for e in events if e.action == "generate"]
    assert gen and gen[-1].details["kind"] == "patient-instructions"
    assert gen[-1].details["template"] == "patient-instructions-en"
    assert [e.action for e in events].count("instructions.save") == 1
    assert any(e.action == "instructions.show" for e in events)


def test_html_is_printable_and_escapes_what_the_model_wrote(vdir):
    eid = _encounter(vdir)
    summary = handmade_summary(flagged=False)
    summary.sections[0].statements[0].text = 'Your <script>alert("x")</script> cough is viral.'
    s = vdir.session("doc")
    store.save(s, eid, summary, Language.EN)
    s.lock()
    r = vdir.run("instructions", "show", eid[:8], "--format", "html")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("<!DOCTYPE html>") and '<html lang="en">' in r.stdout
    assert "<script>" not in r.stdout and "&lt;script&gt;" in r.stdout
    assert "<li>Keep taking lisinopril 20 milligrams once a day.</li>" in r.stdout


def test_sign_needs_the_summarys_acks_then_show_gives_the_signed_copy(vdir):
    eid = _encounter(vdir)
    s = vdir.session("doc")
    store.save(s, eid, handmade_summary(), Language.EN)
    s.lock()
    shown = json.loads(vdir.run("instructions", "show", eid[:8], "--json").stdout)
    assert shown["checks"]["to_acknowledge"] == ["pi3"]
    r = vdir.run("note", "sign", eid[:8], "--no-input")
    assert r.returncode == 2 and "pi3" in _one_line_error(r)
    r = vdir.run("note", "sign", eid[:8], "--no-input", "--ack", "pi3#0")
    assert r.returncode == 0, r.stderr
    shown = json.loads(vdir.run("instructions", "show", eid[:8], "--json").stdout)
    assert shown["source"] == "signed" and shown["signed"]["author"] == "doc"
    assert CANARY in shown["text"] and shown["checks"]["to_acknowledge"] == []
    r = vdir.run("instructions", "draft", eid[:8], "--profile", "tiny")
    assert r.returncode == 2 and "signed" in _one_line_error(r)


def test_bad_input_is_one_line_and_changes_nothing(vdir):
    eid = _encounter(vdir)
    r = vdir.run("instructions", "show", eid[:8])
    assert r.returncode == 2 and "no patient instructions yet" in _one_line_error(r)
    r = vdir.run("instructions", "show", "ffffffff")
    assert r.returncode == 2 and "no encounter" in _one_line_error(r)
    r = vdir.run("instructions", "show", eid[:8], user="aud")
    assert r.returncode == 3, r.stderr
    _one_line_error(r)
    s = vdir.session("doc")
    bare = s.create_encounter(Patient(name="No Talk"), "soap")
    s.lock()
    r = vdir.run("instructions", "draft", bare[:8], "--profile", "tiny")
    assert r.returncode == 2 and "no transcript" in _one_line_error(r)
    s = vdir.session("doc")
    assert store.load(s, eid) is None and store.load(s, bare) is None
    s.lock()


def test_spanish_is_refused_in_one_line_before_anything_is_loaded(vdir):
    eid = _encounter(vdir)
    r = vdir.run("instructions", "draft", eid[:8], "--lang", "es", "--profile", "tiny")
    assert r.returncode == 2
    assert "Spanish" in _one_line_error(r) and "kidney cancer" in r.stderr
    s = vdir.session("doc")
    assert store.load(s, eid) is None
    s.lock()


def test_a_translated_summary_is_shown_with_its_caveat_and_each_sentences_english(vdir):
    """A Spanish summary (the translation path, written here by hand: the CLI refuses to draft
    one) is shown with what its check covers and the verified English of each sentence."""
    eid = _encounter(vdir)
    s = vdir.session("doc")
    store.save(s, eid, Draft("patient-instructions-es", [Section("pi_meds", "SUS MEDICAMENTOS", [
        Statement("pi1", "Tome lisinopril 20 mg una vez al día.", ["s1"],
                  source="Take lisinopril 20 mg once a day.")])]), Language.ES)
    s.lock()
    shown = vdir.run("instructions", "show", eid[:8])
    assert shown.returncode == 0, shown.stderr
    assert "note: Translated from the verified English summary" in shown.stdout
    assert "TRANSLATED FROM" in shown.stdout and "pi1: Take lisinopril 20 mg once a day." in shown.stdout
    out = json.loads(vdir.run("instructions", "show", eid[:8], "--json").stdout)
    assert out["sources"] == {"pi1": "Take lisinopril 20 mg once a day."} and out["lang"] == "es"
