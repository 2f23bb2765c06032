"""whisper.cpp settings measured one by one, through the app's own pipeline, in one run.

    python tests/bench/bench_asr_options.py [--profile standard] [--visits 1] [--max-seconds 300]
        [--variants alone,merged,merged+flash,merged+beam5,merged+1thread] [--repeat 1]

Every variant transcribes the same audio (PriMock57 visits rebuilt as audio with espeak-ng, fed
from disk in blocks as fast as they decode, so the worker is busy as on a file or a loaded
machine; and the LibriVox clips of Debian's pocketsphinx-testdata, one clip after another with
3 s of silence between them) through StreamingTranscriber, each in a fresh worker process:

  alone           each window its own encoder pass (the pipeline before this change)
  merged          windows queued behind a busy worker merged into one pass (the app's default)
  merged+flash    whisper.cpp's flash attention on
  merged+beam5    beam search, 5 beams, instead of greedy decoding
  merged+1thread  one thread instead of the machine's default

Prints per variant: RTF (wall seconds / audio seconds; model load excluded), encoder passes,
WER against the reference; and each variant's RTF against "alone" measured in the same run.
With --repeat N the variants run N times in turn and the medians are reported (the machine is
shared). Data: PriMock57 (Papadopoulos Korfiatis et al., ACL 2022, CC BY 4.0); LibriVox via
Debian pocketsphinx-testdata.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import jiwer  # noqa: E402

from localscribe.capture.decode import decode_file, iter_blocks  # noqa: E402
from localscribe.transcribe.engine import DecodeOptions, default_threads  # noqa: E402
from localscribe.transcribe.streaming import StreamingTranscriber  # noqa: E402
from tests.support.rebuild_visit import list_visits, rebuild  # noqa: E402
from tests.support.speech import librivox_clips, normalize  # noqa: E402

VARIANTS = {
    "alone": (False, DecodeOptions(), None),
    "merged": (True, DecodeOptions(), None),
    "merged+flash": (True, DecodeOptions(flash_attn=True), None),
    "merged+beam5": (True, DecodeOptions(beam_size=5), None),
    "merged+1thread": (True, DecodeOptions(), 1),
}


def librivox_visit() -> tuple[np.ndarray, str]:
    gap = np.zeros(3 * 16000, np.float32)
    parts, refs = [gap], []
    for path, ref in librivox_clips():
        parts += [decode_file(path), gap]
        refs.append(ref)
    return np.concatenate(parts), " ".join(refs)


def run(model_file, name: str, threads: int, visits, libri) -> dict[str, tuple[float, float, int, float]]:
    """{data: (audio s, wall s, encoder passes, WER)} for one variant."""
    merge, options, own_threads = VARIANTS[name]
    out = {}
    with StreamingTranscriber(model_file, n_threads=own_threads or threads, merge=merge,
                              options=options) as st:                 # loads the model
        for label, feed in (("PriMock57", visits), ("LibriVox", [libri])):
            refs, hyps, wall, audio, jobs0 = [], [], 0.0, 0.0, st.stats.jobs
            for item in feed:
                if isinstance(item, tuple):
                    x, ref = item
                    blocks = (x[i:i + 80000] for i in range(0, len(x), 80000))
                    dur = len(x) / 16000
                else:
                    blocks, ref, dur = iter_blocks(item.audio_path, 5.0), item.reference, item.duration
                t = time.perf_counter()
                hyps.append(" ".join(s.text for s in st.transcribe_blocks(blocks)))
                wall += time.perf_counter() - t
                audio += dur
                refs.append(ref)
            if refs:
                w = jiwer.wer([normalize(r) for r in refs], [normalize(h) for h in hyps])
                out[label] = (audio, wall, st.stats.jobs - jobs0, w)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--visits", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="cut each visit (0: whole)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)

    from localscribe.models import resolve_model
    from localscribe.security.egress import install_guard

    install_guard()                          # nothing here may reach the network
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s): {', '.join(unknown)}")
    threads = args.threads or default_threads()
    mf = resolve_model("asr", args.profile)
    visits = [rebuild(v, args.max_seconds or None) for v in list_visits()[:args.visits]]
    libri = librivox_visit()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {threads} thread(s), {mf.name}; "
          f"{len(visits)} visit(s) {sum(v.duration for v in visits) / 60:.1f} min; LibriVox "
          f"{len(libri[0]) / 16000:.0f} s", flush=True)
    runs: dict[str, list[dict[str, tuple[float, float, int, float]]]] = {n: [] for n in names}
    for r in range(args.repeat):
        for name in names:                   # in turn, so load drifts hit every variant alike
            res = run(mf, name, threads, visits, libri)
            runs[name].append(res)
            print(f"  round {r + 1} {name:15} " + "  ".join(
                f"{d}: RTF {w / a:.3f} passes {j} WER {100 * e:.1f}%" for d, (a, w, j, e) in res.items()),
                flush=True)
    print(f"\n{'variant':15} {'data':10} {'RTF (median)':>12} {'passes':>7} {'WER':>6} {'RTF vs alone':>13}")
    for d in ("PriMock57", "LibriVox"):
        base = None
        if "alone" in runs and runs["alone"] and d in runs["alone"][0]:
            base = statistics.median(x[d][1] / x[d][0] for x in runs["alone"])
        for name in names:
            if not runs[name] or d not in runs[name][0]:
                continue
            rtf = statistics.median(x[d][1] / x[d][0] for x in runs[name])
            a, _, jobs, err = runs[name][-1][d]
            ratio = f"{rtf / base:12.2f}x" if base else ""
            print(f"{name:15} {d:10} {rtf:12.3f} {jobs:7d} {100 * err:5.1f}% {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
