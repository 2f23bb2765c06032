"""`localscribe note show|edit|sign|amend ENCOUNTER`: review and sign a note without the window.

A thin layer over ``Session``: the role checks, the signing rule (``Draft.unacknowledged`` via
``Session.sign``) and the audit events are the core's, exactly as when the window does it.
New note text comes from a file the user names, stdin (``--file -``) or ``$EDITOR``; for the
editor the text sits in a 0700 directory (in RAM under /dev/shm where there is one), and the
directory is overwritten and removed as soon as the editor exits.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, guarded, print_json
from localscribe.cli.encounters_cmd import _find
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:   # the vault is imported inside the commands, when they run
    from localscribe.domain import Draft, SignedNote
    from localscribe.draft.templates import Template
    from localscribe.vault.encounters import Encounter
    from localscribe.vault.session import Session

EDITOR_HELP = ("without --file, $EDITOR (or $VISUAL) opens the current text; that copy lives "
               "in a private 0700 directory (RAM-backed /dev/shm where available) that is "
               "overwritten and deleted as soon as the editor exits")


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("note", help="show, edit, sign or amend an encounter's note")
    sub = p.add_subparsers(dest="note_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="the current note text and what must be checked "
                                       "before signing")
    edit = sub.add_parser("edit", help="save a new version of the unsigned note",
                          description="Save new note text as a version. " + EDITOR_HELP + ".")
    sign = sub.add_parser("sign", help="sign the current text (each blocking flag acknowledged)",
                          description="Sign the latest version (or the draft as `note show` "
                                      "prints it). Every blocking flag and empty-section notice "
                                      "must be acknowledged: --ack st3 (a statement), --ack st3#0 "
                                      "(one flag), --ack section:plan (a notice). On a terminal, "
                                      "what is not acknowledged is asked one by one, the "
                                      "patient instructions' flags (pi3#0, section:pi_meds) with "
                                      "the note's. Where the practice requires the patient's "
                                      "consent to the recording and none is on record, "
                                      "--consent agreed records it (asked on a terminal); "
                                      "--consent declined erases the visit's recording and "
                                      "transcript and signs nothing.")
    sign.add_argument("--ack", action="append", default=[], metavar="ID",
                      help="acknowledge a flagged statement, flag or notice (repeatable)")
    sign.add_argument("--consent", choices=("agreed", "declined"),
                      help="the patient's answer to being recorded, as the sign dialog's "
                           "checkbox (audited; 'declined' erases the recording)")
    sign.add_argument("--no-input", action="store_true",
                      help="never prompt, even on a terminal")
    amend = sub.add_parser("amend", help="amend a signed note (the amendment is signed at once)",
                           description="Append an amendment to a signed note and sign it. "
                                       + EDITOR_HELP + ".")
    for q in (edit, amend):
        q.add_argument("--file", metavar="FILE", help="the new text ('-' reads stdin)")
    for q, fn in ((show, cmd_show), (edit, cmd_edit), (sign, cmd_sign), (amend, cmd_amend)):
        q.add_argument("encounter", metavar="ENCOUNTER", help="encounter id (a unique prefix)")
        add_json(q)
        add_user_options(q)
        q.set_defaults(func=guarded(fn))


# ---------------------------------------------------------------- reading the note

def _template(session: Session, key: str) -> Template:
    from localscribe.draft.templates import TemplateError, load_template
    try:
        return load_template(key, session.paths.data_dir)
    except TemplateError as exc:
        raise UserError(f"the note's template cannot be loaded: {exc}") from None


def current_text(session: Session, eid: str, draft: Draft | None) -> tuple[str, str, int | None]:
    """(text, source, version): the latest saved version, else the draft as rendered (what the
    window shows on opening the encounter)."""
    from localscribe.draft.render import render_note
    latest = session.latest_version(eid)
    if latest is not None:
        return latest.text, latest.kind, latest.version
    if draft is None:
        return "", "none", None
    return render_note(draft, _template(session, draft.template)), "draft", None


def _checks(draft: Draft | None) -> dict[str, Any]:
    from localscribe.domain import flag_id, notice_id
    from localscribe.draft.render import checks_summary, render_checks
    if draft is None:
        return {"summary": "no draft", "lines": [], "to_acknowledge": [], "flags": [],
                "notices": []}
    flags = [{"statement": st.id, "id": flag_id(st.id, i), "tier": f.tier, "kind": f.kind,
              "reason": f.reason, "span": f.span, "text": st.text}
             for st in draft.flagged for i, f in enumerate(st.flags)]
    notices = [{"id": notice_id(sec.key), "section": sec.key, "title": sec.title,
                "notice": sec.notice} for sec in draft.notices]
    return {"summary": checks_summary(draft), "lines": render_checks(draft),
            "to_acknowledge": draft.unacknowledged(set()), "flags": flags, "notices": notices}


def _status(enc: Encounter) -> str:
    from localscribe.vault.encounters import EncounterStatus
    return EncounterStatus(enc.status).value


def cmd_show(args: argparse.Namespace) -> int:
    from localscribe.vault import consent
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        draft = session.load_draft(enc.id)
        text, source, version = current_text(session, enc.id, draft)
        signed = session.signed_note(enc.id)
        out: dict[str, Any] = {
               "encounter": enc.id, "status": _status(enc), "status_label": enc.status_label,
               "template": enc.template,
               "source": source, "version": version, "text": text, "checks": _checks(draft),
               # What the practice's consent rule would refuse at signing (null: nothing).
               "consent_needed": getattr(consent.sign_problem(session, enc.id), "value", None),
               "signed": None if signed is None else {
                   "note_id": signed.note_id, "version": signed.version,
                   "author": signed.author, "signed_at": signed.signed_at,
                   "replaces": signed.replaces}}
    finally:
        session.lock()
    if args.json:
        print_json(out)
        return 0
    where = {"draft": "draft, not yet edited", "none": "no draft yet"}.get(
        source, f"version {version} ({source})")
    print(f"encounter {out['encounter']}: {out['status_label']}; {where}")
    if out["signed"]:
        s = out["signed"]
        print(f"signed: version {s['version']} by {s['author']} at {s['signed_at']}")
    print()
    print(text, end="" if text.endswith("\n") else "\n")
    checks = out["checks"]
    print(f"\nCHECKS ({checks['summary']})")
    for line in checks["lines"]:
        print("  " + line)
    need = out["consent_needed"]
    if need == "declined":
        print("the patient declined the recording: it was erased and this visit is not signed")
    elif (checks["to_acknowledge"] or need) and not out["signed"]:
        print("to sign: localscribe note sign " + enc.id + "".join(
            f" --ack {i}" for i in checks["to_acknowledge"])
            + (" --consent agreed  (the patient's consent to the recording is not on record)"
               if need else ""))
    return 0


# ---------------------------------------------------------------- new text

def _private_dir() -> str:
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="localscribe-note-", dir=base)   # mode 0700


def _scrub(path: Path) -> None:
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass
    path.unlink(missing_ok=True)


def edit_in_editor(text: str) -> str:
    """Let $VISUAL/$EDITOR change ``text``; the clear copy never outlives this call."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UserError("no new text: give --file FILE (or --file - for stdin), or set $EDITOR")
    d = _private_dir()
    path = Path(d) / "note.txt"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        rc = subprocess.call([*shlex.split(editor), str(path)])
        if rc != 0:
            raise UserError(f"the editor exited with status {rc}; nothing saved")
        return path.read_text(encoding="utf-8")
    finally:
        for leftover in Path(d).iterdir():     # the editor's swap/backup files too
            if leftover.is_file():
                _scrub(leftover)
        try:
            os.rmdir(d)
        except OSError:
            pass


