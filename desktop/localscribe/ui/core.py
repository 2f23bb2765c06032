"""The one place where the window calls into the Qt-free core.

Thin on purpose: each function is a direct call into vault, pipeline, models, capture or ehr,
plus the shaping the widgets want (rows, labels). Business rules live in the core (what a
job's state means for an encounter is ``ehr.delivery``'s; who may do what is the vault's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from localscribe.capture import sources
from localscribe.config import Paths
from localscribe.domain import Draft, Patient
from localscribe.ingest.model import ScheduledVisit
from localscribe.draft import render as note_render
from localscribe.draft import templates as note_templates
from localscribe.models import ModelError, resolve_model
from localscribe.vault import Vault, roles
from localscribe.vault.encounters import (SIGNED_STATUSES, Encounter, EncounterStatus,
                                          PatientNotIdentified, status_label)

if TYPE_CHECKING:
    from localscribe.pipeline import LiveVisit
    from localscribe.pipeline.note_edit import NoteEdit
    from localscribe.pipeline.resume import Coverage
    from localscribe.vault.consent import ConsentState
    from localscribe.vault.session import Session

# The roles an admin may give, in the order the Users tab offers them (the vault's own list).
ROLE_NAMES = tuple(r.value for r in roles.Role)


# What the window catches around template work: a practice's template file may be missing,
# unreadable or malformed, and the user is told which and why.
TEMPLATE_ERRORS = (note_templates.TemplateError, OSError)


# --- vault -------------------------------------------------------------------------------------

def vault_exists(paths: Paths) -> bool:
    return paths.vault_db.exists()


def create_vault(paths: Paths, admin_user: str, passphrase: str) -> Vault:
    return Vault.create(paths, admin_user, passphrase)


def open_vault(paths: Paths) -> Vault:
    return Vault.open(paths)


def role_of(session: Session) -> str:
    role = getattr(session, "role", "")
    return str(getattr(role, "value", role))


def sees_patients(session: Session | None) -> bool:
    """Whether this role works with patient data (the day, encounters): the vault's role
    table decides (``phi.read``), not a list of role names kept here."""
    return allows(session, roles.PHI_READ)


def allows(session: Session | None, permission: str) -> bool:
    """What the core's role table says this session may do (the core enforces it again)."""
    if session is None:
        return False
    try:
        return roles.allows(role_of(session), permission)
    except ValueError:
        return False


@dataclass(frozen=True)
class EncounterRow:
    id: str
    patient: Patient
    template: str
    status: str         # an EncounterStatus value, as the vault stores it
    created_at: str     # ISO 8601
    audio_samples: int = 0
    has_draft: bool = False

    @property
    def recorded(self) -> bool:
        """Whether Record was ever pressed (a new encounter is 'new' until then)."""
        return self.status != EncounterStatus.NEW.value

    @property
    def signed(self) -> bool:
        return self.status in SIGNED_STATUSES

    @property
    def status_label(self) -> str:
        """The core's wording (vault.encounters.status_label), the same as the CLI's."""
        return status_label(self.status, self.has_draft)

    @property
    def local_created(self) -> str:
        """created_at in this computer's time zone, 'YYYY-MM-DD HH:MM' (stored times may be UTC)."""
        try:
            when = dt.datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))
        except ValueError:
            return self.created_at[:16].replace("T", " ")
        if when.tzinfo is not None:
            when = when.astimezone()
        return when.strftime("%Y-%m-%d %H:%M")

    @property
    def day(self) -> str:
        return self.local_created[:10]

    @property
    def title(self) -> str:
        """How the window names the visit: the patient, or, for a visit recorded before its
        patient was known (Record first), "Unnamed visit 14:32" (its local start time)."""
        return self.patient.name or f"Unnamed visit {self.local_created[11:16]}".rstrip()

    @property
    def identified(self) -> bool:
        """Whether the patient can be told apart (the rule signing enforces: the domain's)."""
        return not self.patient.identity_problem()

    @property
    def identifier(self) -> str:
        if self.patient.mrn:
            return f"MRN {self.patient.mrn}"
        return f"DOB {self.patient.birth_date}" if self.patient.birth_date else ""


