"""The same note on the CPU and on a GPU device, from one llama.cpp build: correctness of a
GPU backend, and its speed where there is a real GPU.

    .venv/bin/python tests/bench/bench_backend.py [--profile tiny] [--transcript FILE] [--runs 1]

Run it with the llama-cpp-python of the backend to check on the path (a wheel built by
``installer/install.sh --gpu vulkan`` unpacked into DIR: ``PYTHONPATH=DIR:desktop``). Each
variant loads the model afresh: ``gpu_layers=0`` (every layer on the CPU) and
``gpu_layers=-1`` (every layer on the device), drafts the note of the transcript with greedy
decoding (no sampling, so no seed is needed) and prints the generated tokens, whether the two
notes are the same token for token, where they first differ, ROUGE-L between them, and the
seconds per note. On a machine without a GPU, Mesa's CPU Vulkan driver (lavapipe) stands in
for the device: set GGML_VK_VISIBLE_DEVICES=0, since llama.cpp skips CPU devices by default.
Its speed says nothing of a GPU's; only the agreement of the notes is the result there.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.models.backend import llama_backend
from rouge_score import rouge_scorer

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_visit" / "script.txt"


def one_note(profile: str, layers: int, transcript, template, threads: int | None) -> tuple[str, list[int], float]:
    engine = LlamaEngine.for_profile(profile, gpu_layers=layers, n_threads=threads, n_ctx=4096)
    t = time.perf_counter()
    draft, stats = draft_transcript(engine, transcript, template)
    seconds = time.perf_counter() - t
    tokens = [tok for gen in stats.generations for tok in gen.tokens]
    return render_note(draft, template), tokens, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--transcript", type=Path, default=SAMPLE)
    ap.add_argument("--template", default="soap")
    ap.add_argument("--runs", type=int, default=1, help="notes per variant (seconds: median)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    backend = llama_backend()
    print(f"llama.cpp build: {backend.summary} (compiled: {', '.join(backend.backends)}; "
          f"GPU offload {'yes' if backend.gpu_offload else 'no'})", flush=True)
    if not backend.gpu_offload:
        print("this build has no GPU backend: both variants would run on the CPU")
        return 2
    transcript = parse_transcript_text(args.transcript.read_text(encoding="utf-8"))
    template = load_template(args.template)
    results: dict[str, tuple[str, list[int], list[float]]] = {}
    for name, layers in (("cpu", 0), ("device", -1)):
        times: list[float] = []
        for _ in range(args.runs):
            note, tokens, seconds = one_note(args.profile, layers, transcript, template, args.threads)
            times.append(seconds)
        results[name] = (note, tokens, times)
        print(f"{name:>6}: {len(tokens)} tokens, {statistics.median(times):.1f} s per note (median of "
              f"{len(times)})", flush=True)
    (cpu_note, cpu_tok, cpu_t), (dev_note, dev_tok, dev_t) = results["cpu"], results["device"]
    first = next((i for i, (a, b) in enumerate(zip(cpu_tok, dev_tok)) if a != b),
                 None if len(cpu_tok) == len(dev_tok) else min(len(cpu_tok), len(dev_tok)))
    rl = rouge_scorer.RougeScorer(["rougeL"]).score(cpu_note, dev_note)["rougeL"].fmeasure
    print(f"same note token for token: {'yes' if first is None else 'no'}"
          + ("" if first is None else f" (first difference at generated token {first} of {len(cpu_tok)})")
          + f"; ROUGE-L between the notes {100 * rl:.1f}; device/cpu time "
          f"{statistics.median(dev_t) / statistics.median(cpu_t):.2f}x")
    if first is not None:
        print("--- cpu note ---\n" + cpu_note + "--- device note ---\n" + dev_note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
