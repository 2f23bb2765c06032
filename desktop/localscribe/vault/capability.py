"""What a session hands to the lower layers (encounter store, audio spool, outbox, connector
store) instead of raw keys: a cipher that holds only the keys the user's role was given, and
that checks the role (and audits a refusal) for the operations those layers perform.

It has the ``FieldCipher`` interface, so existing code that seals and opens values keeps
working; which key is used follows the table: connector credentials use the secrets key,
everything else is patient data under the PHI key. An auditor or admin simply has no PHI key
here, so no call path decrypts a transcript for them.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from localscribe.vault.crypto import FieldCipher
from localscribe.vault.roles import PermissionDenied, Role

SECRET_TABLES = frozenset({"secrets", "ehr_connectors"})


def purpose_of(table: str) -> str:
    return "secrets" if table in SECRET_TABLES else "phi"


class Capability:
    def __init__(self, user: str, role: Role, ciphers: dict[str, FieldCipher],
                 check: Callable[[str | None, str], None],
                 integrity: Any = None, pending: frozenset[str] = frozenset()):
        self.user = user
        self.role = role
        self._ciphers = ciphers
        self._check = check           # the session's check: locked, idle, role (audits denial)
        self.integrity = integrity    # the session, for signed connector configurations
        self._pending = pending       # keys the role should hold but whose grant is pending

    def require(self, permission: str, object: str = "") -> None:
        self._check(permission, object)

    def holds(self, purpose: str) -> bool:
        return purpose in self._ciphers

    def _cipher(self, table: str, record_id: str) -> FieldCipher:
        self._check(None, "")
        purpose = purpose_of(table)
        cipher = self._ciphers.get(purpose)
        if cipher is None and purpose in self._pending:
            raise PermissionDenied(f"{self.user} has no access to patient data yet: a "
                                   "clinician's next sign-in grants it")
        if cipher is None:
            raise PermissionDenied(f"{self.user} ({self.role.value}) holds no {purpose} key: "
                                   f"{table}[{record_id}] cannot be opened or written")
        return cipher

    def drop(self) -> None:
        self._ciphers.clear()

    # FieldCipher interface
    def seal(self, table: str, record_id: str, field: str, plaintext: bytes) -> bytes:
        return self._cipher(table, record_id).seal(table, record_id, field, plaintext)

    def open(self, table: str, record_id: str, field: str, blob: bytes) -> bytes:
        return self._cipher(table, record_id).open(table, record_id, field, blob)

    def seal_text(self, table: str, record_id: str, field: str, text: str) -> bytes:
        return self.seal(table, record_id, field, text.encode("utf-8"))

    def open_text(self, table: str, record_id: str, field: str, blob: bytes) -> str:
        return self.open(table, record_id, field, blob).decode("utf-8")


def require(cipher: Any, permission: str, object: str = "") -> None:
    """For lower layers: check the role when given a Capability (a bare FieldCipher is a unit
    test's wiring; production sessions only ever hand out Capabilities)."""
    req = getattr(cipher, "require", None)
    if req is not None:
        req(permission, object)