def _row(e: Encounter) -> EncounterRow:
    return EncounterRow(id=e.id, patient=e.patient, template=e.template, status=str(e.status),
                        created_at=str(e.created_at or ""), audio_samples=int(e.audio_samples or 0),
                        has_draft=bool(e.has_draft))


def encounters(session: Session) -> list[EncounterRow]:
    rows = [_row(e) for e in session.list_encounters()]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)


def encounter(session: Session, eid: str) -> EncounterRow:
    return _row(session.get_encounter(eid))


def start_unnamed_visit(session: Session, data_dir: Path | None = None) -> str:
    """One-click start: an encounter with no patient yet and the default visit type; the
    patient and consent are attached later (``attach_patient``), before signing."""
    return session.create_encounter(Patient(), default_template(data_dir))


def attach_patient(session: Session, eid: str, patient: Patient, consent: bool | None) -> Patient:
    """The patient's details (and the patient's consent) for a visit recorded first."""
    from localscribe.pipeline.patient import attach_patient as attach

    return attach(session, eid, patient, consent=consent)


def sign_refusal(row: EncounterRow) -> str:
    """Why the vault would refuse to sign this encounter's note for its patient ("" if it
    would not), in the vault's own words, said before the sign dialog opens."""
    problem = row.patient.identity_problem()
    return str(PatientNotIdentified(row.id, problem)) if problem else ""


def save_note_edit(session: Session, eid: str, text: str,
                   data_dir: Path | None = None) -> NoteEdit:
    """Save the edited note; the draft's statements and flags follow the text (pipeline.note_edit)."""
    from localscribe.pipeline.note_edit import save_note_edit as save

    return save(session, eid, text, data_dir=data_dir)


def latest_note_text(session: Session, eid: str) -> str | None:
    """The newest saved note version (an edit or amendment), or None if never edited."""
    version = session.latest_version(eid)
    return None if version is None else version.text


def consent_recorded(session: Session, eid: str, given: bool, *, after_start: bool = False,
                     via: str = "") -> None:
    """The patient's answer (``vault.consent.record``; a refusal erases the recording)."""
    from localscribe.vault import consent

    consent.record(session, eid, given, after_start=after_start, via=via)


def consent_problem(session: Session, eid: str) -> ConsentState | None:
    """What the practice's consent rule would refuse at signing (``vault.consent``), or None."""
    from localscribe.vault import consent

    return consent.sign_problem(session, eid)


def instructions_summary(session: Session, eid: str) -> Draft | None:
    """The patient's instructions signed with the note (their flags are acknowledged with it)."""
    from localscribe.instructions import store

    current = store.load(session, eid)
    return None if current is None else current.summary


def copy_signed_note(session: Session, eid: str, auto_clear_s: int) -> str:
    """Audit the copy and return the signed text (only a signed note may leave the app)."""
    return session.record_copy(eid, auto_clear_s=auto_clear_s).text


def audit_events(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "actor": e.actor, "role": e.role, "action": e.action, "object": e.object,
             "outcome": e.outcome, "details": e.details, "at": e.time}
            for e in session.audit_events()[-limit:]]


def verify_audit(session: Session) -> str:
    result = session.verify_audit()
    if result.ok:
        return f"✓ Audit chain intact ({result.checked} events checked)."
    return f"✗ Audit chain broken at event {result.seq}: {result.problem}"


def security_report_text(paths: Paths, session: Session) -> str:
    from localscribe.security_report import report_text

    return report_text(paths, session)


def users(session: Session) -> list[dict[str, Any]]:
    return [{"name": u.id, "role": str(getattr(u.role, "value", u.role)), "disabled": u.disabled,
             "locked": u.locked} for u in session.list_users()]


def idle_timeout_s(session: Session) -> float | None:
    value = getattr(session, "idle_timeout_s", None)
    return float(value) if value else None


def first_passphrase_pending(session: Session) -> bool:
    """An admin set this user's passphrase: they choose their own before anything else."""
    from localscribe.vault.users import first_passphrase_pending as pending
    return pending(session.db, str(session.user))


def change_own_passphrase(session: Session, new_passphrase: str) -> None:
    """Same keys under a new wrap (scrypt: run it off the UI thread)."""
    session.set_passphrase(str(session.user), new_passphrase)


