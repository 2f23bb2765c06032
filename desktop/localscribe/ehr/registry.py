"""Finding connectors: every installed distribution that declares an entry point in the
``localscribe.connectors`` group contributes one, built-ins included (they are registered in
LocalScribe's own pyproject.toml the same way a practice's package would be).

A broken third-party package must not take the app down: it is reported in ``problems`` and
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from localscribe.ehr.protocol import (ENTRY_POINT_GROUP, ConnectorConfig, ConnectorContext,
                                      ConnectorError, Setting)


@dataclass(frozen=True)
class ConnectorInfo:
    kind: str
    title: str
    settings: tuple[Setting, ...]
    distribution: str       # the package that provides it, e.g. "localscribe"
    target: str             # "module:Class"
    factory: Any


@dataclass(frozen=True)
class Discovery:
    connectors: dict[str, ConnectorInfo]
    problems: tuple[str, ...]


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "?"


def discover() -> Discovery:
    """Load every registered connector class (import errors are reported, not raised)."""
    found: dict[str, ConnectorInfo] = {}
    problems: list[str] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in found:
            problems.append(f"connector '{ep.name}' is registered twice "
                            f"({found[ep.name].distribution} and {_distribution(ep)}); "
                            "keeping the first")
            continue
        try:
            factory = ep.load()
        except Exception as exc:   # a third-party import failure is that package's problem
            problems.append(f"connector '{ep.name}' from {_distribution(ep)} failed to load: "
                            f"{type(exc).__name__}: {exc}")
            continue
        missing = [a for a in ("push", "check", "amend") if not callable(getattr(factory, a, None))]
        if missing:
            problems.append(f"connector '{ep.name}' from {_distribution(ep)} lacks "
                            f"{', '.join(missing)}; skipped")
            continue
        found[ep.name] = ConnectorInfo(
            kind=ep.name, title=str(getattr(factory, "title", "") or ep.name),
            settings=tuple(getattr(factory, "settings", ())), distribution=_distribution(ep),
            target=ep.value, factory=factory)
    return Discovery(connectors=found, problems=tuple(problems))


def get_info(kind: str) -> ConnectorInfo:
    d = discover()
    if kind not in d.connectors:
        known = ", ".join(sorted(d.connectors)) or "none"
        raise ConnectorError(f"no connector of kind '{kind}' is installed (installed: {known})")
    return d.connectors[kind]


def instantiate(config: ConnectorConfig, context: ConnectorContext | None = None) -> Any:
    """Build a configured connector. Its endpoints pass the egress guard only when the admin's
    allowlist holds them (``session.allow_endpoint``, done by ``ehr configure``)."""
    info = get_info(config.kind)
    context = context or ConnectorContext()
    connector = info.factory(config, context)
    if context.allow_egress is not None:
        for host, port in connector.endpoints():
            context.allow_egress(host, port)
    return connector
