"""`localscribe scribe AUDIO` and `localscribe demo`: a recording through the whole pipeline.

scribe stores the encounter (audio, transcript, draft) encrypted in the vault; demo runs the
bundled sample visit (written and synthesized by us, no real patient) and keeps nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, add_profile, guarded, paths_from, print_json
from localscribe.cli.transcribe_cmd import format_time
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:   # the vault, models and pipeline are imported inside the commands, when they run
    from localscribe.draft.templates import Template
    from localscribe.models.resolve import ModelFile
    from localscribe.pipeline.events import VisitEvent
    from localscribe.pipeline.live_visit import Store, VisitResult
    from localscribe.vault.session import Session

    Prepared = tuple[Template, ModelFile, ModelFile]   # what _prepare checked: template, asr, llm


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("scribe", help="transcribe and draft a recorded visit into the vault",
                              description="Run the whole pipeline on a recording (WAV, FLAC or OGG) "
                                          "and store the encounter, encrypted, in the vault. A "
                                          "signed-in clinician's draft follows their learned "
                                          "style (`localscribe style show`); anyone else's (an "
                                          "assistant's) follows none.")
    p.add_argument("audio", metavar="AUDIO", nargs="?")
    p.add_argument("--resume", metavar="ENCOUNTER",
                   help="transcribe and draft an interrupted or failed encounter from its "
                        "recorded audio (see `localscribe encounters list`)")
    p.add_argument("--patient-name", default="", help="patient's name (stored encrypted)")
    p.add_argument("--mrn", default="", help="patient's medical record number")
    p.add_argument("--dob", default="", help="patient's date of birth, YYYY-MM-DD")
    p.add_argument("--from-schedule", metavar="VISIT",
                   help="a visit from `localscribe schedule list`: the EHR's patient and visit "
                        "identifiers instead of typed ones")
    _common(p)
    add_user_options(p)
    p.set_defaults(func=guarded(run_scribe))

    d = subparsers.add_parser("demo", help="run the whole pipeline on the bundled sample visit",
                              description="Transcribe and draft the bundled sample visit (a "
                                          "synthesized conversation, no real patient) and print "
                                          "transcript, note, flags and timings. Stores nothing.")
    _common(d)
    d.add_argument("--data-dir", help=argparse.SUPPRESS)
    d.add_argument("--models-dir", help="where model files live (env LOCALSCRIBE_MODELS_DIR)")
    d.set_defaults(func=guarded(run_demo))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--template", default="soap",
                   help="note template: soap, history_and_physical, progress_note, one in your "
                        "practice's templates folder, or a path to a .toml/.json file anywhere")
    p.add_argument("--realtime", action="store_true",
                   help="feed the audio at real-time pace, as a microphone would")
    add_json(p)
    add_profile(p)


def _models(args: argparse.Namespace) -> tuple[ModelFile, ModelFile]:
    from localscribe.config import default_profile
    from localscribe.models import ModelError, select_models

    try:
        profile = args.profile or default_profile()
        return select_models(profile, paths_from(args))
    except (ModelError, ValueError) as exc:
        raise UserError(str(exc)) from None


def _progress(json_mode: bool) -> Callable[[VisitEvent], None]:
    """Live feedback on stderr so stdout stays the result."""
    from localscribe.pipeline import events as ev

    def on_event(e: VisitEvent) -> None:
        if json_mode:
            return
        if isinstance(e, ev.SegmentAdded):
            s = e.segment
            print(f"  [{format_time(s.t0)}] {s.text}", file=sys.stderr, flush=True)
        elif isinstance(e, ev.Progress):
            print(f"... {e.stage}", file=sys.stderr, flush=True)
        elif isinstance(e, ev.PipelineError):
            print(f"!!! {e.stage}: {e.message}", file=sys.stderr, flush=True)
    return on_event


def _prepare(args: argparse.Namespace, audio: str | None) -> Prepared:
    """Everything that can be refused before anything is stored: the audio file (bad, empty,
    too long), the template, the models. Prints a warning for a truncated file."""
    from localscribe.capture.decode import AudioDecodeError, audio_info
    from localscribe.draft.templates import TemplateError, load_template

    try:
        if audio is not None:
            info = audio_info(audio)          # a bad file is refused before models load
            if info.warning:
                print(f"localscribe: warning: {info.warning}", file=sys.stderr)
        template = load_template(args.template, paths_from(args).data_dir)
    except (AudioDecodeError, TemplateError) as exc:
        raise UserError(str(exc)) from None
    asr, llm = _models(args)
    return template, asr, llm


def _scribe(args: argparse.Namespace, store: Store, audio: str,
            prepared: Prepared | None = None, style: Any = None) -> tuple[Template, VisitResult, float]:
    from localscribe.pipeline import scribe_file

    template, asr, llm = prepared or _prepare(args, audio)
    began = time.perf_counter()
    result = scribe_file(audio, store, asr_model=asr, llm_model=llm, template=template.key,
                         data_dir=paths_from(args).data_dir, realtime=args.realtime,
                         on_event=_progress(args.json), style=style)
    return template, result, time.perf_counter() - began


def _report(args: argparse.Namespace, template: Template, result: VisitResult, elapsed: float,
            extra: dict[str, Any]) -> int:
    from localscribe.draft.render import checks_summary, render_checks, render_note

    draft = result.draft
    t = result.timings
    # Read at file speed, the end of the file is not a live Stop: the "lag" then covers
    # transcribing the whole recording, so the keys say which of the two was measured.
    end = "stop" if getattr(args, "realtime", False) else "end_of_file"
    timings = {"audio_seconds": round(t.audio_seconds, 1), "total_seconds": round(elapsed, 1),
               f"transcript_lag_at_{end}_s": _r(t.transcript_lag_s),
               f"time_to_draft_after_{end}_s": _r(t.time_to_draft_s)}
    if args.json:
        print_json({**extra, "template": template.key, "timings": timings,
                    "transcript": result.transcript.to_dict(),
                    "draft": draft.to_dict() if draft else None,
                    "note": render_note(draft, template) if draft else None,
                    "error": result.error.message if result.error else None})
    else:
        print("TRANSCRIPT")
        for s in result.transcript.segments:
            print(f"  {s.id:>4} [{format_time(s.t0)} - {format_time(s.t1)}] {s.text}")
        if draft:
            print("\nNOTE (draft, " + template.name + ")\n")
            print(render_note(draft, template))
            print(f"CHECKS: {checks_summary(draft)}")
            for line in render_checks(draft):
                print("  " + line)
        print("\nTIMINGS " + ", ".join(f"{k}={v}" for k, v in timings.items()))
        for k, v in extra.items():
            print(f"{k}: {v}")
    if result.error:
        print(f"localscribe: error: {result.error.stage}: {result.error.message}", file=sys.stderr)
        return 4
    return 0


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def run_demo(args: argparse.Namespace) -> int:
    from localscribe.pipeline import MemoryVisitStore
    from localscribe.resources import asset

    audio = asset("sample_visit", "visit.ogg")
    if not audio.exists():
        raise UserError(f"the sample visit is missing from this installation: {audio}")
    template, result, elapsed = _scribe(args, MemoryVisitStore(), str(audio))
    return _report(args, template, result, elapsed, {"sample": "assets/sample_visit (synthesized)"})


def run_scribe(args: argparse.Namespace) -> int:
    from localscribe.domain import Patient
    from localscribe.pipeline import VaultVisitStore
    from localscribe.vault.encounters import EncounterStatus

    if (args.audio is None) == (args.resume is None):
        raise UserError("give either an AUDIO file or --resume ENCOUNTER")
    if args.resume:
        return _resume(args)
    prepared = _prepare(args, args.audio)     # refused here, nothing half-made is left behind
    session = unlock(args)
    eid = None
    try:
        if args.from_schedule:
            from localscribe.cli.encounters_cmd import start_from_schedule
            eid = start_from_schedule(session, args, prepared[0].key)
        else:
            eid = session.create_encounter(Patient(name=args.patient_name, mrn=args.mrn,
                                                   birth_date=args.dob), prepared[0].key)
        from localscribe.style.store import drafting_style   # the signed-in clinician's
        template, result, elapsed = _scribe(args, VaultVisitStore(session, eid), args.audio,
                                            prepared, drafting_style(session, eid))
        if result.error:
            session.set_status(eid, EncounterStatus.FAILED.value)
        return _report(args, template, result, elapsed, {"encounter": eid})
    except BaseException:
        if eid is not None and not session.locked:
            _mark_failed(session, eid)
        raise
    finally:
        session.lock()


def _mark_failed(session: Session, eid: str) -> None:
    from localscribe.vault.encounters import EncounterStatus
    try:
        session.set_status(eid, EncounterStatus.FAILED.value)
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def _resume(args: argparse.Namespace) -> int:
    from localscribe.pipeline.resume import NotResumable, resumable_audio, resume_visit
    from localscribe.vault import EncounterNotFound

    template, asr, llm = _prepare(args, None)
    session = unlock(args)                    # marks encounters whose process died
    try:
        try:
            audio = resumable_audio(session, args.resume)
        except (NotResumable, FileNotFoundError, EncounterNotFound) as exc:
            raise UserError(str(exc)) from None
        if not args.json:
            print(f"... resuming encounter {args.resume}: {audio.size / 16000:.1f} s of "
                  "recorded audio", file=sys.stderr)
        began = time.perf_counter()
        result = resume_visit(session, args.resume, audio, asr_model=asr, llm_model=llm,
                              template=template.key, data_dir=paths_from(args).data_dir,
                              on_event=_progress(args.json))
        if result.error:
            _mark_failed(session, args.resume)
        return _report(args, template, result, time.perf_counter() - began,
                       {"encounter": args.resume, "resumed": True})
    finally:
        session.lock()
