"""Checking an exported audit file on any machine, with no secret: the chain, every event's
signature (the export carries each user's public signing keys), completeness (the head record
signed with the vault's audit key) and, when given, the practice's pinned key fingerprint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from localscribe.vault.audit import (EXPORT_FORMAT, GENESIS, AuditEvent, VerifyResult, canonical,
                                     key_fingerprint, verify_chain)


def verify_export(path: Path, expect_fingerprint: str | None = None) -> VerifyResult:
    """Never raises: a damaged or foreign file is a FAILED verdict."""
    try:
        return _verify_export(Path(path), expect_fingerprint)
    except Exception as exc:
        return VerifyResult(False, 0, "altered", None, f"the export cannot be checked "
                            f"({type(exc).__name__}: {str(exc)[:120]})")


def _verify_export(path: Path, expect_fingerprint: str | None) -> VerifyResult:
    """Check an exported file: chain, completeness (signed head) and, when given, the key pin."""
    header, head, events = None, None, []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                kind = rec.pop("type")
                if kind == "header":
                    header = rec
                elif kind == "event":
                    events.append(AuditEvent.from_dict(rec))
                elif kind == "head":
                    head = rec
            except (ValueError, KeyError, TypeError):
                seq = events[-1].seq + 1 if events else 1
                return VerifyResult(False, len(events), "altered", seq,
                                    f"line {lineno} is not a valid audit record (near event #{seq})")
    if header is None or header.get("format") != EXPORT_FORMAT:
        return VerifyResult(False, 0, "altered", None, "not a LocalScribe audit export (no header)")
    keys = header.get("signing_keys") or {}
    result = verify_chain(events, public_keys=keys, head=None, expect_head=False,
                          vault_id=header.get("vault_id", ""))
    if not result.ok:
        return result
    last_seq = events[-1].seq if events else 0
    if head is None:
        return VerifyResult(False, len(events), "truncated", last_seq + 1,
                            f"the file was cut off after event #{last_seq}: its signed head is missing")
    public_raw = bytes.fromhex(header["public_key"])
    signed = {k: head[k] for k in ("vault_id", "exported_at", "seq", "hash", "count",
                                   "keys_sha256")}
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(bytes.fromhex(head["signature"]),
                                                              canonical(signed))
    except (InvalidSignature, ValueError):
        return VerifyResult(False, len(events), "forged", int(head.get("seq", 0)) or None,
                            "the export's signed head does not verify: the file was altered")
    if signed["keys_sha256"] != hashlib.sha256(canonical(keys)).hexdigest():
        return VerifyResult(False, len(events), "forged", None,
                            "the export's signing keys were replaced: the file was altered")
    if signed["vault_id"] != header["vault_id"]:
        return VerifyResult(False, len(events), "forged", None, "header and head disagree on the vault")
    if int(head["seq"]) > last_seq or int(head["count"]) > len(events):
        return VerifyResult(False, len(events), "truncated", last_seq + 1,
                            f"the file was cut off: events #{last_seq + 1}..#{head['seq']} are missing")
    if int(head["seq"]) != last_seq or head["hash"] != (events[-1].hash if events else GENESIS):
        return VerifyResult(False, len(events), "altered", last_seq,
                            "the last event does not match the signed head")
    fingerprint = key_fingerprint(public_raw)
    if expect_fingerprint and expect_fingerprint.replace(":", "").lower() != \
            fingerprint.replace(":", ""):
        return VerifyResult(False, len(events), "forged", None,
                            f"signed with key {fingerprint}, not the expected {expect_fingerprint}")
    msg = (f"audit export intact: {len(events)} events, signed by key {fingerprint}"
           + ("" if expect_fingerprint else " (pass --expect-key to pin it)"))
    return VerifyResult(True, len(events), message=msg, authenticated=bool(expect_fingerprint),
                        details={"key_fingerprint": fingerprint,
                                                     "vault_id": header["vault_id"]})
