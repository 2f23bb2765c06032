"""Note quality on ACI-Bench: ROUGE per note and per section, completeness, flags.

    .venv/bin/python tests/bench/bench_quality.py [--split valid] [--modes chained,lines]
        [--limit N] [--profile standard] [--save out.jsonl]

Every mode named in --modes drafts every encounter in the same run, so the comparison is
paired (same machine state, same encounters). Modes (desktop/localscribe/draft/incremental.py):
``lines`` (statement lines with evidence ids, the design before issue 9), ``prose`` (prose
under the headings in one turn), ``sections`` (one turn per section, each from the transcript
alone), ``chained`` (one turn per section in one conversation). Variants of the per-section
modes: ``/norecheck`` without rewriting the sentences the verifier blocks (``draft/recheck.py``),
``/nofit`` with the template's sentence caps whatever the visit's length
(``sections.fit_to_visit``); e.g. ``sections/norecheck/nofit``.

Reported per mode:
- ROUGE-1/2/Lsum as ACI-Bench's own evaluation computes them (rouge-score, use_stemmer=False,
  F1 per encounter, averaged; rougeLsum on newline-split text), and ROUGE-1 per section
  (the reference's headings mapped onto the template's sections);
- completeness: notes with an empty section that the reference fills, notes shorter than half
  the reference in words, sections left with a visible notice, repeated statements removed;
- flags: blocking flags per note (mean), share of statements with a blocking flag;
- generated tokens and seconds per note.
Tune on --split train; report on valid.

Data: ACI-Bench (Yim et al. 2023, CC BY 4.0), ../shared/data/aci-bench beside the checkout,
or --data.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from pathlib import Path

from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import DraftMode, draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.verify import verify_draft
from rouge_score import rouge_scorer

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "aci-bench"

# Reference headings of ACI-Bench notes -> the History and Physical template's sections.
_HEADINGS = [
    ("cc", ("CHIEF COMPLAINT", "CC")),
    ("hpi", ("HISTORY OF PRESENT ILLNESS", "HPI", "SOCIAL HISTORY", "MEDICAL HISTORY", "PAST HISTORY",
             "FAMILY HISTORY", "SURGICAL HISTORY", "MEDICATIONS", "CURRENT MEDICATIONS", "ALLERGIES",
             "PAST MEDICAL HISTORY")),
    ("ros", ("REVIEW OF SYSTEMS",)),
    ("exam", ("PHYSICAL EXAM", "PHYSICAL EXAMINATION", "EXAM", "VITALS", "VITALS REVIEWED")),
    ("results", ("RESULTS",)),
    ("ap", ("ASSESSMENT AND PLAN", "ASSESSMENT", "PLAN", "IMPRESSION", "INSTRUCTIONS", "PROCEDURE")),
]
_HEADING_KEY = {h: key for key, hs in _HEADINGS for h in hs}


def reference_sections(note: str) -> dict[str, str]:
    """The reference note's text per template section (unknown headings stay with the last)."""
    out: dict[str, list[str]] = {}
    key = "hpi"
    for line in note.splitlines():
        head = line.strip().rstrip(":").upper()
        if head in _HEADING_KEY:
            key = _HEADING_KEY[head]
            continue
        if line.strip():
            out.setdefault(key, []).append(line.strip())
    return {k: "\n".join(v) for k, v in out.items()}


