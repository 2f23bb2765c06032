"""Which keys each role holds, and how a user's keys are wrapped.

Separation of duties is enforced by key possession, not only by checks:

- ``phi``: patient data (fields, audio, outbox payloads). Never in a wrap: each clinician or
  assistant receives it as a *grant*, sealed to their X25519 public key by a clinician who
  already holds it (or, once, by the admin who enrols the first one). Auditors and admins never
  hold it, so no layer of LocalScribe can decrypt a transcript for them.
- ``secrets``: connector credentials (clinicians use them to send; admins manage them).
- ``config_sign`` (Ed25519): signs the security state (users, settings, connectors, KDF
  defaults); admins only. Everyone holds the public half, inside their own wrap, so a value
  nobody signed is refused.
- ``audit_sign`` (Ed25519): the vault's export and anchor key; auditors and admins.
- ``user_sign`` (Ed25519): each user's own key; every audit event is signed by the user who
  wrote it, so nobody can rewrite another user's events.
- ``box`` (X25519): receives the PHI grant.

The wrap's associated data names the vault, the user and the user's revocation epoch, so a wrap
cannot be moved to another account or brought back after the account was disabled or reset (the
epoch moved on in the signed state, which also says the account's role).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from localscribe.vault import crypto, kdf
from localscribe.vault.roles import Role

KEYSET_FORMAT = 2
PHI_ROLES = (Role.CLINICIAN, Role.ASSISTANT)
SECRETS_ROLES = (Role.CLINICIAN, Role.ADMIN)
AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)
CONFIG_ROLES = (Role.ADMIN,)
GRANTING_ROLES = (Role.CLINICIAN,)


@dataclass
class Keyset:
    """One user's keys, as unwrapped from their passphrase (or keyring) wrap."""
    user_sign: Ed25519PrivateKey
    box: X25519PrivateKey
    config_public: bytes
    audit_public: bytes
    secrets: bytes | None = None
    config_sign: Ed25519PrivateKey | None = None
    audit_sign: Ed25519PrivateKey | None = None
    phi: bytes | None = field(default=None, repr=False)   # from the grant, never from the wrap

    @property
    def sign_public(self) -> bytes:
        return self.user_sign.public_key().public_bytes_raw()

    @property
    def box_public(self) -> bytes:
        return self.box.public_key().public_bytes_raw()

    def to_bytes(self) -> bytes:
        d = {"v": KEYSET_FORMAT, "user_sign": self.user_sign.private_bytes_raw().hex(),
             "box": self.box.private_bytes_raw().hex(), "config_public": self.config_public.hex(),
             "audit_public": self.audit_public.hex()}
        if self.secrets is not None:
            d["secrets"] = self.secrets.hex()
        if self.config_sign is not None:
            d["config_sign"] = self.config_sign.private_bytes_raw().hex()
        if self.audit_sign is not None:
            d["audit_sign"] = self.audit_sign.private_bytes_raw().hex()
        return json.dumps(d, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Keyset:
        d = json.loads(raw)
        if d.get("v") != KEYSET_FORMAT:
            raise crypto.TamperError("key wrap is not in the current format")
        h = bytes.fromhex
        return cls(user_sign=Ed25519PrivateKey.from_private_bytes(h(d["user_sign"])),
                   box=X25519PrivateKey.from_private_bytes(h(d["box"])),
                   config_public=h(d["config_public"]), audit_public=h(d["audit_public"]),
                   secrets=h(d["secrets"]) if "secrets" in d else None,
                   config_sign=Ed25519PrivateKey.from_private_bytes(h(d["config_sign"]))
                   if "config_sign" in d else None,
                   audit_sign=Ed25519PrivateKey.from_private_bytes(h(d["audit_sign"]))
                   if "audit_sign" in d else None)


def for_role(role: Role, granter: Keyset) -> Keyset:
    """Fresh personal keys for a new (or reset) account, plus the shared keys its role needs,
    taken from the admin who creates it (who holds every shared key except PHI)."""
    return Keyset(user_sign=Ed25519PrivateKey.generate(), box=X25519PrivateKey.generate(),
                  config_public=granter.config_public, audit_public=granter.audit_public,
                  secrets=granter.secrets if role in SECRETS_ROLES else None,
                  config_sign=granter.config_sign if role in CONFIG_ROLES else None,
                  audit_sign=granter.audit_sign if role in AUDIT_ROLES else None)


def wrap_context(vault_id: str, user: str, epoch: int) -> str:
    # The role is deliberately not here: it is checked against the signed state after the
    # unwrap, so an edited role is refused as tampering (and audited), not as a wrong passphrase.
    return f"user:{vault_id}:{user}:{int(epoch)}"


def grant_context(vault_id: str, user: str, epoch: int) -> str:
    return f"phi-grant:{vault_id}:{user}:{int(epoch)}"


def phi_check(phi: bytes) -> str:
    """A public fingerprint of the PHI key, recorded in the signed state, so a grant sealed
    with some other key (an attacker's) is refused instead of used for new data."""
    return crypto.subkey(phi, "phi-check").hex()


def new_phi() -> bytes:
    return os.urandom(crypto.DATA_KEY_BYTES)


def wrap(keyset: Keyset, passphrase: str, params: kdf.KdfParams, context: str
         ) -> tuple[bytes, bytes]:
    salt = kdf.new_salt()
    return salt, crypto.wrap_key(kdf.derive_kek(passphrase, salt, params), keyset.to_bytes(),
                                 context)


def unwrap(passphrase: str, salt: bytes, wrapped: bytes, params: kdf.KdfParams,
           context: str) -> Keyset:
    raw = crypto.unwrap_key(kdf.derive_kek(passphrase, salt, params), wrapped, context)
    return Keyset.from_bytes(raw)
