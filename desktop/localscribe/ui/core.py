"""The one place where the window reaches into the Qt-free core.

Every call the UI makes into vault, pipeline, models, capture and ehr goes through here, so a
renamed core function is fixed once, and a missing one surfaces as `CoreMissing` with a
sentence the window can show. No business rules live here: only lookups and shape
normalisation (the core may hand back dicts or dataclasses).
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any, Callable

from localscribe.config import Paths
from localscribe.domain import Draft, Patient

CLINICIAN, ASSISTANT, AUDITOR, ADMIN = "clinician", "assistant", "auditor", "admin"
PHI_ROLES = (CLINICIAN, ASSISTANT)

STATUS_LABELS = {
    "new": "Not recorded", "created": "Not recorded", "recording": "Recording",
    "paused": "Paused", "transcribing": "Transcribing", "drafting": "Drafting",
    "review": "Needs review", "in_review": "Needs review", "in review": "Needs review",
    "signed": "Signed", "pushed": "Sent", "sent": "Sent", "push_pending": "Send pending",
    "send_pending": "Send pending", "pending": "Send pending", "push_failed": "Send failed",
    "failed": "Failed", "send_failed": "Send failed", "amended": "Amended",
}
UNRECORDED = ("", "new", "created")


class CoreMissing(RuntimeError):
    """A core function the window needs is not available in this build."""


def _lookup(module: str, *names: str) -> Callable[..., Any]:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise CoreMissing(f"{module} is not available ({exc}).") from exc
    for name in names:
        fn = getattr(mod, name, None)
        if fn is not None:
            return fn
    raise CoreMissing(f"{module} has no {' / '.join(names)}.")


def _method(obj: Any, *names: str) -> Callable[..., Any]:
    for name in names:
        fn = getattr(obj, name, None)
        if fn is not None:
            return fn
    raise CoreMissing(f"{type(obj).__name__} has no {' / '.join(names)}.")


def _field(obj: Any, name: str, default: Any = "") -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --- vault -------------------------------------------------------------------------------------

def vault_exists(paths: Paths) -> bool:
    return paths.vault_db.exists()


def create_vault(paths: Paths, admin_user: str, passphrase: str) -> Any:
    return _lookup("localscribe.vault", "Vault").create(paths, admin_user, passphrase)


def open_vault(paths: Paths) -> Any:
    return _lookup("localscribe.vault", "Vault").open(paths)


def permission_denied_type() -> type[BaseException]:
    try:
        return _lookup("localscribe.vault", "PermissionDenied")
    except CoreMissing:
        return PermissionError


def role_of(session: Any) -> str:
    role = getattr(session, "role", "")
    return str(getattr(role, "value", role))


def allows(session: Any, permission: str) -> bool:
    """What the core's role table says this session may do (the core enforces it again)."""
    if session is None:
        return False
    fn = getattr(session, "can", None)
    if callable(fn):
        return bool(fn(permission))
    try:
        return bool(_lookup("localscribe.vault.roles", "allows")(role_of(session), permission))
    except (CoreMissing, ValueError):
        return False


@dataclass(frozen=True)
class EncounterRow:
    id: str
    patient: Patient
    template: str
    status: str
    created_at: str     # ISO 8601
    audio_samples: int = 0

    @property
    def recorded(self) -> bool:
        """Whether any audio was captured yet (a new encounter starts in status 'recording')."""
        return self.audio_samples > 0 or self.status not in UNRECORDED + ("recording",)

    @property
    def status_label(self) -> str:
        if not self.recorded:
            return "Not recorded yet"
        return STATUS_LABELS.get(self.status, self.status.replace("_", " ").capitalize())

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
    def identifier(self) -> str:
        if self.patient.mrn:
            return f"MRN {self.patient.mrn}"
        return f"DOB {self.patient.birth_date}" if self.patient.birth_date else ""


def _row(obj: Any) -> EncounterRow:
    patient = _field(obj, "patient", None)
    if isinstance(patient, dict):
        patient = Patient(name=patient.get("name", ""), mrn=patient.get("mrn", ""),
                          birth_date=patient.get("birth_date", ""))
    if not isinstance(patient, Patient):
        patient = Patient(name=str(_field(obj, "patient_name", "")), mrn=str(_field(obj, "mrn", "")),
                          birth_date=str(_field(obj, "birth_date", "")))
    created = _field(obj, "created_at", "") or _field(obj, "created", "")
    if hasattr(created, "isoformat"):
        created = created.isoformat()
    status = _field(obj, "status", "")
    status = getattr(status, "value", status)
    return EncounterRow(id=str(_field(obj, "id", "") or _field(obj, "encounter_id", "")),
                        patient=patient, template=str(_field(obj, "template", "")),
                        status=str(status or ""), created_at=str(created or ""),
                        audio_samples=int(_field(obj, "audio_samples", 0) or 0))