def set_idle_timeout_s(session: Session, seconds: int) -> None:
    """The idle lock is the vault's signed setting: one value for the window and the report."""
    from localscribe.vault.settings import IDLE_TIMEOUT
    session.set_setting(IDLE_TIMEOUT, int(seconds))


def add_user(session: Session, name: str, role: str, passphrase: str) -> None:
    session.add_user(name, role, passphrase)


def retention_days(session: Session) -> int | None:
    value = session.get_setting("retention.audio_days")
    return None if value in (None, "") else int(value)


def set_retention_days(session: Session, days: int) -> None:
    session.set_setting("retention.audio_days", int(days))


# --- the EHR's schedule (ingest) ---------------------------------------------------------------

def scheduled_not_started(session: Session, day: str) -> list[ScheduledVisit]:
    """The day's scheduled visits (``ingest.ScheduledVisit``) that no encounter was started
    from yet and that the EHR has not cancelled."""
    from localscribe.ingest import service as schedule

    return [e.visit for e in schedule.day_schedule(session, day)
            if not e.encounters and e.visit.status != "cancelled"]


def start_scheduled_visit(session: Session, visit_id: str, template: str) -> str:
    from localscribe.ingest import service as schedule

    return schedule.start_visit(session, visit_id, template)


def default_template(data_dir: Path | None = None) -> str:
    keys = note_templates.available_templates(data_dir)
    return note_templates.DEFAULT_TEMPLATE if note_templates.DEFAULT_TEMPLATE in keys or not keys else keys[0]


# --- drafting ----------------------------------------------------------------------------------

def templates(data_dir: Path | None = None) -> list[tuple[str, str]]:
    """(key, title) of every visit type the drafting core knows (built-in and the practice's)."""
    out = []
    for key in note_templates.available_templates(data_dir):
        try:
            out.append((key, note_templates.load_template(key, data_dir).name))
        except note_templates.TemplateError:   # a broken file is explained when it is used
            out.append((key, key.replace("_", " ").title()))
    return out


def section_count(template: str, data_dir: Path | None = None) -> int:
    """How many sections the template drafts (0 when it cannot be loaded: said elsewhere)."""
    try:
        return len(note_templates.load_template(template, data_dir).sections)
    except TEMPLATE_ERRORS:
        return 0


def render_note(draft: Draft, data_dir: Path | None = None) -> str:
    return note_render.render_note(draft, note_templates.load_template(draft.template, data_dir))


# --- models and capture ------------------------------------------------------------------------

def model_status(profile: str, paths: Paths) -> list[dict[str, Any]]:
    """One row per model role: file name, path, hash, and whether it verified."""
    rows = []
    for role in ("asr", "llm"):
        try:
            mf = resolve_model(role, profile, paths)
        except ModelError as exc:
            rows.append({"role": role, "name": "", "path": "", "sha256": "", "state": f"Problem: {exc}"})
        else:
            rows.append({"role": role, "name": mf.name, "path": str(mf.path), "sha256": mf.sha256,
                         "state": "Verified" + (" (your own file)" if mf.user_supplied else "")})
    return rows


@dataclass(frozen=True)
class InputDevice:
    id: Any          # what MicrophoneSource(device=...) takes
    name: str
    is_default: bool = False


def input_devices() -> list[InputDevice]:
    return [InputDevice(id=d.index, name=d.name, is_default=d.is_default)
            for d in sources.input_devices()]


def microphone_source(device: Any, on_level: Callable[[Any], None] | None = None) -> sources.MicrophoneSource:
    return sources.MicrophoneSource(device=device, on_level=on_level)


# --- pipeline ----------------------------------------------------------------------------------

def live_visit(session: Session, eid: str, *, profile: str, template: str, source: Any,
               on_event: Callable[[object], None], paths: Paths) -> LiveVisit:
    """A live visit over the vault, wired the way the pipeline's own `scribe_file` wires one."""
    from localscribe.pipeline import LiveVisit, VaultVisitStore, engines
    from localscribe.style.store import drafting_style   # the clinician's learned style

    return LiveVisit(
        source, VaultVisitStore(session, eid),
        transcriber_factory=engines.transcriber_factory(resolve_model("asr", profile, paths)),
        drafter_factory=engines.drafter_factory(resolve_model("llm", profile, paths), template,
                                                data_dir=paths.data_dir,
                                                style=drafting_style(session)),
        on_event=on_event)


