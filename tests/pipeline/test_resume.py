"""Recovery after a crash and refusing bad input before anything is stored (issue 11).

A `scribe` killed with SIGKILL mid-visit (real audio at microphone pace, tiny models) leaves an
encounter that the next start lists as *interrupted* with its audio; `scribe --resume` then
transcribes the whole spool, to its last second, and drafts it. A zero-byte WAV is refused
before an encounter exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localscribe.config import Paths
from localscribe.models import ModelError, resolve_model
from localscribe.resources import asset
from localscribe.vault import TEST_PARAMS, Vault

PASS = "clinician pass 1"
DESKTOP = str(Path(__file__).resolve().parents[2] / "desktop")


@pytest.fixture(scope="module")
def models_dir() -> str:
    try:
        return str(resolve_model("llm", "tiny").path.parent)
    except ModelError as exc:
        pytest.fail(f"needs the tiny models (installer/install.sh --profile tiny): {exc}")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "unused")
    vault = Vault.create(paths, "admin", "admin pass 1", kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", "admin pass 1")
    admin.add_user("doc", "clinician", PASS)
    admin.lock()
    vault.close()
    return paths.data_dir


def _cmd(args, data_dir, models_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER="doc", LOCALSCRIBE_PASSPHRASE=PASS, PYTHONPATH=DESKTOP)
    return ([sys.executable, "-m", "localscribe", *args, "--data-dir", str(data_dir),
             "--models-dir", models_dir], env)


def _run(args, data_dir, models_dir, timeout=900):
    argv, env = _cmd(args, data_dir, models_dir)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _spooled_chunks(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "audio").rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_killed_scribe_is_listed_interrupted_and_resumes_into_a_full_draft(data_dir, models_dir):
    argv, env = _cmd(["scribe", str(asset("sample_visit", "visit.ogg")), "--realtime", "--json",
                      "--profile", "tiny", "--patient-name", "Resumed Patient", "--mrn", "R-1"],
                     data_dir, models_dir)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_spooled_chunks(data_dir)) < 12 and time.monotonic() < deadline:
            assert proc.poll() is None, "scribe ended before it could be killed"
            time.sleep(0.2)
        assert len(_spooled_chunks(data_dir)) >= 12, "no audio reached the spool"
    finally:
        os.kill(proc.pid, signal.SIGKILL)           # mid-visit: about 12 s of 82 s recorded
        proc.wait(30)

    listed = _run(["encounters", "list", "--json"], data_dir, models_dir, 120)
    assert listed.returncode == 0, listed.stderr
    [enc] = json.loads(listed.stdout)["encounters"]
    assert enc["status"] == "interrupted" and enc["resumable"] is True
    assert enc["patient"]["name"] == "Resumed Patient"
    spooled = enc["audio_seconds"]
    assert 10 <= spooled < 60, spooled

    shown = _run(["encounters", "show", enc["id"][:8]], data_dir, models_dir, 120)
    assert shown.returncode == 0 and "interrupted" in shown.stdout
    assert f"scribe --resume {enc['id']}" in shown.stdout

    r = _run(["scribe", "--resume", enc["id"], "--json", "--profile", "tiny"], data_dir, models_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["encounter"] == enc["id"] and out["resumed"] is True
    # The whole spool was transcribed, to its last second, and drafted from.
    assert out["timings"]["audio_seconds"] == spooled
    segments = out["transcript"]["segments"]
    assert segments and segments[-1]["t1"] >= spooled - 4.0, (segments[-1], spooled)
    assert out["draft"] and out["note"].strip()
    ids = {s["id"] for s in segments}
    for section in out["draft"]["sections"]:
        for st in section["statements"]:
            assert set(st["evidence"]) <= ids

    after = _run(["encounters", "show", enc["id"], "--json"], data_dir, models_dir, 120)
    final = json.loads(after.stdout)
    assert final["status"] == "review" and final["draft"] is not None
    assert final["audio_seconds"] == spooled            # nothing re-recorded, nothing lost
    again = _run(["scribe", "--resume", enc["id"]], data_dir, models_dir, 120)
    assert again.returncode == 2 and "only an interrupted or failed" in again.stderr


def test_zero_byte_wav_leaves_no_encounter(data_dir, models_dir, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    r = _run(["scribe", str(empty), "--profile", "tiny", "--patient-name", "Nobody"],
             data_dir, models_dir, 120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"localscribe: error: {empty}: the file is empty (0 bytes)"]
    listed = _run(["encounters", "list", "--json"], data_dir, models_dir, 120)
    assert json.loads(listed.stdout)["encounters"] == []


def test_resume_refuses_without_audio_or_an_encounter(data_dir, models_dir):
    r = _run(["scribe", "--resume", "0" * 32, "--profile", "tiny"], data_dir, models_dir, 120)
    assert r.returncode == 2 and "no encounter" in r.stderr
    both = _run(["scribe", "x.wav", "--resume", "0" * 32], data_dir, models_dir, 120)
    assert both.returncode == 2 and "either an AUDIO file or --resume" in both.stderr
