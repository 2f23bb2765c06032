"""The EHR side of the app in one object: configured connectors plus the outbox, over a vault
session's database, cipher and audit trail. The CLI and the UI both go through this.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from localscribe.domain import SignedNote
from localscribe.ehr import registry
from localscribe.ehr.outbox import DrainReport, Job, Outbox, RetryPolicy
from localscribe.ehr.protocol import (CheckResult, ConnectorConfig, ConnectorContext,
                                      ConnectorError, DeliveryError)
from localscribe.ehr.settings import ConnectorStore, validate_settings


class EhrService:
    def __init__(self, db, cipher, audit: Callable[..., Any] | None = None,
                 context: ConnectorContext | None = None, policy: RetryPolicy = RetryPolicy(),
                 clock: Callable[[], float] = time.time):
        self.audit = audit if audit is not None else (lambda *a, **k: None)
        self.context = context or ConnectorContext()
        self.store = ConnectorStore(db, cipher, self.audit, clock)
        self.outbox = Outbox(db, cipher, self.audit, policy, clock)

    @classmethod
    def from_session(cls, session, context: ConnectorContext | None = None,
                     policy: RetryPolicy = RetryPolicy()) -> "EhrService":
        return cls(session.db, session.cipher, session.audit, context, policy)

    # ---------------------------------------------------------------- connectors

    def configure(self, name: str, values: dict[str, Any], kind: str | None = None
                  ) -> ConnectorConfig:
        """Create or update connector ``name``. New values merge over the stored ones; the
        result is validated as a whole (and by the connector itself) before it is saved."""
        current = self.store.load(name)
        kind = kind or (current.kind if current else name)
        info = registry.get_info(kind)
        merged: dict[str, Any] = {}
        if current and current.kind == kind:
            merged.update(current.settings)
            merged.update(current.secrets)
        merged.update(values)
        settings, secrets = validate_settings(name, info.settings, merged)
        config = ConnectorConfig(name=name, kind=kind, settings=settings, secrets=secrets)
        registry.instantiate(config, self.context)   # its own checks; endpoints join egress
        self.store.save(name, kind, settings, secrets)
        return config

    def connector(self, name: str):
        config = self.store.load(name)
        if config is None:
            configured = ", ".join(n for n, _ in self.store.names()) or "none"
            raise ConnectorError(f"no connector named '{name}' is configured "
                                 f"(configured: {configured})")
        return registry.instantiate(config, self.context)

    def allow_configured_endpoints(self) -> list[str]:
        """Let every configured endpoint through the egress guard (call after unlocking)."""
        opened = []
        for name, _ in self.store.names():
            try:
                for host, port in self.connector(name).endpoints():
                    opened.append(f"{host}:{port}")
            except ConnectorError:
                continue   # a broken connector config shows up when it is used
        return opened

    def check(self, name: str) -> CheckResult:
        try:
            result = self.connector(name).check()
        except ConnectorError as exc:
            result = CheckResult(False, str(exc))
        self.audit("ehr.connector.check", object=name, outcome="ok" if result.ok else "error",
                   summary=result.summary)
        return result

    # ---------------------------------------------------------------- delivery

    def send(self, note: SignedNote, to: str) -> Job:
        """Queue the note for ``to`` and try once right away; the outbox keeps it if that fails."""
        if self.store.load(to) is None:
            self.connector(to)   # raises the clear "not configured" error before queueing
        job = self.outbox.enqueue(to, note)
        return self.outbox.attempt(job.id, self._resolve)

    def drain(self, limit: int | None = None) -> DrainReport:
        return self.outbox.drain(self._resolve, limit=limit)

    def _resolve(self, name: str):
        try:
            return self.connector(name)
        except DeliveryError:
            raise
        except ConnectorError as exc:
            raise DeliveryError(str(exc), retryable=False) from None
