"""``localscribe connectors ...`` and ``localscribe outbox ...`` in fresh processes, against a
real vault and hl7apy's MLLP receiver on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from localscribe.config import Paths
from localscribe.domain import Patient
from localscribe.vault import TEST_PARAMS, Vault

from conftest import Receiver, free_port

PASSES = {"admin": "admin pass 1", "doc": "clinician pass 1"}


@pytest.fixture
def data_dir(tmp_path):
    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    vault = Vault.create(paths, "admin", PASSES["admin"], kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", PASSES["admin"])
    admin.add_user("doc", "clinician", PASSES["doc"])
    admin.lock()
    doc = vault.unlock("doc", PASSES["doc"])
    eid = doc.create_encounter(Patient(name="Ana Silva", mrn="MRN-1", birth_date="1980-01-01"),
                               "soap")
    doc.save_note_version(eid, "SUBJECTIVE\nCough | three days.\nPLAN\nFluids.")
    doc.sign(eid)
    eid2 = doc.create_encounter(Patient(name="No Mrn", birth_date="1980-01-01"), "soap")
    doc.save_note_version(eid2, "PLAN\nRest.")
    doc.sign(eid2)
    doc.lock()
    vault.close()
    return paths.data_dir, eid, eid2


def cli(args, data_dir, user, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER=user, LOCALSCRIBE_PASSPHRASE=PASSES[user], **extra_env)
    return subprocess.run([sys.executable, "-m", "localscribe.cli.ehr_cmd", *args,
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_configure_send_outbox_round_trip(data_dir, tmp_path):
    data, eid, eid2 = data_dir
    port = free_port()
    r = cli(["connectors", "configure", "hl7", "--kind", "hl7v2-mllp", "--set",
             "host=127.0.0.1", "--set", f"port={port}", "--set", "timeout_seconds=10"], data,
            "admin")
    assert r.returncode == 0, r.stderr
    assert "configured hl7 (hl7v2-mllp)" in r.stdout

    # Only an admin may configure.
    r = cli(["connectors", "configure", "hl7", "--set", "port=1"], data, "doc")
    assert r.returncode == 3 and "may not" in r.stderr

    # Bad settings: every problem named, nothing saved.
    r = cli(["connectors", "configure", "x", "--kind", "hl7v2-mllp", "--set", "port=abc",
             "--set", "colour=red"], data, "admin")
    assert r.returncode == 2
    assert "'host' is required" in r.stderr and "'port'" in r.stderr and "colour" in r.stderr

    r = cli(["connectors", "list", "--json"], data, "doc")
    listing = json.loads(r.stdout)
    assert {"clipboard", "filedrop", "fhir-r4", "hl7v2-mllp"} <= {
        i["kind"] for i in listing["installed"]}
    assert listing["configured"] == [{"name": "hl7", "kind": "hl7v2-mllp"}]

    # Receiver down: the job stays queued in the outbox.
    r = cli(["connectors", "check", "hl7"], data, "doc")
    assert r.returncode == 1 and "cannot reach" in r.stdout
    r = cli(["connectors", "send", eid, "--to", "hl7", "--json"], data, "doc")
    assert r.returncode == 1, r.stderr
    [job] = json.loads(r.stdout)
    assert job["state"] == "queued" and "cannot connect" in job["last_error"]

    receiver = Receiver()
    receiver.port = port
    receiver.start()
    try:
        r = cli(["outbox", "retry", job["id"][:10], "--json"], data, "doc")
        assert r.returncode == 0, r.stderr + r.stdout
        assert json.loads(r.stdout)["state"] == "delivered"
        assert len(receiver.documents) == 1
        # Sending again does not deliver twice.
        r = cli(["connectors", "send", eid, "--to", "hl7", "--json"], data, "doc")
        assert r.returncode == 0 and json.loads(r.stdout)[0]["state"] == "delivered"
        assert len(receiver.received) == 1
        # A missing MRN blocks sending with a clear message.
        r = cli(["connectors", "send", eid2, "--to", "hl7"], data, "doc")
        assert r.returncode == 1 and "no patient MRN" in r.stdout
    finally:
        receiver.stop()

    r = cli(["outbox", "list", "--json"], data, "doc")
    out = json.loads(r.stdout)
    assert out["counts"]["delivered"] == 1 and out["counts"]["failed"] == 1
    failed = [j for j in out["jobs"] if j["state"] == "failed"][0]
    r = cli(["outbox", "cancel", failed["id"]], data, "doc")
    assert r.returncode == 0 and "cancelled" in r.stdout
    r = cli(["outbox", "drain"], data, "doc")
    assert r.returncode == 0 and "delivered 0" in r.stdout

    # Everything above is in the vault's audit trail.
    vault = Vault.open(Paths(data_dir=data, models_dir=tmp_path / "models"))
    admin = vault.unlock("admin", PASSES["admin"])
    actions = [row["action"] for row in admin.db["audit_events"].rows]
    admin.lock()
    vault.close()
    for action in ("ehr.connector.configure", "ehr.connectors.list", "ehr.connector.check",
                   "ehr.outbox.enqueue", "ehr.outbox.retry", "ehr.push", "ehr.outbox.list",
                   "ehr.outbox.cancel", "ehr.outbox.drain", "push"):
        assert action in actions, action


def test_send_to_clipboard_clears_after_the_cli_has_exited(data_dir, xvfb):
    """The clearer must outlive the one-shot command (issue 11: a 5 s auto-clear left the note
    on the clipboard 12 s later)."""
    import time

    from localscribe.ehr.clipboard import CommandClipboardBackend

    data, eid, _ = data_dir
    delay = 6
    r = cli(["connectors", "configure", "clip", "--kind", "clipboard", "--set",
             f"auto_clear_seconds={delay}"], data, "admin")
    assert r.returncode == 0, r.stderr
    started = time.monotonic()
    r = cli(["connectors", "send", eid, "--to", "clip"], data, "doc", DISPLAY=xvfb["DISPLAY"])
    assert r.returncode == 0, r.stderr + r.stdout
    assert f"clears itself in {delay} s" in r.stdout and "outlives this command" in r.stdout
    clipboard = CommandClipboardBackend(env=xvfb)
    note = "SUBJECTIVE\nCough | three days.\nPLAN\nFluids."
    seen = clipboard.get_text()
    if time.monotonic() - started < delay - 0.5:          # not yet due (a loaded machine may
        assert seen == note                               # take longer than that to get here)
    deadline = started + delay + 30     # generous: a loaded machine starts the clearer slowly
    while clipboard.get_text() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert clipboard.get_text() == "", "the note was still on the clipboard after the delay"
    assert time.monotonic() - started >= delay, "cleared before the delay ran out"


def test_fhir_tls_verify_false_needs_insecure_and_shows_in_the_report(data_dir, tmp_path):
    data, _, _ = data_dir
    base = ["connectors", "configure", "ehr", "--kind", "fhir-r4", "--set",
            "base_url=https://ehr.example.org/fhir", "--set", "mrn_system=urn:mrn", "--set",
            "token=tok-1", "--set", "tls_verify=false"]
    r = cli(base, data, "admin")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--insecure" in r.stderr and "tls_verify" in r.stderr
    r = cli(["connectors", "list", "--json"], data, "admin")
    assert json.loads(r.stdout)["configured"] == []               # refused: nothing saved
    r = cli(base + ["--insecure"], data, "admin")
    assert r.returncode == 0, r.stderr
    assert "INSECURE" in r.stdout and "tls_verify=false" in r.stdout

    from localscribe.security_report import build_report, format_text

    vault = Vault.open(Paths(data_dir=data, models_dir=tmp_path / "models"))
    admin = vault.unlock("admin", PASSES["admin"])
    try:
        report = build_report(Paths(data_dir=data, models_dir=tmp_path / "models"), admin)
    finally:
        admin.lock()
        vault.close()
    assert [c["name"] for c in report["connectors_insecure"]] == ["ehr"]
    line = [x for x in format_text(report).splitlines() if "--insecure" in x][0]
    assert "ehr (tls_verify=false" in line
