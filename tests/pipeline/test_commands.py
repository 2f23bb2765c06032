"""`localscribe scribe` and `localscribe demo` in fresh processes, with the real tiny models:
the JSON carries segments, sections, statements, evidence ids and flags, and `scribe` stores
the encounter encrypted in the vault."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from localscribe.config import Paths
from localscribe.draft.clauses import one_fact_sentences
from localscribe.draft.sections import MAX_SENTENCE_CHARS, split_sentences
from localscribe.models import resolve_model
from localscribe.resources import asset
from localscribe.vault import TEST_PARAMS, Vault
from tests.support.tiny_models import tiny_models  # noqa: F401 (the fixture)

PASS = "clinician pass 1"


def _run(args, env_extra=None, timeout=900):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(env_extra or {})
    models = str(resolve_model("llm", "tiny").path.parent)
    return subprocess.run([sys.executable, "-m", "localscribe", *args, "--models-dir", models],
                          capture_output=True,
                          text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


pytestmark = pytest.mark.usefixtures("tiny_models")


def _check_grounded(out: dict) -> set[str]:
    ids = {s["id"] for s in out["transcript"]["segments"]}
    assert ids, "no transcript segments"
    statements = [st for sec in out["draft"]["sections"] for st in sec["statements"]]
    assert statements and out["note"].strip()
    for st in statements:
        # One fact per statement: one sentence, closed by the grammar, of bounded length.
        assert len(split_sentences(st["text"])) == 1 and len(st["text"]) <= MAX_SENTENCE_CHARS + 2, st
        assert one_fact_sentences(st["text"]) == [st["text"]], st      # one main clause
        # Evidence that exists; a sentence nothing in the visit supports is never silently
        # accepted: it carries a flag (blocking where a fact in it is absent or contradicted).
        assert set(st["evidence"]) <= ids, st
        if not st["evidence"]:
            assert st["flags"], st
    return ids


def test_scribe_stores_the_encounter_encrypted_and_prints_grounded_json(tmp_path):
    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "unused")
    vault = Vault.create(paths, "admin", "admin pass 1", kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", "admin pass 1")
    admin.add_user("doc", "clinician", PASS)
    admin.add_user("aud", "auditor", PASS)
    admin.lock()
    vault.close()
    r = _run(["scribe", str(asset("sample_visit", "visit.ogg")), "--json", "--profile", "tiny",
              "--data-dir", str(paths.data_dir), "--patient-name", "Sample Patient", "--mrn", "S-1"],
             {"LOCALSCRIBE_USER": "doc", "LOCALSCRIBE_PASSPHRASE": PASS})
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    ids = _check_grounded(out)
    # Read at file speed: the timings say "end of file", never a live Stop.
    assert "transcript_lag_at_end_of_file_s" in out["timings"]
    assert "transcript_lag_at_stop_s" not in out["timings"]

    doc = Vault.open(paths).unlock("doc", PASS)
    eid = out["encounter"]
    enc = doc.get_encounter(eid)
    assert enc.patient.name == "Sample Patient" and enc.audio_samples > 16000
    assert {s.id for s in doc.load_transcript(eid).segments} == ids
    assert doc.load_draft(eid).statements
    auditor = Vault.open(paths).unlock("aud", PASS)
    generated = [e for e in auditor.audit_events() if e.action == "generate" and e.object == eid]
    assert generated and len(generated[-1].details["model_sha256"]) == 64
    # The patient's name is in the vault, but not in clear anywhere on disk.
    for f in paths.data_dir.rglob("*"):
        if f.is_file():
            assert b"Sample Patient" not in f.read_bytes(), f


def test_demo_prints_transcript_note_flags_and_timings(tmp_path):
    r = _run(["demo", "--json", "--profile", "tiny"])
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    _check_grounded(out)
    assert out["timings"]["audio_seconds"] > 10
    assert "sample" in out
