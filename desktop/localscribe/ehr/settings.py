"""Connector settings: validation against each connector's declared settings, and storage in the
vault (plain settings as JSON, secrets sealed with the vault's field cipher).

Takes small explicit dependencies (a sqlite_utils Database, a cipher with ``seal``/``open``, an
optional audit callable) so it works with a full vault Session or with just its parts.
"""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from localscribe.ehr.protocol import ConnectorConfig, Setting, SettingsError
from localscribe.ehr.schema import ensure_schema
from localscribe.vault import capability, roles

TABLE = "ehr_connectors"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _coerce(spec: Setting, raw: Any) -> Any:
    """One value to its declared type; raises ValueError with a readable reason."""
    if spec.kind in ("str", "secret"):
        return str(raw)
    if spec.kind == "int":
        return int(raw)
    if spec.kind == "float":
        return float(raw)
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true or false")
    if spec.kind == "choice":
        if str(raw) not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}")
        return str(raw)
    if spec.kind == "path":
        return str(Path(str(raw)).expanduser())
    if spec.kind == "url":
        parts = urlsplit(str(raw))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL with a host")
        return str(raw).rstrip("/")
    raise ValueError(f"unknown setting kind {spec.kind!r}")


def validate_settings(connector: str, specs: Iterable[Setting], values: dict[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """Check ``values`` against ``specs``; returns (settings, secrets) or raises SettingsError
    naming every problem at once, so the user fixes them in one go."""
    specs = list(specs)
    known = {s.name: s for s in specs}
    problems = [f"unknown setting '{k}' (known: {', '.join(known) or 'none'})"
                for k in values if k not in known]
    settings: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for spec in specs:
        raw = values.get(spec.name)
        if raw is None or raw == "":
            if spec.required:
                problems.append(f"'{spec.name}' is required ({spec.help})" if spec.help
                                else f"'{spec.name}' is required")
            elif spec.default is not None and not spec.secret:
                settings[spec.name] = spec.default
            continue
        try:
            value = _coerce(spec, raw)
        except (TypeError, ValueError) as exc:
            problems.append(f"'{spec.name}': {exc}")
            continue
        if spec.secret:
            secrets[spec.name] = value
        else:
            settings[spec.name] = value
    if problems:
        raise SettingsError(connector, problems)
    return settings, secrets


class ConnectorStore:
    """Configured connectors, kept in the vault database."""

    def __init__(self, db: Any, cipher: Any, audit: Callable[..., Any] | None = None,
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.cipher = cipher
        self.audit = audit if audit is not None else (lambda *a, **k: None)
        self.clock = clock
        ensure_schema(db)

    def _signed(self) -> Any:
        """The session that signs connector configurations (None: a unit test's bare cipher)."""
        return getattr(self.cipher, "integrity", None)

    def save(self, name: str, kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        capability.require(self.cipher, roles.SECRETS_MANAGE, name)
        sealed = self.cipher.seal(TABLE, name, "secrets",
                                  json.dumps(secrets, sort_keys=True).encode())
        self.db[TABLE].upsert({"name": name, "kind": kind,
                               "settings": json.dumps(settings, sort_keys=True),
                               "secrets": sealed, "updated_at": self.clock()}, pk="name")
        if self._signed() is not None:
            self._signed().connector_saved(name, kind, settings)
        # Setting names only: values may be secrets or internal addresses.
        self.audit("ehr.connector.configure", object=name, kind=kind,
                   settings=sorted(settings), secrets=sorted(secrets))

    def load(self, name: str) -> ConnectorConfig | None:
        capability.require(self.cipher, roles.SECRETS_USE, name)   # check, send, drain use this
        rows = list(self.db[TABLE].rows_where("name = ?", [name]))
        if not rows:
            return None
        row = rows[0]
        if self._signed() is not None:   # host/port edited in the file: refused, audited
            self._signed().verify_connector(name, row["kind"], json.loads(row["settings"]))
        secrets = json.loads(self.cipher.open(TABLE, name, "secrets", row["secrets"]))
        return ConnectorConfig(name=row["name"], kind=row["kind"],
                               settings=json.loads(row["settings"]), secrets=secrets)

    def names(self) -> list[tuple[str, str]]:
        """(name, kind) for every configured connector."""
        return [(r["name"], r["kind"]) for r in self.db[TABLE].rows_where(order_by="name")]

    def remove(self, name: str) -> bool:
        capability.require(self.cipher, roles.SECRETS_MANAGE, name)
        if not list(self.db[TABLE].rows_where("name = ?", [name])):
            return False
        self.db[TABLE].delete(name)
        if self._signed() is not None:
            self._signed().connector_removed(name)
        self.audit("ehr.connector.remove", object=name)
        return True
