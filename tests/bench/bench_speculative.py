"""Speculative decoding on the standard model: plain greedy against prompt lookup and a draft
model, in one run, on ACI-Bench TRAIN encounters (never a test split).

    .venv/bin/python tests/bench/bench_speculative.py [--encounters 3] [--threads 2]
        [--draft qwen2.5-coder-0.5b-instruct-awq-q4_k_m | PATH.gguf] [--variants plain,exact,lookup5,draft3,draft5]

Variants (each drafts every encounter with ``draft_transcript``, default mode, in a fresh process
so that its peak RSS is its own; variants alternate within each encounter):
- ``plain``: the engine as the product loads it today (no speculation);
- ``exact``: plain greedy, loaded batch-invariant (what every speculative variant is loaded as:
  ``engine._load_llama``); its tokens are the reference the others must equal;
- ``lookupN``: prompt lookup, up to N guesses (``LlamaEngine(lookahead=N)``);
- ``draftK``: the draft model guessing K tokens ahead.
Prints per variant the median generation tokens/s (generated tokens / seconds from the first
generated token to the end, the draft model's own prompt reading included), the acceptance rate
(accepted / proposed guesses), median seconds per note, peak RSS, ratios against ``plain``, and
whether its tokens equal ``exact``'s (else the first speculative variant's) on every encounter.

Data: ACI-Bench (Yim et al. 2023, CC BY 4.0), ../shared/data/aci-bench beside the checkout.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "aci-bench"
DRAFT_ID = "qwen2.5-coder-0.5b-instruct-awq-q4_k_m"


def draft_path(arg: str) -> Path:
    """A GGUF path, or the manifest id of an installed model (its hash checked)."""
    if arg.endswith(".gguf"):
        return Path(arg).resolve()
    from localscribe.config import resolve_paths
    from localscribe.models import load_manifest
    from localscribe.models.verify import verify_file

    spec, paths = load_manifest().model(arg), resolve_paths()
    path = paths.models_dir / spec.file
    verify_file(path, spec.sha256, paths.models_dir)
    return path


def child(args) -> int:
    from localscribe.draft.engine import LlamaEngine
    from localscribe.draft.incremental import draft_transcript
    from localscribe.draft.templates import load_template
    from localscribe.draft.transcript_text import parse_transcript_text

    with open(args.data / "train.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["encounter_id"] == args.encounter)
    v = args.child
    kw = {"n_ctx": 8192, "n_threads": args.threads}
    if v == "exact":
        kw["batch_invariant"] = True
    elif v.startswith("lookup"):
        kw["lookahead"] = int(v[len("lookup"):])
    elif v.startswith("draft"):
        kw.update(draft_model=draft_path(args.draft), draft_k=int(v[len("draft"):]))
    elif v != "plain":
        raise SystemExit(f"unknown variant {v}")
    engine = LlamaEngine.for_profile("standard", **kw)
    template = load_template("history_and_physical")
    transcript = parse_transcript_text(row["dialogue"])
    t = time.perf_counter()
    _draft, stats = draft_transcript(engine, transcript, template)
    wall = time.perf_counter() - t
    gens = stats.generations
    toks = [t for g in gens for t in g.tokens]
    c = engine.counters
    print(json.dumps({
        "variant": v, "encounter": args.encounter, "wall_s": wall,
        "generated": sum(g.generated for g in gens), "gen_s": sum(g.gen_s for g in gens),
        "prompt_s": sum(g.prompt_s for g in gens), "proposed": c.proposed, "accepted": c.accepted,
        "drafted": c.drafted, "tokens_sha": hashlib.sha256(json.dumps(toks).encode()).hexdigest()[:16],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encounters", type=int, default=3, help="N ACI-Bench train encounters")
    ap.add_argument("--shortest", action="store_true", help="the N shortest dialogues (default: the first N)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--draft", default=DRAFT_ID)
    ap.add_argument("--variants", default="plain,exact,lookup5,draft3,draft5")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--encounter", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    with open(args.data / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if args.shortest:
        rows.sort(key=lambda r: len(r["dialogue"]))
    ids = [r["encounter_id"] for r in rows][: args.encounters]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    print(f"ACI-Bench train {', '.join(ids)}; variants {','.join(variants)}; threads {args.threads}", flush=True)
    recs: dict[str, list[dict]] = {v: [] for v in variants}
    for i, enc in enumerate(ids):
        order = variants[i % len(variants):] + variants[: i % len(variants)]   # alternate who goes first
        for v in order:
            out = subprocess.run([sys.executable, __file__, "--child", v, "--encounter", enc, "--threads",
                                  str(args.threads), "--draft", args.draft, "--data", str(args.data)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{v} {enc} failed: {out.stderr.strip()[-2000:]}", file=sys.stderr)
                return 1
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            recs[v].append(rec)
            print(json.dumps(rec), flush=True)
    # The reference: plain greedy loaded batch-invariant, else the first speculative variant (all of
    # them are loaded so, and must then agree with each other token for token).
    ref_v = next((v for v in variants if v != "plain"), None)
    ref = {r["encounter"]: r["tokens_sha"] for r in recs.get(ref_v, [])}
    base = None
    print(f"\n{'variant':10} {'tok/s':>7} {'ratio':>6} {'s/note':>7} {'ratio':>6} {'accept':>7} "
          f"{'guesses':>8} {'peakRSS MB':>10}  tokens = {ref_v}'s")
    for v in variants:
        rs = recs[v]
        tps = statistics.median(r["generated"] / r["gen_s"] for r in rs)
        wall = statistics.median(r["wall_s"] for r in rs)
        prop, acc = sum(r["proposed"] for r in rs), sum(r["accepted"] for r in rs)
        base = base or (tps, wall)
        same = "-" if not ref else all(ref.get(r["encounter"]) == r["tokens_sha"] for r in rs)
        print(f"{v:10} {tps:7.2f} {tps / base[0]:6.2f} {wall:7.1f} {wall / base[1]:6.2f} "
              f"{(acc / prop if prop else 0):7.1%} {prop:8d} {max(r['peak_rss_mb'] for r in rs):10.0f}  {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
