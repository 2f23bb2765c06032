"""`localscribe scorecard` in a fresh process, as an admin or auditor runs it: the figures, the
exports free of PHI (grepped), refusals as one clear line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from scorecard_helpers import PASS, PHI_WORDS


def run(data_dir, user, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER=user, LOCALSCRIBE_PASSPHRASE=PASS)
    return subprocess.run([sys.executable, "-m", "localscribe", "scorecard", "--data-dir",
                           str(data_dir), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def assert_no_phi(blob: str, eids) -> None:
    low = blob.lower()
    leaked = [w for w in PHI_WORDS if w.lower() in low] + [e for e in eids if e in blob]
    assert not leaked, f"PHI or encounter ids in the export: {leaked}"


@pytest.fixture(scope="module")
def outputs(practice):
    vault, eids = practice
    data = vault.paths.data_dir
    return {"json": run(data, "aud", "--json"), "csv": run(data, "admin", "--csv"),
            "text": run(data, "aud", "--since", "2026-11-16", "--until", "2026-11-29")}


def test_json_and_csv_exports_hold_the_figures_and_no_phi(practice, outputs):
    _, eids = practice
    for name, proc in outputs.items():
        assert proc.returncode == 0, (name, proc.stderr)
        assert_no_phi(proc.stdout + proc.stderr, eids.values())
    doc = json.loads(outputs["json"].stdout)
    practice_all = next(r for r in doc["rows"] if r["period"] == "all"
                        and r["clinician"] == "practice")
    assert (practice_all["visits"], practice_all["major_edits"],
            practice_all["stop_to_signature_median_s"]) == (9, 2, 11700.0)
    assert "edit grade" in doc["definitions"]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"].stdout)))
    assert [(r["period"], r["clinician"]) for r in rows][:3] == \
        [("all", "practice"), ("2026-W47", "practice"), ("2026-W48", "practice")]
    assert rows[0]["after_hours_share"] == "0.5" and rows[0]["abandoned_interrupted"] == "1"


def test_text_report(outputs):
    out = outputs["text"].stdout
    assert "2026-W47" in out and "dr.brook" in out and "11700" not in out   # times humanised


def test_clinician_is_refused_in_one_line(practice):
    vault, _ = practice
    proc = run(vault.paths.data_dir, "dr.ames", "--json")
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "scorecard" in proc.stderr


@pytest.mark.parametrize("args,message", [(["--since", "16/11/2026"], "YYYY-MM-DD"),
                                          (["--since", "2026-11-20", "--until", "2026-11-01"],
                                           "before")])
def test_bad_dates_are_one_line_errors(practice, args, message, capsys, monkeypatch):
    """In-process through the registered parser (the same handler the process runs)."""
    from localscribe.cli import build_parser
    vault, _ = practice
    monkeypatch.setenv("LOCALSCRIBE_PASSPHRASE", PASS)
    parsed = build_parser().parse_args(["scorecard", "--data-dir", str(vault.paths.data_dir),
                                        "--user", "aud", *args])
    assert parsed.func(parsed) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
