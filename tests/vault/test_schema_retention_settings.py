"""Migrations (core and registered), retention purges, settings and sealed secrets."""

import sqlite3
from datetime import datetime, timedelta, UTC

import numpy as np
import pytest

from localscribe.domain import Patient
from localscribe.vault import PermissionDenied, Vault, VaultError, schema
from localscribe.vault.schema import register_migration

from vault_helpers import unlock


def test_schema_versions_and_extension_migration(vault):
    state = schema.schema_state(vault.db)
    assert state["core_version"] == schema.SCHEMA_VERSION
    calls = []

    def _ext(db):
        calls.append(1)
        db.execute("CREATE TABLE ext_outbox (id TEXT PRIMARY KEY, body BLOB)")

    register_migration("test-0001-ext", _ext)
    try:
        Vault.open(vault.paths).close()
        Vault.open(vault.paths).close()   # applied once only
        assert calls == [1]
        assert "test-0001-ext" in schema.schema_state(vault.db)["migrations"]
    finally:
        schema._EXTENSIONS[:] = [m for m in schema._EXTENSIONS if m[0] != "test-0001-ext"]


def test_failed_migration_rolls_back(vault):
    def _bad(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    register_migration("test-0002-bad", _bad)
    try:
        with pytest.raises(RuntimeError):
            Vault.open(vault.paths)
        assert not vault.db["half_done"].exists()
    finally:
        schema._EXTENSIONS[:] = [m for m in schema._EXTENSIONS if m[0] != "test-0002-bad"]


def test_newer_vault_refused(vault):
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("INSERT INTO schema_migrations VALUES ('core-9999-future', 'x')")
    raw.commit()
    with pytest.raises(VaultError, match="newer LocalScribe"):
        Vault.open(vault.paths)


def _recorded_signed(s):
    eid = s.create_encounter(Patient("A", "1", ""), "soap")
    with s.open_audio_spool(eid) as spool:
        spool.write(np.zeros(20000, np.float32))
    s.save_note_version(eid, "note")
    from localscribe.vault.consent import record as record_consent
    record_consent(s, eid, True)         # the recorded patient consented (vault.consent)
    s.sign(eid)
    return eid


def test_audio_purged_at_signing_by_default_and_audited(vault):
    doc = unlock(vault, "doc")
    eid = _recorded_signed(doc)
    assert not (vault.paths.audio_dir / eid).exists()
    with pytest.raises(FileNotFoundError, match="purged"):
        doc.read_audio(eid)
    purge = [e for e in unlock(vault, "aud").audit_events() if e.action == "purge"]
    assert purge[-1].object == eid and purge[-1].details["what"] == "audio"
    assert purge[-1].details["chunks"] == 2


def test_audio_kept_for_configured_days_then_purged(vault):
    unlock(vault, "admin").set_setting("retention.audio_days", 7)
    doc = unlock(vault, "doc")
    eid = _recorded_signed(doc)
    assert doc.read_audio(eid).size == 20000
    assert doc.run_retention() == {"audio": [], "records": []}
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat().replace("+00:00", "Z")
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("UPDATE encounters SET signed_at=? WHERE id=?", (old, eid))
    raw.commit()
    assert unlock(vault, "doc").get_encounter(eid).audio_purged_at   # purged at unlock
    assert not (vault.paths.audio_dir / eid).exists()


def test_records_purged_when_policy_set(vault):
    doc = unlock(vault, "doc")
    eid = _recorded_signed(doc)
    admin = unlock(vault, "admin")
    admin.set_setting("retention.records_days", 30)
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat().replace("+00:00", "Z")
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("UPDATE encounters SET signed_at=? WHERE id=?", (old, eid))
    raw.commit()
    sealed = [bytes(r[0])[:64] for r in raw.execute(
        "SELECT body FROM note_versions WHERE encounter_id=?", (eid,))]
    assert sealed
    assert admin.run_retention()["records"] == [eid]
    assert raw.execute("SELECT COUNT(*) FROM note_versions").fetchone()[0] == 0
    # Gone from the file and its write-ahead log, not only from the table.
    on_disk = b"".join(p.read_bytes() for p in vault.paths.vault_db.parent.iterdir()
                       if p.name.startswith(vault.paths.vault_db.name))
    assert not any(c in on_disk for c in sealed)
    # outside a retention purge, history stays append-only
    eid2 = _recorded_signed(doc)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM note_versions WHERE encounter_id=?", (eid2,))


def test_settings_validated_and_audited(vault):
    admin = unlock(vault, "admin")
    with pytest.raises(ValueError):
        admin.set_setting("retention.audio_days", -1)
    with pytest.raises(ValueError):
        admin.set_setting("session.idle_timeout_s", 5)
    admin.set_setting("session.idle_timeout_s", 300)
    assert Vault.open(vault.paths).setting("session.idle_timeout_s") == 300
    ev = [e for e in unlock(vault, "aud").audit_events() if e.action == "settings.change"][-1]
    assert ev.object == "session.idle_timeout_s" and ev.details["new"] == "300"


def test_secrets_sealed_and_role_limited(vault):
    admin = unlock(vault, "admin")
    admin.put_secret("fhir.client_secret", b"s3cr3t-token-value")
    raw = vault.paths.vault_db.read_bytes() + (vault.paths.vault_db.with_name(
        vault.paths.vault_db.name + "-wal")).read_bytes()
    assert b"s3cr3t-token-value" not in raw
    assert unlock(vault, "doc").get_secret("fhir.client_secret") == b"s3cr3t-token-value"
    with pytest.raises(PermissionDenied):
        unlock(vault, "asst").get_secret("fhir.client_secret")
    with pytest.raises(PermissionDenied):
        unlock(vault, "aud").get_secret("fhir.client_secret")
