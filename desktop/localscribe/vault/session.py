"""An unlocked vault for one user: every method checks the role, then acts, then audits.

A session locks itself after ``idle_timeout_s`` without use (checked on each call; no timer
thread) and on ``lock()``; after that every method raises ``SessionLocked`` and the key material
it held is dropped. A refused action raises ``PermissionDenied`` and is audited as denied.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable

import numpy as np
import sqlite_utils

from localscribe.config import Paths
from localscribe.domain import Draft, Patient, SignedNote, Transcript
from localscribe.scorecard import edits as scorecard_edits
from localscribe.vault import egress_authority as egress  # the allowlist capability
from localscribe.vault import (audio_spool, audit_anchor, consent, crypto, integrity, keys,
                               lock_request, retention, roles, users, visit_lease)
from localscribe.vault import settings as settings_mod
from localscribe.vault.audit import AuditEvent, AuditLog, VerifyResult
from localscribe.vault.capability import Capability
from localscribe.vault.integrity import SecurityState
from localscribe.vault.session_admin import AdminOps
from localscribe.vault.db import transaction
from localscribe.vault.encounters import (SEND_STATUSES, SIGNED_STATUSES, Encounter,
                                          EncounterStore, NoteVersion, PatientNotIdentified)
from localscribe.vault.roles import PermissionDenied, Role
from localscribe.vault.session_base import SessionLocked, VaultFile

__all__ = ["Session", "SessionLocked", "UnacknowledgedFlags"]


class UnacknowledgedFlags(ValueError):
    """Signing refused: flagged statements the clinician has not acknowledged."""

    def __init__(self, statement_ids: list[str]):
        super().__init__(f"{len(statement_ids)} flagged statement(s) must be reviewed and "
                         f"acknowledged before signing: {', '.join(statement_ids)}")
        self.statement_ids = statement_ids


class Session(AdminOps):
    """Made by ``Vault.unlock`` through ``Session.start``, never directly: a session that
    has not run its start-up steps has not audited its unlock."""

    def __init__(self, vault: VaultFile, record: users.UserRecord, keyset: keys.Keyset,
                 state: SecurityState, idle_timeout_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.vault = vault
        self.user = record.id
        self.role = record.role
        self.idle_timeout_s = float(idle_timeout_s)
        self._clock = clock
        self._last_used = clock()
        self._keys = keyset
        self._state = state
        self._state_raw = ""
        self._bootstrap_phi = None   # see AdminOps.add_user
        ciphers = {}
        if keyset.phi is not None:
            ciphers["phi"] = crypto.FieldCipher(keyset.phi)
        if keyset.secrets is not None:
            ciphers["secrets"] = crypto.FieldCipher(keyset.secrets)
        pending = frozenset({"phi"} if self.role in keys.PHI_ROLES and keyset.phi is None
                            else ())
        self._cap = Capability(self.user, self.role, ciphers, self._check, integrity=self,
                               pending=pending)
        self._audit = AuditLog(vault.db, vault.vault_id, self.user, keyset.user_sign,
                               self._public_keys)
        self._store = EncounterStore(vault.db, self._cap)
        self._lock = threading.RLock()
        self._locked = False
        self._unlocked_at = time.time()

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, vault: VaultFile, record: users.UserRecord, keyset: keys.Keyset,
              state: SecurityState, idle_timeout_s: float, clock: Callable[[], float],
              method: str, repair: list[str] | None = None) -> Session:
        """A new session, after its start-up steps: the unlock is audited, pending and
        blocked-network events are chained, an admin's reviewed repair is applied, the
        persisted egress allowlist is restored, dead visits are marked interrupted and
        retention runs. ``method``: how the user authenticated ("passphrase", "keyring")."""
        session = cls(vault, record, keyset, state, idle_timeout_s, clock)
        session._start_up(method, repair)
        return session

    def _start_up(self, method: str, repair: list[str] | None) -> None:
        self._trail.reanchor = bool(repair)    # an admin's reviewed repair (see Vault.unlock)
        self._trail.ingest_pending()
        self.ingest_blocked_egress()
        self.audit("unlock", self.user, method=method,
                   phi_access=self._keyset.phi is not None if self.role in keys.PHI_ROLES
                   else None)
        if repair:
            self._repair_mirrors(repair)
        self._trail.reanchor = False
        self.grant_pending()
        for entry in self._setting(settings_mod.EGRESS_ALLOW) or []:
            ep = egress.Endpoint.parse(entry)
            egress.allow(ep.host, ep.port)
        egress.set_block_listener(self._on_blocked)
        visit_lease.mark_interrupted(self)     # visits whose process died: "interrupted"
        if self.role in (Role.CLINICIAN, Role.ADMIN):
            self.run_retention()

    @property
    def locked(self) -> bool:
        return self._locked

    def is_expired(self) -> bool:
        """Idle for longer than the timeout, or a lock was requested (``localscribe lock``)."""
        if self._locked:
            return False
        return (self._clock() - self._last_used >= self.idle_timeout_s
                or self._lock_requested())

    def _lock_requested(self) -> bool:
        return lock_request.requested_at(self.vault.db) > self._unlocked_at

    def touch(self) -> None:
        self._check()

    def lock(self, reason: str = "user") -> None:
        with self._lock:
            if self._locked:
                return
            try:
                self.audit("lock", self.user, reason=reason)
            finally:   # a damaged trail must never keep a session unlocked
                egress.remove_block_listener(self._on_blocked)
                self._locked = True
                self._capability.drop()
                self._keys = self._bootstrap_phi = None
                self._cap = self._audit = self._store = None

    def _check(self, permission: str | None = None, object: str = "") -> None:
        if self._locked:
            raise SessionLocked(f"session for {self.user} is locked; unlock again")
        if self.is_expired():
            requested = self._lock_requested()
            self.lock(reason="requested" if requested else "idle")
            raise SessionLocked(f"session for {self.user} locked "
                                + ("on request" if requested else
                                   f"after {self.idle_timeout_s:.0f} s idle") + "; unlock again")
        if permission and not roles.allows(self.role, permission):
            self.audit("denied", object, "denied", permission=permission)
            roles.require(self.role, permission, self.user)
        self._last_used = self._clock()

    # ------------------------------------------------------------ raw access for other modules
    @property
    def db(self) -> sqlite_utils.Database:
        """The vault database, for modules with their own tables (see vault.schema)."""
        self._check()
        return self.vault.db

    @property
    def cipher(self) -> Capability:
        """The role's capability (FieldCipher interface): only the keys this role holds."""
        self._check()
        return self._capability

    @property
    def capability(self) -> Capability:
        return self.cipher

    @property
    def audit_public_key(self) -> bytes:
        """The vault's audit key, as authenticated by this user's own wrap (the copy in the
        file's meta table is display-only: an attacker could swap it for their own)."""
        self._check()
        return self._keyset.audit_public

    @property
    def paths(self) -> Paths:
        return self.vault.paths

    # ------------------------------------------------------------ audit
    def audit(self, action: str, object: str = "", outcome: str = "ok", **details: Any
              ) -> AuditEvent:
        """Append an event (details: non-PHI only; PHI-looking keys are refused)."""
        if self._locked:
            raise SessionLocked(f"session for {self.user} is locked")
        with self._lock:
            return self._trail.append(self.user, self.role.value, action, object, outcome, details)

    def record_generation(self, eid: str, model_sha256: str, template: str, prompt_sha256: str,
                          **details: Any) -> None:
        self._check(roles.PHI_WRITE, eid)
        self.audit("generate", eid, model_sha256=model_sha256, template=template,
                   prompt_sha256=prompt_sha256, **details)

    def record_copy(self, eid: str, **details: Any) -> SignedNote:
        """Audit a copy of the signed note to the clipboard; returns the note to copy."""
        self._check(roles.NOTE_COPY, eid)
        note = self._encounters.signed_note(eid)
        if note is None:
            raise ValueError(f"encounter {eid} has no signed note to copy")
        self.audit("copy", eid, note_id=note.note_id, **details)
        return note

    def record_push(self, eid: str, connector: str, outcome: str, note_id: str = "",
                    **details: Any) -> None:
        self._check(roles.NOTE_PUSH, eid)
        self.audit("push", eid, outcome, connector=connector, note_id=note_id, **details)

    def _on_blocked(self, attempt: egress.BlockedAttempt) -> None:
        if not self._locked:
            self.ingest_blocked_egress()

    def ingest_blocked_egress(self) -> int:
        """Chain blocked network attempts (from any LocalScribe process) into the audit trail."""
        path = self.vault.egress_log_path
        if self._locked or not path.exists():
            return 0
        with self._lock, transaction(self.vault.db):
            row = self.vault.db.execute(
                "SELECT value FROM meta WHERE key = 'egress_log_offset'").fetchone()
            offset = int(row[0]) if row else 0
            attempts, new_offset = egress.read_block_log(path, offset)
            for a in attempts:
                target = a.host if a.port is None else f"{a.host}:{a.port}"
                self._trail.append("system", "system", "network.blocked", target, "denied",
                                   {"event": a.event, "pid": a.pid, "at": a.time})
            self.vault.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES "
                                  "('egress_log_offset', ?)", (str(new_offset),))
        return len(attempts)

    def audit_events(self, since_seq: int = 0) -> list[AuditEvent]:
        self._check(roles.AUDIT_READ)
        return self._trail.events(since_seq)

    def _full_verify(self, anchor: Path | None = None) -> VerifyResult:
        """Chain and signatures, the trail against the signed state (a cut that hid a
        security change), and optionally an external anchor. Never raises."""
        try:
            self.ingest_blocked_egress()
        except Exception:
            pass   # a damaged trail is reported by verify below
        result = self._trail.verify()
        if not result.ok:
            return result
        try:
            events = self._trail.events()
            state = self._current_state()
            recorded = integrity.recorded_version(events)
            if recorded < state.version:
                return VerifyResult(False, len(events), "truncated", events[-1].seq + 1,
                                    f"the trail was cut back after event #{events[-1].seq}: the "
                                    f"security state is at version {state.version} but the "
                                    f"trail records changes only up to version {recorded}")
            if anchor is not None:
                return audit_anchor.check(events, Path(anchor), self.vault.vault_id,
                                          self._keyset.audit_public) or result
        except Exception as exc:
            return VerifyResult(False, result.checked, "altered", None,
                                f"the trail cannot be checked ({type(exc).__name__}: "
                                f"{str(exc)[:120]})")
        return result

    def verify_audit(self, anchor: Path | None = None) -> VerifyResult:
        """The trail against itself and, given an anchor file, against that kept head.
        Never raises for damage: every problem is a FAILED verdict."""
        self._check(roles.AUDIT_READ)
        result = self._full_verify(anchor)
        try:
            self.audit("audit.verify", "", "ok" if result.ok else "failed",
                       problem=result.problem, seq=result.seq, checked=result.checked,
                       anchor=anchor is not None)
        except Exception:
            pass   # the verdict matters more than recording it on a broken trail
        return result

    def anchor_audit(self, out: Path | None = None) -> dict[str, Any]:
        """Sign the current head with the vault's audit key for the auditor to keep outside
        the vault (see audit_anchor)."""
        self._check(roles.AUDIT_EXPORT)
        if self._keyset.audit_sign is None:
            raise PermissionDenied(f"{self.user} holds no audit key")
        self.audit("audit.anchor", str(Path(out).name) if out else "printed")
        anchor = audit_anchor.make(self._trail.events(), self.vault.vault_id,
                                   self._keyset.audit_sign, self.user)
        if out is not None:
            audit_anchor.write(anchor, Path(out))
        return anchor

    def audit_chain_status(self) -> VerifyResult:
        """Chain status for the security report (auditor or admin; events themselves not shown)."""
        self._check(roles.SECURITY_REPORT)
        return self._full_verify()

    def blocked_network_events(self, limit: int = 50) -> tuple[int, list[AuditEvent]]:
        """(total, newest ``limit``) blocked network attempts on the audit trail."""
        self._check(roles.SECURITY_REPORT)
        db = self.vault.db
        total = db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'network.blocked'"
                           ).fetchone()[0]
        seqs = [r[0] for r in db.execute(
            "SELECT seq FROM audit_events WHERE action = 'network.blocked' ORDER BY seq DESC "
            "LIMIT ?", (limit,)).fetchall()]
        events = [e for e in self._trail.events(min(seqs) - 1) if e.seq in set(seqs)] if seqs else []
        return total, events

    def export_audit(self, out: Path) -> int:
        self._check(roles.AUDIT_EXPORT)
        self.ingest_blocked_egress()
        if self._keyset.audit_sign is None:
            raise PermissionDenied(f"{self.user} holds no audit key")
        self.audit("export", str(Path(out).name), kind="audit")
        return self._trail.export(Path(out), self.user, self._keyset.audit_sign)

    # ------------------------------------------------------------ encounters
    def create_encounter(self, patient: Patient, template: str) -> str:
        self._check(roles.PHI_WRITE)
        eid = self._encounters.create(patient, template, self.user)
        self.audit("encounter.create", eid, template=template)
        return eid

    def set_patient(self, eid: str, patient: Patient) -> None:
        """Attach the patient to an encounter started before they were known (Record first).
        Audited like ``encounter.create``: which fields were given, never their values."""
        self._check(roles.PHI_WRITE, eid)
        self._encounters.set_patient(eid, patient)
        self.audit("encounter.patient", eid, fields=[f for f in ("name", "mrn", "birth_date")
                                                     if getattr(patient, f)],
                   identified=not patient.identity_problem())

    def list_encounters(self) -> list[Encounter]:
        self._check(roles.PHI_READ)
        return self._encounters.list()

    def get_encounter(self, eid: str) -> Encounter:
        self._check(roles.PHI_READ, eid)
        return self._encounters.get(eid)

    def set_status(self, eid: str, status: str) -> None:
        if status in SEND_STATUSES:
            self._check(roles.NOTE_PUSH, eid)
            current = self._encounters.status(eid)
            if current not in SIGNED_STATUSES:
                raise ValueError(f"encounter {eid} is not signed; it cannot be {status}")
        elif status in SIGNED_STATUSES:
            raise ValueError(f"status {status!r} is set by sign()/amend(), not set_status()")
        else:
            self._check(roles.PHI_WRITE, eid)
            if self._encounters.status(eid) in SIGNED_STATUSES:
                raise ValueError(f"encounter {eid} is signed; it cannot go back to {status}")
        self._encounters.set_status(eid, status)
        self.audit("encounter.status", eid, status=status)

    def save_transcript(self, eid: str, transcript: Transcript) -> None:
        self._check(roles.PHI_WRITE, eid)
        self._encounters.save_transcript(eid, transcript)
        self.audit("transcript.save", eid, segments=len(transcript.segments))

    def load_transcript(self, eid: str) -> Transcript | None:
        self._check(roles.PHI_READ, eid)
        return self._encounters.load_transcript(eid)

    def save_draft(self, eid: str, draft: Draft) -> None:
        self._check(roles.PHI_WRITE, eid)
        did = self._encounters.save_draft(eid, draft, self.user)
        self.audit("draft.save", eid, draft_id=did, template=draft.template,
                   model_sha256=draft.model_sha256, prompt_sha256=draft.prompt_sha256,
                   statements=len(draft.statements), flagged=len(draft.flagged))

    def load_draft(self, eid: str) -> Draft | None:
        self._check(roles.PHI_READ, eid)
        return self._encounters.load_draft(eid)

    def save_note_version(self, eid: str, text: str) -> int:
        self._check(roles.PHI_WRITE, eid)
        version = self._encounters.save_note_version(eid, text, self.user)
        self.audit("edit", eid, version=version, chars=len(text))
        return version

    def latest_version(self, eid: str) -> NoteVersion | None:
        self._check(roles.PHI_READ, eid)
        return self._encounters.latest_version(eid)

    def note_versions(self, eid: str) -> list[NoteVersion]:
        self._check(roles.PHI_READ, eid)
        return self._encounters.note_versions(eid)

    def sign(self, eid: str, acknowledged_flag_ids: Iterable[str] = ()) -> SignedNote:
        """Sign the latest version. Every blocking flag of the latest draft must be
        acknowledged (its statement id, or each blocking flag as ``domain.flag_id``), and every
        empty-section notice (``domain.notice_id``); informational flags never block."""
        self._check(roles.NOTE_SIGN, eid)
        try:
            self._encounters.require_identified(eid)
        except PatientNotIdentified as exc:
            self.audit("sign", eid, "refused", reason="patient_not_identified",
                       missing=exc.problem)
            raise
        try:    # the practice's consent rule, in the same place as the identity rule
            consent.require(self.vault.db, eid, bool(self._setting(consent.REQUIRED)),
                            consent.verifier(self.vault.vault_id, self._public_keys()))
        except consent.ConsentMissing as exc:
            self.audit("sign", eid, "refused", reason=f"consent_{exc.state.value}")
            raise
        draft = self._encounters.load_draft(eid)
        acknowledged = set(acknowledged_flag_ids)
        missing = draft.unacknowledged(acknowledged) if draft else []
        from localscribe.instructions import store as instructions   # signed with the note
        missing += instructions.unacknowledged(self, eid, acknowledged)
        if missing:
            self.audit("sign", eid, "refused", unacknowledged=missing)
            raise UnacknowledgedFlags(missing)
        note = self._encounters.sign(eid, self.user)
        self.audit("sign", eid, note_id=note.note_id, version=note.version,
                   acknowledged=sorted(acknowledged))
        scorecard_edits.record(self, eid, draft, note)   # PHI-free edit counts (scorecard)
        from localscribe.style import store as style   # the clinician's style learns (never fails)
        style.learn_from_signing(self, eid, draft, note)
        instructions.seal_with_note(self, eid, note)
        self._purge_audio_if_due(eid)
        return self._with_loinc(note)

    def amend(self, eid: str, text: str) -> SignedNote:
        self._check(roles.NOTE_SIGN, eid)
        note = self._encounters.sign(eid, self.user, amend_text=text)
        self.audit("amend", eid, note_id=note.note_id, replaces=note.replaces,
                   version=note.version)
        return self._with_loinc(note)

    def signed_note(self, eid: str) -> SignedNote | None:
        self._check(roles.PHI_READ, eid)
        note = self._encounters.signed_note(eid)
        return None if note is None else self._with_loinc(note)

    def signed_notes(self, eid: str) -> list[SignedNote]:
        self._check(roles.PHI_READ, eid)
        return [self._with_loinc(n) for n in self._encounters.signed_notes(eid)]

    def _with_loinc(self, note: SignedNote) -> SignedNote:
        """The note with its template's LOINC document type, wherever the template lives (the
        built-ins, the practice's templates folder, or a file given by path), so a connector
        files an H&P as an H&P. A template that is gone leaves it empty (connector default)."""
        from dataclasses import replace
        from localscribe.draft.templates import TemplateError, load_template
        try:
            template = load_template(note.template, self.vault.paths.data_dir)
        except TemplateError:
            return note
        return replace(note, loinc=template.loinc, loinc_display=template.loinc_display)

    # ------------------------------------------------------------ audio
    def open_audio_spool(self, eid: str, max_buffer_s: float = 1.0) -> audio_spool.AudioSpool:
        self._check(roles.RECORD, eid)
        if self._encounters.status(eid) in SIGNED_STATUSES:
            raise ValueError(f"encounter {eid} is signed; it cannot record more audio")

        def closed(spool: audio_spool.AudioSpool) -> None:
            if self._locked:
                return   # the chunks are on disk; totals are re-derived from them on read
            self._encounters.set_audio_totals(eid, spool.samples_written, spool.chunks_written)
            self.audit("recording.stop", eid, samples=spool.samples_written,
                       seconds=round(spool.samples_written / audio_spool.SAMPLE_RATE, 3))

        spool = audio_spool.AudioSpool(self.vault.paths.audio_dir, self._capability, eid,
                                       max_buffer_s=max_buffer_s, on_close=closed)
        self.audit("recording.start", eid, resume_at_sample=spool.started_at_sample)
        return spool

    def read_audio(self, eid: str) -> np.ndarray:
        self._check(roles.PHI_READ, eid)
        enc = self._encounters.get(eid)
        if enc.audio_purged_at:
            raise FileNotFoundError(f"audio for encounter {eid} was purged at "
                                    f"{enc.audio_purged_at} (retention policy)")
        return audio_spool.read_audio(self.vault.paths.audio_dir, self._capability, eid,
                                      expected_samples=enc.audio_samples or None)

    # ------------------------------------------------------------ retention
    def _purge_audio_if_due(self, eid: str) -> None:
        policy = retention.RetentionPolicy.from_settings(self._setting)
        if policy.audio_days == 0:
            self._purge_audio(eid, policy)

    def _purge_audio(self, eid: str, policy: retention.RetentionPolicy) -> None:
        removed = audio_spool.purge_audio(self.vault.paths.audio_dir, eid)
        self._encounters.mark_audio_purged(eid)
        self.audit("purge", eid, what="audio", chunks=removed, audio_days=policy.audio_days)

    def run_retention(self) -> dict[str, list[str]]:
        """Apply the retention policy now (done at each clinician/admin unlock)."""
        self._check()
        if self.role not in (Role.CLINICIAN, Role.ADMIN):
            self._check(roles.SETTINGS_MANAGE)
        policy = retention.RetentionPolicy.from_settings(self._setting)
        audio = retention.audio_due(self.vault.db, policy)
        for eid in audio:
            self._purge_audio(eid, policy)
        records = retention.records_due(self.vault.db, policy)
        for eid in records:
            audio_spool.purge_audio(self.vault.paths.audio_dir, eid)
            self._encounters.purge_records(eid)
            self.audit("purge", eid, what="records", records_days=policy.records_days)
        if records:
            # secure_delete overwrote the rows' pages; the write-ahead log keeps them as they
            # were until a checkpoint (as for a declined visit, vault/consent.py).
            self.vault.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"audio": audio, "records": records}
