"""The signed security state: every value that decides who may do what, where data may go and
how keys are protected, signed by the admins' config key.

One JSON document in ``meta.security_state`` holds users (role, disabled, revocation epoch,
public keys), settings (egress allowlist, retention, timeouts), connector configurations (as
digests), the KDF default and the PHI key's fingerprint, with a version number and an Ed25519
signature. Every user holds the public half inside their own wrap, so a session reads only
values that verify; the plain ``users``/``settings`` columns are mirrors for display and are
compared at unlock. Rolling the whole document back to an older signed version is caught when
the audit trail (signed per event) has recorded a later version, and otherwise only against an
external audit anchor (see SECURITY.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlite_utils
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from localscribe.vault import kdf, keys
from localscribe.vault.roles import Role

if TYPE_CHECKING:   # the audit trail imports this module
    from localscribe.vault.audit import AuditEvent

META_KEY = "security_state"


class IntegrityError(PermissionError):
    """A security value does not match what an admin signed: the vault file was edited."""


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def connector_digest(kind: str, settings: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({"kind": kind, "settings": settings})).hexdigest()


def user_entry(role: Role, keyset: keys.Keyset, epoch: int = 0,
               old_keys: list[str] | None = None) -> dict[str, Any]:
    """A user's line in the signed state: role, epoch and public keys (the old signing keys
    stay, so that the user's earlier audit events still verify)."""
    return {"role": role.value, "disabled": False, "epoch": epoch,
            "sign_keys": [*(old_keys or []), keyset.sign_public.hex()],
            "box_public": keyset.box_public.hex()}


@dataclass
class SecurityState:
    body: dict[str, Any]

    @classmethod
    def new(cls, vault_id: str, kdf_default: kdf.KdfParams, test_kdf: bool) -> SecurityState:
        return cls({"vault_id": vault_id, "version": 0, "kdf_default": json.loads(
            kdf_default.to_json()), "test_kdf": bool(test_kdf), "phi_check": None,
            "users": {}, "settings": {}, "connectors": {}})

    # ------------------------------------------------------------ reading
    @property
    def version(self) -> int:
        return int(self.body["version"])

    @property
    def kdf_default(self) -> kdf.KdfParams:
        return kdf.KdfParams.from_json(json.dumps(self.body["kdf_default"]))

    @property
    def kdf_floor(self) -> kdf.KdfParams:
        """No wrap is ever written below this. Test vaults (made in code with explicit cheap
        parameters, recorded in the signed state) get the test floor; all others production."""
        return kdf.TEST_PARAMS if self.body.get("test_kdf") else kdf.PRODUCTION_FLOOR

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = self.body["users"]   # the shape user_entry writes
        return users

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.body["settings"]
        return settings

    @property
    def connectors(self) -> dict[str, str]:
        connectors: dict[str, str] = self.body["connectors"]   # name -> connector_digest
        return connectors

    def user(self, name: str) -> dict[str, Any] | None:
        return self.users.get(name)

    def sign_keys(self) -> dict[str, str]:
        """Every user signing key ever issued (hex public key -> user), for audit checks."""
        return {k: u for u, rec in self.users.items() for k in rec["sign_keys"]}

    def edited(self) -> SecurityState:
        """A copy to change and sign as the next version."""
        body = copy.deepcopy(self.body)
        body["version"] = self.version + 1
        return SecurityState(body)

    # ------------------------------------------------------------ storage
    def to_meta(self, signer: Ed25519PrivateKey) -> str:
        return json.dumps({"body": self.body,
                           "sig": signer.sign(canonical(self.body)).hex()}, sort_keys=True)

    @classmethod
    def load(cls, db: sqlite_utils.Database, config_public: bytes, vault_id: str
             ) -> SecurityState:
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        except Exception as exc:   # a dropped table is tampering, said in one line
            raise IntegrityError(f"the signed security state cannot be read ({exc})") from None
        if row is None:
            raise IntegrityError("the signed security state is missing: the vault file was "
                                 "edited")
        try:
            doc = json.loads(row[0])
            Ed25519PublicKey.from_public_bytes(config_public).verify(
                bytes.fromhex(doc["sig"]), canonical(doc["body"]))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            raise IntegrityError("the security state (users, settings, connectors) fails its "
                                 "signature: the vault file was edited") from None
        state = cls(doc["body"])
        if state.body.get("vault_id") != vault_id:
            raise IntegrityError("the security state belongs to another vault")
        return state

    def save(self, db: sqlite_utils.Database, signer: Ed25519PrivateKey) -> None:
        """Write this version (the caller holds a transaction and audits the change)."""
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                   (META_KEY, self.to_meta(signer)))


def mirror_problems(db: sqlite_utils.Database, state: SecurityState) -> list[str]:
    """Where the plain columns disagree with the signed state (each a short phrase)."""
    problems = []
    rows = {r[0]: (r[1], bool(r[2]), int(r[3])) for r in db.execute(
        "SELECT id, role, disabled, epoch FROM users").fetchall()}
    for name in sorted(set(rows) | set(state.users)):
        want = state.user(name)
        have = rows.get(name)
        if want is None:
            problems.append(f"user {name!r} was added outside LocalScribe")
        elif have is None:
            problems.append(f"user {name!r} was removed outside LocalScribe")
        elif have != (want["role"], bool(want["disabled"]), int(want["epoch"])):
            problems.append(f"user {name!r} (role, disabled flag or epoch) was edited")
    settings = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM settings")}
    for key in sorted(set(settings) | set(state.settings)):
        if settings.get(key) != state.settings.get(key, None):
            problems.append(f"setting {key} was edited")
    try:
        connectors = {r[0]: connector_digest(r[1], json.loads(r[2])) for r in db.execute(
            "SELECT name, kind, settings FROM ehr_connectors").fetchall()}
    except Exception:
        connectors = {}
    for name in sorted(set(connectors) | set(state.connectors)):
        if connectors.get(name) != state.connectors.get(name):
            problems.append(f"connector {name} configuration was edited")
    head = db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if head is None and db.execute("SELECT 1 FROM audit_events LIMIT 1").fetchone():
        problems.append("the audit head anchor is missing (events may have been cut off the "
                        "end)")
    kdf_row = db.execute("SELECT value FROM meta WHERE key = 'kdf_default'").fetchone()
    if kdf_row is None or json.loads(kdf_row[0]) != state.body["kdf_default"]:
        problems.append("the default key-derivation cost was edited")
    return problems


def rolled_back(db: sqlite_utils.Database, state: SecurityState) -> int | None:
    """The newest state version the audit trail recorded, when it is newer than ``state``."""
    row = db.execute("SELECT details FROM audit_events WHERE action = 'security.state' "
                     "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    seen = int(json.loads(row[0]).get("version", 0))
    return seen if seen > state.version else None


def recorded_version(events: Iterable[AuditEvent]) -> int:
    """The newest state version the audit trail itself records (vault creation included)."""
    seen = 0
    for ev in events:
        if ev.action == "security.state":
            seen = max(seen, int(ev.details.get("version", 0)))
        elif ev.action == "vault.create":
            seen = max(seen, int(ev.details.get("state_version", 0)))
    return seen
