"""The outbox: every delivery is a job persisted in the vault database before anything is sent.

States: queued -> sending -> delivered | queued (retry later) | failed; queued/failed -> cancelled.
A job waits with exponential backoff (with jitter, capped) while the EHR is unreachable,
survives restarts (a job left in ``sending`` by a crash becomes due again once its lease runs
out), and can be retried or cancelled by hand. The signed note is stored sealed with the vault
cipher; ``last_error`` is a PHI-free sentence, the receiver's own words are sealed beside it.

Exactly-once rests on identifiers, not luck: a job may be attempted more than once when an
outcome is unknown, and every connector delivers idempotently on ``note_id`` (FHIR conditional
create, HL7 TXA-12 duplicate check, file name).
"""

from __future__ import annotations

import builtins
import json
import random
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from collections.abc import Callable

from localscribe.domain import Patient, SignedNote, VisitContext
from localscribe.ehr.protocol import DeliveryError
from localscribe.ehr.schema import ensure_schema
from localscribe.vault import capability, roles

TABLE = "ehr_outbox"
QUEUED, SENDING, DELIVERED, FAILED, CANCELLED = "queued", "sending", "delivered", "failed", \
    "cancelled"
STATES = (QUEUED, SENDING, DELIVERED, FAILED, CANCELLED)


class OutboxError(Exception):
    """A request the outbox cannot honour (unknown job, wrong state)."""


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 30.0          # first wait
    factor: float = 2.0
    cap_s: float = 3600.0         # never wait longer than this between attempts
    jitter: float = 0.25          # up to this fraction is taken off at random (spreads retries)
    max_attempts: int = 12        # then the job is failed and waits for a person
    lease_s: float = 300.0        # a 'sending' job older than this was interrupted

    def delay(self, attempts: int, rng: random.Random) -> float:
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, attempts - 1))
        return raw * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True)
class Job:
    id: str
    connector: str
    note_id: str
    encounter_id: str
    kind: str                   # "push" or "amend"
    replaces_note_id: str
    state: str
    attempts: int
    next_attempt_at: float
    created_at: float
    updated_at: float
    last_error: str
    error_detail: str = ""      # the receiver's words, decrypted for display
    remote_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DrainReport:
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def note_to_json(note: SignedNote) -> bytes:
    return json.dumps(asdict(note), sort_keys=True).encode("utf-8")


def note_from_json(data: bytes) -> SignedNote:
    d = json.loads(data)
    d["patient"] = Patient(**d["patient"])
    if d.get("visit"):
        d["visit"] = VisitContext(**d["visit"])
    return SignedNote(**d)