def new_text(args: argparse.Namespace, current: str) -> str:
    if args.file == "-":
        text = sys.stdin.read()
    elif args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {args.file}: {exc}") from None
    else:
        text = edit_in_editor(current)
    if not text.strip():
        raise UserError("the new note text is empty; nothing saved")
    return text


def cmd_edit(args: argparse.Namespace) -> int:
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        current, _, _ = current_text(session, enc.id, session.load_draft(enc.id))
        text = new_text(args, current)
        out: dict[str, Any]
        if text == current and session.latest_version(enc.id) is not None:
            out = {"encounter": enc.id, "version": None, "saved": False}
        else:
            # The same core call as the window: statements re-split from the text, re-verified.
            from localscribe.pipeline.note_edit import save_note_edit
            edit = save_note_edit(session, enc.id, text, data_dir=session.paths.data_dir)
            out = {"encounter": enc.id, "version": edit.version, "saved": True,
                   "checks": _checks(edit.draft)}
    finally:
        session.lock()
    if args.json:
        print_json(out)
    else:
        print(f"saved version {out['version']}; checks: {out['checks']['summary']}" if out["saved"]
              else "unchanged: no new version saved")
    return 0


# ---------------------------------------------------------------- signing

def _ask(drafts: list[tuple[str, Draft]], acks: set[str]) -> set[str]:
    """On a terminal, ask for each item still blocking, of the note and of the patient's
    instructions; returns the acknowledgements given."""
    from localscribe.domain import flag_id, notice_id
    given = set(acks)
    for label, draft in drafts:
        for sec in draft.notices:
            if notice_id(sec.key) not in given and _yes(f"{label}{sec.title}: {sec.notice}"):
                given.add(notice_id(sec.key))
        for st in draft.blocking:
            if st.id in given:
                continue
            for i, f in enumerate(st.flags):
                fid = flag_id(st.id, i)
                if (f.blocking and fid not in given
                        and _yes(f"{label}{st.id} \"{st.text}\": {f.reason}")):
                    given.add(fid)
    return given


