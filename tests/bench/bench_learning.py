"""Learning from edits, measured: does a clinician's learned style bring new drafts closer to
what they sign?

    nice -n 19 .venv/bin/python tests/bench/bench_learning.py [--profile standard] [--limit K]
        [--history-drafts out.jsonl ...] [--draft-history N] [--save learning.jsonl] [--tune]

History: the ACI-Bench ``train`` encounters replayed as one clinician's signings, their
reference notes as what was signed (laid out under the template's headings, as a signed note
is). A train encounter found in ``--history-drafts`` (a ``bench_quality.py --save`` file; its
first saved draft) is a draft/signed pair; ``--draft-history N`` drafts N more with the
model (the first N train encounters without one, in the split's order); every other one is a
signed note without a draft (lengths and negatives only: no phrase swap or deleted section can
be learned without the draft). Only train encounters are ever history: a ``valid`` encounter
found in a drafts file is ignored (and said so).
``--save`` is also the run's memory: an interrupted run started again with the same arguments
reuses the history drafts and the valid drafts already in it (a "learned" one only if the
profile, by its fingerprint, is the same), appends, and goes on where it stopped.
``--history-only``: the history and the rule kinds it activates (with the phrase-swap
evidence short of a habit), from the saved drafts alone; no model, nothing written.
Then K ``valid`` encounters are drafted twice in one run, without and with the learned profile
(same engine, same settings), and each draft is compared with the reference: ROUGE-1/2/Lsum as
``bench_quality.py`` computes them, and the word-level edit distance (``scorecard.edits``) to
the reference, per note and as median and mean, with the difference. Results are written per
note as they come (``--save``). The effect is reported, never asserted.

``--tune``: the threshold k (notes a rule needs) replayed on train only, no model: for each
candidate k, every train note's section lengths predicted from the notes before it, with the
learned rule once active and with the generic fit before; mean absolute error per section.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quality import DATA, reference_sections, score  # noqa: E402

from localscribe.domain import Draft  # noqa: E402
from localscribe.draft.render import render_note  # noqa: E402
from localscribe.draft.sections import fit_to_visit  # noqa: E402
from localscribe.draft.templates import Template, load_template  # noqa: E402
from localscribe.draft.transcript_text import parse_transcript_text  # noqa: E402
from localscribe.scorecard.edits import edit_distance, words  # noqa: E402
from localscribe.style import edits as E  # noqa: E402
from localscribe.style.profile import (DEFAULT_WORDS_PER_SENTENCE, HABIT_SHARE, MIN_NOTES,  # noqa: E402
                                       StyleHistory, StyleProfile, learn, visit_scale)


def signed_text(reference: str, template: Template) -> str:
    """The reference note as the clinician's signed note: under the template's headings."""
    secs = reference_sections(reference)
    return "\n\n".join(f"{s.title}\n\n{secs[s.key]}" for s in template.sections if secs.get(s.key)) + "\n"


def titles_of(template: Template) -> dict[str, str]:
    return {s.title.lower(): s.key for s in template.sections}


def drafted_text(draft: Draft) -> dict[str, str]:
    return {sec.key: " ".join(st.text for st in sec.statements) for sec in draft.sections}


def visit_words(dialogue: str) -> int:
    return sum(len(s.text.split()) for s in parse_transcript_text(dialogue).segments)


def build_history(rows: list[dict], template: Template, drafts: dict[str, list[Draft]],
                  k: int) -> tuple[StyleHistory, dict[str, int]]:
    history = StyleHistory()
    counts = {"signings": 0, "with_draft": 0, "reference_only": 0}
    titles = titles_of(template)
    for row in rows:
        signed = signed_text(row["note"], template)
        vw = visit_words(row["dialogue"])
        known = {key.split("\t")[0] for key in history.swaps}
        pairs = drafts.get(row["encounter_id"]) or [None]
        for draft in pairs:
            obs = E.observe(titles, drafted_text(draft) if draft else None, signed, vw, known)
            history.add(obs, k)
            counts["signings"] += 1
            counts["with_draft" if draft else "reference_only"] += 1
    return history, counts


def load_drafts(paths: list[Path], train_ids: set[str]) -> dict[str, list[Draft]]:
    out: dict[str, list[Draft]] = {}
    ignored: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            eid = rec["encounter"]
            if eid not in train_ids:
                ignored.add(eid)
                continue
            # One signing per visit: the first draft saved for it (bench_quality's first mode).
            out.setdefault(eid, [Draft.from_dict(rec["draft"])])
    if ignored:
        print(f"not history (not train encounters): {', '.join(sorted(ignored))}", flush=True)
    return out


def load_saved(path: Path | None) -> tuple[dict[str, list[Draft]], dict[tuple[str, str], dict]]:
    """What an earlier, interrupted run of this benchmark left in its ``--save`` file: its
    history drafts, and its valid records keyed by (encounter, arm or "learned:" fingerprint)."""
    history: dict[str, list[Draft]] = {}
    done: dict[tuple[str, str], dict] = {}
    if path is None or not path.exists():
        return history, done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:      # a line cut short when the run was killed
            continue
        if "history_draft" in rec:
            history.setdefault(rec["history_draft"], [Draft.from_dict(rec["draft"])])
        elif "arm" in rec:
            arm = rec["arm"] if rec["arm"] == "none" else f"learned:{rec.get('style', '')}"
            done[(rec["encounter"], arm)] = rec
    return history, done


def rule_kinds(profile: StyleProfile) -> dict[str, object]:
    """Which kinds of rule the history activated (the issue's list: lengths, deleted and
    always-written sections, negative forms, phrase swaps)."""
    return {"lengths": sorted(s.key for s in profile.sections if s.words is not None and not s.skip),
            "deleted_sections": sorted(s.key for s in profile.sections if s.skip),
            "always_sections": sorted(s.key for s in profile.sections if s.always),
            "negative_form": profile.negative, "swaps": len(profile.swaps)}


def ceilings(rows: list[dict], template: Template) -> None:
    """What the signed notes alone allow (no draft, no model): a section is "always deleted"
    only if it is empty in HABIT_SHARE of the signed notes, a negative form is learned only if
    it is HABIT_SHARE of the negatives signed. Printed so a missing rule kind is explained."""
    history, _ = build_history(rows, template, {}, MIN_NOTES)
    empty = {k: sum(1 for x in st.lengths if x == 0) for k, st in history.sections.items()}
    total = sum(history.negatives.values())
    print(f"signed notes: {history.notes}; empty per section {json.dumps(empty)} "
          f"(a deleted-section rule needs {HABIT_SHARE:.0%}); negatives {json.dumps(history.negatives)} "
          f"of {total} (a form needs {HABIT_SHARE:.0%})", flush=True)


def tune(rows: list[dict], template: Template, ks: list[int]) -> None:
    """Section-length error of the learned rule against the generic fit, replayed in order."""
    ceilings(rows, template)
    titles = titles_of(template)
    for k in ks:
        history = StyleHistory()
        err_learned: list[float] = []
        err_generic: list[float] = []
        for row in rows:
            vw = visit_words(row["dialogue"])
            profile = learn(history, k)
            ref = reference_sections(row["note"])
            for spec in template.sections:
                actual = len(ref.get(spec.key, "").split())
                generic = fit_to_visit(spec, vw).max_statements * DEFAULT_WORDS_PER_SENTENCE
                style = profile.section(spec.key)
                learned = (style.words * visit_scale(vw) if style and style.words is not None
                           else generic)
                err_generic.append(abs(generic - actual))
                err_learned.append(abs(learned - actual))
            history.add(E.observe(titles, None, signed_text(row["note"], template), vw), k)
        print(f"k={k}: mean abs error per section, words: learned {statistics.mean(err_learned):.1f}"
              f" vs generic caps {statistics.mean(err_generic):.1f} over {len(rows)} notes", flush=True)


def evaluate(row: dict, arm: str, style: StyleProfile | None, engine, template: Template,
             scorer, max_tokens: int | None) -> dict:
    from localscribe.draft.incremental import draft_transcript
    from localscribe.verify import verify_draft

    transcript = parse_transcript_text(row["dialogue"])
    engine.reset()
    t = time.perf_counter()
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=max_tokens, style=style)
    wall = time.perf_counter() - t
    verify_draft(draft, transcript)
    note = render_note(draft, template)
    s = score(scorer, row["note"], note)
    ref_words = words(row["note"])
    dist = edit_distance(words(note), ref_words)
    return {"encounter": row["encounter_id"], "arm": arm, **{k: round(v, 2) for k, v in s.items()},
            "edit_distance": dist, "edit_ratio": round(dist / max(len(ref_words), 1), 3),
            "words": len(words(note)), "ref_words": len(ref_words),
            "blocking_flags": sum(len(st.blocking_flags) for st in draft.statements),
            "generated": stats.stop_generated, "seconds": round(wall, 1),
            "style_swaps": stats.style_swaps, "style_skipped": stats.style_skipped,
            "note": note, "draft": draft.to_dict()}


METRICS = ("rouge1", "rouge2", "rougeLsum", "edit_distance", "edit_ratio", "words", "generated", "seconds")


def summarize(per: dict[str, list[dict]]) -> None:
    done = sorted(set.intersection(*(set(r["encounter"] for r in recs) for recs in per.values())))
    print(f"\npaired encounters: {len(done)} ({', '.join(done)})")
    for arm, recs in per.items():
        recs = [r for r in recs if r["encounter"] in done]
        if recs:
            print(f"{arm:>10}: " + " | ".join(
                f"{m} mean {statistics.mean(r[m] for r in recs):.2f} median {statistics.median(r[m] for r in recs):.2f}"
                for m in METRICS))
    if len(per) == 2 and done:
        base, styled = ({r["encounter"]: r for r in recs} for recs in per.values())
        for m in METRICS:
            diffs = [styled[e][m] - base[e][m] for e in done]
            per_note = ", ".join(f"{e} {d:+.2f}" for e, d in zip(done, diffs))
            print(f"difference (styled - none) {m}: mean {statistics.mean(diffs):+.2f}, median "
                  f"{statistics.median(diffs):+.2f}, per note {per_note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--template", default="history_and_physical")
    ap.add_argument("--limit", type=int, default=3, help="K valid encounters")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--history-drafts", type=Path, action="append", default=[],
                    help="a bench_quality.py --save file (train drafts); may be repeated")
    ap.add_argument("--draft-history", type=int, default=0,
                    help="draft this many train encounters (without a saved draft) for the history")
    ap.add_argument("--k", type=int, default=MIN_NOTES, help="notes a rule needs")
    ap.add_argument("--tune", action="store_true", help="replay train for k (no model) and stop")
    ap.add_argument("--history-only", action="store_true",
                    help="build the history from the drafts files (and --save's, read only), "
                         "print what it activates and stop (no model)")
    ap.add_argument("--max-tokens", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--save", type=Path)
    args = ap.parse_args(argv)
    template = load_template(args.template)
    with open(args.data / "train.csv", encoding="utf-8") as f:
        train = list(csv.DictReader(f))
    if args.tune:
        tune(train, template, [1, 2, 3, 5, 8, 13])
        return 0
    with open(args.data / "valid.csv", encoding="utf-8") as f:
        valid = list(csv.DictReader(f))[args.offset:args.offset + args.limit]

    from localscribe.draft.engine import LlamaEngine
    from rouge_score import rouge_scorer

    if args.history_only and args.draft_history:
        ap.error("--history-only drafts nothing: drop --draft-history")
    engine = (None if args.history_only else
              LlamaEngine.for_profile(args.profile, n_ctx=args.n_ctx, n_threads=args.threads))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    train_ids = {r["encounter_id"] for r in train}
    saved_history, done = load_saved(args.save)
    saved_history = {e: d for e, d in saved_history.items() if e in train_ids}
    out = (open(args.save, "a", encoding="utf-8")  # noqa: SIM115 - written per note
           if args.save and not args.history_only else None)
    drafts = load_drafts(args.history_drafts, train_ids)
    given = set(drafts)
    for eid, d in saved_history.items():
        drafts.setdefault(eid, d)
    if args.draft_history:
        from localscribe.draft.incremental import draft_transcript

        ours = [r for r in train if r["encounter_id"] not in given][: args.draft_history]
        todo = [r for r in ours if r["encounter_id"] not in drafts]
        print(f"history drafts: {len(ours) - len(todo)} of {len(ours)} already saved, "
              f"drafting {len(todo)}", flush=True)
        for row in todo:
            assert engine is not None
            engine.reset()
            t = time.perf_counter()
            d, _ = draft_transcript(engine, parse_transcript_text(row["dialogue"]), template,
                                    max_tokens=args.max_tokens)
            drafts[row["encounter_id"]] = [d]
            print(f"history draft {row['encounter_id']}: {time.perf_counter() - t:.0f} s", flush=True)
            if out:
                out.write(json.dumps({"history_draft": row["encounter_id"], "draft": d.to_dict()}) + "\n")
                out.flush()
    history, counts = build_history(train, template, drafts, args.k)
    profile = learn(history, args.k)
    fingerprint = profile.fingerprint()
    print(f"history: {len(train)} ACI-Bench train encounters, {counts['signings']} signings "
          f"({counts['with_draft']} with a draft, {counts['reference_only']} reference only), k={args.k}; "
          f"model {engine.model_path.name if engine else '-'}, template {template.key}, "
          f"valid {', '.join(r['encounter_id'] for r in valid)}",
          flush=True)
    print("learned style:\n  " + "\n  ".join(profile.describe() or ["(nothing)"]), flush=True)
    print(f"rule kinds activated: {json.dumps(rule_kinds(profile))}", flush=True)
    print(f"phrase swaps: {len(history.swaps)} habits; {len(history.pending)} candidates seen in "
          f"fewer than k notes (the most-seen in {max(history.pending.values(), default=0)})", flush=True)
    if engine is None:
        return 0
    if out:
        out.write(json.dumps({"profile": profile.describe(), "rule_kinds": rule_kinds(profile),
                              "style": fingerprint, "counts": counts, "k": args.k,
                              "model": engine.model_path.name}) + "\n")
        out.flush()
    per: dict[str, list[dict]] = {"none": [], "learned": []}
    for row in valid:
        for arm, style in (("none", None), ("learned", profile)):
            rec = done.get((row["encounter_id"], arm if style is None else f"learned:{fingerprint}"))
            if rec is None:
                rec = evaluate(row, arm, style, engine, template, scorer, args.max_tokens)
                rec["style"] = fingerprint if style is not None else ""
                if out:
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
            per[arm].append(rec)
            print(json.dumps({k: v for k, v in rec.items() if k not in ("note", "draft")}), flush=True)
    summarize(per)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
