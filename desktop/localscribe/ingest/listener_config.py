"""The HL7 listener's configuration (an admin's, kept in the vault's plain settings) and the one
core call that starts it, for the CLI (`schedule listen`) and for the desktop app alike.

An admin sets address, port, TLS files and, knowingly, plain TCP off loopback (``insecure``,
audited); the clinician or assistant who runs the listener cannot weaken it. The settings hold
file paths, never key material: the key file stays where the admin put it, readable by the
user who runs LocalScribe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from collections.abc import Callable

from localscribe.ingest.listener import Hl7Listener, check_bind
from localscribe.ingest.listener_tls import ListenerTls, check_transport, insecure_reasons
from localscribe.ingest.model import ScheduledVisit
from localscribe.vault import roles
from localscribe.vault.roles import PermissionDenied
from localscribe.vault import settings as vault_settings

SETTING = "ingest.hl7_listener"
PROCESSING_IDS = ("", "P", "T", "D")


@dataclass(frozen=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 2575
    tls_cert: str = ""
    tls_key: str = ""
    client_ca: str = ""           # set: sender authentication by client certificate
    processing_id: str = ""       # accept only this MSH-11 (empty: any)
    insecure: bool = False        # an admin accepted plain TCP on a non-loopback host

    def tls(self) -> ListenerTls | None:
        return ListenerTls(self.tls_cert, self.tls_key, self.client_ca) if self.tls_cert else None

    def problems(self) -> list[str]:
        """Settings that cannot work together (one line each)."""
        out = []
        if bool(self.tls_cert) != bool(self.tls_key):
            out.append("tls_cert and tls_key go together")
        if self.client_ca and not self.tls_cert:
            out.append("client_ca (sender authentication) needs TLS: give tls_cert and tls_key")
        if not 0 <= self.port <= 65535:
            out.append(f"port {self.port} is not a TCP port")
        if self.processing_id not in PROCESSING_IDS:
            out.append("processing_id must be P, T, D or empty")
        return out


def load(session: Any) -> ListenerConfig:
    """The configuration as the vault's signed settings hold it (an edit of the database
    outside LocalScribe, say a waiver slipped in, fails the vault's integrity check)."""
    stored = session.get_setting(SETTING, {}) or {}
    known = {f.name for f in fields(ListenerConfig)}
    return ListenerConfig(**{k: v for k, v in stored.items() if k in known})


def configure(session: Any, values: dict[str, Any], insecure: bool = False) -> ListenerConfig:
    """An admin's change, merged over the stored configuration, checked as a whole (address
    rule, transport rule, certificate files loadable) before it is saved; audited. Plain TCP
    off loopback needs ``insecure`` on every change that keeps it, as connectors do."""
    if not roles.allows(session.role, roles.SETTINGS_MANAGE):
        session.audit("denied", "schedule.listener", "denied", permission=roles.SETTINGS_MANAGE)
        raise PermissionDenied(f"{session.user} ({session.role.value}) may not configure the "
                               "HL7 listener")
    config = replace(load(session), **values, insecure=insecure)
    bad = config.problems()
    if bad:
        raise ValueError("; ".join(bad))
    check_bind(config.host, session.get_setting(vault_settings.EGRESS_ALLOW, []) or [])
    check_transport(config.host, config.tls(), insecure)
    tls = config.tls()
    if tls is not None:
        tls.context()                      # the files load now, not at the first sender
    if not insecure_reasons(config.host, tls):
        config = replace(config, insecure=False)    # nothing to accept: do not store a waiver
    session.set_setting(SETTING, asdict(config))      # signed, audited as settings.change
    session.audit("schedule.listener.configure", "hl7", host=config.host, port=config.port,
                  tls=tls is not None, sender_auth=bool(config.client_ca),
                  insecure=insecure_reasons(config.host, tls))
    return config


def start_listener(session: Any, *, host: str | None = None, port: int | None = None,
                   processing_id: str | None = None,
                   on_event: Callable[[str, dict[str, Any]], None] | None = None) -> Hl7Listener:
    """Bind and start the listener with the admin's configuration (address, port and MSH-11
    may be narrowed per run; TLS and the insecure waiver may not be changed here); each visit
    is stored through :func:`ingest.service.receive` in ``session``, role-checked and audited.
    The caller stops it (``.stop()``) and locks nothing: it owns the session.

    Raises BindRefused / ListenerTlsError (one line, the configuration's fault) or OSError
    (the port is taken)."""
    from localscribe.ingest.service import receive

    if not roles.allows(session.role, roles.PHI_WRITE):    # it could store nothing: refuse now
        session.audit("denied", "schedule", "denied", permission=roles.PHI_WRITE)
        raise PermissionDenied(f"{session.user} ({session.role.value}) may not receive patient "
                               "data; run the listener as a clinician or assistant")
    config = load(session)
    bind = host or config.host
    allowed = session.get_setting(vault_settings.EGRESS_ALLOW, []) or []

    def store(visit: ScheduledVisit, raw: bytes, kind: str) -> ScheduledVisit:
        return receive(session, visit, raw, kind)

    listener = Hl7Listener(store, bind, config.port if port is None else port, allowed=allowed,
                           processing_id=config.processing_id if processing_id is None
                           else processing_id, tls=config.tls(),
                           # The waiver covers the address the admin accepted it for only.
                           insecure=config.insecure and bind == config.host,
                           on_event=on_event)
    listener.start()
    session.audit("schedule.listen", f"{listener.host}:{listener.port}",
                  tls=config.tls() is not None, sender_auth=bool(config.client_ca))
    return listener
