"""Patient instructions (after-visit summaries) on ACI-Bench train encounters: reading level,
verifier flags per summary, tokens and time, per language.

    PYTHONPATH=desktop nice -n 5 .venv/bin/python tests/bench/bench_instructions.py \
        --limit 3 --langs en,es,es-direct [--profile standard] [--save out.jsonl]
        [--english-from earlier.jsonl]

Per summary: Flesch-Kincaid grade (en; target <= 8) or Fernández-Huerta ease (es; target >= 70),
blocking and informational flags by kind (the note's verifier, same rules), sentences the
verifier found no support for ("weak-evidence": it could not vouch for them), generated
tokens, seconds.

Spanish two ways, on the same encounters in the same run:
- ``es`` (what the app does): the English summary just written, translated sentence by
  sentence, each translation checked against its English source (``instructions.translate``);
  reported: translation flags by what they caught, tokens and seconds of the translation.
- ``es-direct``: written in Spanish straight from the English visit (the design it replaced);
  the verifier reads English, so its flags say how much of it could not be checked.
For both, the share of function words that are Spanish rather than English (a sentence left
in English, or half-translated, shows here; the ease score alone cannot tell).

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

from localscribe.domain import Draft
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.instructions.prompts import Language
from localscribe.instructions.reading import reading_level
from localscribe.instructions.render import plain_sentences
from localscribe.instructions.translate import (is_translation_flag, spanish_share, translate_summary,
                                                what_changed)
from localscribe.instructions.writer import draft_summary

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "aci-bench"


def evaluate(row: dict, variant: str, engine: LlamaEngine, max_tokens: int | None,
             english: Draft | None = None) -> dict:
    """One summary. ``english``: for ``es``, the English summary of this encounter already
    written in this run (translated as the app would translate it, not written again)."""
    transcript = parse_transcript_text(row["dialogue"])
    lang = Language.EN if variant == "en" else Language.ES
    engine.reset()
    extra: dict = {}
    if variant == "es" and english is not None:
        tr = translate_summary(engine, english, Language.ES)
        d, seconds, generated = tr.draft, tr.seconds, tr.generated
        gen_tok_s = round(tr.generated / max(tr.seconds, 1e-9), 1)
        complete = True
    else:
        run = draft_summary(engine, transcript, lang, max_tokens=max_tokens, direct=variant == "es-direct")
        d, seconds, generated = run.draft, run.seconds, run.stats.stop_generated + run.translated_tokens
        gen_tok_s = round(run.stats.stop_generated / max(run.stats.stop_gen_s, 1e-9), 1)
        complete = run.stats.finished
    text = plain_sentences(d)
    reading = reading_level(text, lang)
    blocking = Counter(f.kind for st in d.statements for f in st.flags if f.blocking)
    info = Counter(f.kind for st in d.statements for f in st.flags if not f.blocking)
    if variant == "es":
        caught = Counter(what_changed(f) for st in d.statements for f in st.flags if is_translation_flag(f))
        extra = {"translation_flags": dict(caught),
                 "sentences_flagged": sum(any(map(is_translation_flag, st.flags)) for st in d.statements),
                 "pairs": [[st.source, st.text] for st in d.statements]}
    rec = {"encounter": row["encounter_id"], "lang": variant, "sentences": len(d.statements),
           "score": reading.score, "metric": reading.metric, "meets_target": reading.meets_target,
           "blocking_flags": sum(blocking.values()), "blocking_statements": len(d.blocking),
           "blocking_by_kind": dict(blocking), "info_by_kind": dict(info),
           "unsupported_share": round(sum(1 for st in d.statements if any(
               f.kind in ("weak-evidence", "unsupported") for f in st.flags)) / max(1, len(d.statements)), 2),
           "notices": [s.key for s in d.notices],
           "generated": generated, "seconds": round(seconds, 1), "gen_tok_s": gen_tok_s,
           "complete": complete, "text": text, "draft": d.to_dict(), **extra}
    if lang is Language.ES:
        rec["spanish_share"] = round(spanish_share(text), 2)
        # The summary speaks to the patient as "usted"; a sentence with "tu", "tus", "te"
        # speaks as "tú" (the familiar form: wrong register for a clinic's paper).
        rec["tu_sentences"] = sum(bool(re.search(r"\b(?:tu|tus|te|ti|contigo)\b", st.text.lower()))
                                  for st in d.statements)
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
    if lang.startswith("es"):
        line += (f"; Spanish function-word share {[r['spanish_share'] for r in recs]}; sentences "
                 f"speaking as 'tú' {[r['tu_sentences'] for r in recs]}")
    if lang == "es":
        line += (f"; sentences whose translation was flagged {[r['sentences_flagged'] for r in recs]} "
                 f"of {[r['sentences'] for r in recs]}; caught "
                 f"{dict(sum((Counter(r['translation_flags']) for r in recs), Counter()))}")
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", default="en", help="comma-separated: en,es,es-direct")
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the summary's own budget")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--save", type=Path, help="per-summary records with their text (JSON lines)")
    ap.add_argument("--english-from", type=Path,
                    help="a --save file: translate its English summaries (es) instead of writing them "
                         "again, to compare translation settings on the same English")
    args = ap.parse_args(argv)
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    if not set(langs) <= {"en", "es", "es-direct"}:
        ap.error("--langs: en, es, es-direct")
    with open(args.data / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[args.offset:args.offset + args.limit]
    if not rows:
        print("no encounters", file=sys.stderr)
        return 1
    engine = LlamaEngine.for_profile(args.profile, n_ctx=args.n_ctx, n_threads=args.threads)
    print(f"ACI-Bench train: {len(rows)} encounters from {args.offset}, model {engine.model_path.name}, "
          f"languages {','.join(langs)}, threads {args.threads or 'all'}", flush=True)
    out = open(args.save, "w", encoding="utf-8") if args.save else None  # noqa: SIM115 - per record
    saved: dict[str, Draft] = {}
    if args.english_from:
        for line in args.english_from.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["lang"] == "en":
                saved[r["encounter"]] = Draft.from_dict(r["draft"])
    per: dict[str, list[dict]] = {x: [] for x in langs}
    for row in rows:
        english: Draft | None = saved.get(row["encounter_id"])
        for lang in langs:
            rec = evaluate(row, lang, engine, args.max_tokens, english)
            if lang == "en":
                english = Draft.from_dict(rec["draft"])
            per[lang].append(rec)
            print(json.dumps({k: v for k, v in rec.items() if k not in ("text", "draft", "pairs")}),
                  flush=True)
            if out:
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
    print()
    for lang, recs in per.items():
        print(summarize(lang, recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
