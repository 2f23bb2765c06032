"""`localscribe encounters list|show`: the encounters in the vault, headless.

Unlocking marks visits whose process died as *interrupted* (vault.recovery), so this is where
a clinician without the window sees them, with how much audio each kept; `localscribe scribe
--resume ENCOUNTER` finishes one. Patient details are shown to roles that may read PHI only
(the session enforces it).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, guarded, print_json
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:   # the vault is imported inside the commands, when they run
    from localscribe.vault.encounters import Encounter
    from localscribe.vault.session import Session

SAMPLE_RATE = 16_000


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("encounters", help="list or show the encounters in the vault")
    sub = p.add_subparsers(dest="encounters_command", metavar="ACTION", required=True)
    lp = sub.add_parser("list", help="every encounter with its status and recorded audio")
    lp.add_argument("--status", help="only this status (e.g. interrupted)")
    sp = sub.add_parser("show", help="one encounter: status, patient, audio, transcript, draft")
    sp.add_argument("encounter", metavar="ENCOUNTER", help="encounter id (a unique prefix is enough)")
    np = sub.add_parser("new", help="start an encounter: from a scheduled visit (the EHR's "
                        "patient id, visit number and clinician carried into the note) or typed in")
    np.add_argument("--from-schedule", metavar="VISIT",
                    help="a visit from `localscribe schedule list` (a unique id prefix)")
    np.add_argument("--patient-name", default="", help="typed in: 'Family, Given'")
    np.add_argument("--mrn", default="")
    np.add_argument("--dob", default="", help="YYYY-MM-DD")
    np.add_argument("--template", default="soap")
    pp = sub.add_parser("patient", help="attach the patient to a visit recorded first (before "
                        "signing: a note is signed only for a named patient with a DOB or MRN)")
    pp.add_argument("encounter", metavar="ENCOUNTER", help="encounter id (a unique prefix is enough)")
    pp.add_argument("--patient-name", required=True, help="'Family, Given'")
    pp.add_argument("--mrn", default="")
    pp.add_argument("--dob", default="", help="YYYY-MM-DD")
    pp.add_argument("--consent", choices=("agreed", "declined"),
                    help="record the patient's answer to being recorded in the audit trail")
    for q in (lp, sp, np, pp):
        add_json(q)
        add_user_options(q)
    lp.set_defaults(func=guarded(cmd_list))
    sp.set_defaults(func=guarded(cmd_show))
    np.set_defaults(func=guarded(cmd_new))
    pp.set_defaults(func=guarded(cmd_patient))


def _audio_seconds(session: Session, enc: Encounter) -> float:
    from localscribe.vault.visit_lease import spooled_samples

    if enc.audio_purged_at:
        return 0.0
    on_disk = spooled_samples(session.vault.paths.audio_dir, enc.id)
    return (on_disk or enc.audio_samples) / SAMPLE_RATE


def _row(session: Session, enc: Encounter) -> dict[str, Any]:
    from localscribe.ingest.service import visit_context
    from localscribe.vault.encounters import RESUMABLE_STATUSES, EncounterStatus
    visit = visit_context(session, enc.id)
    return {"visit": vars(visit) if visit else None,
            "id": enc.id, "status": EncounterStatus(enc.status).value, "template": enc.template,
            "created_at": enc.created_at, "updated_at": enc.updated_at,
            "patient": {"name": enc.patient.name, "mrn": enc.patient.mrn,
                        "birth_date": enc.patient.birth_date},
            "audio_seconds": round(_audio_seconds(session, enc), 1),
            "audio_purged": bool(enc.audio_purged_at),
            "resumable": enc.status in RESUMABLE_STATUSES,
            "signed_at": enc.signed_at, "note_id": enc.note_id}


def cmd_list(args: argparse.Namespace) -> int:
    from localscribe.vault.encounters import STATUSES
    if args.status and args.status not in STATUSES:
        raise UserError(f"unknown status {args.status!r}; one of {', '.join(STATUSES)}")
    session = unlock(args)
    try:
        rows = [_row(session, e) for e in session.list_encounters()
                if not args.status or e.status == args.status]
    finally:
        session.lock()
    if args.json:
        print_json({"encounters": rows})
        return 0
    if not rows:
        print("no encounters" + (f" with status {args.status}" if args.status else ""))
        return 0
    for r in rows:
        hint = "  -> localscribe scribe --resume " + r["id"] if r["resumable"] else ""
        print(f"{r['id']}  {r['created_at'][:16]}  {r['status']:<12} {r['audio_seconds']:>7.1f} s  "
              f"{r['patient']['name'] or '(no name)'}{hint}")
    return 0


def _find(session: Session, prefix: str) -> Encounter:
    matches = [e for e in session.list_encounters() if e.id.startswith(prefix.lower())]
    if len(matches) != 1:
        raise UserError(f"no encounter {prefix!r}" if not matches else
                        f"{prefix!r} matches {len(matches)} encounters; give more of the id")
    return matches[0]


def cmd_show(args: argparse.Namespace) -> int:
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        row = _row(session, enc)
        transcript = session.load_transcript(enc.id)
        draft = session.load_draft(enc.id)
        row["transcript_segments"] = len(transcript.segments) if transcript else 0
        row["transcript_until_s"] = round(transcript.segments[-1].t1, 1) \
            if transcript and transcript.segments else 0.0
        row["draft"] = draft.to_dict() if draft else None
    finally:
        session.lock()
    if args.json:
        print_json(row)
        return 0
    print(f"encounter {row['id']} ({row['template']}): {row['status']}")
    print(f"  patient: {row['patient']['name'] or '(no name)'}  MRN {row['patient']['mrn'] or '-'}"
          f"  born {row['patient']['birth_date'] or '-'}")
    if row["visit"]:
        v = row["visit"]
        print(f"  visit (from the EHR's schedule, {v['source']}): {v['visit_number'] or '-'} at "
              f"{v['visit_time'] or '-'}  clinician {v['clinician_npi'] or v['clinician_id'] or '-'}")
    print(f"  audio: {row['audio_seconds']} s{' (purged)' if row['audio_purged'] else ''}; "
          f"transcript: {row['transcript_segments']} segments to {row['transcript_until_s']} s; "
          f"draft: {'yes' if row['draft'] else 'none'}")
    if row["resumable"]:
        print(f"  finish it with: localscribe scribe --resume {row['id']}", file=sys.stdout)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from localscribe.domain import Patient
    from localscribe.draft.templates import TemplateError, load_template
    from localscribe.cli.common import paths_from

    try:
        template = load_template(args.template, paths_from(args).data_dir).key
    except TemplateError as exc:
        raise UserError(str(exc)) from None
    session = unlock(args)
    try:
        if args.from_schedule:
            eid = start_from_schedule(session, args, template)
        else:
            eid = session.create_encounter(Patient(args.patient_name, args.mrn, args.dob),
                                           template)
        row = _row(session, session.get_encounter(eid))
    finally:
        session.lock()
    if args.json:
        print_json(row)
    else:
        print(f"encounter {eid} for {row['patient']['name'] or '(no name)'}"
              + (f", visit {row['visit']['visit_number']}" if row["visit"] else ""))
    return 0


def start_from_schedule(session: Session, args: argparse.Namespace, template: str) -> str:
    """The encounter for ``args.from_schedule`` (used by `encounters new` and `scribe`)."""
    from localscribe.ingest.service import start_visit
    from localscribe.ingest.store import VisitNotFound

    if args.patient_name or args.mrn or args.dob:
        raise UserError("give either --from-schedule VISIT or typed patient details, not both")
    try:
        return start_visit(session, args.from_schedule, template)
    except VisitNotFound as exc:
        raise UserError(f"{exc} (see localscribe schedule list)") from None
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None


def cmd_patient(args: argparse.Namespace) -> int:
    """The same core call as the window's Patient details (pipeline.patient.attach_patient)."""
    from localscribe.domain import Patient
    from localscribe.pipeline.patient import attach_patient

    consent = None if args.consent is None else args.consent == "agreed"
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        attach_patient(session, enc.id, Patient(args.patient_name, args.mrn, args.dob),
                       consent=consent)
        row = _row(session, session.get_encounter(enc.id))
    finally:
        session.lock()
    if args.json:
        print_json(row)
    else:
        print(f"encounter {row['id']}: patient attached")
    return 0
