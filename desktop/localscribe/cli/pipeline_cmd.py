"""`localscribe draft TRANSCRIPT`: a transcript to a verified draft note."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from localscribe.cli.common import (
    Subparsers,
    UserError,
    add_dirs,
    add_json,
    add_profile,
    guarded,
    paths_from,
    print_json,
)

if TYPE_CHECKING:   # the engine and its types are imported inside the command, when it runs
    from localscribe.domain import Draft


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "draft", help="draft a clinical note from a transcript",
        description="Draft a note with the local language model from a transcript: plain text, "
                    "'[doctor] ...' / '[patient] ...' turns, or the JSON of 'transcribe --json'. "
                    "Every statement cites transcript segments; unsupported ones are flagged. "
                    "No vault is opened and no one signs in, so no clinician's learned style "
                    "applies (`scribe` drafts in the signed-in clinician's).")
    p.add_argument("transcript", metavar="TRANSCRIPT", help="transcript file ('-' reads stdin)")
    p.add_argument("--template", default="soap",
                   help="note template: soap, history_and_physical, progress_note, a file of "
                        "your practice's templates dir, or a path to a .toml/.json template")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="note length budget in generated tokens (default: the template's note_tokens)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the language model")
    p.add_argument("--n-ctx", type=int, default=8192, help="context window, in tokens")
    p.add_argument("--stream", action="store_true", help="show the note on stderr as it is written")
    add_json(p)
    add_profile(p)
    add_dirs(p)
    p.set_defaults(func=run)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read transcript {path}: {exc}") from None


def _print_note(note: str, draft: Draft) -> None:
    from localscribe.draft.render import checks_summary, render_checks

    if not draft.statements:
        print("(the model wrote no complete statement: nothing to show)")
    print(note, end="")
    checks = render_checks(draft)
    if checks:
        print(f"\nCHECKS ({checks_summary(draft)})")
        print("\n".join(checks))


@guarded
def run(args: argparse.Namespace) -> int:
    from localscribe.config import default_profile
    from localscribe.draft.engine import EngineError, LlamaEngine
    from localscribe.draft.render import render_note
    from localscribe.draft.service import draft_note
    from localscribe.draft.templates import TemplateError, load_template
    from localscribe.draft.transcript_text import (
        TranscriptFormatError,
        parse_transcript_text,
    )
    from localscribe.models import ModelError

    paths = paths_from(args)
    try:
        transcript = parse_transcript_text(_read(args.transcript))
    except TranscriptFormatError as exc:
        raise UserError(f"{args.transcript}: {exc}") from None
    try:
        template = load_template(args.template, paths.data_dir)
    except TemplateError as exc:
        raise UserError(str(exc)) from None
    try:
        profile = args.profile or default_profile()
        engine = LlamaEngine.for_profile(profile, paths, n_ctx=args.n_ctx, n_threads=args.threads)
    except (ValueError, ModelError, EngineError) as exc:
        raise UserError(str(exc)) from None
    def stream(piece: str) -> None:
        sys.stderr.write(piece)
        sys.stderr.flush()

    on_text = stream if args.stream else None
    try:
        draft, stats = draft_note(engine, transcript, template, max_tokens=args.max_tokens, on_text=on_text)
    except (EngineError, ValueError) as exc:
        raise UserError(f"drafting failed: {exc}", exit_code=1) from None
    note = render_note(draft, template)
    if args.json:
        print_json({"template": template.key, "loinc": template.loinc, "note": note,
                    "complete": stats.finished, "transcript": transcript.to_dict(),
                    "draft": draft.to_dict(),
                    "timing": {"prompt_tokens": stats.stop_prompt_tokens, "prompt_s": round(stats.stop_prompt_s, 2),
                               "generated_tokens": stats.stop_generated, "generate_s": round(stats.stop_gen_s, 2),
                               "chunks": stats.chunks}})
    else:
        _print_note(note, draft)
        if not stats.finished:
            print("\nNOTE: the note hit the token limit and may be incomplete (raise --max-tokens).")
    return 0
