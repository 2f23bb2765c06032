"""The audit trail names the first event that was altered, deleted, reordered or cut off, in
the vault and in an exported file verified elsewhere with the same command."""

import json
import shutil
import sqlite3

import pytest

from localscribe.domain import Patient
from localscribe.vault.audit import key_fingerprint
from localscribe.vault.audit_export import verify_export

from vault_helpers import PASSES, run_cli, unlock


@pytest.fixture
def trail(vault):
    """A vault with a dozen or so real events."""
    s = unlock(vault, "doc")
    eid = s.create_encounter(Patient("A", "1", ""), "soap")
    for i in range(3):
        s.save_note_version(eid, f"version {i}")
    s.sign(eid)
    s.lock()
    return vault


def _tamper(vault, *sql):
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")   # an attacker with the file
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for stmt in sql:
        raw.execute(*stmt) if isinstance(stmt, tuple) else raw.execute(stmt)
    raw.commit()
    raw.close()


def _verify(vault):
    return unlock(vault, "aud").verify_audit()


def test_intact_chain_verifies(trail):
    result = _verify(trail)
    assert result.ok and result.authenticated and result.checked >= 12


def test_edited_event_is_named(trail):
    _tamper(trail, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 7")
    r = _verify(trail)
    assert (r.ok, r.problem, r.seq) == (False, "altered", 7)
    assert "#7" in r.message


def test_edit_with_recomputed_hash_fails_authentication(trail):
    from localscribe.vault.audit import event_hash
    raw = sqlite3.connect(trail.paths.vault_db)
    cols = "seq,time,actor,role,action,object,outcome,details,prev_hash,signer"
    row = dict(zip(cols.split(","), raw.execute(f"SELECT {cols} FROM audit_events WHERE seq=5")
                   .fetchone()))
    row["actor"] = "mallory"
    row["details"] = json.loads(row["details"])
    new_hash = event_hash(row)
    raw.close()
    _tamper(trail, ("UPDATE audit_events SET actor='mallory', hash=? WHERE seq=5", (new_hash,)))
    r = _verify(trail)
    assert (r.ok, r.problem, r.seq) == (False, "forged", 5)


def test_deleted_event_is_named(trail):
    _tamper(trail, "DELETE FROM audit_events WHERE seq = 4")
    r = _verify(trail)
    assert (r.ok, r.problem, r.seq) == (False, "deleted", 4)


def test_reordered_events_are_named(trail):
    _tamper(trail, "UPDATE audit_events SET seq = -1 WHERE seq = 6",
            "UPDATE audit_events SET seq = 6 WHERE seq = 7",
            "UPDATE audit_events SET seq = 7 WHERE seq = -1")
    r = _verify(trail)
    assert (r.ok, r.problem, r.seq) == (False, "reordered", 6)


def test_truncated_trail_is_detected(trail):
    auditor = unlock(trail, "aud")       # unlocked first: the cut is the newest thing
    last = sqlite3.connect(trail.paths.vault_db).execute(
        "SELECT MAX(seq) FROM audit_events").fetchone()[0]
    _tamper(trail, f"DELETE FROM audit_events WHERE seq >= {last - 1}")
    r = auditor.verify_audit()
    assert (r.ok, r.problem, r.seq) == (False, "truncated", last - 1)
    assert f"events #{last - 1}..#{last} are missing" in r.message
    # events appended after a cut leave a gap, named as the first missing event
    r = _verify(trail)
    assert (r.ok, r.problem, r.seq) == (False, "deleted", last - 1)


def test_cli_verify_exits_nonzero_and_names_event(trail):
    ok = run_cli(["audit", "verify"], trail.paths.data_dir, "aud", PASSES["aud"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK")
    _tamper(trail, "UPDATE audit_events SET action = 'nothing' WHERE seq = 3")
    bad = run_cli(["audit", "verify"], trail.paths.data_dir, "aud", PASSES["aud"])
    assert bad.returncode == 1
    assert "event #3 was altered" in bad.stdout


# ---------------------------------------------------------------- exports

@pytest.fixture
def export(trail, tmp_path):
    out = tmp_path / "audit.jsonl"
    res = run_cli(["audit", "export", str(out)], trail.paths.data_dir, "aud", PASSES["aud"])
    assert res.returncode == 0, res.stderr
    fp = key_fingerprint(trail.public_key)
    assert fp in res.stdout
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header" and json.loads(lines[-1])["type"] == "head"
    return out, fp, lines


def _verify_file_elsewhere(path, fp, tmp_path):
    """On 'another machine': a copy of the file, an empty data dir, no passphrase."""
    other = tmp_path / "elsewhere"
    other.mkdir(exist_ok=True)
    copy = other / "copy.jsonl"
    shutil.copy(path, copy)
    return run_cli(["audit", "verify", "--file", str(copy), "--expect-key", fp, "--json"],
                   other / "no-vault")


def _rewrite(path, lines):
    path.write_text("\n".join(lines) + "\n")


def test_export_is_phi_free_and_verifies_elsewhere(export, tmp_path):
    out, fp, lines = export
    res = _verify_file_elsewhere(out, fp, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["ok"] is True
    text = out.read_text()
    assert "version 0" not in text and '"A"' not in text


def test_export_edit_delete_reorder_cut_are_named(export, tmp_path):
    out, fp, lines = export
    cases = []
    edited = list(lines)
    ev = json.loads(edited[5])
    ev["outcome"] = "denied"
    edited[5] = json.dumps(ev)
    cases.append((edited, "altered", ev["seq"]))
    deleted = lines[:4] + lines[5:]
    cases.append((deleted, "deleted", json.loads(lines[4])["seq"]))
    swapped = list(lines)
    swapped[6], swapped[7] = swapped[7], swapped[6]
    cases.append((swapped, "reordered", json.loads(lines[6])["seq"]))
    cut = lines[:-3]     # last events and the signed head gone
    cases.append((cut, "truncated", json.loads(lines[-4])["seq"] + 1))
    cut_keep_head = lines[:-3] + lines[-1:]
    cases.append((cut_keep_head, "truncated", json.loads(lines[-4])["seq"] + 1))
    for new_lines, problem, seq in cases:
        _rewrite(out, new_lines)
        res = _verify_file_elsewhere(out, fp, tmp_path)
        result = json.loads(res.stdout)
        assert res.returncode == 1, (problem, res.stdout)
        assert (result["problem"], result["seq"]) == (problem, seq), (problem, result)


def test_export_resigned_with_another_key_is_refused(export, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from localscribe.vault.audit import canonical
    out, fp, lines = export
    # drop the last event and re-sign a consistent file with a key of the attacker's own
    events = [json.loads(line) for line in lines[1:-2]]
    head, header = json.loads(lines[-1]), json.loads(lines[0])
    key = Ed25519PrivateKey.generate()
    header["public_key"] = key.public_key().public_bytes_raw().hex()
    signed = {"vault_id": head["vault_id"], "exported_at": head["exported_at"],
              "seq": events[-1]["seq"], "hash": events[-1]["hash"], "count": len(events),
              "keys_sha256": head["keys_sha256"]}
    head.update(signed, signature=key.sign(canonical(signed)).hex())
    _rewrite(out, [json.dumps(header)] + [json.dumps(e) for e in events] + [json.dumps(head)])
    res = _verify_file_elsewhere(out, fp, tmp_path)
    assert res.returncode == 1
    assert json.loads(res.stdout)["problem"] == "forged"
    # without a pinned key the file looks internally consistent; the fingerprint tells
    assert verify_export(out).details["key_fingerprint"] != fp


def test_a_log_opened_without_signer_keys_checks_the_chain_and_says_it_is_unauthenticated(trail):
    # The vault creates its trail through such a log (no security state yet). Asked to verify,
    # it walks the hash chain and says the signatures went unchecked; an edit is still named.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from localscribe.vault.audit import AuditLog

    log = AuditLog(trail.db, trail.vault_id, "doc", Ed25519PrivateKey.generate())
    result = log.verify()
    assert result.ok and not result.authenticated
    _tamper(trail, "UPDATE audit_events SET object = 'someone-else' WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.seq == 3 and "cannot be read" not in result.message
