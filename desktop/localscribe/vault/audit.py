"""The audit trail: append-only events, hash-chained and signed by the user who wrote them.

Each event's ``hash`` is SHA-256 over its canonical JSON, which includes the previous event's
hash and the signer, so removing, reordering or editing an event breaks the chain at that
point. Each event also carries ``sig``, an Ed25519 signature by the writing user's own key
(public keys are in the signed security state), so nobody can rewrite an event they did not
write: removing event k means re-chaining every later event, and any of those written by
someone else no longer verifies. The first event must be the vault's creation. The newest
(seq, hash) is anchored in ``meta.audit_head``, signed by the writer of that newest event, so
cutting events off the end is detected unless the cut lands right after one of the cutter's
own events; that last case (a rollback) is what an auditor's external anchor catches (see
``audit_anchor``).

Exports (JSON lines) are verifiable on another machine without any secret: they carry every
user's public signing key and end with a head record signed with the vault's Ed25519 audit
key, whose fingerprint the practice records once.

Details must be non-PHI (ids, counts, hashes, setting names); keys that usually carry PHI are
refused outright.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from localscribe.vault.db import transaction

GENESIS = "0" * 64
EXPORT_FORMAT = "localscribe-audit/2"
_PHI_KEYS = frozenset({"text", "transcript", "note", "patient", "name", "patient_name", "mrn",
                       "dob", "birth_date", "body", "content", "passphrase", "password", "secret"})
_FIELDS = ("seq", "time", "actor", "role", "action", "object", "outcome", "details", "prev_hash",
           "signer")


# The vault's one wall clock. Tests and scripted demos set it (``use_clock``) so stored times
# are known exactly without sleeping; nothing in the app sets it.
_CLOCKS: list[Callable[[], datetime]] = []


def utcnow() -> str:
    now = _CLOCKS[-1]() if _CLOCKS else datetime.now(UTC)
    return now.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@contextmanager
def use_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within the block every time the vault stores comes from ``clock`` (aware datetimes)."""
    _CLOCKS.append(clock)
    try:
        yield
    finally:
        _CLOCKS.remove(clock)


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    time: str
    actor: str
    role: str
    action: str
    object: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    signer: str = ""
    sig: str = ""

    @property
    def at(self) -> str:
        return self.time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditEvent:
        details = d["details"]
        if isinstance(details, str):
            details = json.loads(details)
        return cls(seq=int(d["seq"]), time=str(d["time"]), actor=str(d["actor"]),
                   role=str(d["role"]), action=str(d["action"]), object=str(d["object"]),
                   outcome=str(d["outcome"]), details=details, prev_hash=str(d["prev_hash"]),
                   hash=str(d["hash"]), signer=str(d.get("signer", "")), sig=str(d.get("sig", "")))


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""              # altered | deleted | reordered | truncated | forged | unanchored
    seq: int | None = None         # the first event found wrong
    message: str = "audit chain intact"
    authenticated: bool = False    # MACs or the export signature were checked
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(ev: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: ev[k] for k in _FIELDS})).hexdigest()


def _event_msg(vault_id: str, digest: str) -> bytes:
    return f"localscribe-event:{vault_id}:{digest}".encode()


def _head_msg(vault_id: str, seq: int, digest: str) -> bytes:
    return f"localscribe-head:{vault_id}:{seq}:{digest}".encode()


def _verifies(keys_hex: Iterable[str], sig_hex: str, msg: bytes) -> bool:
    try:
        sig = bytes.fromhex(sig_hex)
    except ValueError:
        return False
    for k in keys_hex:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(k)).verify(sig, msg)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def check_details(details: dict[str, Any]) -> dict[str, Any]:
    bad = sorted(k for k in details if k.lower() in _PHI_KEYS)
    if bad:
        raise ValueError(f"audit details must not carry PHI; refused keys: {', '.join(bad)}")
    json.dumps(details)   # must be JSON-serialisable before it enters the chain
    return details


def key_fingerprint(public_raw: bytes) -> str:
    digest = hashlib.sha256(public_raw).hexdigest()[:32]
    return ":".join(digest[i:i + 4] for i in range(0, len(digest), 4))


