"""Benchmark whisper.cpp ggml variants (f16 vs q8_0) from our CT2 converter.

For each Whisper model it converts the CT2 input twice (f16, q8_0) into a temporary
directory, then runs each variant in a fresh subprocess (so peak RSS is that variant's
alone), alternating variants across rounds to spread out noise from other work on the
machine. Figures: load time, real-time factor (transcribe seconds / audio seconds), peak
RSS, and corpus WER on the Debian pocketsphinx-testdata LibriVox clips.

    python tests/bench/bench_ggml_quant.py --threads 1 --rounds 5        # tiny.en, from the registry
    python tests/bench/bench_ggml_quant.py --model whisper-base --threads 1 --rounds 3
    python tests/bench/bench_ggml_quant.py --ggml f16=/path/a.bin --ggml q8_0=/path/b.bin
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "models"))

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from librivox import load_clips, transcribe_text, corpus_wer
from pywhispercpp.model import Model
def peak_rss_mb():
    # VmHWM belongs to this process image; ru_maxrss would carry the forking parent's peak over exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
clips = load_clips()
t0 = time.perf_counter()
model = Model(sys.argv[1], print_progress=False, n_threads=int(sys.argv[2]))
load_s = time.perf_counter() - t0
t0, c0 = time.perf_counter(), time.process_time()
hyps = [transcribe_text(model, c.audio) for c in clips]
run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
audio_s = sum(c.seconds for c in clips)
print(json.dumps({"load_s": load_s, "rtf": run_s / audio_s, "cpu_rtf": cpu_s / audio_s,
                  "peak_rss_mb": peak_rss_mb(),
                  "wer": corpus_wer([c.reference for c in clips], hyps)}))
"""


def run_variant(path: Path, threads: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(threads), str(HERE.parent / "models")],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"variant {path} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def convert_variants(model_id: str, outdir: Path, models_dir: str | None) -> dict[str, Path]:
    from localscribe.config import resolve_paths
    from localscribe.models.install import prepare_ct2_dir
    from localscribe.models.ct2_to_ggml import write_ggml

    ct2_dir = prepare_ct2_dir(model_id, resolve_paths(models_dir=models_dir))
    files = {}
    for quant in ("f16", "q8_0"):
        files[quant] = outdir / f"{model_id}.{quant}.bin"
        with open(files[quant], "wb") as fh:
            write_ggml(ct2_dir, fh, quant)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="whisper-tiny.en", help="manifest id of a CT2-sourced Whisper model")
    ap.add_argument("--ggml", action="append", default=[], metavar="LABEL=PATH",
                    help="benchmark these ggml files instead of converting")
    ap.add_argument("--models-dir", help="models dir whose download cache to use")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ggml-") as tmp:
        if args.ggml:
            files = {label: Path(p) for label, p in (g.split("=", 1) for g in args.ggml)}
        else:
            files = convert_variants(args.model, Path(tmp), args.models_dir)
        sizes = {label: path.stat().st_size / 1e6 for label, path in files.items()}
        results: dict[str, list[dict]] = {label: [] for label in files}
        for r in range(args.rounds):
            order = list(files) if r % 2 == 0 else list(reversed(files))
            for label in order:
                res = run_variant(files[label], args.threads)
                results[label].append(res)
                print(f"round {r + 1} {label:6s} " + " ".join(f"{k}={v:.4f}" for k, v in res.items()),
                      file=sys.stderr)

    print(f"\n{args.model if not args.ggml else 'given files'}: medians over {args.rounds} rounds, "
          f"{args.threads} threads")
    print(f"{'variant':8s} {'size_MB':>8s} {'load_s':>7s} {'RTF':>7s} {'CPU_RTF':>7s} {'peakRSS_MB':>10s} {'WER':>7s}")
    med = {}
    for label, runs in results.items():
        med[label] = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        m = med[label]
        print(f"{label:8s} {sizes[label]:8.1f} {m['load_s']:7.3f} {m['rtf']:7.4f} {m['cpu_rtf']:7.4f} "
              f"{m['peak_rss_mb']:10.1f} {m['wer']:7.4f}")
    labels = list(med)
    if len(labels) == 2:
        a, b = labels
        print(f"ratio {b}/{a}: RTF {med[b]['rtf'] / med[a]['rtf']:.3f}, "
              f"CPU RTF {med[b]['cpu_rtf'] / med[a]['cpu_rtf']:.3f}, "
              f"peak RSS {med[b]['peak_rss_mb'] / med[a]['peak_rss_mb']:.3f}, "
              f"WER {med[b]['wer']:.4f} vs {med[a]['wer']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
