"""`localscribe security report`: the page an auditor asks for. No PHI by construction.

It reads versions, model file hashes against the manifest, the vault's key-derivation and
encryption parameters, the egress allowlist and blocked attempts, the audit chain status,
retention settings, and users with their roles. It never opens an encounter.
"""

from __future__ import annotations

import platform
import sqlite3
import sys
from datetime import datetime, UTC
from importlib import metadata
from typing import TYPE_CHECKING, Any

from localscribe.config import Paths
from localscribe.models.backend import engine_backends

if TYPE_CHECKING:   # the vault imports security's leaves; only the type comes back this way
    from sqlite_utils import Database

    from localscribe.vault.session import Session

_DISTRIBUTIONS = ("localscribe", "pywhispercpp", "llama-cpp-python", "cryptography",
                  "sqlite-utils", "numpy", "keyring", "pyside6-essentials", "sounddevice",
                  "soundfile", "fhir.resources", "hl7apy")


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dist in _DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["sqlite"] = sqlite3.sqlite_version
    try:
        from cryptography.hazmat.backends.openssl.backend import backend
        out["openssl"] = backend.openssl_version_text()
    except Exception as exc:   # report what we could not read instead of failing the page
        out["openssl"] = f"unavailable ({type(exc).__name__})"
    try:
        from PySide6 import QtCore   # no display needed for the version
        out["qt"] = QtCore.qVersion()
    except Exception:
        out["qt"] = None
    return out


def _models(paths: Paths) -> list[dict[str, Any]]:
    try:
        from localscribe.models.hashing import sha256_file
        from localscribe.models.manifest import load_manifest
        manifest = load_manifest()
    except Exception as exc:
        return [{"error": f"model manifest unavailable: {exc}"}]
    rows = []
    for spec in manifest.models:
        path = paths.models_dir / spec.file
        row = {"id": spec.id, "role": spec.role, "profiles": list(spec.profiles),
               "file": spec.file, "present": path.is_file(), "expected_sha256": spec.sha256}
        if path.is_file():
            actual = sha256_file(path)
            row.update(sha256=actual, matches_manifest=actual == spec.sha256)
        rows.append(row)
    return rows


def _os_rule() -> dict[str, Any]:
    """The proof, not a setting: a child process (bash) tries a forbidden send right now."""
    from localscribe.security import os_rule

    probe = os_rule.probe()
    return {"active": probe.active, "probe": probe.state, "detail": probe.detail,
            "target": f"{os_rule.PROBE_HOST}:{os_rule.PROBE_PORT}", "summary": probe.describe()}


def _insecure_connectors(db: Database) -> list[dict[str, Any]] | str:
    try:
        from localscribe.ehr.service import insecure_connectors
        return insecure_connectors(db)
    except Exception as exc:   # report what we could not read instead of failing the page
        return f"unavailable ({type(exc).__name__})"