def encounters(session: Any) -> list[EncounterRow]:
    rows = [_row(e) for e in session.list_encounters()]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)


def encounter(session: Any, eid: str) -> EncounterRow:
    return _row(session.get_encounter(eid))


def latest_note_text(session: Any, eid: str) -> str | None:
    """The newest saved note version (an edit or amendment), or None if never edited."""
    fn = _method(session, "latest_version", "latest_note_version", "load_note_version")
    result = fn(eid)
    if result is None:
        return None
    if isinstance(result, str):
        return result
    return str(_field(result, "text", ""))


def consent_recorded(session: Any, eid: str, given: bool) -> None:
    session.audit("consent", eid, outcome="ok" if given else "declined")


def copy_signed_note(session: Any, eid: str, auto_clear_s: int) -> str:
    """Audit the copy and return the signed text (only a signed note may leave the app)."""
    note = _method(session, "record_copy")(eid, auto_clear_s=auto_clear_s)
    return str(_field(note, "text", ""))


def flag_id(statement_id: str, index: int) -> str:
    """How a flag is named when acknowledging it at signing (statement id + flag index)."""
    return f"{statement_id}#{index}"


def audit_events(session: Any, limit: int = 500) -> list[dict]:
    fn = _method(session, "audit_events")
    out = []
    for e in fn()[-limit:]:
        row = {k: _field(e, k, "") for k in ("seq", "actor", "role", "action", "object", "outcome",
                                            "details")}
        row["at"] = _field(e, "time", "") or _field(e, "at", "")
        out.append(row)
    return out


def verify_audit(session: Any) -> str:
    result = _method(session, "verify_audit")()
    if _field(result, "ok", False):
        return f"✓ Audit chain intact ({_field(result, 'checked', '?')} events checked)."
    return (f"✗ Audit chain broken at event {_field(result, 'seq', '?')}: "
            f"{_field(result, 'problem', '')}")


def security_report_text(paths: Paths, session: Any) -> str:
    return str(_lookup("localscribe.security.report", "report_text")(paths, session))


def users(session: Any) -> list[dict]:
    out = []
    for u in _method(session, "list_users")():
        role = _field(u, "role", "")
        out.append({"name": str(_field(u, "id", "") or _field(u, "name", "")),
                    "role": str(getattr(role, "value", role)),
                    "disabled": bool(_field(u, "disabled", False)),
                    "locked": bool(_field(u, "locked", False))})
    return out


def idle_timeout_s(session: Any) -> float | None:
    value = getattr(session, "idle_timeout_s", None)
    return float(value) if value else None


def add_user(session: Any, name: str, role: str, passphrase: str) -> None:
    _method(session, "add_user", "create_user")(name, role, passphrase)


def retention_days(session: Any) -> int | None:
    value = _method(session, "get_setting")("retention.audio_days")
    return None if value in (None, "") else int(value)


def set_retention_days(session: Any, days: int) -> None:
    _method(session, "set_setting")("retention.audio_days", int(days))


# --- drafting ----------------------------------------------------------------------------------

def templates(data_dir: Any = None) -> list[tuple[str, str]]:
    """(key, title) of every visit type the drafting core knows (built-in and the practice's)."""
    keys = _lookup("localscribe.draft.templates", "available_templates")(data_dir)
    load = _lookup("localscribe.draft.templates", "load_template")
    out = []
    for key in keys:
        try:
            out.append((key, str(load(key, data_dir).name)))
        except Exception:   # a broken template file is reported when it is used
            out.append((key, key.replace("_", " ").title()))
    return out


def render_note(draft: Draft, data_dir: Any = None) -> str:
    template = _lookup("localscribe.draft.templates", "load_template")(draft.template, data_dir)
    return _lookup("localscribe.draft.render", "render_note")(draft, template)


# --- models and capture ------------------------------------------------------------------------

def model_status(profile: str, paths: Paths) -> list[dict]:
    """One row per model role: file name, path, hash, and whether it verified."""
    resolve = _lookup("localscribe.models", "resolve_model")
    error_type = _lookup("localscribe.models", "ModelError")
    rows = []
    for role in ("asr", "llm"):
        try:
            mf = resolve(role, profile, paths)
        except error_type as exc:
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
    fn = _lookup("localscribe.capture.sources", "input_devices", "list_input_devices")
    out = []
    for d in fn():
        ident = _field(d, "index", None)
        if ident is None:
            ident = _field(d, "id", None)
        out.append(InputDevice(id=ident, name=str(_field(d, "name", ident)),
                               is_default=bool(_field(d, "is_default", False) or _field(d, "default", False))))
    return out


