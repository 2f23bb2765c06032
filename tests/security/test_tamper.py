"""Issue 10, done the way the review did it: SQL on the vault file with sqlite3 while the app is
closed, a saved and restored anchor, a clinician rewriting the chain with only their own
passphrase, lower-layer calls from another role. Each attack must now fail, be refused with a
clear one-line message, and (where someone authenticated is present) leave an audit event."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from localscribe.config import Paths
from localscribe.domain import Patient, Segment, Transcript
from localscribe.ehr.outbox import Outbox
from localscribe.ehr.service import EhrService
from localscribe.ehr.settings import ConnectorStore
from localscribe.vault import (TEST_PARAMS, IntegrityError, PermissionDenied, TamperError, Vault,
                               WrongCredentials, audio_spool, keys, users)
from localscribe.vault.audit import _head_msg, event_hash
from localscribe.vault.crypto import FieldCipher
from localscribe.vault.encounters import EncounterStore
from localscribe.vault.kdf import KdfParams

PASS = {"admin": "admin passphrase 1", "doc": "clinician pass 1", "asst": "assistant pass 1",
        "aud": "auditor pass 1"}
PHI = ("Wilhelmina Fairweather", "MRN-99001122", "shooting pain down the right calf")


@pytest.fixture
def world(tmp_path):
    """A vault as a practice leaves it at night: four roles, a configured HL7 connector, a
    signed note with a queued delivery (nothing listens on the port), the app closed."""
    paths = Paths(tmp_path / "data", tmp_path / "models")
    v = Vault.create(paths, "admin", PASS["admin"], kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", PASS["admin"])
    for name, role in (("doc", "clinician"), ("asst", "assistant"), ("aud", "auditor")):
        admin.add_user(name, role, PASS[name])
    EhrService.from_session(admin).configure(
        "hl7", {"host": "127.0.0.1", "port": 9, "timeout_seconds": 0.5}, kind="hl7v2-mllp")
    admin.set_setting("retention.audio_days", 30)       # keep the audio after signing
    admin.lock()
    doc = v.unlock("doc", PASS["doc"])
    eid = doc.create_encounter(Patient(PHI[0], PHI[1], "1940-01-01"), "soap")
    doc.save_transcript(eid, Transcript([Segment("s1", 0, 1, PHI[2])]))
    spool = doc.open_audio_spool(eid)
    import numpy as np
    spool.write(np.zeros(16000, dtype=np.float32))
    spool.close()
    doc.save_note_version(eid, "Assessment: sciatica.")
    from localscribe.vault.consent import record as record_consent
    record_consent(doc, eid, True)       # the recorded patient consented (vault.consent)
    note = doc.sign(eid)
    job = EhrService.from_session(doc).outbox.enqueue("hl7", note)
    doc.lock()
    v.close()
    return paths, eid, job.id


def sql(paths, *statements):
    """The attacker: plain sqlite3 on the closed vault file (triggers are no obstacle)."""
    raw = sqlite3.connect(paths.vault_db)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    out = []
    for st in statements:
        cur = raw.execute(*st) if isinstance(st, tuple) else raw.execute(st)
        out.append(cur.fetchall())
    raw.commit()
    raw.close()
    return out


def unlock(paths, user, **kw):
    return Vault.open(paths).unlock(user, PASS[user], **kw)


def actions(paths, action):
    return sql(paths, ("SELECT actor, signer FROM audit_events WHERE action = ?", (action,)))[0]


def cli(args, paths, user):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER=user, LOCALSCRIBE_PASSPHRASE=PASS[user])
    return subprocess.run([sys.executable, "-m", "localscribe.cli.vault_cmd", *args,
                           "--data-dir", str(paths.data_dir)], capture_output=True, text=True,
                          env=env, timeout=120)


# ------------------------------------------------------------ 1. security state integrity

def test_role_edited_in_the_file_is_refused_audited_and_repairable(world):
    paths, eid, _ = world
    sql(paths, "UPDATE users SET role = 'clinician' WHERE id = 'asst'")
    with pytest.raises(IntegrityError, match="'asst' does not match the signed security state"):
        unlock(paths, "asst")
    # not even the honest clinician works on an edited vault until an admin has looked
    with pytest.raises(IntegrityError, match="user 'asst'"):
        unlock(paths, "doc")
    assert ("asst", "asst") in actions(paths, "integrity.failed")   # signed by her own key
    r = cli(["security", "repair"], paths, "admin")                 # reviewed by an admin
    assert r.returncode == 0 and "rewritten from the signed security state" in r.stdout
    asst = unlock(paths, "asst")
    assert asst.role.value == "assistant"
    with pytest.raises(PermissionDenied):
        asst.sign(eid)
    assert unlock(paths, "aud").verify_audit().ok


def test_disabled_account_revived_from_old_rows_is_refused(world):
    paths, _, _ = world
    old = sql(paths, "SELECT salt, wrapped_key, kdf, epoch FROM users WHERE id = 'asst'",
              "SELECT epoch, blob, granted_by, granted_at FROM phi_grants WHERE user = 'asst'")
    (salt, wrapped, kdf_json, epoch), grant = old[0][0], old[1][0]
    admin = unlock(paths, "admin")
    admin.disable_user("asst")
    admin.lock()
    # restore the old wrap, but leave the epoch the disable moved on: the wrap does not open
    sql(paths, ("UPDATE users SET salt=?, wrapped_key=?, kdf=?, disabled=0 WHERE id='asst'",
                (salt, wrapped, kdf_json)))
    with pytest.raises(WrongCredentials):
        unlock(paths, "asst")
    # restore everything, epoch and PHI grant included: the signed state still says disabled
    sql(paths, ("UPDATE users SET epoch=?, failed_attempts=0, throttled_until=0 "
                "WHERE id='asst'", (epoch,)),
        ("INSERT OR REPLACE INTO phi_grants VALUES ('asst', ?, ?, ?, ?)", tuple(grant)))
    with pytest.raises(IntegrityError, match="old copy of the account was restored"):
        unlock(paths, "asst")
    assert ("asst", "asst") in actions(paths, "integrity.failed")


def test_restoring_the_old_signed_state_with_the_old_rows_is_caught(world):
    """The strongest 'restore old rows' attack: the account row, its PHI grant AND the whole
    signed state from before the disable (all genuinely signed once)."""
    paths, _, _ = world
    snap = sql(paths, "SELECT salt, wrapped_key, kdf, epoch FROM users WHERE id = 'asst'",
               "SELECT epoch, blob, granted_by, granted_at FROM phi_grants WHERE user = 'asst'",
               "SELECT value FROM meta WHERE key = 'security_state'")
    (salt, wrapped, kdf_json, epoch), grant, (state,) = snap[0][0], snap[1][0], snap[2][0]
    admin = unlock(paths, "admin")
    admin.disable_user("asst")
    admin.lock()
    sql(paths, ("UPDATE users SET salt=?, wrapped_key=?, kdf=?, epoch=?, disabled=0 "
                "WHERE id='asst'", (salt, wrapped, kdf_json, epoch)),
        ("INSERT OR REPLACE INTO phi_grants VALUES ('asst', ?, ?, ?, ?)", tuple(grant)),
        ("UPDATE meta SET value = ? WHERE key = 'security_state'", (state,)))
    with pytest.raises(IntegrityError, match="rolled back"):
        unlock(paths, "asst")


def test_weak_kdf_default_in_the_file_is_refused_and_no_wrap_goes_below_the_floor(world):
    paths, _, _ = world
    sql(paths, "UPDATE meta SET value = '{\"algorithm\": \"scrypt\", \"n\": 2, \"p\": 1, "
               "\"r\": 1}' WHERE key = 'kdf_default'")
    r = cli(["users", "passwd"], paths, "doc")   # as the review did: the next `users passwd`
    assert r.returncode == 4 and "key-derivation cost was edited" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    unlock(paths, "admin", repair=True).lock()
    doc = unlock(paths, "doc")
    doc.set_passphrase("doc", "another clinician phrase 7")
    stored = sql(paths, "SELECT kdf FROM users WHERE id = 'doc'")[0][0][0]
    assert KdfParams.from_json(stored) == TEST_PARAMS
    # the floor holds at the lowest layer too, whatever a caller passes
    v = Vault.open(paths)
    with pytest.raises(ValueError, match="below this vault's floor"):
        users.rewrap(v.db, v.vault_id, "doc", keys.Role.CLINICIAN, 0, "another clinician "
                     "phrase 8", doc._keys, KdfParams(n=2, r=1, p=1), TEST_PARAMS)


@pytest.mark.parametrize("key, value", [("egress.allow", ["collector.evil.test:443"]),
                                        ("retention.audio_days", 3650),
                                        ("security.keyring_unlock_allowed", True)])
def test_settings_edited_in_the_file_are_refused(world, key, value):
    paths, _, _ = world
    doc = unlock(paths, "doc")                   # a session already open when it happens
    before = doc.get_setting(key)
    sql(paths, ("INSERT OR REPLACE INTO settings (key, value, updated_at, updated_by) VALUES "
                "(?, ?, 'now', 'admin')", (key, json.dumps(value))))
    assert doc.get_setting(key) == before        # it acts on the signed value only
    with pytest.raises(IntegrityError, match=f"setting {key} was edited"):
        unlock(paths, "doc")
    r = cli(["security", "report", "--json"], paths, "aud")
    assert r.returncode == 4 and key in r.stderr


def test_connector_endpoint_edited_in_the_file_is_refused_before_sending(world):
    paths, eid, job = world
    doc = unlock(paths, "doc")
    row = sql(paths, "SELECT settings FROM ehr_connectors WHERE name = 'hl7'")[0][0][0]
    edited = {**json.loads(row), "host": "203.0.113.66", "port": 2575}
    sql(paths, ("UPDATE ehr_connectors SET settings = ? WHERE name = 'hl7'",
                (json.dumps(edited),)))
    svc = EhrService.from_session(doc)
    with pytest.raises(IntegrityError, match="connector hl7 configuration"):
        svc.connector("hl7")
    report = svc.drain()          # the queued note is not sent anywhere
    assert not report.delivered
    assert ("doc", "doc") in actions(paths, "integrity.failed")


def test_model_altered_with_its_mtime_restored_is_not_loaded(tmp_path):
    import hashlib
    import time

    from localscribe.models.errors import IntegrityError as ModelIntegrityError
    from localscribe.models.verify import verify_file
    model = tmp_path / "models" / "tiny.gguf"
    model.parent.mkdir()
    model.write_bytes(os.urandom(1 << 16))
    good = hashlib.sha256(model.read_bytes()).hexdigest()
    verify_file(model, good, model.parent)               # warms the fast-path cache
    time.sleep(0.05)                                      # the attack comes later, not in 1 ms
    st = os.stat(model)
    data = bytearray(model.read_bytes())
    data[1234] ^= 0x01
    model.write_bytes(bytes(data))
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as before
    assert os.stat(model).st_mtime_ns == st.st_mtime_ns
    with pytest.raises(ModelIntegrityError, match="damaged or has been modified"):
        verify_file(model, good, model.parent)


# ------------------------------------------------------------ 2. separation of duties by keys

@pytest.mark.parametrize("who", ["aud", "admin"])
def test_auditor_and_admin_cannot_decrypt_patient_data_even_below_the_session(world, who):
    paths, eid, job = world
    s = unlock(paths, who)
    with pytest.raises(PermissionDenied, match="holds no phi key"):
        EncounterStore(s.db, s.cipher).load_transcript(eid)
    with pytest.raises(PermissionDenied, match="holds no phi key"):
        EncounterStore(s.db, s.cipher).get(eid)
    assert any(paths.audio_dir.rglob("*")), "the audio must still be there to try"
    with pytest.raises(PermissionDenied):
        audio_spool.read_audio(paths.audio_dir, s.cipher, eid)
    with pytest.raises(PermissionDenied):
        Outbox(s.db, s.cipher).note(job)
    # and not with anything their own passphrase unwraps: no PHI key is in it
    v = Vault.open(paths)
    rec = users.get(v.db, who)
    salt, wrapped = sql(paths, ("SELECT salt, wrapped_key FROM users WHERE id = ?",
                                (who,)))[0][0]
    ks = keys.unwrap(PASS[who], salt, wrapped, rec.kdf, keys.wrap_context(v.vault_id, who, 0))
    assert ks.phi is None and users.grant(v.db, who) is None
    body = sql(paths, "SELECT body FROM transcripts")[0][0][0]
    for k in (ks.secrets,):
        if k is not None:
            with pytest.raises(TamperError):
                FieldCipher(k).open("transcripts", eid, "body", body)


def test_ehr_operations_check_the_role_in_the_lower_layers(world):
    paths, _, job = world
    aud, asst, admin = unlock(paths, "aud"), unlock(paths, "asst"), unlock(paths, "admin")
    with pytest.raises(PermissionDenied, match="send notes"):
        Outbox(aud.db, aud.cipher).cancel(job)
    with pytest.raises(PermissionDenied, match="send notes"):
        Outbox(asst.db, asst.cipher).retry(job)
    with pytest.raises(PermissionDenied, match="send notes"):
        Outbox(admin.db, admin.cipher).drain(lambda name: None)
    for s in (aud, asst):
        with pytest.raises(PermissionDenied, match="connector credentials"):
            EhrService.from_session(s).check("hl7")
        with pytest.raises(PermissionDenied):
            ConnectorStore(s.db, s.cipher).load("hl7")
    denied = sql(paths, "SELECT actor FROM audit_events WHERE action = 'denied'")[0]
    assert {("aud",), ("asst",), ("admin",)} <= set(denied)
    assert sql(paths, ("SELECT state FROM ehr_outbox WHERE id = ?", (job,)))[0][0][0] == "queued"


# ------------------------------------------------------------ 3. an audit trail nobody rewrites

def test_deleting_every_event_and_the_anchor_fails(world):
    paths, _, _ = world
    sql(paths, "DELETE FROM audit_events", "DELETE FROM meta WHERE key = 'audit_head'")
    r = unlock(paths, "aud").verify_audit()
    assert not r.ok and r.seq == 1 and "#1" in r.message


def test_missing_anchor_is_a_failure_until_an_admin_repairs(world):
    paths, _, _ = world
    sql(paths, "DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) - 3 FROM audit_events)",
        "DELETE FROM meta WHERE key = 'audit_head'")
    with pytest.raises(IntegrityError, match="anchor is missing"):
        unlock(paths, "doc")
    r = cli(["audit", "verify"], paths, "aud")
    assert r.returncode == 1 and r.stdout.startswith("FAILED: ") and "anchor is missing" \
        in r.stdout
    unlock(paths, "admin", repair=True).lock()      # reviewed; the repair is on the trail
    assert sql(paths, "SELECT COUNT(*) FROM audit_events WHERE action = 'integrity.repair'"
               )[0][0][0] == 1
    assert unlock(paths, "aud").verify_audit().ok


def test_cut_tail_with_restored_anchor_cannot_hide_an_allowlist_change(world):
    paths, _, _ = world
    (head,), (last,) = [x[0] for x in sql(paths,
                                          "SELECT value FROM meta WHERE key = 'audit_head'",
                                          "SELECT MAX(seq) FROM audit_events")]
    admin = unlock(paths, "admin")
    admin.allow_endpoint("exfil.example.test", 443)
    admin.lock()
    sql(paths, ("DELETE FROM audit_events WHERE seq > ?", (last,)),
        ("UPDATE meta SET value = ? WHERE key = 'audit_head'", (head,)))
    r = unlock(paths, "aud").verify_audit()
    assert (r.ok, r.problem) == (False, "truncated") and "version" in r.message


def test_rollback_to_the_cutters_own_event_is_caught_by_the_external_anchor(world, tmp_path):
    paths, eid, _ = world
    doc = unlock(paths, "doc")
    doc.load_transcript(eid)
    doc.lock()                                    # the last event is doc's own
    (seq, digest), = sql(paths, "SELECT seq, hash FROM audit_events ORDER BY seq DESC "
                                "LIMIT 1")[0]
    anchor = tmp_path / "anchor.json"             # on the auditor's USB stick
    r = cli(["audit", "anchor", str(anchor)], paths, "aud")
    assert r.returncode == 0 and "audit head #" in r.stdout, r.stderr
    # doc cuts everything after their own event and re-signs the head with their own key
    v = Vault.open(paths)
    salt, wrapped = sql(paths, "SELECT salt, wrapped_key FROM users WHERE id = 'doc'")[0][0]
    ks = keys.unwrap(PASS["doc"], salt, wrapped, users.get(v.db, "doc").kdf,
                     keys.wrap_context(v.vault_id, "doc", 0))
    forged = {"seq": seq, "hash": digest, "signer": "doc",
              "sig": ks.user_sign.sign(_head_msg(v.vault_id, seq, digest)).hex()}
    sql(paths, ("DELETE FROM audit_events WHERE seq > ?", (seq,)),
        ("UPDATE meta SET value = ? WHERE key = 'audit_head'", (json.dumps(forged),)))
    r = cli(["audit", "verify", "--anchor", str(anchor)], paths, "aud")
    assert r.returncode == 1 and r.stdout.startswith("FAILED: rolled back"), r.stdout + r.stderr


def _rechain(paths, vault_id, ks, drop: set[int], claim_signer: bool):
    rows = sql(paths, "SELECT seq, time, actor, role, action, object, outcome, details, "
                      "prev_hash, hash, signer, sig FROM audit_events ORDER BY seq")[0]
    cols = ("seq", "time", "actor", "role", "action", "object", "outcome", "details",
            "prev_hash", "hash", "signer", "sig")
    kept, prev, stmts = [], "0" * 64, ["DELETE FROM audit_events"]
    for row in rows:
        ev = dict(zip(cols, row))
        if ev["seq"] in drop:
            continue
        ev["details"] = json.loads(ev["details"])
        ev["seq"], ev["prev_hash"] = len(kept) + 1, prev
        if claim_signer:
            ev["signer"] = "doc"
        ev["hash"] = event_hash(ev)
        ev["sig"] = ks.user_sign.sign(f"localscribe-event:{vault_id}:{ev['hash']}".encode()).hex()
        kept.append(ev)
        prev = ev["hash"]
        stmts.append(("INSERT INTO audit_events (seq, time, actor, role, action, object, "
                      "outcome, details, prev_hash, hash, mac, signer, sig) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,'',?,?)",
                      (ev["seq"], ev["time"], ev["actor"], ev["role"], ev["action"],
                       ev["object"], ev["outcome"], json.dumps(ev["details"], sort_keys=True),
                       ev["prev_hash"], ev["hash"], ev["signer"], ev["sig"])))
    head = {"seq": kept[-1]["seq"], "hash": prev, "signer": "doc",
            "sig": ks.user_sign.sign(_head_msg(vault_id, kept[-1]["seq"], prev)).hex()}
    stmts.append(("UPDATE meta SET value = ? WHERE key = 'audit_head'", (json.dumps(head),)))
    sql(paths, *stmts)
    return len(rows) - len(kept)


@pytest.mark.parametrize("claim_signer", [False, True])
def test_clinician_cannot_rewrite_the_chain_with_their_own_passphrase(world, claim_signer):
    paths, _, _ = world
    v = Vault.open(paths)
    salt, wrapped = sql(paths, "SELECT salt, wrapped_key FROM users WHERE id = 'doc'")[0][0]
    ks = keys.unwrap(PASS["doc"], salt, wrapped, users.get(v.db, "doc").kdf,
                     keys.wrap_context(v.vault_id, "doc", 0))
    assert ks.audit_sign is None and ks.config_sign is None   # no key to re-sign an export
    removed = _rechain(paths, v.vault_id, ks, drop={4, 5, 6}, claim_signer=claim_signer)
    assert removed == 3
    r = unlock(paths, "aud").verify_audit()
    assert (r.ok, r.problem) == (False, "forged") and r.seq is not None and r.seq <= 4, r


def test_dropped_audit_table_is_a_one_line_failed_verdict(world):
    paths, _, _ = world
    aud = unlock(paths, "aud")
    sql(paths, "DROP TABLE audit_events")
    r = aud.verify_audit()                        # a session open when it happened
    assert not r.ok and "cannot be read" in r.message
    r = cli(["audit", "verify"], paths, "aud")    # and a fresh command afterwards
    assert r.returncode == 1 and r.stdout.startswith("FAILED: "), r.stdout + r.stderr
    assert len(r.stdout.strip().splitlines()) == 1 and "Traceback" not in r.stderr


# ------------------------------------------------------------ 4. passphrases and lockout

@pytest.mark.parametrize("weak", ["password", "12345678", "passwordpassword", "qwertyuiop123",
                                  "doc123456789"])
def test_weak_passphrases_are_refused(world, weak):
    paths, _, _ = world
    admin = unlock(paths, "admin")
    with pytest.raises(ValueError, match="passphrase"):
        admin.add_user("newbie", "assistant", weak)
    with pytest.raises(ValueError, match="passphrase"):
        admin.set_passphrase("doc", weak)


def test_nobody_can_lock_the_last_admin_out_and_offline_recovery_works(world):
    paths, _, _ = world
    v = Vault.open(paths)
    now = 10 ** 9
    for _ in range(users.LOCK_AFTER + 5):        # anyone at the keyboard, many times
        now += users.MAX_DELAY_S + 1
        with pytest.raises(WrongCredentials):
            users.verify(v.db, v.vault_id, "admin", "not the passphrase", now=now)
    assert not users.get(v.db, "admin").locked
    rec, _ = users.verify(v.db, v.vault_id, "admin", PASS["admin"],
                          now=now + users.MAX_DELAY_S + 1)
    assert rec.id == "admin"
    for _ in range(users.THROTTLE_AFTER + 1):    # throttled right now ...
        with pytest.raises(users.AuthError):
            v.unlock("admin", "not the passphrase")
    with pytest.raises(users.AccountThrottled):
        v.unlock("admin", PASS["admin"])
    r = cli(["users", "reset-attempts", "admin"], paths, "admin")   # ... offline recovery
    assert r.returncode == 0, r.stderr
    v.unlock("admin", PASS["admin"]).lock()
    assert ("-", "admin") in actions(paths, "unlock.reset_attempts")


def test_refusals_do_not_reveal_whether_an_account_exists_or_is_disabled(world):
    paths, _, _ = world
    admin = unlock(paths, "admin")
    admin.disable_user("asst")
    messages = set()
    for user, pw in (("nobody", "whatever passphrase"), ("asst", PASS["asst"]),
                     ("doc", "wrong passphrase here")):
        with pytest.raises(users.AuthError) as exc:
            Vault.open(paths).unlock(user, pw)
        messages.add(str(exc.value))
    assert messages == {"wrong user name or passphrase"}
    # and after many tries an unknown name is throttled exactly like a real one
    answers = {}
    for user in ("nobody", "doc"):
        for _ in range(users.THROTTLE_AFTER + 1):
            try:
                Vault.open(paths).unlock(user, "wrong passphrase here")
            except users.AuthError as exc:
                answers.setdefault(user, []).append(type(exc).__name__)
    assert answers["nobody"] == answers["doc"] and "AccountThrottled" in answers["doc"]


# ------------------------------------------------------------ what the security team sees

def test_security_report_shows_the_integrity_state(world, tmp_path):
    paths, _, _ = world
    r = cli(["security", "report", "--json"], paths, "aud")
    integ = json.loads(r.stdout)["integrity"]
    assert r.returncode == 0 and integ["settings_authenticated"] is True
    assert integ["anchor_age_s"] is None and integ["test_kdf_vault"] is True
    assert integ["kdf_floor"]["n"] == TEST_PARAMS.n
    assert cli(["audit", "anchor", str(tmp_path / "a.json")], paths, "aud").returncode == 0
    r = cli(["security", "report"], paths, "admin")
    assert r.returncode == 0, r.stderr
    assert "Security state (users, settings, connectors, KDF): authenticated" in r.stdout
    assert "External audit anchor: 20" in r.stdout and "(0 day(s) ago)" in r.stdout
    assert "KDF floor for new wraps: scrypt n=1024 r=8 p=1 (TEST VAULT)" in r.stdout
    # the fingerprint the practice writes down cannot be swapped by editing the file
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from localscribe.vault.audit import key_fingerprint
    real = json.loads(cli(["security", "report", "--json"], paths, "aud").stdout)
    mine = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    sql(paths, ("UPDATE meta SET value = ? WHERE key = 'audit_public_key'", (mine.hex(),)))
    shown = json.loads(cli(["security", "report", "--json"], paths, "aud").stdout)
    assert shown["encryption"]["audit_key_fingerprint"] == \
        real["encryption"]["audit_key_fingerprint"] != key_fingerprint(mine)
