"""`localscribe instructions draft|show ENCOUNTER`: the patient's after-visit summary.

``draft`` writes the summary from the encounter's stored transcript (and its note: the latest
saved version, else the draft as rendered), verifies every sentence with the note's verifier,
stores it sealed in the vault and audits the generation. ``show`` prints the current summary
(the signed one once the note is signed) as text, HTML for printing, or JSON with its checks and
reading level. The summary's blocking flags are acknowledged at `note sign` (--ack pi3).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, add_profile, guarded, print_json
from localscribe.cli.encounters_cmd import _find
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:
    from localscribe.instructions.store import SignedSummary, StoredSummary
    from localscribe.vault.session import Session


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("instructions", help="the patient's after-visit summary (draft, show, print)")
    sub = p.add_subparsers(dest="instructions_command", metavar="ACTION", required=True)
    draft = sub.add_parser("draft", help="write the summary from the visit, verified like the note")
    show = sub.add_parser("show", help="the current summary, its checks and reading level")
    draft.add_argument("--lang", choices=("en", "es"), default="en",
                       help="the summary's language (es: refused for now, see README)")
    draft.add_argument("--max-tokens", type=int, default=None, help="tokens for the whole summary")
    draft.add_argument("--threads", type=int, default=None)
    draft.add_argument("--stream", action="store_true", help="show the text as it is written (stderr)")
    add_profile(draft)
    show.add_argument("--format", choices=("text", "html"), default="text",
                      help="text, or a printable HTML page (to stdout)")
    for q, fn in ((draft, cmd_draft), (show, cmd_show)):
        q.add_argument("encounter", metavar="ENCOUNTER", help="encounter id (a unique prefix)")
        add_json(q)
        add_user_options(q)
        q.set_defaults(func=guarded(fn))


def _note_text(session: Session, eid: str) -> str:
    from localscribe.cli.note_cmd import current_text

    try:
        text, _, _ = current_text(session, eid, session.load_draft(eid))
    except UserError:
        return ""          # a note whose template is gone: the summary uses the transcript alone
    return text


def _payload(enc_id: str, current: StoredSummary | None, signed: SignedSummary | None) -> dict[str, Any]:
    from localscribe.draft.render import checks_summary, render_checks
    from localscribe.instructions.languages import caveat
    from localscribe.instructions.reading import reading_level
    from localscribe.instructions.render import plain_sentences, render_text

    if signed is not None:
        summary, lang, instructions_id = signed.summary, signed.lang, signed.instructions_id
    elif current is not None:
        summary, lang, instructions_id = current.summary, current.lang, current.id
    else:   # the callers check first: a mistake in the code, not the user's
        raise ValueError(f"encounter {enc_id}: no patient instructions to show")
    return {"encounter": enc_id, "lang": lang.value, "source": "signed" if signed else "draft",
            "instructions_id": instructions_id,
            "text": render_text(summary, lang),
            "reading": reading_level(plain_sentences(summary), lang).to_dict(),
            "caveat": caveat(lang),
            "sources": {st.id: st.source for st in summary.statements if st.source},
            "checks": {"summary": checks_summary(summary), "lines": render_checks(summary),
                       "to_acknowledge": [] if signed else summary.unacknowledged(set())},
            "signed": None if signed is None else {"note_id": signed.note_id, "author": signed.author,
                                                  "signed_at": signed.signed_at},
            "summary": summary.to_dict()}


def _print(out: dict[str, Any]) -> None:
    where = "signed with the note" if out["signed"] else "draft, signed with the note"
    r = out["reading"]
    print(f"encounter {out['encounter']}: patient instructions ({out['lang']}), {where}")
    print(f"reading level: {r['metric']} {r['score']} (target {r['target']}, {r['method']})\n")
    if out["caveat"]:
        print(f"note: {out['caveat']}.\n")
    print(out["text"], end="")
    if out["sources"]:
        print("\nTRANSLATED FROM (the verified English of each sentence)")
        print("\n".join(f"{i}: {src}" for i, src in out["sources"].items()))
    if out["checks"]["lines"]:
        print(f"\nCHECKS ({out['checks']['summary']})")
        print("\n".join(out["checks"]["lines"]))
    if out["checks"]["to_acknowledge"]:
        print("\nto sign: localscribe note sign ENCOUNTER" + "".join(
            f" --ack {i}" for i in out["checks"]["to_acknowledge"]))


def cmd_show(args: argparse.Namespace) -> int:
    from localscribe.instructions import store
    from localscribe.instructions.render import render_html

    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        current, signed = store.load(session, enc.id), store.signed(session, enc.id)
        if current is None and signed is None:
            raise UserError(f"encounter {enc.id[:8]} has no patient instructions yet; "
                            f"run: localscribe instructions draft {enc.id[:8]}")
        out = _payload(enc.id, current, signed)
        session.audit("instructions.show", enc.id, format="json" if args.json else args.format)
    finally:
        session.lock()
    if args.json:
        print_json(out)
    elif args.format == "html":
        from localscribe.domain import Draft

        sys.stdout.write(render_html(Draft.from_dict(out["summary"]), out["lang"]))
    else:
        _print(out)
    return 0


def _to_stderr(piece: str) -> None:
    sys.stderr.write(piece)
    sys.stderr.flush()


def cmd_draft(args: argparse.Namespace) -> int:
    from localscribe.config import default_profile
    from localscribe.draft.engine import EngineError, LlamaEngine
    from localscribe.instructions import store
    from localscribe.instructions.languages import refusal
    from localscribe.instructions.prompts import Language
    from localscribe.instructions.writer import draft_summary
    from localscribe.models import ModelError

    lang = Language(args.lang)
    reason = refusal(lang)
    if reason:
        raise UserError(reason)
    session = unlock(args)
    try:
        enc = _find(session, args.encounter)
        if store.signed(session, enc.id) is not None:
            raise UserError(f"encounter {enc.id[:8]} is signed: its patient instructions were signed "
                            "with the note")
        transcript = session.load_transcript(enc.id)
        if transcript is None or not transcript.segments:
            raise UserError(f"encounter {enc.id[:8]} has no transcript to write instructions from")
        note_text = _note_text(session, enc.id)
        try:
            engine = LlamaEngine.for_profile(args.profile or default_profile(), session.paths,
                                             n_threads=args.threads)
        except (ValueError, ModelError, EngineError) as exc:
            raise UserError(str(exc)) from None
        on_text = _to_stderr if args.stream else None
        try:
            run = draft_summary(engine, transcript, lang, note_text=note_text,
                                max_tokens=args.max_tokens, on_text=on_text)
        except (EngineError, ValueError) as exc:
            raise UserError(f"writing the instructions failed: {exc}", exit_code=1) from None
        session.record_generation(enc.id, run.draft.model_sha256, run.draft.template,
                                  run.draft.prompt_sha256, kind="patient-instructions", lang=lang.value,
                                  statements=len(run.draft.statements), flagged=len(run.draft.flagged),
                                  generated_tokens=run.stats.stop_generated, complete=run.stats.finished)
        store.save(session, enc.id, run.draft, lang)
        out = _payload(enc.id, store.load(session, enc.id), None)
        out["timing"] = {"seconds": round(run.seconds, 1), "generated_tokens": run.stats.stop_generated,
                         "complete": run.stats.finished, "rewritten": run.stats.rewritten,
                         "translated_tokens": run.translated_tokens,
                         "translations_flagged": run.translation_flagged}
    finally:
        session.lock()
    if args.json:
        print_json(out)
    else:
        _print(out)
    return 0
