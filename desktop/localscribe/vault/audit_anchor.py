"""External anchors: the auditor keeps the trail's head outside the vault, so a rollback shows.

Inside the file, a user who cuts the trail back to one of their own events, or someone who
restores an old copy of the whole vault, leaves a chain that is consistent with itself. An
anchor is the head (sequence number and hash) at a moment, signed with the vault's audit key
(auditors and admins only), written to a file the auditor keeps elsewhere (removable media, an
e-mail to themselves) or printed. ``audit verify --anchor FILE`` then checks that the current
trail still contains that exact event: if it is shorter, or differs at that point, the trail
was rolled back or rewritten since the anchor was taken.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from localscribe.vault.audit import AuditEvent, VerifyResult, canonical, key_fingerprint, utcnow

ANCHOR_FORMAT = "localscribe-audit-anchor/1"


def make(events: list[AuditEvent], vault_id: str, signing_key: Ed25519PrivateKey,
         anchored_by: str) -> dict[str, Any]:
    last = events[-1]
    body = {"format": ANCHOR_FORMAT, "vault_id": vault_id, "seq": last.seq, "hash": last.hash,
            "anchored_at": utcnow(), "anchored_by": anchored_by}
    public_raw = signing_key.public_key().public_bytes_raw()
    return {**body, "key_fingerprint": key_fingerprint(public_raw),
            "signature": signing_key.sign(canonical(body)).hex()}


def write(anchor: dict[str, Any], out: Path) -> None:
    Path(out).write_text(json.dumps(anchor, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def printed(anchor: dict[str, Any]) -> str:
    """The line to write down or e-mail: enough to detect a rollback by hand."""
    return f"audit head #{anchor['seq']} sha256 {anchor['hash']} at {anchor['anchored_at']}"


def check(events: list[AuditEvent], anchor_path: Path, vault_id: str,
          audit_public: bytes) -> VerifyResult | None:
    """None when the trail still holds the anchored event; otherwise a FAILED verdict."""
    try:
        anchor = json.loads(Path(anchor_path).read_text(encoding="utf-8"))
        body = {k: anchor[k] for k in ("format", "vault_id", "seq", "hash", "anchored_at",
                                       "anchored_by")}
        Ed25519PublicKey.from_public_bytes(audit_public).verify(
            bytes.fromhex(anchor["signature"]), canonical(body))
    except (OSError, ValueError, KeyError, TypeError, InvalidSignature) as exc:
        return VerifyResult(False, 0, "forged", None,
                            f"anchor file {anchor_path} is not a valid anchor of this vault "
                            f"({type(exc).__name__})")
    if body["format"] != ANCHOR_FORMAT or body["vault_id"] != vault_id:
        return VerifyResult(False, 0, "forged", None,
                            f"anchor file {anchor_path} belongs to another vault")
    seq = int(body["seq"])
    by_seq = {e.seq: e for e in events}
    if seq not in by_seq:
        last = events[-1].seq if events else 0
        return VerifyResult(False, len(events), "truncated", last + 1,
                            f"rolled back: the trail ends at #{last} but the anchor of "
                            f"{body['anchored_at']} recorded #{seq}; events #{last + 1}..#{seq} "
                            "are gone")
    if by_seq[seq].hash != body["hash"]:
        return VerifyResult(False, len(events), "altered", seq,
                            f"rewritten: event #{seq} differs from the anchor of "
                            f"{body['anchored_at']}")
    return None


def newest_anchor_time(events: list[AuditEvent]) -> str | None:
    for ev in reversed(events):
        if ev.action == "audit.anchor" and ev.outcome == "ok":
            return ev.time
    return None
