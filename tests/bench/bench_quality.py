"""Note quality on ACI-Bench: ROUGE-1/2/Lsum and the unsupported-statement rate.

    .venv/bin/python tests/bench/bench_quality.py [--split valid] [--limit N] [--profile standard]

ROUGE is computed as ACI-Bench's own evaluation does (rouge-score, use_stemmer=False, F1 per
encounter, averaged; rougeLsum on newline-split text). The unsupported rate is the share of
note statements carrying a flag for a fact the transcript never states (numbers with units,
doses, drug names, laterality, negation). Tune prompts on --split train, report on valid.

Data: ACI-Bench (Yim et al. 2023, CC BY 4.0), /work/shared/data/aci-bench or --data.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.verify import UNSUPPORTED_KINDS, unsupported_rate, verify_draft
from rouge_score import rouge_scorer

DATA = Path("/work/shared/data/aci-bench")


def score(scorer, reference: str, prediction: str) -> dict[str, float]:
    # rougeLsum splits on newlines: one sentence per line, as ACI-Bench's evaluation does.
    ref = "\n".join(line for line in reference.splitlines() if line.strip())
    pred = "\n".join(line for line in prediction.splitlines() if line.strip())
    s = scorer.score(ref, pred)
    return {k: 100 * v.fmeasure for k, v in s.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="valid", choices=("valid", "train"))
    ap.add_argument("--limit", type=int, default=0, help="first N encounters only")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--model", help="a GGUF path instead of the profile's model")
    ap.add_argument("--template", default="history_and_physical")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the template's note_tokens")
    ap.add_argument("--lookahead", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--save", type=Path, help="write per-encounter notes and scores (JSON lines)")
    args = ap.parse_args(argv)

    with open(args.data / f"{args.split}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows = rows[args.offset:]
    if args.limit:
        rows = rows[: args.limit]
    template = load_template(args.template)
    kw = {"n_ctx": args.n_ctx, "n_threads": args.threads, "lookahead": args.lookahead}
    engine = LlamaEngine(Path(args.model).resolve(), **kw) if args.model else LlamaEngine.for_profile(args.profile, **kw)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    out = open(args.save, "w", encoding="utf-8") if args.save else None  # noqa: SIM115 - written per encounter
    per: list[dict] = []
    n_statements = n_unsupported = 0
    print(f"ACI-Bench {args.split}: {len(rows)} encounters, model {engine.model_path.name}, "
          f"template {template.key}, threads {args.threads or 'all'}, lookahead {args.lookahead}", flush=True)
    for row in rows:
        transcript = parse_transcript_text(row["dialogue"])
        t = time.perf_counter()
        engine.reset()
        draft, stats = draft_transcript(engine, transcript, template, max_tokens=args.max_tokens)
        wall = time.perf_counter() - t
        verify_draft(draft, transcript)
        note = render_note(draft, template)
        s = score(scorer, row["note"], note)
        u = unsupported_rate(draft)
        n_statements += len(draft.statements)
        n_unsupported += sum(1 for st in draft.statements if any(f.kind in UNSUPPORTED_KINDS for f in st.flags))
        rec = {"encounter": row["encounter_id"], **{k: round(v, 2) for k, v in s.items()},
               "unsupported": round(u, 3), "statements": len(draft.statements), "seconds": round(wall, 1),
               "prompt_tokens": stats.stop_prompt_tokens, "generated": stats.stop_generated,
               "prompt_tok_s": round(stats.stop_prompt_tokens / max(stats.stop_prompt_s, 1e-9), 1),
               "gen_tok_s": round(stats.stop_generated / max(stats.stop_gen_s, 1e-9), 1),
               "finished": stats.finished}
        per.append(rec)
        print(json.dumps(rec), flush=True)
        if out:
            out.write(json.dumps({**rec, "note": note, "draft": draft.to_dict()}) + "\n")
            out.flush()
    if not per:
        print("no encounters", file=sys.stderr)
        return 1
    mean = {k: statistics.mean(r[k] for r in per) for k in ("rouge1", "rouge2", "rougeLsum", "seconds",
                                                             "generated", "prompt_tok_s", "gen_tok_s")}
    print(f"\nencounters={len(per)} ROUGE-1={mean['rouge1']:.2f} ROUGE-2={mean['rouge2']:.2f} "
          f"ROUGE-Lsum={mean['rougeLsum']:.2f} unsupported={100 * n_unsupported / max(n_statements, 1):.1f}% "
          f"of {n_statements} statements (mean per note "
          f"{100 * statistics.mean(r['unsupported'] for r in per):.1f}%); "
          f"mean {mean['seconds']:.1f} s/visit, {mean['generated']:.0f} generated tokens, "
          f"prompt {mean['prompt_tok_s']:.1f} tok/s, gen {mean['gen_tok_s']:.1f} tok/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
