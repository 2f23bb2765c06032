"""Patient instructions (after-visit summaries) on ACI-Bench train encounters: reading level,
verifier flags per summary, tokens and time, per language.

    PYTHONPATH=desktop nice -n 5 .venv/bin/python tests/bench/bench_instructions.py \
        --limit 3 --langs en,es [--profile standard] [--save out.jsonl]

Per summary: Flesch-Kincaid grade (en; target <= 8) or Fernández-Huerta ease (es; target >= 70),
blocking and informational flags by kind (the note's verifier, same rules), sentences the
verifier found no support for ("weak-evidence": it could not vouch for them), generated
tokens, seconds. For Spanish also the share of function words that are Spanish rather than
English: a check that the summary is in the language asked for, which the ease score alone
cannot tell (it is computed on whatever words are there).

Data: ACI-Bench (Yim et al. 2023, CC BY 4.0), ../shared/data/aci-bench beside the checkout,
train split only. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

from localscribe.draft.engine import LlamaEngine
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.instructions.prompts import Language
from localscribe.instructions.reading import reading_level
from localscribe.instructions.render import plain_sentences
from localscribe.instructions.writer import draft_summary

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "aci-bench"

_ES = set("el la los las de del que y en un una es por con para su sus se no al lo como más pero "
          "usted debe tome cada día días si le muy".split())
_EN = set("the of and to in a is for with your you that on it be take each day days if this are "
          "should".split())


def spanish_share(text: str) -> float:
    words = re.findall(r"[^\W\d_]+", text.lower())
    es = sum(w in _ES for w in words)
    en = sum(w in _EN for w in words)
    return round(es / (es + en), 2) if es + en else 0.0


def evaluate(row: dict, lang: Language, engine: LlamaEngine, max_tokens: int | None) -> dict:
    transcript = parse_transcript_text(row["dialogue"])
    engine.reset()
    run = draft_summary(engine, transcript, lang, max_tokens=max_tokens)
    d = run.draft
    text = plain_sentences(d)
    reading = reading_level(text, lang)
    blocking = Counter(f.kind for st in d.statements for f in st.flags if f.blocking)
    info = Counter(f.kind for st in d.statements for f in st.flags if not f.blocking)
    rec = {"encounter": row["encounter_id"], "lang": lang.value, "sentences": len(d.statements),
           "score": reading.score, "metric": reading.metric, "meets_target": reading.meets_target,
           "blocking_flags": sum(blocking.values()), "blocking_statements": len(d.blocking),
           "blocking_by_kind": dict(blocking), "info_by_kind": dict(info),
           "unsupported_share": round(sum(1 for st in d.statements if any(
               f.kind in ("weak-evidence", "unsupported") for f in st.flags)) / max(1, len(d.statements)), 2),
           "notices": [s.key for s in d.notices],
           "generated": run.stats.stop_generated, "rewritten": run.stats.rewritten,
           "seconds": round(run.seconds, 1),
           "gen_tok_s": round(run.stats.stop_generated / max(run.stats.stop_gen_s, 1e-9), 1),
           "complete": run.stats.finished, "text": text}
    if lang is Language.ES:
        rec["spanish_share"] = spanish_share(text)
    return rec


def summarize(lang: str, recs: list[dict]) -> str:
    if not recs:
        return f"{lang}: no summaries"
    med = lambda k: statistics.median(r[k] for r in recs)  # noqa: E731
    line = (f"{lang}: {len(recs)} summaries; {recs[0]['metric']} median {med('score')} "
            f"(met target {sum(r['meets_target'] for r in recs)}/{len(recs)}); blocking flags per summary "
            f"{[r['blocking_flags'] for r in recs]}; sentences {[r['sentences'] for r in recs]}; "
            f"no-support share median {med('unsupported_share')}; generated tokens median {med('generated')}, "
            f"{med('gen_tok_s')} tok/s; seconds median {med('seconds')}")
    if lang == "es":
        line += f"; Spanish function-word share {[r['spanish_share'] for r in recs]}"
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", default="en", help="comma-separated: en,es")
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the summary's own budget")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--save", type=Path, help="per-summary records with their text (JSON lines)")
    args = ap.parse_args(argv)
    langs = [Language(x.strip()) for x in args.langs.split(",") if x.strip()]
    with open(args.data / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[args.offset:args.offset + args.limit]
    if not rows:
        print("no encounters", file=sys.stderr)
        return 1
    engine = LlamaEngine.for_profile(args.profile, n_ctx=args.n_ctx, n_threads=args.threads)
    print(f"ACI-Bench train: {len(rows)} encounters from {args.offset}, model {engine.model_path.name}, "
          f"languages {','.join(x.value for x in langs)}, threads {args.threads or 'all'}", flush=True)
    out = open(args.save, "w", encoding="utf-8") if args.save else None  # noqa: SIM115 - per record
    per: dict[str, list[dict]] = {x.value: [] for x in langs}
    for row in rows:
        for lang in langs:
            rec = evaluate(row, lang, engine, args.max_tokens)
            per[lang.value].append(rec)
            print(json.dumps({k: v for k, v in rec.items() if k != "text"}), flush=True)
            if out:
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
    print()
    for lang, recs in per.items():
        print(summarize(lang, recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
