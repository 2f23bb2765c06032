"""The encrypted vault: users and roles, PHI storage, audio spool, audit trail, retention.

Contract (stable; other modules code against it)::

    from localscribe.vault import Vault, PermissionDenied, TamperError
    vault = Vault.create(paths, "admin", passphrase)        # first run: first admin
    vault = Vault.open(paths)                               # later runs
    session = vault.unlock(user, passphrase)                # -> Session
    session.user, session.role, session.db, session.cipher   # cipher: the role's Capability
    session.audit(action, object="", outcome="ok", **non_phi_details)
    eid = session.create_encounter(Patient(...), template)
    session.list_encounters(); session.get_encounter(eid); session.set_status(eid, status)
    spool = session.open_audio_spool(eid); spool.write(float32_16k_mono); spool.close()
    session.read_audio(eid) -> float32 ndarray
    session.save_transcript(eid, Transcript); session.load_transcript(eid)
    session.save_draft(eid, Draft); session.load_draft(eid)
    session.save_note_version(eid, text) -> int
    session.sign(eid, acknowledged_flag_ids=()) -> SignedNote     # flag ids = statement ids
    session.amend(eid, text) -> SignedNote (replaces = previous note_id)
    session.signed_note(eid) -> SignedNote | None
    session.record_generation(eid, model_sha256, template, prompt_sha256)
    session.record_copy(eid) -> SignedNote;  session.record_push(eid, connector, outcome, note_id)
    session.put_secret(name, bytes); session.get_secret(name) -> bytes | None
    session.get_setting(key, default); session.set_setting(key, value)  # non-PHI, admin
    session.allow_endpoint(host, port)     # persisted egress allowlist (admin)
    session.lock(); session.touch(); session.is_expired()

``session.cipher.seal/open(table, record_id, field, ...)`` (a ``Capability`` holding only the
keys the role was given) seals any other module's PHI columns; other tables come in through
``localscribe.vault.schema.register_migration(name, fn)`` (see that module).
Permission checks raise ``PermissionDenied``; a locked or idle-expired session raises
``SessionLocked``; a bad ciphertext raises ``TamperError``; a security value that does not match
its signature raises ``IntegrityError``; a refused unlock raises an
``AuthError`` subclass.
"""

from localscribe.vault.crypto import FieldCipher, TamperError
from localscribe.vault.capability import Capability
from localscribe.vault.encounters import (STATUSES, Encounter, EncounterNotFound, NoteLocked,
                                          NoteVersion)
from localscribe.vault.integrity import IntegrityError
from localscribe.vault.kdf import DEFAULT_PARAMS, TEST_PARAMS, KdfParams
from localscribe.vault.roles import PermissionDenied, Role
from localscribe.vault.schema import apply_migrations, register_migration
from localscribe.vault.session import Session, SessionLocked, UnacknowledgedFlags
from localscribe.vault.store import Vault, VaultError
from localscribe.vault.users import (AccountDisabled, AccountLocked, AccountThrottled, AuthError,
                                     WrongCredentials)

__all__ = [
    "AccountDisabled", "AccountLocked", "AccountThrottled", "AuthError", "Capability",
    "DEFAULT_PARAMS", "IntegrityError",
    "Encounter", "EncounterNotFound", "FieldCipher", "KdfParams", "NoteLocked", "NoteVersion",
    "PermissionDenied", "Role", "STATUSES", "Session", "SessionLocked", "TEST_PARAMS",
    "TamperError", "UnacknowledgedFlags", "Vault", "VaultError", "WrongCredentials",
    "apply_migrations", "register_migration",
]