def regenerate_section(session: Session, eid: str, key: str, *, profile: str, paths: Paths,
                       on_event: Callable[[object], None]) -> Any:
    from localscribe.pipeline import regenerate_section as regenerate

    return regenerate(session, eid, key, profile=profile, paths=paths, on_event=on_event)


def resumable(session: Session, eid: str) -> bool:
    """Whether a run stopped short of a draft and the spool can be transcribed again."""
    from localscribe.pipeline.resume import resumable as can_resume

    return can_resume(session, eid)


def transcript_coverage(session: Session, eid: str) -> Coverage:
    from localscribe.pipeline.resume import coverage

    return coverage(session, eid)


def record_stopped_short(session: Session, eid: str, reason: str, detail: str = "") -> Coverage:
    """Audit a run that ended before its recording was drafted; returns the Coverage."""
    from localscribe.pipeline.resume import record_stopped_short as record

    return record(session, eid, reason, detail)


def recover_visit(session: Session, eid: str, *, profile: str, paths: Paths,
                  on_event: Callable[[object], None], on_start: Callable[[Any], None]) -> Any:
    """Transcribe the whole recording from the spool, to its last second, then draft (the
    core call ``scribe --resume`` makes)."""
    from localscribe.pipeline.resume import recover_visit as recover

    return recover(session, eid, profile=profile, paths=paths, on_event=on_event,
                   on_start=on_start)


def redraft(session: Session, eid: str, template: str, *, profile: str, paths: Paths,
            on_event: Callable[[object], None]) -> Any:
    """Draft the whole note again from the stored transcript (template switch, retry after a crash)."""
    from localscribe.pipeline import redraft as redraft_note

    return redraft_note(session, eid, template=template, profile=profile, paths=paths, on_event=on_event)


def warm_up(profile: str, paths: Paths) -> str:
    """Verify both model files against the manifest, off the UI thread, before the first
    Record: a tampered or missing model is reported at once, and hashing reads each file
    whole, which leaves it in the page cache so the engines start fast at Record."""
    for role in ("asr", "llm"):
        resolve_model(role, profile, paths)
    return "Model files verified."


# --- connectors --------------------------------------------------------------------------------

def _ehr(session: Session, clipboard: Any = None):
    from localscribe.ehr.protocol import ConnectorContext
    from localscribe.ehr.service import EhrService

    return EhrService.from_session(session, ConnectorContext(clipboard=clipboard))


def connectors(session: Session) -> list[tuple[str, str]]:
    """(name, kind) of every configured connector."""
    return list(_ehr(session).store.names())


def connector_names(session: Session) -> list[str]:
    return [name for name, _kind in connectors(session)]


def check_connector(session: Session, name: str) -> tuple[bool, str]:
    result = _ehr(session).check(name)
    return result.ok, result.summary


def send_note(session: Session, eid: str, connector: str, clipboard: Any = None) -> dict[str, Any]:
    """Queue the signed note for `connector` and try once now; the outbox retries later."""
    from localscribe.ehr import delivery

    if session.signed_note(eid) is None:
        raise ValueError("Only a signed note can be sent; sign it first.")
    job = delivery.send_encounter(session, _ehr(session, clipboard), eid, connector)[-1]
    return {"delivered": job.state == "delivered", "state": job.state.replace("_", " "),
            "detail": job.error_detail or job.last_error, "remote_id": job.remote_id}


def outbox_due(session: Session) -> bool:
    """Whether a queued note is due for another attempt (cheap: one query, no network)."""
    if not allows(session, roles.NOTE_PUSH):
        return False
    return bool(_ehr(session).outbox.due())


def drain_outbox(session: Session) -> dict[str, str]:
    """Attempt the due notes once (off the UI thread); returns the encounters whose status changed."""
    from localscribe.ehr import delivery

    service = _ehr(session)
    service.drain()
    return delivery.sync_statuses(session, service)
