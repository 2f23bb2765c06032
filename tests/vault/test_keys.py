"""Key separation: the PHI key reaches a clinician or assistant only as a grant from a
clinician (or, once, from the admin who enrols the first one), never through an admin's reset,
and a grant planted by someone with the file is refused."""

from __future__ import annotations

import os
import sqlite3

import pytest

from localscribe.domain import Patient
from localscribe.vault import IntegrityError, PermissionDenied, Vault, crypto, keys

from vault_helpers import PASSES, run_cli, unlock

NEW = "second clinician pass 3"


def _add(vault, name, role="clinician"):
    admin = unlock(vault, "admin")        # a later admin session: it holds no PHI key
    admin.add_user(name, role, NEW)
    admin.lock()


def test_a_later_clinician_waits_for_a_clinicians_grant(vault):
    doc = unlock(vault, "doc")
    eid = doc.create_encounter(Patient("Ann Example", "M1", ""), "soap")
    doc.lock()
    _add(vault, "doc2")
    doc2 = vault.unlock("doc2", NEW)
    with pytest.raises(PermissionDenied, match="clinician's next sign-in grants it"):
        doc2.get_encounter(eid)
    doc2.lock()
    unlock(vault, "doc").lock()           # the grant happens here, audited
    assert vault.unlock("doc2", NEW).get_encounter(eid).patient.name == "Ann Example"
    grants = sqlite3.connect(vault.paths.vault_db).execute(
        "SELECT actor, object FROM audit_events WHERE action = 'user.grant'").fetchall()
    assert ("doc", "doc2") in grants


def test_an_assistant_does_not_grant(vault):
    doc = unlock(vault, "doc")
    doc.create_encounter(Patient("Ann Example", "M1", ""), "soap")
    doc.lock()
    _add(vault, "doc2")
    unlock(vault, "asst").lock()
    with pytest.raises(PermissionDenied):
        vault.unlock("doc2", NEW).list_encounters()


def test_admin_reset_drops_phi_access_until_a_clinician_regrants(vault):
    doc = unlock(vault, "doc")
    eid = doc.create_encounter(Patient("Ann Example", "M1", ""), "soap")
    doc.lock()
    admin = unlock(vault, "admin")
    admin.set_passphrase("doc", NEW)      # the admin now knows doc's passphrase ...
    admin.lock()
    with pytest.raises(PermissionDenied):  # ... and still cannot read the chart with it
        vault.unlock("doc", NEW).get_encounter(eid)
    _add(vault, "doc2")
    assert sqlite3.connect(vault.paths.vault_db).execute(
        "SELECT COUNT(*) FROM phi_grants WHERE user IN ('doc', 'doc2')").fetchone()[0] == 0


def test_own_passphrase_change_keeps_phi_access(vault):
    doc = unlock(vault, "doc")
    eid = doc.create_encounter(Patient("Ann Example", "M1", ""), "soap")
    doc.set_passphrase("doc", NEW)
    doc.lock()
    assert vault.unlock("doc", NEW).get_encounter(eid).patient.mrn == "M1"


def test_a_planted_grant_is_refused(vault):
    """Someone with the file seals a key of their own to a clinician's public key, hoping new
    patient data will be written under it."""
    _add(vault, "doc2")
    v = Vault.open(vault.paths)
    state = unlock(vault, "aud")._current_state()
    entry = state.users["doc2"]
    blob = crypto.seal_to(bytes.fromhex(entry["box_public"]), os.urandom(32),
                          keys.grant_context(v.vault_id, "doc2", entry["epoch"]))
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("INSERT INTO phi_grants VALUES ('doc2', ?, ?, 'doc', 'now')",
                (entry["epoch"], blob))
    raw.commit()
    with pytest.raises(IntegrityError, match="planted grant"):
        v.unlock("doc2", NEW)


def test_roles_hold_only_their_keys(vault):
    held = {}
    for user in PASSES:
        s = unlock(vault, user)
        k = s._keys
        held[s.role.value] = {name for name in ("phi", "secrets", "config_sign", "audit_sign")
                              if getattr(k, name) is not None}
    assert held == {"clinician": {"phi", "secrets"}, "assistant": {"phi"},
                    "auditor": {"audit_sign"}, "admin": {"secrets", "config_sign", "audit_sign"}}


def test_a_vault_from_the_previous_version_is_refused_clearly(vault):
    """Format choice: no in-place migration (it would need every user's passphrase at once);
    a clear refusal instead, naming the way out."""
    raw = sqlite3.connect(vault.paths.vault_db)
    raw.execute("DELETE FROM meta WHERE key = 'key_format'")
    raw.commit()
    from localscribe.vault import VaultError
    with pytest.raises(VaultError, match="earlier LocalScribe.*export its audit trail"):
        Vault.open(vault.paths)


def test_a_single_clinician_practice_recovers_with_the_code(vault):
    """One clinician forgets their passphrase: the admin resets it (no PHI for the admin), and
    the clinician regains access with the break-glass code, audited."""
    doc = unlock(vault, "doc")
    eid = doc.create_encounter(Patient("Ann Example", "M1", ""), "soap")
    code = doc.create_phi_recovery_code()
    doc.lock()
    admin = unlock(vault, "admin")
    admin.set_passphrase("doc", NEW)
    with pytest.raises(PermissionDenied):
        admin.recover_phi(code)            # an admin cannot use it: not a clinician
    admin.lock()
    doc = vault.unlock("doc", NEW)
    with pytest.raises(ValueError, match="does not open"):
        doc.recover_phi("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG")
    doc.recover_phi(code)
    assert doc.get_encounter(eid).patient.name == "Ann Example"
    doc.lock()
    assert vault.unlock("doc", NEW).get_encounter(eid).patient.mrn == "M1"   # grant stays
    raw = sqlite3.connect(vault.paths.vault_db)
    assert raw.execute("SELECT outcome FROM audit_events WHERE action = 'phi.recover' "
                       "ORDER BY seq").fetchall() == [("denied",), ("ok",)]


def test_recovery_code_from_the_command_line(vault):
    data = vault.paths.data_dir
    made = run_cli(["users", "recovery-code"], data, "doc", PASSES["doc"])
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip().rsplit(" ", 1)[-1]
    denied = run_cli(["users", "recovery-code"], data, "admin", PASSES["admin"])
    assert denied.returncode == 3 and "not allowed" in denied.stderr
    admin = unlock(vault, "admin")
    admin.set_passphrase("doc", NEW)
    admin.lock()
    back = run_cli(["users", "recover"], data, "doc", NEW,
                   env={"LOCALSCRIBE_RECOVERY_CODE": code})
    assert back.returncode == 0 and "access restored" in back.stdout, back.stderr
