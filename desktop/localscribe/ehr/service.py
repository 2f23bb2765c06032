"""The EHR side of the app in one object: configured connectors plus the outbox, over a vault
session's database, cipher and audit trail. The CLI and the UI both go through this.
"""

from __future__ import annotations

import time
from typing import Any
from collections.abc import Callable

from localscribe.domain import SignedNote
from localscribe.ehr import registry
from localscribe.ehr.outbox import DrainReport, Job, Outbox, RetryPolicy
from localscribe.ehr.protocol import (CheckResult, ConnectorConfig, ConnectorContext,
                                      ConnectorError, DeliveryError, InsecureSettings,
                                      insecure_reasons)
from localscribe.ehr.settings import TABLE as CONNECTORS_TABLE
from localscribe.ehr.settings import ConnectorStore, validate_settings
from localscribe.vault.integrity import IntegrityError


def insecure_connectors(db: Any) -> list[dict[str, Any]]:
    """Configured connectors (and the HL7 listener) whose settings weaken transport security,
    with the reasons.

    Reads plain settings only (never the sealed secrets), so an auditor's session can show it."""
    import json

    out = _insecure_listener(db)
    if not db[CONNECTORS_TABLE].exists():
        return out
    found = registry.discover().connectors
    for row in db[CONNECTORS_TABLE].rows_where(order_by="name"):
        info = found.get(row["kind"])
        reasons = insecure_reasons(info.factory, json.loads(row["settings"])) if info else []
        if reasons:
            out.append({"name": row["name"], "kind": row["kind"], "reasons": reasons})
    return out


def _insecure_listener(db: Any) -> list[dict[str, Any]]:
    """The HL7 listener's waiver (plain TCP off loopback), if an admin gave one: it is an
    inbound connection that weakens transport security, shown where the connectors' are."""
    from localscribe.ingest.listener_config import SETTING, ListenerConfig
    from localscribe.ingest.listener_tls import insecure_reasons
    from localscribe.vault import settings as vault_settings

    if "settings" not in db.table_names():      # a bare database (tests)
        return []
    stored = vault_settings.read(db, SETTING, {}) or {}
    config = ListenerConfig(**{k: v for k, v in stored.items()
                               if k in ListenerConfig.__dataclass_fields__})
    reasons = insecure_reasons(config.host, config.tls())
    return [{"name": "hl7-listener", "kind": "schedule listener", "reasons": reasons}] \
        if reasons else []


class EhrService:
    def __init__(self, db: Any, cipher: Any, audit: Callable[..., Any] | None = None,
                 context: ConnectorContext | None = None, policy: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.time):
        self.audit = audit if audit is not None else (lambda *a, **k: None)
        self.context = context or ConnectorContext()
        self.store = ConnectorStore(db, cipher, self.audit, clock)
        self.outbox = Outbox(db, cipher, self.audit, policy or RetryPolicy(), clock)

    @classmethod
    def from_session(cls, session: Any, context: ConnectorContext | None = None,
                     policy: RetryPolicy | None = None) -> EhrService:
        return cls(session.db, session.cipher, session.audit, context, policy)

    # ---------------------------------------------------------------- connectors

    def configure(self, name: str, values: dict[str, Any], kind: str | None = None,
                  insecure: bool = False) -> ConnectorConfig:
        """Create or update connector ``name``. New values merge over the stored ones; the
        result is validated as a whole (and by the connector itself) before it is saved.

        Settings that weaken transport security (the connector says which) are refused unless
        ``insecure`` is True, on every configure that keeps them: an admin accepts them
        knowingly each time, and the audit trail and security report show them."""
        current = self.store.load(name)
        kind = kind or (current.kind if current else name)
        info = registry.get_info(kind)
        merged: dict[str, Any] = {}
        if current and current.kind == kind:
            merged.update(current.settings)
            merged.update(current.secrets)
        merged.update(values)
        settings, secrets = validate_settings(name, info.settings, merged)
        reasons = insecure_reasons(info.factory, settings)
        if reasons and not insecure:
            raise InsecureSettings(f"{name}: refused, {'; '.join(reasons)}; add --insecure to "
                                   "accept this (shown in the security report)")
        config = ConnectorConfig(name=name, kind=kind, settings=settings, secrets=secrets)
        registry.instantiate(config, self.context)   # its own checks; endpoints join egress
        self.store.save(name, kind, settings, secrets)
        if reasons:
            self.audit("ehr.connector.insecure", object=name, kind=kind, reasons=reasons)
        return config

    def connector(self, name: str) -> Any:
        config = self.store.load(name)
        if config is None:
            configured = ", ".join(n for n, _ in self.store.names()) or "none"
            raise ConnectorError(f"no connector named '{name}' is configured "
                                 f"(configured: {configured})")
        return registry.instantiate(config, self.context)

    def check(self, name: str) -> CheckResult:
        result: CheckResult
        from dataclasses import replace

        from localscribe.ehr.instructions_doc import carried_by
        try:
            connector = self.connector(name)
            result = connector.check()
            result = replace(result, details=(*result.details, carried_by(type(connector))))
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
        report = self.outbox.drain(self._resolve, limit=limit)
        self.housekeeping()
        return report

    def housekeeping(self) -> dict[str, list[str]]:
        """Let each connector that keeps delivered copies (file drop) remove what is past its
        retention; every removal is audited. A broken connector is skipped, not fatal."""
        from localscribe.ehr.outbox import DELIVERED

        removed = {}
        for name, _ in self.store.names():
            try:
                tidy = getattr(self.connector(name), "housekeeping", None)
            except (ConnectorError, IntegrityError):
                continue    # refused (and audited) where it was loaded; others go on
            if not callable(tidy):
                continue
            ids = {j.note_id for j in self.outbox.list(states=(DELIVERED,), connector=name)}
            try:
                gone = tidy(ids)
            except Exception as exc:   # a plug-in's bug must not stop deliveries
                self.audit("ehr.retention.expire", object=name, outcome="error",
                           error=type(exc).__name__)
                continue
            if gone:
                removed[name] = gone
                self.audit("ehr.retention.expire", object=name, files=gone, count=len(gone))
        return removed

    def _resolve(self, name: str) -> Any:
        try:
            return self.connector(name)
        except DeliveryError:
            raise
        except ConnectorError as exc:
            raise DeliveryError(str(exc), retryable=False) from None


def configure_connector(session: Any, name: str, values: dict[str, Any], kind: str | None = None,
                        insecure: bool = False) -> ConnectorConfig:
    """Configure ``name`` (see EhrService.configure), then persist its endpoints in the vault's
    egress allowlist so every process lets them through: the one path for the CLI and the window."""
    config = EhrService.from_session(session).configure(name, values, kind=kind, insecure=insecure)
    for host, port in registry.instantiate(config).endpoints():
        session.allow_endpoint(host, port)
    return config