def _yes(item: str) -> bool:
    print(f"! {item}", file=sys.stderr)
    try:
        answer = input("  checked and acknowledged? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _known_ids(drafts: list[tuple[str, Draft]]) -> set[str]:
    from localscribe.domain import flag_id, notice_id
    ids: set[str] = set()
    for _, draft in drafts:
        ids.update(notice_id(sec.key) for sec in draft.notices)
        for st in draft.statements:
            ids.add(st.id)
            ids.update(flag_id(st.id, i) for i in range(len(st.flags)))
    return ids


def _drafts(session: Session, eid: str) -> list[tuple[str, Draft]]:
    """The note's draft and the patient's instructions, both signed by this command."""
    from localscribe.instructions import store
    out: list[tuple[str, Draft]] = []
    draft = session.load_draft(eid)
    if draft is not None:
        out.append(("", draft))
    summary = store.load(session, eid)
    if summary is not None:
        out.append(("patient instructions: ", summary.summary))
    return out


def _consent(session: Session, args: argparse.Namespace, eid: str) -> bool:
    """Record the patient's answer where the practice's rule asks for it (vault.consent, the
    same call as the sign dialog's checkbox). False: the patient declined, nothing to sign."""
    from localscribe.vault import consent
    if args.consent is not None:
        agreed = bool(args.consent == "agreed")
        consent.record(session, eid, agreed, after_start=True, via="cli")
        return agreed
    if (consent.sign_problem(session, eid) is consent.ConsentState.NOT_RECORDED
            and sys.stdin.isatty() and not args.no_input and not args.json
            and _yes("the patient's consent to the recording is not recorded: did the patient "
                     "consent to it")):
        consent.record(session, eid, True, after_start=True, via="cli")
    return True


def cmd_sign(args: argparse.Namespace) -> int:
    from localscribe.vault.consent import ConsentMissing
    from localscribe.vault.encounters import PatientNotIdentified
    from localscribe.vault.session import UnacknowledgedFlags
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        drafts = _drafts(session, enc.id)
        acks = set(args.ack)
        unknown = sorted(acks - _known_ids(drafts))
        if unknown:
            raise UserError(f"no such statement, flag or notice in the draft: "
                            f"{', '.join(unknown)} (see `localscribe note show {enc.id}`)")
        if not _consent(session, args, enc.id):
            if args.json:
                print_json({"encounter": enc.id, "status": "declined", "signed": False})
            else:
                print(f"encounter {enc.id}: the patient declined; the recording and transcript "
                      "were erased and nothing was signed")
            return 0
        pending = [d for _, d in drafts if d.unacknowledged(acks)]
        if pending and sys.stdin.isatty() and not args.no_input and not args.json:
            acks = _ask(drafts, acks)
        draft = session.load_draft(enc.id)
        if draft is not None and session.latest_version(enc.id) is None \
                and not draft.unacknowledged(acks):
            # As in the window: what is signed is exactly the text `note show` printed.
            text, _, _ = current_text(session, enc.id, draft)
            session.save_note_version(enc.id, text)
        try:
            note = session.sign(enc.id, acknowledged_flag_ids=sorted(acks))
        except UnacknowledgedFlags as exc:
            raise UserError(f"not signed: acknowledge each of {', '.join(exc.statement_ids)} "
                            f"(--ack ID; see `localscribe note show {enc.id}`)") from None
        except PatientNotIdentified as exc:
            raise UserError(f"not signed: {exc} (`localscribe encounters patient {enc.id} "
                            "--patient-name NAME --mrn MRN`)") from None
        except ConsentMissing as exc:
            raise UserError(f"not signed: {exc}") from None
    finally:
        session.lock()
    return _print_signed(args, note, "signed")


def cmd_amend(args: argparse.Namespace) -> int:
    from localscribe.vault.encounters import SIGNED_STATUSES
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        if enc.status not in SIGNED_STATUSES:
            raise UserError(f"encounter {enc.id} is not signed ({_status(enc)}); change it with "
                            "`note edit` and sign it with `note sign`")
        current, _, _ = current_text(session, enc.id, None)
        text = new_text(args, current)
        if text == current:
            raise UserError("the amendment is the same as the signed text; nothing saved")
        note = session.amend(enc.id, text)
    finally:
        session.lock()
    return _print_signed(args, note, "amended")


def _print_signed(args: argparse.Namespace, note: SignedNote, what: str) -> int:
    out = {"encounter": note.encounter_id, "note_id": note.note_id, "version": note.version,
           "author": note.author, "signed_at": note.signed_at, "replaces": note.replaces}
    if args.json:
        print_json({**out, "status": what})
    else:
        print(f"{what}: version {note.version} by {note.author} at {note.signed_at} "
              f"(note {note.note_id})")
    return 0
