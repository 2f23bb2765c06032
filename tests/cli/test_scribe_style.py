"""`localscribe scribe` drafts in the signed-in clinician's learned style, in a fresh process
against a real vault with the real tiny models: Dr doc, who deleted the drafted CHIEF
COMPLAINT in each of three signed notes (a learned "not drafted" rule), gets a scribe draft
without it; Dr doc2, who learned nothing, gets the section (the practice template asks for at
least one statement there). The style used is audited on the encounter by its fingerprint."""

from __future__ import annotations

import json

import pytest

from localscribe.domain import Draft, Patient, Section, Statement
from localscribe.models import resolve_model
from localscribe.resources import asset
from localscribe.style import store

from tests.style.test_store import _add_clinician, _events
from tests.support.cli_vault import VaultDir, vdir  # noqa: F401 (the fixture)
from tests.support.tiny_models import tiny_models  # noqa: F401 (the fixture)

SLOW = 900   # seconds for one model run on a shared 2-core machine


pytestmark = pytest.mark.usefixtures("tiny_models")


def _teach_doc_to_delete_the_chief_complaint(vdir: VaultDir) -> None:
    s = vdir.session("doc")
    try:
        for i in range(3):
            eid = s.create_encounter(Patient(name="Ada Lovelace", mrn=f"M-{i}"), str(vdir.template))
            s.save_draft(eid, Draft(str(vdir.template), [
                Section("cc", "CHIEF COMPLAINT", [Statement("c1", "Knee pain.", ["s1"])]),
                Section("plan", "PLAN", [Statement("p1", "Ice the knee.", ["s1"])])],
                model_sha256="m" * 64, prompt_sha256="p" * 64))
            s.save_note_version(eid, "PLAN\n\nIce the knee twice a day.\n")
            s.sign(eid)
        learned = store.profile(s)
        assert learned.section("cc").skip and not learned.section("plan").skip
    finally:
        s.lock()


@pytest.fixture
def short_visit(tmp_path):
    """The sample visit's first 30 seconds (the opening complaint): two scribe runs fit a test."""
    import soundfile as sf

    audio, rate = sf.read(str(asset("sample_visit", "visit.ogg")), dtype="float32")
    path = tmp_path / "visit30.wav"
    sf.write(str(path), audio[: 30 * rate], rate)
    return path


def _scribe(vdir: VaultDir, user: str, *audio: str) -> dict:
    r = vdir.run("scribe", *audio, "--json", "--profile", "tiny",
                 "--models-dir", str(resolve_model("llm", "tiny").path.parent),
                 "--template", str(vdir.template), "--patient-name", "Sample Patient",
                 "--mrn", "S-1", user=user, timeout=SLOW)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def _sections(out: dict) -> dict[str, list[dict]]:
    return {s["key"]: s["statements"] for s in out["draft"]["sections"]}


def test_scribe_drafts_in_the_signed_in_clinicians_style_only(vdir: VaultDir, short_visit):
    _add_clinician(vdir, "doc2")
    _teach_doc_to_delete_the_chief_complaint(vdir)

    styled = _scribe(vdir, "doc", str(short_visit))
    assert _sections(styled)["cc"] == [], styled["note"]
    assert "CHIEF COMPLAINT" not in styled["note"] and _sections(styled)["plan"]

    plain = _scribe(vdir, "doc2", str(short_visit))
    assert _sections(plain)["cc"], plain["note"]             # min_statements = 1 without a style
    assert "CHIEF COMPLAINT" in plain["note"]
    assert styled["draft"]["prompt_sha256"] != plain["draft"]["prompt_sha256"]

    applied = [e for e in _events(vdir, "style.apply")]
    assert [(e.actor, e.object, e.outcome) for e in applied] == [("doc", styled["encounter"], "ok")]
    s = vdir.session("doc")
    try:
        assert applied[0].details["fingerprint"] == store.profile(s).fingerprint()
    finally:
        s.lock()


def test_help_says_which_style_applies(vdir: VaultDir):
    scribe = vdir.run("scribe", "--help").stdout
    assert "learned style" in " ".join(scribe.split()) and "assistant's) follows none" in " ".join(scribe.split())
    draft = " ".join(vdir.run("draft", "--help").stdout.split())
    assert "no clinician's learned style applies" in draft


def test_scribe_resume_drafts_in_the_clinicians_style(vdir: VaultDir, short_visit):
    """A failed visit finished from its spooled audio (`scribe --resume`, the window's "Draft
    from the saved recording" too) follows the same style."""
    import soundfile as sf

    _teach_doc_to_delete_the_chief_complaint(vdir)
    s = vdir.session("doc")
    try:
        eid = s.create_encounter(Patient(name="Sample Patient", mrn="S-2"), str(vdir.template))
        spool = s.open_audio_spool(eid)
        spool.write(sf.read(str(short_visit), dtype="float32")[0])
        spool.close()
        s.set_status(eid, "failed")
    finally:
        s.lock()
    out = _scribe(vdir, "doc", "--resume", eid)
    assert out["encounter"] == eid and out["resumed"] is True
    assert _sections(out)["cc"] == [] and _sections(out)["plan"], out["note"]
    applied = _events(vdir, "style.apply")
    assert [(e.object, e.outcome) for e in applied] == [(eid, "ok")]
