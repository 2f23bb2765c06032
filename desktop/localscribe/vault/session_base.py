"""What an unlocked session is made of, typed once for both of its halves (``Session`` and
its ``AdminOps`` mixin): the vault it was unlocked from, the key material it holds until it
locks, and the error every call raises after that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlite_utils

from localscribe.config import Paths
from localscribe.vault import kdf, keys
from localscribe.vault.audit import AuditEvent, AuditLog
from localscribe.vault.capability import Capability
from localscribe.vault.encounters import EncounterStore
from localscribe.vault.integrity import SecurityState
from localscribe.vault.roles import Role
from localscribe.vault.users import UserRecord

T = TypeVar("T")


class SessionLocked(PermissionError):
    """The session is locked (explicitly or after the idle timeout); unlock again."""


class VaultFile(Protocol):
    """What a session needs of the vault it was unlocked from (``store.Vault``). A Protocol,
    so that the session modules do not import store.py, which imports them."""

    paths: Paths
    db: sqlite_utils.Database
    vault_id: str

    @property
    def egress_log_path(self) -> Path: ...
    @property
    def kdf_default(self) -> kdf.KdfParams: ...
    def users(self) -> list[UserRecord]: ...
    def record_pending(self, actor: str, role: str, action: str, object: str = "",
                       outcome: str = "ok", **details: Any) -> None: ...


class SessionBase:
    """The state both halves share. Locking drops the key material (sets it to None); every
    public method calls ``_check`` first, so the accessors below only meet None in a call
    that raced a lock, and then raise SessionLocked like the check would have."""

    vault: VaultFile
    user: str
    role: Role
    _state: SecurityState
    _state_raw: str
    _keys: keys.Keyset | None
    _cap: Capability | None
    _audit: AuditLog | None
    _store: EncounterStore | None
    _bootstrap_phi: bytes | None     # see AdminOps.add_user

    def _check(self, permission: str | None = None, object: str = "") -> None:
        raise NotImplementedError

    def audit(self, action: str, object: str = "", outcome: str = "ok", **details: Any
              ) -> AuditEvent:
        raise NotImplementedError

    def _held(self, value: T | None) -> T:
        if value is None:
            raise SessionLocked(f"session for {self.user} is locked; unlock again")
        return value

    @property
    def _keyset(self) -> keys.Keyset:
        return self._held(self._keys)

    @property
    def _capability(self) -> Capability:
        return self._held(self._cap)

    @property
    def _trail(self) -> AuditLog:
        return self._held(self._audit)

    @property
    def _encounters(self) -> EncounterStore:
        return self._held(self._store)