def build_report(paths: Paths, session: Session) -> dict[str, Any]:
    """Everything on the page, as plain data. ``session``: an auditor's or admin's Session."""
    from localscribe.security import egress
    from localscribe.vault import kdf, roles, settings
    from localscribe.vault.audit import key_fingerprint
    from localscribe.vault.schema import schema_state

    roles.require(session.role, roles.SECURITY_REPORT, session.user)
    vault = session.vault
    db = vault.db
    chain = session.audit_chain_status()
    blocked_total, blocked = session.blocked_network_events(limit=20)
    user_rows = vault.users()
    weak = [u.id for u in user_rows if u.kdf.is_weak and not u.disabled]
    conf = session.signed_settings()     # the signed values, not the plain mirror
    integrity = session.integrity_status()
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generated_by": {"user": session.user, "role": session.role.value},
        "platform": {"python": sys.version.split()[0], "system": platform.platform()},
        "versions": _versions(),
        "models": _models(paths),
        "compute": [b.to_dict() for b in engine_backends()],
        "vault": {
            "path": str(paths.vault_db), "vault_id": vault.vault_id,
            "journal_mode": db.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                db.execute("PRAGMA synchronous").fetchone()[0]),
            "schema": schema_state(db),
        },
        "encryption": {
            "phi_fields": "AES-256-GCM, 96-bit random nonce; associated data = table, record id, field",
            "audio_chunks": "AES-256-GCM; associated data = encounter id, chunk index, sample offset",
            "key_hierarchy": "per-role keys: PHI key (clinicians, assistants; granted by X25519 "
                             "sealing), secrets key, Ed25519 config and audit keys, a signing "
                             "key per user",
            "key_wrap": "AES-256-GCM per user; associated data = vault, user, revocation epoch",
            "audit": "SHA-256 hash chain + Ed25519 signature per event by its writer; exports "
                     "and anchors signed with the vault's Ed25519 audit key",
            "audit_key_fingerprint": key_fingerprint(session.audit_public_key),
        },
        "kdf": {
            "default": {**vars(vault.kdf_default),
                        "memory_mib": vault.kdf_default.memory_bytes // 2 ** 20},
            "production_floor": vars(kdf.PRODUCTION_FLOOR),
            "weak_users": weak,
            "warning": (f"WEAK KEY DERIVATION (test parameters) for: {', '.join(weak)}"
                        if weak or vault.kdf_default.is_weak else ""),
        },
        "egress": {
            "os_rule": _os_rule(),
            "guard_installed": egress.is_installed(),
            "allowlist_configured": conf.get(settings.EGRESS_ALLOW) or [],
            "allowlist_effective": egress.allowed_strings(),
            "loopback": "always allowed (127.0.0.0/8, ::1, localhost, AF_UNIX)",
            "blocked_attempts_recorded": blocked_total,
            "recent_blocked": [{"time": e.time, "target": e.object, "event": e.details.get("event"),
                                "pid": e.details.get("pid")} for e in blocked],
        },
        "connectors_insecure": _insecure_connectors(db),
        "integrity": {
            "security_state": ("authenticated" if integrity["state_authenticated"]
                               else "FAILED: " + "; ".join(integrity["problems"][:3])),
            "state_version": integrity["state_version"],
            "settings_authenticated": integrity["state_authenticated"],
            "kdf_floor": integrity["kdf_floor"], "kdf_default_signed": integrity["kdf_default"],
            "test_kdf_vault": integrity["test_kdf"],
            "last_anchor_at": integrity["last_anchor_at"],
            "anchor_age_s": integrity["anchor_age_s"],
            "pending_phi_grants": integrity["pending_grants"],
        },
        "audit_chain": {"ok": chain.ok, "events": chain.checked, "problem": chain.problem,
                        "first_bad_seq": chain.seq, "message": chain.message,
                        "authenticated": chain.authenticated},
        "retention": {"audio_days": conf.get("retention.audio_days"),
                      "records_days": conf.get("retention.records_days"),
                      "meaning": "audio_days 0 = audio purged when the note is signed; "
                                 "records_days null = encounter records kept"},
        "session": {"idle_timeout_s": conf.get(settings.IDLE_TIMEOUT),
                    "keyring_unlock_allowed": conf.get(settings.KEYRING_ALLOWED)},
        "users": [{"user": u.id, "role": u.role.value, "disabled": u.disabled, "locked": u.locked,
                   "failed_attempts": u.failed_attempts, "keyring_unlock": u.keyring_unlock,
                   "kdf_n": u.kdf.n, "kdf_r": u.kdf.r, "kdf_p": u.kdf.p} for u in user_rows],
        "roles": {r.value: sorted(p) for r, p in roles.PERMISSIONS.items()},
    }
    session.audit("security.report", "", "ok", audit_ok=chain.ok, blocked=blocked_total)
    return report


