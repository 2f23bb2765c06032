"""The draft worker process and the `localscribe draft` command, with the real tiny model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from localscribe.draft.worker import (
    DraftWorker,
    WorkerConfig,
    WorkerCrashed,
    WorkerError,
)


def test_worker_drafts_incrementally_and_streams(tiny_llm, visit, threads):
    cfg = WorkerConfig(model=tiny_llm, template="soap", n_ctx=2048, n_threads=threads, max_tokens=100)
    with DraftWorker(cfg) as worker:
        assert worker.model_sha256 == tiny_llm.sha256
        worker.feed(visit.segments[:5])
        worker.feed(visit.segments[5:], wait=True, timeout=300)
        pieces: list[str] = []
        draft, stats = worker.finish(on_text=pieces.append, timeout=300)
    assert "".join(pieces).startswith("SUBJECTIVE\n")
    # The transcript was read while it came in (the instructions come from the prefix cache);
    # after Stop only each section's short request is read.
    transcript_tokens = 80
    requests = 4 * 90     # four sections, each request under 90 tokens (the section cues lengthen it)
    assert stats["prefill_tokens"] > transcript_tokens and stats["stop_prompt_tokens"] < requests
    ids = {s.id for s in visit.segments}
    assert draft.statements and all(set(st.evidence) <= ids for st in draft.statements)
    # a sentence nothing in the visit supports is never accepted silently
    assert all(st.flags for st in draft.statements if not st.evidence)
    assert draft.model_sha256 == tiny_llm.sha256


def test_killing_the_worker_mid_generation_is_reported_clearly(tiny_llm, visit, threads):
    cfg = WorkerConfig(model=tiny_llm, template="soap", n_ctx=2048, n_threads=threads, max_tokens=100)
    worker = DraftWorker(cfg)
    try:
        worker.feed(visit.segments, wait=True, timeout=300)
        killed = []

        def kill_on_first_token(_piece: str) -> None:
            if not killed:
                os.kill(worker.pid, signal.SIGKILL)
                killed.append(True)

        with pytest.raises(WorkerCrashed) as exc:
            worker.finish(on_text=kill_on_first_token, timeout=300)
        assert killed
        msg = str(exc.value)
        assert "stopped unexpectedly" in msg and "writing the note" in msg and "safe" in msg
    finally:
        worker.close()
    assert visit.segments        # the caller's transcript is untouched


def test_worker_reports_a_missing_model(tmp_path):
    with pytest.raises(WorkerError, match="not found"):
        DraftWorker(WorkerConfig(model=str(tmp_path / "none.gguf")))


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "localscribe", "draft", *args], check=False, input=stdin,
                          capture_output=True, text=True, timeout=600)


def test_draft_command_json(tmp_path):
    t = tmp_path / "visit.txt"
    t.write_text("[doctor] what brings you in?\n[patient] a cough for three days, no chest pain.\n"
                 "[doctor] take honey and rest.\n")
    r = _cli(str(t), "--profile", "tiny", "--json", "--max-tokens", "80", "--threads", "1",
             "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [s["id"] for s in out["transcript"]["segments"]] == ["seg1", "seg2", "seg3"]
    assert out["template"] == "soap" and out["loinc"] == "11506-3"
    d = out["draft"]
    assert len(d["model_sha256"]) == 64 and len(d["prompt_sha256"]) == 64
    assert [s["key"] for s in d["sections"]] == ["subjective", "objective", "assessment", "plan"]
    for sec in d["sections"]:
        for st in sec["statements"]:
            assert set(st["evidence"]) <= {"seg1", "seg2", "seg3"} and isinstance(st["flags"], list)


@pytest.mark.parametrize("content, args, words", [
    ("", (), "empty"),
    ("[doctor] hi\n", ("--template", "nope"), "no template named 'nope'"),
])
def test_draft_command_bad_input(tmp_path, content, args, words):
    t = tmp_path / "visit.txt"
    t.write_text(content)
    r = _cli(str(t), "--profile", "tiny", *args)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_draft_command_missing_file(tmp_path):
    r = _cli(str(tmp_path / "missing.txt"), "--profile", "tiny")
    assert r.returncode == 2 and "cannot read transcript" in r.stderr
