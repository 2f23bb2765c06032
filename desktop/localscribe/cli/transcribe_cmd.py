"""`localscribe transcribe AUDIO`: a recording on disk to a timed transcript."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from localscribe.cli.common import (Subparsers, UserError, add_dirs, add_json, add_profile, guarded,
                                    paths_from, print_json)

EXIT_NO_SPEECH = 3

if TYPE_CHECKING:   # imported inside the command, when it runs
    from localscribe.domain import Segment
    from localscribe.models.resolve import ModelFile


def format_time(t: float) -> str:
    """12.3 -> '00:12.3'; past an hour '1:02:03.4'."""
    tenths = int(round(t * 10))
    h, rem = divmod(tenths, 36000)
    m, rem = divmod(rem, 600)
    s = rem / 10
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m:02d}:{s:04.1f}"


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("transcribe", help="transcribe a recording (WAV, FLAC or OGG)",
                              description="Transcribe a recording with the local Whisper model. "
                                          "Any sample rate and channel count is accepted.")
    p.add_argument("audio", metavar="AUDIO", help="the recording to transcribe")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the speech engine")
    add_json(p)
    add_profile(p)
    add_dirs(p)
    p.set_defaults(func=run)


def _resolve_asr(args: argparse.Namespace) -> ModelFile:
    from localscribe.config import default_profile

    from localscribe.models import ModelError, resolve_model

    try:
        profile = args.profile or default_profile()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        return resolve_model("asr", profile, paths_from(args))
    except ModelError as exc:
        raise UserError(str(exc)) from None


@guarded
def run(args: argparse.Namespace) -> int:
    from localscribe.capture.decode import AudioDecodeError, audio_info
    from localscribe.transcribe.engine import EngineError
    from localscribe.transcribe.files import NoSpeechError, transcribe_file
    from localscribe.transcribe.worker import TranscriptionError

    try:
        info = audio_info(args.audio)          # a bad file is reported before any model loads
    except AudioDecodeError as exc:
        raise UserError(str(exc)) from None
    model = _resolve_asr(args)

    def show(seg: Segment) -> None:
        if not args.json:
            print(f"[{format_time(seg.t0)} - {format_time(seg.t1)}] {seg.text}", flush=True)

    try:
        result = transcribe_file(info.path, model, n_threads=args.threads, on_segment=show)
    except AudioDecodeError as exc:
        raise UserError(str(exc)) from None
    except NoSpeechError as exc:
        raise UserError(str(exc), EXIT_NO_SPEECH) from None
    except (EngineError, TranscriptionError) as exc:
        raise UserError(str(exc), 4) from None
    if args.json:
        print_json({"audio": str(info.path), "duration": round(info.duration, 2),
                    "model": getattr(model, "name", str(getattr(model, "path", model))),
                    "elapsed_seconds": round(result.elapsed_seconds, 2),
                    **result.transcript.to_dict()})
    else:
        print(f"({len(result.transcript.segments)} segments, {info.duration:.1f} s of audio, "
              f"{result.elapsed_seconds:.1f} s)", file=sys.stderr)
    return 0