def score(scorer, reference: str, prediction: str) -> dict[str, float]:
    # rougeLsum splits on newlines: one sentence per line, as ACI-Bench's evaluation does.
    ref = "\n".join(line for line in reference.splitlines() if line.strip())
    pred = "\n".join(line for line in prediction.splitlines() if line.strip())
    s = scorer.score(ref, pred)
    return {k: 100 * v.fmeasure for k, v in s.items()}


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def evaluate(row: dict, mode: str, engine: LlamaEngine, template, scorer, max_tokens: int | None) -> dict:
    transcript = parse_transcript_text(row["dialogue"])
    engine.reset()
    t = time.perf_counter()
    base, *variants = mode.split("/")
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=max_tokens, mode=base,
                                    recheck="norecheck" not in variants, fit="nofit" not in variants)
    wall = time.perf_counter() - t
    tv = time.perf_counter()
    verify_draft(draft, transcript)
    verify_s = time.perf_counter() - tv
    note = render_note(draft, template)
    s = score(scorer, row["note"], note)
    ref_sections = reference_sections(row["note"])
    per_section, empty_but_filled = {}, []
    for sec in draft.sections:
        ours = " ".join(st.text for st in sec.statements)
        ref = ref_sections.get(sec.key, "")
        if ref:
            per_section[sec.key] = round(100 * scorer.score(ref, ours or ".")["rouge1"].fmeasure, 2)
            if not sec.statements:
                empty_but_filled.append(sec.key)
    blocking = sum(len(st.blocking_flags) for st in draft.statements)
    return {
        "encounter": row["encounter_id"], "mode": mode, **{k: round(v, 2) for k, v in s.items()},
        "section_rouge1": per_section, "empty_but_filled": empty_but_filled,
        "notices": [sec.key for sec in draft.notices],
        "words": words(note), "ref_words": words(row["note"]),
        "short": words(note) < words(row["note"]) / 2,
        "statements": len(draft.statements), "blocking_flags": blocking,
        "blocking_statements": len(draft.blocking),
        "repeats_removed": stats.repeats_removed, "finished": stats.finished,
        "rewritten": stats.rewritten, "rewrite_tokens": stats.rewrite_tokens, "rewrites_empty": stats.rewrites_empty,
        "generated": stats.stop_generated, "seconds": round(wall, 1), "verify_ms": round(1000 * verify_s, 1),
        "gen_tok_s": round(stats.stop_generated / max(stats.stop_gen_s, 1e-9), 1),
        "note": note, "draft": draft.to_dict(),
    }


def reverify(path: Path, data: Path, *, clauses: bool = False) -> dict[str, list[dict]]:
    """Flags of saved drafts checked again with the verifier as it is now (no drafting):
    a verifier change is measured on the same notes. ``clauses``: also the same notes with
    their statements made again from the prose, compound sentences cut in two
    (``draft.clauses``), scored and verified beside the saved ones (mode "<mode>+clauses")."""
    from localscribe.domain import Draft
    from localscribe.draft.sections import SectionText, to_sections
    from localscribe.verify.align import align

    per: dict[str, list[dict]] = {}
    rows = {}
    for split in ("train", "valid"):
        with open(data / f"{split}.csv", encoding="utf-8") as f:
            rows.update({r["encounter_id"]: r for r in csv.DictReader(f)})
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    template = None
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        row = rows[rec["encounter"]]
        transcript = parse_transcript_text(row["dialogue"])
        saved = Draft.from_dict(rec["draft"])
        variants = [(rec["mode"], saved)]
        if clauses:
            template = template or load_template(saved.template)
            written = [SectionText(sec.key, " ".join(st.text for st in sec.statements) or "None.", True)
                       for sec in saved.sections]
            cut = Draft.from_dict(rec["draft"])
            cut.sections = to_sections(template, written, transcript, align, clauses=True)
            variants.append((rec["mode"] + "+clauses", cut))
        for mode, draft in variants:
            r = dict(rec, mode=mode)
            t = time.perf_counter()
            verify_draft(draft, transcript)
            r["verify_ms"] = round(1000 * (time.perf_counter() - t), 1)
            r["blocking_flags"] = sum(len(st.blocking_flags) for st in draft.statements)
            r["blocking_statements"] = len(draft.blocking)
            r["statements"] = len(draft.statements)
            r["notices"] = [sec.key for sec in draft.notices]     # "+clauses": made again by code
            if template is not None:
                note = render_note(draft, template)
                r.update({k: round(v, 2) for k, v in score(scorer, row["note"], note).items()})
                r["words"] = words(note)
            per.setdefault(mode, []).append(r)
    return per