def format_text(report: dict[str, Any]) -> str:
    lines = [f"LocalScribe security report  ({report['generated_at']}, by "
             f"{report['generated_by']['user']}/{report['generated_by']['role']})", ""]
    if report["kdf"]["warning"]:
        lines += ["!" * 72, f"!! {report['kdf']['warning']}", "!" * 72, ""]
    chain = report["audit_chain"]
    lines += ["Audit chain: " + ("OK" if chain["ok"] else "BROKEN") +
              f" ({chain['events']} events checked) - {chain['message']}"]
    i = report["integrity"]
    age = i["anchor_age_s"]
    fl = i["kdf_floor"]
    lines += [f"Security state (users, settings, connectors, KDF): {i['security_state']} "
              f"(signed version {i['state_version']})",
              "External audit anchor: " + ("NONE - run `localscribe audit anchor FILE` and keep "
                                           "the file elsewhere" if age is None else
                                           f"{i['last_anchor_at']} ({age // 86400} day(s) ago)"),
              f"KDF floor for new wraps: scrypt n={fl['n']} r={fl['r']} p={fl['p']}"
              + (" (TEST VAULT)" if i["test_kdf_vault"] else ""),
              f"PHI access waiting for a clinician's grant: "
              f"{', '.join(i['pending_phi_grants']) or 'none'}", ""]
    lines.append("Versions:")
    lines += [f"  {k:<20} {v}" for k, v in report["versions"].items()]
    lines += ["", "Models (file hash vs manifest):"]
    for m in report["models"]:
        if "error" in m:
            lines.append(f"  {m['error']}")
            continue
        state = ("MISSING" if not m["present"]
                 else "OK" if m.get("matches_manifest") else "HASH MISMATCH")
        lines.append(f"  {m['id']:<28} {m['role']:<4} {state:<13} {m['file']}")
    lines += ["", "Compute backends (what the engines were built with):"]
    lines += [f"  {b['engine']:<12} {b['backend']}" + ("" if b["gpu_offload"] or b["backend"] == "CPU"
                                                      else " (no GPU device offload)")
              for b in report.get("compute", [])]
    v = report["vault"]
    lines += ["", f"Vault: {v['path']} (id {v['vault_id']}, journal {v['journal_mode']}, "
                  f"synchronous {v['synchronous']}, schema {v['schema']['core_version']})"]
    lines += ["Encryption:"] + [f"  {k:<22} {val}" for k, val in report["encryption"].items()]
    d = report["kdf"]["default"]
    lines += [f"Key derivation: scrypt n={d['n']} r={d['r']} p={d['p']} ({d['memory_mib']} MiB)"]
    e = report["egress"]
    lines += ["", e["os_rule"]["summary"],
              f"Egress guard (Python hook): {'installed' if e['guard_installed'] else 'NOT INSTALLED'}; "
                  f"loopback {e['loopback']}",
              f"  allowlist (configured): {', '.join(e['allowlist_configured']) or '(none)'}",
              f"  allowlist (this process): {', '.join(e['allowlist_effective']) or '(none)'}",
              f"  blocked attempts on record: {e['blocked_attempts_recorded']}"]
    lines += [f"    {b['time']}  {b['target']}  ({b['event']}, pid {b['pid']})"
              for b in e["recent_blocked"]]
    weak = report["connectors_insecure"]
    lines.append("EHR connectors with weakened transport security (--insecure): " + (
        weak if isinstance(weak, str) else "; ".join(
            f"{c['name']} ({', '.join(c['reasons'])})" for c in weak) or "none"))
    r = report["retention"]
    lines += ["", f"Retention: audio {r['audio_days']} day(s) after signing "
                  f"(0 = at signing); records "
                  f"{'kept' if r['records_days'] is None else str(r['records_days']) + ' days'}",
              f"Idle lock: {report['session']['idle_timeout_s']} s; keyring unlock allowed: "
              f"{report['session']['keyring_unlock_allowed']}", "", "Users:"]
    for u in report["users"]:
        flags = [f for f, on in (("disabled", u["disabled"]), ("locked", u["locked"]),
                                 ("keyring", u["keyring_unlock"])) if on]
        lines.append(f"  {u['user']:<20} {u['role']:<10} {' '.join(flags)}")
    return "\n".join(lines) + "\n"


def report_text(paths: Paths, session: Session) -> str:
    return format_text(build_report(paths, session))
