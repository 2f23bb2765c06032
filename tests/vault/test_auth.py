"""Unlock, failed attempts, re-wrapping, disabling, idle lock and lock requests."""

import sqlite3

import pytest

from localscribe.domain import Patient
from localscribe.vault import (AccountLocked, AccountThrottled, SessionLocked,
                               Vault, VaultError, WrongCredentials, users)
from localscribe.vault.store import request_lock

from vault_helpers import PASSES, unlock


def test_wrong_passphrase_refused_and_audited(vault):
    with pytest.raises(WrongCredentials):
        vault.unlock("doc", "not the passphrase")
    with pytest.raises(WrongCredentials):
        vault.unlock("nobody", "whatever passphrase")
    events = unlock(vault, "aud").audit_events()
    failed = [e for e in events if e.action == "unlock" and e.outcome == "denied"]
    assert [e.object for e in failed] == ["doc", "nobody"]
    assert all(e.details["recorded_while_locked"] for e in failed)


def test_failures_throttle_then_lock_persistently(vault):
    for _ in range(users.THROTTLE_AFTER):
        with pytest.raises(WrongCredentials):
            vault.unlock("asst", "wrong passphrase")
    with pytest.raises(AccountThrottled) as exc:
        vault.unlock("asst", PASSES["asst"])   # even the right passphrase waits
    assert exc.value.retry_after_s > 0
    # the count survives a restart (a new Vault object on the same file)
    reopened = Vault.open(vault.paths)
    assert users.get(reopened.db, "asst").failed_attempts == users.THROTTLE_AFTER
    now = 10 ** 10
    for _ in range(users.LOCK_AFTER - users.THROTTLE_AFTER):
        now += users.MAX_DELAY_S + 1
        with pytest.raises(WrongCredentials):
            users.verify(reopened.db, reopened.vault_id, "asst", "wrong passphrase", now=now)
    with pytest.raises(AccountLocked):
        users.verify(reopened.db, reopened.vault_id, "asst", PASSES["asst"], now=now + 10 ** 6)
    admin = reopened.unlock("admin", PASSES["admin"])
    admin.set_passphrase("asst", "fresh passphrase")
    assert reopened.unlock("asst", "fresh passphrase").role.value == "assistant"


def test_passphrase_change_rewraps_without_reencrypting(vault):
    doc = unlock(vault, "doc")
    eid = doc.create_encounter(Patient("Ann", "M1", ""), "soap")
    raw = sqlite3.connect(vault.paths.vault_db)
    before = raw.execute("SELECT patient_name FROM encounters").fetchone()[0]
    doc.set_passphrase("doc", "a brand new passphrase")
    assert raw.execute("SELECT patient_name FROM encounters").fetchone()[0] == before
    with pytest.raises(WrongCredentials):
        vault.unlock("doc", PASSES["doc"])
    assert vault.unlock("doc", "a brand new passphrase").get_encounter(eid).patient.name == "Ann"


def test_disabled_user_cannot_unlock_and_last_admin_stays(vault):
    admin = unlock(vault, "admin")
    admin.disable_user("asst")
    # the same refusal as a wrong passphrase: it does not say the account exists (issue 10)
    with pytest.raises(WrongCredentials, match="^wrong user name or passphrase$"):
        vault.unlock("asst", PASSES["asst"])
    with pytest.raises(ValueError, match="last active admin"):
        admin.disable_user("admin")
    row = sqlite3.connect(vault.paths.vault_db).execute(
        "SELECT wrapped_key FROM users WHERE id='asst'").fetchone()
    assert row[0] is None


def test_idle_timeout_locks_session(vault):
    clock = [1000.0]
    s = vault.unlock("doc", PASSES["doc"], clock=lambda: clock[0], idle_timeout_s=60)
    clock[0] += 59
    s.list_encounters()            # use resets the timer
    clock[0] += 59
    assert not s.is_expired()
    clock[0] += 2
    assert s.is_expired()
    with pytest.raises(SessionLocked, match="idle"):
        s.list_encounters()
    assert s.locked
    with pytest.raises(SessionLocked):
        _ = s.db
    locks = [e for e in unlock(vault, "aud").audit_events() if e.action == "lock"]
    assert locks[-1].details == {"reason": "idle"}


def test_lock_request_locks_sessions_in_other_processes(vault):
    s = unlock(vault, "doc")
    s.list_encounters()
    request_lock(Vault.open(vault.paths), "admin")
    with pytest.raises(SessionLocked, match="on request"):
        s.list_encounters()


def test_create_refuses_existing_and_open_refuses_missing(vault, tmp_path):
    from localscribe.config import Paths
    with pytest.raises(VaultError, match="already exists"):
        Vault.create(vault.paths, "admin2", "passphrase x")
    with pytest.raises(VaultError, match="no vault"):
        Vault.open(Paths(tmp_path / "nothing", tmp_path / "m"))
