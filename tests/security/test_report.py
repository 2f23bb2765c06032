"""`localscribe security report`: the auditor's page, as text and JSON, with no PHI."""

import json
import os
import subprocess
import sys

from localscribe.config import Paths
from localscribe.domain import Patient, Segment, Transcript
from localscribe.vault import TEST_PARAMS, Vault

PHI = ("Wilhelmina Fairweather", "MRN-99001122", "shooting pain down the right calf")


def _cli(args, data_dir, user, passphrase):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER=user, LOCALSCRIBE_PASSPHRASE=passphrase)
    return subprocess.run([sys.executable, "-m", "localscribe.cli.vault_cmd", *args,
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_report_contents_and_no_phi(tmp_path):
    paths = Paths(tmp_path / "data", tmp_path / "models")
    v = Vault.create(paths, "admin", "admin passphrase", kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", "admin passphrase")
    admin.add_user("doc", "clinician", "doc passphrase")
    admin.add_user("aud", "auditor", "aud passphrase")
    admin.allow_endpoint("ehr.example.test", 443)
    admin.lock()
    doc = v.unlock("doc", "doc passphrase")
    eid = doc.create_encounter(Patient(PHI[0], PHI[1], "1940-01-01"), "soap")
    doc.save_transcript(eid, Transcript([Segment("s1", 0, 1, PHI[2])]))
    doc.lock()
    v.close()
    # a process with no unlocked session tries to leave the machine: recorded, audited later
    blocked = subprocess.run([sys.executable, "-c", f"""
from localscribe.security import egress
egress.install_guard()
from localscribe.config import Paths
from pathlib import Path
from localscribe.vault import Vault
Vault.open(Paths(Path({str(paths.data_dir)!r}), Path('.')))
import socket
try:
    socket.create_connection(("192.0.2.1", 8080), 1)
except egress.EgressBlocked:
    print("blocked")
"""], capture_output=True, text=True, timeout=60)
    assert blocked.stdout.strip() == "blocked", blocked.stderr

    res = _cli(["security", "report", "--json"], paths.data_dir, "aud", "aud passphrase")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["audit_chain"]["ok"] is True
    assert report["versions"]["cryptography"] and report["versions"]["sqlite"]
    assert report["vault"]["journal_mode"] == "wal" and report["vault"]["synchronous"] == "FULL"
    assert report["kdf"]["default"]["n"] == TEST_PARAMS.n
    assert "WEAK KEY DERIVATION" in report["kdf"]["warning"]
    assert report["egress"]["allowlist_configured"] == ["ehr.example.test:443"]
    # This test loads no OS rule: the report must say so plainly, from a live probe.
    rule = report["egress"]["os_rule"]
    assert rule["active"] is False and rule["probe"] in ("open", "unreachable", "unknown")
    assert rule["summary"].startswith(("NO OS egress rule", "OS egress rule NOT SEEN"))
    assert report["egress"]["blocked_attempts_recorded"] == 1
    assert report["egress"]["recent_blocked"][0]["target"] == "192.0.2.1:8080"
    assert {(u["user"], u["role"]) for u in report["users"]} == {
        ("admin", "admin"), ("doc", "clinician"), ("aud", "auditor")}
    assert "phi.read" not in report["roles"]["auditor"]
    assert report["retention"]["audio_days"] == 0
    assert isinstance(report["models"], list)

    text = _cli(["security", "report"], paths.data_dir, "admin", "admin passphrase")
    assert text.returncode == 0, text.stderr
    assert "WEAK KEY DERIVATION" in text.stdout and "Audit chain: OK" in text.stdout
    assert "OS egress rule" in text.stdout
    for out in (res.stdout, text.stdout, res.stderr, text.stderr):
        assert not [p for p in PHI if p in out]

    denied = _cli(["security", "report"], paths.data_dir, "doc", "doc passphrase")
    assert denied.returncode == 3 and "not allowed" in denied.stderr