class AuditLog:
    """Appends and verifies events in an open vault, signing as ``signer`` with ``key``.

    ``public_keys()`` returns {user: [hex public keys]} from the verified security state."""

    def __init__(self, db: sqlite_utils.Database, vault_id: str, signer: str,
                 key: Ed25519PrivateKey,
                 public_keys: Callable[[], dict[str, list[str]]] | None = None):
        self.db = db
        self.vault_id = vault_id
        self.signer = signer
        self._key = key
        self._public_keys = public_keys
        self.reanchor = False   # only an admin's reviewed repair continues a trail without head

    def _keys(self) -> dict[str, list[str]] | None:
        """None for a log opened only to append (vault creation): the chain, not the signers."""
        return self._public_keys() if self._public_keys is not None else None

    # ------------------------------------------------------------ writing
    def append(self, actor: str, role: str, action: str, object: str = "", outcome: str = "ok",
               details: dict[str, Any] | None = None, time: str | None = None) -> AuditEvent:
        details = check_details(dict(details or {}))
        with transaction(self.db):
            head = self.head()
            if head is None:
                last = self.db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC "
                                       "LIMIT 1").fetchone()
                if last is not None and not self.reanchor:
                    # Continuing would re-anchor a trail whose end may have been cut off.
                    from localscribe.vault.integrity import IntegrityError
                    raise IntegrityError("the audit head anchor is missing (events may have "
                                         "been cut off the end); refused")
                head = {"seq": last[0], "hash": last[1]} if last else None
            seq, prev = (head["seq"] + 1, head["hash"]) if head else (1, GENESIS)
            ev: dict[str, Any] = {
                "seq": seq, "time": time or utcnow(), "actor": actor, "role": role,
                "action": action, "object": object, "outcome": outcome, "details": details,
                "prev_hash": prev, "signer": self.signer}
            ev_hash = event_hash(ev)
            ev["hash"] = ev_hash
            ev["sig"] = self._key.sign(_event_msg(self.vault_id, ev_hash)).hex()
            self.db.execute(
                "INSERT INTO audit_events (seq, time, actor, role, action, object, outcome, "
                "details, prev_hash, hash, mac, signer, sig) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (seq, ev["time"], actor, role, action, object, outcome,
                 json.dumps(details, sort_keys=True), prev, ev_hash, "", self.signer,
                 ev["sig"]))
            anchor = {"seq": seq, "hash": ev_hash, "signer": self.signer,
                      "sig": self._key.sign(_head_msg(self.vault_id, seq, ev_hash)).hex()}
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)",
                            (json.dumps(anchor),))
        return AuditEvent.from_dict(ev)

    def ingest_pending(self) -> int:
        """Chain the events recorded while no key was available (failed unlocks and the like)."""
        count = 0
        with transaction(self.db):
            rows = self.db.execute("SELECT id, time, actor, role, action, object, outcome, details "
                                   "FROM audit_pending ORDER BY id").fetchall()
            for row in rows:
                details = json.loads(row[7])
                details["recorded_while_locked"] = True
                self.append(row[2], row[3], row[4], row[5], row[6], details, time=row[1])
                self.db.execute("DELETE FROM audit_pending WHERE id = ?", (row[0],))
                count += 1
        return count

    # ------------------------------------------------------------ reading
    def head(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
        return json.loads(row[0]) if row else None

    def events(self, since_seq: int = 0) -> list[AuditEvent]:
        rows = self.db.execute(
            "SELECT seq, time, actor, role, action, object, outcome, details, prev_hash, hash, signer, sig "
            "FROM audit_events WHERE seq > ? ORDER BY seq", (since_seq,)).fetchall()
        keys = ("seq", "time", "actor", "role", "action", "object", "outcome", "details",
                "prev_hash", "hash", "signer", "sig")
        return [AuditEvent.from_dict(dict(zip(keys, r))) for r in rows]

    def verify(self) -> VerifyResult:
        """Never raises: a damaged table, row or anchor is a FAILED verdict naming the place."""
        try:
            return verify_chain(self.events(), public_keys=self._keys(),
                                head=self.head(), vault_id=self.vault_id)
        except Exception as exc:   # dropped table, garbage in a column: still one verdict
            return VerifyResult(False, 0, "altered", None,
                                f"the audit trail cannot be read ({type(exc).__name__}: "
                                f"{str(exc)[:120]}): the vault file was damaged or edited")

    # ------------------------------------------------------------ export
    def export(self, out: Path, exported_by: str, signing_key: Ed25519PrivateKey) -> int:
        events = self.events()
        keys = self._keys() or {}
        exported_at = utcnow()
        public_raw = signing_key.public_key().public_bytes_raw()
        last = events[-1] if events else None
        signed = {"vault_id": self.vault_id, "exported_at": exported_at,
                  "seq": last.seq if last else 0, "hash": last.hash if last else GENESIS,
                  "count": len(events), "keys_sha256": hashlib.sha256(canonical(keys)).hexdigest()}
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"type": "header", "format": EXPORT_FORMAT,
                                "vault_id": self.vault_id, "exported_at": exported_at,
                                "exported_by": exported_by, "public_key": public_raw.hex(),
                                "key_fingerprint": key_fingerprint(public_raw),
                                "signing_keys": keys}) + "\n")
            for ev in events:
                f.write(json.dumps({"type": "event", **ev.to_dict()}, sort_keys=True) + "\n")
            f.write(json.dumps({"type": "head", **signed,
                                "signature": signing_key.sign(canonical(signed)).hex()}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(out)
        return len(events)


# ---------------------------------------------------------------- verification

def verify_chain(events: list[AuditEvent], public_keys: dict[str, list[str]] | None = None,
                 head: dict[str, Any] | None = None, expect_head: bool = True,
                 vault_id: str = "") -> VerifyResult:
    """Walk the chain in stored order and name the first event that is wrong.

    ``public_keys`` ({user: [hex]}): check every event's signature and the head's; without
    them only the hash chain is checked (``authenticated`` stays False)."""
    if not events:
        return VerifyResult(False, 0, "truncated", 1, "the trail is empty: event #1 (the "
                            "vault's creation) and everything after it are missing")
    seqs_after: dict[int, int] = {}
    for i, ev in enumerate(events):
        seqs_after.setdefault(ev.seq, i)
    expected, prev = 1, GENESIS
    for i, ev in enumerate(events):
        d = ev.to_dict()
        if ev.seq != expected:
            later = seqs_after.get(expected)
            if later is not None and later > i or ev.seq < expected:
                return _bad(i, "reordered", expected,
                            f"event #{expected} is out of order: found #{ev.seq} in its place")
            return _bad(i, "deleted", expected,
                        f"event #{expected} is missing (deleted); the next event found is #{ev.seq}")
        if event_hash(d) != ev.hash:
            # A row whose content is intact but carries another position's number was moved.
            original = _original_seq(d, ev.hash, len(events))
            if original is not None:
                return _bad(i, "reordered", expected,
                            f"event #{expected} is out of order: event #{original} was moved "
                            "into its place")
            return _bad(i, "altered", expected,
                        f"event #{expected} was altered: its content no longer matches its hash")
        if public_keys is not None:
            if not _verifies(public_keys.get(ev.signer, ()), ev.sig,
                             _event_msg(vault_id, ev.hash)):
                return _bad(i, "forged", expected,
                            f"event #{expected} fails its signature: not written by "
                            f"{ev.signer or 'anyone known'} (rewritten or inserted)")
            if ev.actor != ev.signer and ev.actor != "system" and \
                    not ev.details.get("recorded_while_locked"):
                return _bad(i, "forged", expected,
                            f"event #{expected} claims actor {ev.actor} but was signed by "
                            f"{ev.signer}")
        if ev.prev_hash != prev:
            return _bad(i, "deleted", expected,
                        f"the chain is broken before event #{expected}: an event before it was "
                        "removed or replaced")
        if expected == 1 and (ev.action != "vault.create" or
                              (vault_id and ev.object != vault_id)):
            return _bad(i, "altered", 1, "event #1 is not this vault's creation: the start of "
                        "the trail was removed or replaced")
        prev = ev.hash
        expected += 1
    last_seq = expected - 1
    authenticated = public_keys is not None
    if head is None:
        if expect_head:
            return VerifyResult(False, len(events), "unanchored", last_seq,
                                "the audit head anchor is missing: cannot rule out truncation")
        return VerifyResult(True, len(events), authenticated=authenticated)
    try:
        head_seq, head_hash = int(head["seq"]), str(head["hash"])
    except (KeyError, TypeError, ValueError):
        return VerifyResult(False, len(events), "unanchored", last_seq,
                            "the audit head anchor is damaged: cannot rule out truncation")
    if public_keys is not None:   # i.e. authenticated
        writer = events[head_seq - 1].signer if 0 < head_seq <= len(events) else None
        signer = str(head.get("signer", ""))
        if writer is not None and signer != writer or not _verifies(
                public_keys.get(signer, ()), str(head.get("sig", "")),
                _head_msg(vault_id, head_seq, head_hash)):
            return VerifyResult(False, len(events), "forged", head_seq,
                                "the audit head anchor fails its signature: it was rewritten "
                                "(events may have been cut off the end)")
    if head_seq > last_seq:
        return VerifyResult(False, len(events), "truncated", last_seq + 1,
                            f"the trail was cut off: events #{last_seq + 1}..#{head_seq} are "
                            "missing from the end")
    if head_seq < last_seq:
        return VerifyResult(False, len(events), "unanchored", head_seq + 1,
                            f"events after #{head_seq} were appended outside LocalScribe")
    if head_hash != prev:
        return VerifyResult(False, len(events), "altered", last_seq,
                            f"event #{last_seq} does not match the anchored head")
    return VerifyResult(True, len(events), authenticated=authenticated)


def _original_seq(d: dict[str, Any], digest: str, n: int) -> int | None:
    for candidate in range(1, n + 2):
        if event_hash({**d, "seq": candidate}) == digest:
            return candidate
    return None


def _bad(i: int, problem: str, seq: int, message: str) -> VerifyResult:
    return VerifyResult(False, i, problem, seq, message)