class Outbox:
    """``cipher``: the session's Capability (it holds the PHI key only for roles that may
    read patient data, and every delivery operation checks ``note.push`` through it)."""

    def __init__(self, db: Any, cipher: Any, audit: Callable[..., Any] | None = None,
                 policy: RetryPolicy = RetryPolicy(), clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None):
        self.db = db
        self.cipher = cipher
        self.audit = audit if audit is not None else (lambda *a, **k: None)
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()
        ensure_schema(db)

    # ---------------------------------------------------------------- reading

    def _job(self, row: dict[str, Any]) -> Job:
        detail = ""
        if row.get("error_detail") and getattr(self.cipher, "holds", lambda p: True)("phi"):
            detail = self.cipher.open(TABLE, row["id"], "error_detail",
                                      row["error_detail"]).decode("utf-8", "replace")
        return Job(id=row["id"], connector=row["connector"], note_id=row["note_id"],
                   encounter_id=row["encounter_id"], kind=row["kind"],
                   replaces_note_id=row["replaces_note_id"] or "", state=row["state"],
                   attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
                   created_at=row["created_at"], updated_at=row["updated_at"],
                   last_error=row["last_error"] or "", error_detail=detail,
                   remote_id=row["remote_id"] or "")

    def _row(self, job_id: str) -> dict[str, Any]:
        rows = list(self.db[TABLE].rows_where("id = ? OR id LIKE ?", [job_id, f"{job_id}%"],
                                              limit=2))
        if not rows:
            raise OutboxError(f"no outbox job {job_id}")
        if len(rows) > 1 and rows[0]["id"] != job_id:
            raise OutboxError(f"job id prefix {job_id} is ambiguous")
        return dict(rows[0])

    def get(self, job_id: str) -> Job:
        return self._job(self._row(job_id))

    def list(self, states: tuple[str, ...] | None = None, connector: str | None = None
             ) -> list[Job]:
        where, params = [], []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            params += list(states)
        if connector:
            where.append("connector = ?")
            params.append(connector)
        rows = self.db[TABLE].rows_where(" AND ".join(where) or None, params,
                                         order_by="created_at, id")
        return [self._job(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute(f"SELECT state, COUNT(*) FROM {TABLE} GROUP BY state").fetchall()
        return {s: 0 for s in STATES} | {s: n for s, n in rows}

    def note(self, job_id: str) -> SignedNote:
        row = self._row(job_id)
        return note_from_json(self.cipher.open(TABLE, row["id"], "payload", row["payload"]))

    # ---------------------------------------------------------------- writing

    def enqueue(self, connector: str, note: SignedNote) -> Job:
        """Persist a delivery job (before any attempt). One job per (connector, note): asking
        again returns the existing job; a failed or cancelled one is queued again."""
        capability.require(self.cipher, roles.NOTE_PUSH, note.encounter_id)
        existing = list(self.db[TABLE].rows_where("connector = ? AND note_id = ?",
                                                  [connector, note.note_id]))
        if existing:
            job = self._job(existing[0])
            if job.state in (FAILED, CANCELLED):
                return self.retry(job.id)
            return job
        now = self.clock()
        job_id = uuid.uuid4().hex
        self.db[TABLE].insert({
            "id": job_id, "connector": connector, "note_id": note.note_id,
            "encounter_id": note.encounter_id, "kind": "amend" if note.replaces else "push",
            "replaces_note_id": note.replaces or "", "state": QUEUED, "attempts": 0,
            "next_attempt_at": now, "created_at": now, "updated_at": now, "last_error": "",
            "error_detail": None, "remote_id": "",
            "payload": self.cipher.seal(TABLE, job_id, "payload", note_to_json(note)),
        })
        self.audit("ehr.outbox.enqueue", object=job_id, connector=connector,
                   note_id=note.note_id, kind="amend" if note.replaces else "push")
        return self.get(job_id)

    def _update(self, job_id: str, **values: Any) -> None:
        values["updated_at"] = self.clock()
        self.db[TABLE].update(job_id, values)

    def retry(self, job_id: str) -> Job:
        """By hand: a failed, cancelled or waiting job becomes due now (attempts reset)."""
        capability.require(self.cipher, roles.NOTE_PUSH, job_id)
        job = self.get(job_id)
        if job.state == DELIVERED:
            raise OutboxError(f"job {job.id} was already delivered")
        if job.state == SENDING:
            raise OutboxError(f"job {job.id} is being sent right now")
        self._update(job.id, state=QUEUED, attempts=0, next_attempt_at=self.clock())
        self.audit("ehr.outbox.retry", object=job.id, connector=job.connector,
                   note_id=job.note_id, previous=job.state)
        return self.get(job.id)

    def cancel(self, job_id: str) -> Job:
        capability.require(self.cipher, roles.NOTE_PUSH, job_id)
        job = self.get(job_id)
        if job.state not in (QUEUED, FAILED):
            raise OutboxError(f"job {job.id} is {job.state}; only queued or failed jobs can "
                              "be cancelled")
        self._update(job.id, state=CANCELLED)
        self.audit("ehr.outbox.cancel", object=job.id, connector=job.connector,
                   note_id=job.note_id, previous=job.state)
        return self.get(job.id)

    # ---------------------------------------------------------------- delivering

    def due(self, now: float | None = None) -> builtins.list[Job]:
        now = self.clock() if now is None else now
        rows = self.db[TABLE].rows_where(
            "(state = ? AND next_attempt_at <= ?) OR (state = ? AND updated_at <= ?)",
            [QUEUED, now, SENDING, now - self.policy.lease_s],
            order_by="next_attempt_at, created_at")
        return [self._job(r) for r in rows]

    def next_due_in(self) -> float | None:
        """Seconds until the next queued job is due (0 if one is due now; None if none waits):
        what a UI timer or service loop sleeps before calling ``drain`` again."""
        row = self.db.execute(f"SELECT MIN(next_attempt_at) FROM {TABLE} WHERE state = ?",
                              [QUEUED]).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, float(row[0]) - self.clock())

    def _claim(self, job: Job) -> bool:
        """Move a due job to 'sending' unless another process got there first."""
        now = self.clock()
        with self.db.conn:
            cur = self.db.conn.execute(
                f"UPDATE {TABLE} SET state = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND ((state = ? AND next_attempt_at <= ?) "
                "OR (state = ? AND updated_at <= ?))",
                [SENDING, now, job.id, QUEUED, now, SENDING, now - self.policy.lease_s])
        return bool(cur.rowcount == 1)

    def _original_remote_id(self, job: Job) -> str | None:
        """For an amendment, the remote id of the delivery it replaces (None: not yet)."""
        rows = list(self.db[TABLE].rows_where("connector = ? AND note_id = ?",
                                              [job.connector, job.replaces_note_id]))
        if not rows:
            raise DeliveryError("the note this amends was never sent through this connector; "
                                "send the original first", retryable=False)
        return rows[0]["remote_id"] if rows[0]["state"] == DELIVERED else None

    def process(self, job: Job, connector: Any) -> str:
        """One attempt at a claimed job; returns the state it ends in."""
        try:
            note = self.note(job.id)
            if job.kind == "amend":
                remote = self._original_remote_id(job)
                if remote is None:
                    self._update(job.id, state=QUEUED, attempts=max(0, job.attempts),
                                 next_attempt_at=self.clock() + self.policy.base_s,
                                 last_error="waiting for the original note to be delivered")
                    return "deferred"
                receipt = connector.amend(note, remote)
            else:
                receipt = connector.push(note)
        except DeliveryError as exc:
            return self._failed_attempt(job, exc.message, exc.detail, exc.retryable)
        except Exception as exc:   # a connector bug must not lose the job: keep it, retry later
            return self._failed_attempt(job, f"connector error ({type(exc).__name__})",
                                        str(exc), True)
        self._update(job.id, state=DELIVERED, remote_id=receipt.remote_id or "", last_error="",
                     error_detail=None)
        self.audit("ehr.push", object=job.id, connector=job.connector, note_id=job.note_id,
                   remote_id=receipt.remote_id, attempts=job.attempts + 1)
        return DELIVERED

    def _failed_attempt(self, job: Job, message: str, detail: str, retryable: bool) -> str:
        attempts = job.attempts + 1
        sealed = self.cipher.seal(TABLE, job.id, "error_detail",
                                  detail.encode("utf-8")) if detail else None
        if retryable and attempts < self.policy.max_attempts:
            wait = self.policy.delay(attempts, self.rng)
            self._update(job.id, state=QUEUED, next_attempt_at=self.clock() + wait,
                         last_error=message, error_detail=sealed)
            return "retrying"
        self._update(job.id, state=FAILED, last_error=message, error_detail=sealed)
        self.audit("ehr.push", object=job.id, outcome="error", connector=job.connector,
                   note_id=job.note_id, error=message, attempts=attempts)
        return FAILED

    def drain(self, resolve: Callable[[str], Any], now: float | None = None,
              limit: int | None = None) -> DrainReport:
        """Attempt every due job once. ``resolve(name)`` returns the configured connector (it
        may raise, which fails or defers that job alone)."""
        capability.require(self.cipher, roles.NOTE_PUSH, "outbox")
        report = DrainReport()
        connectors: dict[str, Any] = {}
        try:
            for job in self.due(now)[:limit]:
                outcome = self._run(job, resolve, connectors)
                if outcome is not None:
                    {DELIVERED: report.delivered, "retrying": report.retrying,
                     FAILED: report.failed, "deferred": report.deferred}[outcome].append(job.id)
        finally:
            for connector in connectors.values():   # e.g. an HL7 connection kept open
                close = getattr(connector, "close", None)
                if callable(close):
                    try:
                        close()
                    except Exception:   # closing is best effort; the jobs are recorded
                        pass
        return report

    def attempt(self, job_id: str, resolve: Callable[[str], Any]) -> Job:
        """Attempt one job now if it is due (used by 'send' so the user sees the outcome)."""
        capability.require(self.cipher, roles.NOTE_PUSH, job_id)
        job = self.get(job_id)
        if job.state == QUEUED and job.next_attempt_at <= self.clock():
            self._run(job, resolve, {})
        return self.get(job.id)

    def _run(self, job: Job, resolve: Callable[[str], Any], cache: dict[str, Any]) -> str | None:
        if not self._claim(job):
            return None     # another process took it
        job = replace_attempts(self.get(job.id))
        try:
            if job.connector not in cache:
                cache[job.connector] = resolve(job.connector)
        except DeliveryError as exc:
            return self._failed_attempt(job, exc.message, exc.detail, exc.retryable)
        except Exception as exc:   # unknown or misconfigured connector: a person must act
            return self._failed_attempt(job, f"connector '{job.connector}' unusable: {exc}",
                                        "", False)
        return self.process(job, cache[job.connector])


def replace_attempts(job: Job) -> Job:
    """The claim already counted this attempt; hand ``process`` the count before it."""
    from dataclasses import replace

    return replace(job, attempts=job.attempts - 1)