def microphone_source(device: Any, on_level: Callable[[Any], None] | None = None) -> Any:
    cls = _lookup("localscribe.capture.sources", "MicrophoneSource")
    return cls(device=device, on_level=on_level) if on_level else cls(device=device)


# --- pipeline ----------------------------------------------------------------------------------

def live_visit(session: Any, eid: str, *, profile: str, template: str, source: Any,
               on_event: Callable[[object], None], paths: Paths) -> Any:
    """A live visit over the vault, wired the way the pipeline's own `scribe_file` wires one."""
    pipeline = importlib.import_module("localscribe.pipeline")
    ready_made = getattr(pipeline, "open_live_visit", None)
    if ready_made is not None:
        return ready_made(session, eid, profile=profile, template=template, source=source,
                          on_event=on_event, paths=paths)
    engines = importlib.import_module("localscribe.pipeline.engines")
    resolve = _lookup("localscribe.models", "resolve_model")
    store = _lookup("localscribe.pipeline.stores", "VaultVisitStore")(session, eid)
    return pipeline.LiveVisit(
        source, store,
        transcriber_factory=engines.transcriber_factory(resolve("asr", profile, paths)),
        drafter_factory=engines.drafter_factory(resolve("llm", profile, paths), template,
                                                data_dir=paths.data_dir),
        on_event=on_event)


def regenerate_section(session: Any, eid: str, key: str, *, profile: str, paths: Paths,
                       on_event: Callable[[object], None]) -> Any:
    fn = _lookup("localscribe.pipeline", "regenerate_section")
    return fn(session, eid, key, profile=profile, paths=paths, on_event=on_event)


def redraft(session: Any, eid: str, template: str, *, profile: str, paths: Paths,
            on_event: Callable[[object], None]) -> Any:
    """Draft the whole note again from the stored transcript (template switch, retry after a crash)."""
    fn = _lookup("localscribe.pipeline", "redraft", "draft_encounter")
    return fn(session, eid, template=template, profile=profile, paths=paths, on_event=on_event)


def warm_up(profile: str, paths: Paths) -> str:
    """Get the engines ready before the first Stop, off the UI thread. Returns what was done.

    Uses the pipeline's own warm-up when it has one (engine processes started, weights
    loaded); otherwise verifies both model files against the manifest, which also brings them
    into the page cache so the first load is fast."""
    pipeline = importlib.import_module("localscribe.pipeline")
    fn = getattr(pipeline, "warm_up", None) or getattr(pipeline, "preload", None)
    if fn is not None:
        fn(profile=profile, paths=paths)
        return "Models loaded."
    resolve = _lookup("localscribe.models", "resolve_model")
    for role in ("asr", "llm"):
        resolve(role, profile, paths)
    return "Model files verified."


# --- connectors --------------------------------------------------------------------------------

def ehr_available() -> bool:
    try:
        _lookup("localscribe.ehr.service", "EhrService")
        return True
    except CoreMissing:
        return False


def _ehr(session: Any, clipboard: Any = None) -> Any:
    service = _lookup("localscribe.ehr.service", "EhrService")
    context = _lookup("localscribe.ehr.protocol", "ConnectorContext")(clipboard=clipboard)
    return service.from_session(session, context)


def connectors(session: Any) -> list[tuple[str, str]]:
    """(name, kind) of every configured connector."""
    return list(_ehr(session).store.names())


def connector_names(session: Any) -> list[str]:
    return [name for name, _kind in connectors(session)]


def check_connector(session: Any, name: str) -> tuple[bool, str]:
    result = _ehr(session).check(name)
    return bool(_field(result, "ok", False)), str(_field(result, "summary", ""))


# What an outbox job's state means for the encounter shown in the day list.
_JOB_TO_STATUS = {"delivered": "sent", "queued": "send_pending", "sending": "send_pending",
                  "failed": "send_failed", "cancelled": "send_failed"}


def send_note(session: Any, eid: str, connector: str, clipboard: Any = None) -> dict:
    """Queue the signed note for `connector` and try once now; the outbox retries later."""
    note = _method(session, "signed_note")(eid)
    if note is None:
        raise ValueError("Only a signed note can be sent; sign it first.")
    job = _ehr(session, clipboard).send(note, connector)
    state = str(_field(job, "state", ""))
    status = _JOB_TO_STATUS.get(state)
    if status:
        session.set_status(eid, status)
    detail = str(_field(job, "error_detail", "") or _field(job, "last_error", ""))
    return {"delivered": state == "delivered", "state": state.replace("_", " "), "detail": detail,
            "remote_id": str(_field(job, "remote_id", ""))}
