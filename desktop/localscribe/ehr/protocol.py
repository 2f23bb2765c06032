"""What every EHR connector is: the contract the outbox, the CLI and the UI rely on.

A connector is a class (registered under the ``localscribe.connectors`` entry-point group) with:

- ``kind``: the entry-point name, e.g. ``"fhir-r4"``;
- ``title``: one line shown to the user;
- ``settings``: a tuple of :class:`Setting` the practice fills in (validated before use);
- ``__init__(self, config: ConnectorConfig, context: ConnectorContext)``;
- ``endpoints() -> list[tuple[str, int]]``: network destinations it will reach (joined to the
  egress allowlist when the connector is configured or loaded);
- ``check() -> CheckResult``: can it deliver right now (reachability, credentials, folder rights);
- ``push(note: SignedNote) -> PushReceipt``: deliver a signed note;
- ``amend(note: SignedNote, replaces_remote_id: str) -> PushReceipt``: deliver a correction that
  replaces an earlier delivery (``replaces_remote_id`` is the earlier receipt's ``remote_id``).

Optional: ``insecure_settings(settings: dict) -> list[str]`` (a static method): what in these
plain settings weakens transport security (no TLS, no certificate check). Configuring such a
connector needs an explicit ``--insecure``, and the security report lists it.

Optional: ``close()``: release what the connector kept open (an HL7 connection); the outbox
calls it at the end of each drain.

Optional: ``housekeeping(note_ids) -> list[str]``: remove copies of the delivered notes
``note_ids`` that the connector left behind and that are past its retention (file drop);
returns what was removed (the service audits it).

Delivery must be idempotent on ``note.note_id``: the outbox may call ``push`` again for a note
whose first attempt had an unknown outcome (timeout, crash), and the connector must make sure the
receiver ends up with one document (conditional create, document number, file name...).

A failed delivery raises :class:`DeliveryError`. ``retryable=True`` means "try again later"
(network down, timeout, server busy); ``False`` means a person must act (rejected, bad data).
Messages must never carry note text or patient data: they end up in logs and the job list.
Receiver-supplied text (which might echo PHI) goes in ``detail``; the outbox stores it sealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from collections.abc import Callable

from localscribe.domain import PushReceipt, SignedNote

ENTRY_POINT_GROUP = "localscribe.connectors"


class ConnectorError(Exception):
    """Base for everything a connector reports to the user."""


class SettingsError(ConnectorError):
    """Connector settings are missing or invalid; ``problems`` lists each one."""

    def __init__(self, connector: str, problems: list[str]):
        self.connector = connector
        self.problems = list(problems)
        super().__init__(f"{connector}: " + "; ".join(self.problems))


class DeliveryError(ConnectorError):
    """A push or amend did not deliver.

    ``message`` is PHI-free (kept in plain text in the outbox); ``detail`` is the receiver's own
    words (kept sealed), ``retryable`` tells the outbox whether waiting can help.
    """

    def __init__(self, message: str, *, retryable: bool, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.detail = detail


class InsecureSettings(ConnectorError):
    """Settings that weaken transport security were given without the explicit acceptance."""


def insecure_reasons(factory: Any, settings: dict[str, Any]) -> list[str]:
    """The connector's own account of what is insecure in ``settings`` ([] if it gives none)."""
    judge = getattr(factory, "insecure_settings", None)
    return list(judge(settings)) if callable(judge) else []


class PatientIdentifierMissing(DeliveryError):
    """The note cannot be tied to a patient record: sending is blocked until someone fixes it."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class Setting:
    """One connector setting. ``kind`` is one of: str, int, float, bool, url, path, choice, secret.

    Secrets (tokens, private keys) are stored sealed in the vault and never printed.
    """

    name: str
    kind: str = "str"
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


@dataclass(frozen=True)
class ConnectorConfig:
    """A configured connector: its own name, its kind, validated settings, decrypted secrets."""

    name: str
    kind: str
    settings: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.secrets:
            return self.secrets[key]
        value = self.settings.get(key)
        return default if value is None else value


@dataclass
class ConnectorContext:
    """What the host application lends a connector; every field is optional.

    ``clipboard``: a backend with ``set_text(str)``, ``get_text() -> str`` and
    ``schedule(seconds, fn)`` (the Qt UI passes ``clipboard_qt.QtClipboardBackend``);
    ``allow_egress``: called with (host, port) for each endpoint (default: none; endpoints pass
    the egress guard only through the admin's allowlist).
    """

    clipboard: Any = None
    allow_egress: Callable[[str, int | None], None] | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    summary: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, "details": list(self.details)}


@runtime_checkable
class Connector(Protocol):
    kind: str
    title: str
    settings: tuple[Setting, ...]

    def endpoints(self) -> list[tuple[str, int]]: ...

    def check(self) -> CheckResult: ...

    def push(self, note: SignedNote) -> PushReceipt: ...

    def amend(self, note: SignedNote, replaces_remote_id: str) -> PushReceipt: ...


class BaseConnector:
    """Convenience base: stores config/context; subclasses set kind/title/settings."""

    kind = ""
    title = ""
    settings: tuple[Setting, ...] = ()

    def __init__(self, config: ConnectorConfig, context: ConnectorContext | None = None):
        # Declared defaults fill whatever the stored config lacks (e.g. a setting added in a
        # later version), so code never sees None where a default exists.
        defaults = {s.name: s.default for s in self.settings
                    if not s.secret and s.default is not None}
        self.config = ConnectorConfig(name=config.name, kind=config.kind,
                                      settings={**defaults, **config.settings},
                                      secrets=dict(config.secrets))
        self.context = context or ConnectorContext()

    @property
    def name(self) -> str:
        return self.config.name

    def endpoints(self) -> list[tuple[str, int]]:
        return []

    def receipt(self, note: SignedNote, remote_id: str = "", detail: str = "") -> PushReceipt:
        return PushReceipt(connector=self.name, note_id=note.note_id, delivered=True,
                           remote_id=remote_id, detail=detail)