def summarize(mode: str, recs: list[dict]) -> str:
    m = lambda k: statistics.mean(r[k] for r in recs)  # noqa: E731
    sections: dict[str, list[float]] = {}
    for r in recs:
        for k, v in r["section_rouge1"].items():
            sections.setdefault(k, []).append(v)
    n_st = sum(r["statements"] for r in recs)
    return (f"{mode:>9}: n={len(recs)} ROUGE-1/2/Lsum {m('rouge1'):.2f} / {m('rouge2'):.2f} / {m('rougeLsum'):.2f}"
            f" | per section R1 " + " ".join(f"{k} {statistics.mean(v):.1f}" for k, v in sections.items())
            + f" | empty-but-filled notes {sum(bool(r['empty_but_filled']) for r in recs)}"
            f" ({sum(len(r['empty_but_filled']) for r in recs)} sections),"
            f" short notes {sum(r['short'] for r in recs)},"
            f" notices {sum(len(r['notices']) for r in recs)},"
            f" repeats removed {sum(r['repeats_removed'] for r in recs)},"
            f" unfinished {sum(not r['finished'] for r in recs)},"
            f" sentences rewritten {sum(r.get('rewritten', 0) for r in recs)}"
            f" ({sum(r.get('rewrite_tokens', 0) for r in recs)} tok)"
            f" | blocking flags/note {m('blocking_flags'):.2f}, statements with a blocking flag "
            f"{100 * sum(r['blocking_statements'] for r in recs) / max(n_st, 1):.1f}% of {n_st}"
            f" | words {m('words'):.0f} (ref {m('ref_words'):.0f}), generated {m('generated'):.0f} tok,"
            f" {m('seconds'):.1f} s/note (median {statistics.median(r['seconds'] for r in recs):.1f}),"
            f" gen {m('gen_tok_s'):.1f} tok/s, verify {m('verify_ms'):.0f} ms/note")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="valid", choices=("valid", "train"))
    ap.add_argument("--modes", default="sections", help="comma-separated: " + ",".join(m.value for m in DraftMode)
                    + "; a per-section mode with /norecheck: without rewriting blocked sentences,"
                    " /nofit: sentence caps not fitted to the visit's length")
    ap.add_argument("--also", default="", help="more modes, drafted (in the same run) only on every "
                    "--also-every-th encounter: a paired comparison on a subset when CPU time is short")
    ap.add_argument("--also-every", type=int, default=10)
    ap.add_argument("--limit", type=int, default=0, help="first N encounters only")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--every", type=int, default=1, help="every k-th encounter (a spread subset)")
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--model", help="a GGUF path instead of the profile's model")
    ap.add_argument("--template", default="history_and_physical")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the template's note_tokens")
    ap.add_argument("--lookahead", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--save", type=Path, help="write per-encounter notes and scores (JSON lines)")
    ap.add_argument("--reverify", type=Path, help="re-check the flags of a --save file; no drafting")
    ap.add_argument("--clauses", action="store_true", help="with --reverify: also the saved notes with "
                    "compound sentences cut into one statement per clause (draft/clauses.py), paired")
    args = ap.parse_args(argv)
    if args.reverify:
        for mode, recs in reverify(args.reverify, args.data, clauses=args.clauses).items():
            print(summarize(mode, recs))
        return 0

    with open(args.data / f"{args.split}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows = rows[args.offset::args.every]
    if args.limit:
        rows = rows[: args.limit]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    also = [m.strip() for m in args.also.split(",") if m.strip() and m.strip() not in modes]
    for m in modes + also:
        DraftMode(m.split("/")[0])
        if not set(m.split("/")[1:]) <= {"norecheck", "nofit"}:
            ap.error(f"unknown mode variant in {m!r}: /norecheck, /nofit")
    template = load_template(args.template)
    kw = {"n_ctx": args.n_ctx, "n_threads": args.threads, "lookahead": args.lookahead}
    engine = (LlamaEngine(Path(args.model).resolve(), **kw) if args.model
              else LlamaEngine.for_profile(args.profile, **kw))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    out = open(args.save, "w", encoding="utf-8") if args.save else None  # noqa: SIM115 - written per encounter
    print(f"ACI-Bench {args.split}: {len(rows)} encounters, model {engine.model_path.name}, template "
          f"{template.key}, modes {','.join(modes)}"
          f"{f', on every {args.also_every}th encounter also ' + ','.join(also) if also else ''}"
          f", threads {args.threads or 'all'}, n_ctx {args.n_ctx}", flush=True)
    per: dict[str, list[dict]] = {m: [] for m in modes + also}
    for i, row in enumerate(rows):
        for mode in modes + (also if i % args.also_every == 0 else []):
            rec = evaluate(row, mode, engine, template, scorer, args.max_tokens)
            per[mode].append(rec)
            brief = {k: v for k, v in rec.items() if k not in ("note", "draft")}
            print(json.dumps(brief), flush=True)
            if out:
                out.write(json.dumps(rec) + "\n")
                out.flush()
    if not rows:
        print("no encounters", file=sys.stderr)
        return 1
    print()
    for mode in modes + also:
        print(summarize(mode, per[mode]))
    if also:
        subset = {r["encounter"] for r in per[also[0]]}
        print(f"paired on the --also subset ({len(subset)} encounters):")
        for mode in modes + also:
            print(summarize(mode, [r for r in per[mode] if r["encounter"] in subset]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
