"""Time to draft after Stop: streaming (transcript fed into the LLM during the visit) against the
naive pipeline (whole prompt only after Stop), in one run, on PriMock57 visits.

    .venv/bin/python tests/bench/bench_latency.py [--visits day1_consultation01,...] [--speed 1]
        [--profile standard] [--threads 2] [--lookahead 0,10] [--variants streaming,early,naive]
        [--plain-speed 4]

To isolate the LLM part, the reference utterances of each visit (PriMock57 TextGrids) are fed
as transcript segments at their real end times (``--speed 4`` plays the visit four times
faster; the backlog at Stop is printed, and must be ~0 for the streaming figure to hold).
Prints per visit: visit length, time to draft for each variant, prompt and generation tok/s,
and the process's peak RSS.

Variants: ``streaming`` (the transcript fed as it comes, the whole note written after Stop),
``early`` (the same, plus early drafts between lines, ``draft.early``: at Stop only the touched
sections are written again) and ``naive`` (everything after Stop). ``--plain-speed`` plays the
streaming variant faster (it does nothing between lines, so its time to draft does not depend
on the pace as long as its backlog at Stop stays ~0, which is printed). Each note is scored
with ROUGE-1/2/Lsum against the PriMock57 clinician's own note (``bench_live``'s scorer).

Data: PriMock57 (Korfiatis et al., ACL 2022), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

from localscribe.domain import Segment
from localscribe.draft.early import EarlyPolicy, Yield
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import IncrementalDrafter
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from rebuild_visit import DATA_DIR, list_visits, read_textgrid  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import rouge_against_clinician  # noqa: E402


def visit_segments(visit: str, data_dir: Path = DATA_DIR) -> list[Segment]:
    utts = []
    for role, speaker in (("doctor", "clinician"), ("patient", "patient")):
        for t0, t1, text in read_textgrid(data_dir / "transcripts" / f"{visit}_{role}.TextGrid"):
            utts.append((t0, t1, speaker, text))
    utts.sort()
    return [Segment(f"u{i + 1}", t0, t1, text, spk) for i, (t0, t1, spk, text) in enumerate(utts)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_streaming(engine, template, segments, speed, max_tokens, early: EarlyPolicy | None = None):
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=max_tokens, early=early)
    start = time.perf_counter()
    arrival = [start + seg.t1 / speed for seg in segments]
    stop_at = arrival[-1]
    i = 0
    while i < len(segments):
        now = time.perf_counter()
        if arrival[i] <= now:
            drafter.feed([segments[i]])     # an utterance arrives when it ends; a slow feed lags
            i += 1
            continue
        if early is not None and drafter.early_due():
            # Between lines the early drafter writes, giving way as it does in the worker
            # (draft/worker.py): lines wait up to MAX_LINE_WAIT_S or the section's end; Stop
            # (the last line's arrival) ends it at once.
            y = Yield(lambda t=arrival[i]: time.perf_counter() >= t, lambda: time.perf_counter() >= stop_at)
            drafter.draft_early(y, y.lines_waiting)
            continue
        time.sleep(max(0.0, arrival[i] - time.perf_counter()))
    backlog = max(0.0, time.perf_counter() - stop_at)   # feeding still behind when Stop came
    t = time.perf_counter()
    draft = drafter.finish()
    took = time.perf_counter() - t + backlog
    return took, backlog, drafter.stats, draft


def run_naive(engine, template, segments, max_tokens):
    engine.reset()
    t = time.perf_counter()
    drafter = IncrementalDrafter(engine, template, max_tokens=max_tokens, prefill=False)
    drafter.feed(segments)
    draft = drafter.finish()
    return time.perf_counter() - t, drafter.stats, draft


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visits", default="", help="comma-separated visit names (default: first --count)")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--speed", type=float, default=1.0, help="1 = real time")
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--model", help="a GGUF path instead of the profile's model")
    ap.add_argument("--template", default="soap")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the template's note_tokens")
    ap.add_argument("--lookahead", default="0", help="comma-separated prompt-lookup sizes to compare")
    ap.add_argument("--max-seconds", type=float, default=0, help="cut each visit at this length")
    ap.add_argument("--variants", default="streaming,early,naive",
                    help="comma-separated: streaming, early, naive")
    ap.add_argument("--plain-speed", type=float, default=None,
                    help="pace of the streaming variant (default: --speed)")
    ap.add_argument("--early-threads", type=int, default=EarlyPolicy().threads,
                    help="llama.cpp threads while drafting early (0: the engine's own)")
    args = ap.parse_args(argv)

    visits = [v for v in args.visits.split(",") if v] or list_visits()[: args.count]
    variants = [v for v in args.variants.split(",") if v]
    template = load_template(args.template)
    kw = {"n_ctx": args.n_ctx, "n_threads": args.threads}
    engine = (LlamaEngine(Path(args.model).resolve(), **kw) if args.model
              else LlamaEngine.for_profile(args.profile, **kw))
    lookaheads = [int(x) for x in args.lookahead.split(",")]
    early = EarlyPolicy(enabled=True, threads=args.early_threads or None)
    print(f"model {engine.model_path.name}, threads {args.threads or 'all'}, template {template.key}, "
          f"speed x{args.speed} (streaming x{args.plain_speed or args.speed}), max {args.max_tokens} "
          f"note tokens, early drafts on {early.threads or 'all'} thread(s)", flush=True)
    results: dict[str, list[float]] = {}
    scores: dict[str, list[dict[str, float]]] = {}
    for visit in visits:
        segments = visit_segments(visit)
        if args.max_seconds:
            segments = [s for s in segments if s.t1 <= args.max_seconds]
        words = sum(len(s.text.split()) for s in segments)
        print(f"\n{visit}: {segments[-1].t1 / 60:.1f} min, {len(segments)} utterances, {words} words", flush=True)
        for name in variants:
            if name == "naive":
                continue
            for la in lookaheads:
                engine.lookahead = la
                speed = args.speed if name == "early" else (args.plain_speed or args.speed)
                took, backlog, st, draft = run_streaming(engine, template, segments, speed, args.max_tokens,
                                                         early if name == "early" else None)
                label = f"{name}{'+lookup' + str(la) if la else ''}"
                results.setdefault(label, []).append(took)
                rouge = rouge_against_clinician(visit, render_note(draft, template))
                scores.setdefault(label, []).append(rouge)
                print(f"  {label:20s} time to draft {took:6.1f} s  (after Stop: {st.stop_prompt_tokens} prompt tok "
                      f"in {st.stop_prompt_s:.1f} s, {st.stop_generated} note tok in {st.stop_gen_s:.1f} s = "
                      f"{st.stop_generated / max(st.stop_gen_s, 1e-9):.1f} tok/s; decoded {st.stop_decoded}; "
                      f"backlog at Stop {backlog:.1f} s; fed {st.prefill_tokens} tok during the visit, "
                      f"{st.prefill_tokens / max(st.prefill_s, 1e-9):.1f} tok/s; {len(draft.statements)} statements, "
                      f"chunks {st.chunks})", flush=True)
                if name == "early":
                    print(f"  {'':20s} early: {st.early_rounds} rounds ({st.early_cancelled} cancelled), "
                          f"{st.early_generated} tok in {st.early_gen_s:.1f} s during the visit; reused "
                          f"{st.reused or '-'}, resumed {st.resumed or '-'}, written after Stop "
                          f"{st.written_after_stop or '-'}", flush=True)
                print(f"  {'':20s} ROUGE-1/2/Lsum vs the clinician's note " + " / ".join(
                    f"{rouge[k]:.1f}" for k in ("rouge1", "rouge2", "rougeLsum")), flush=True)
        if "naive" in variants:
            engine.lookahead = lookaheads[0]
            took, st, draft = run_naive(engine, template, segments, args.max_tokens)
            results.setdefault("naive", []).append(took)
            print(f"  {'naive':20s} time to draft {took:6.1f} s  ({st.stop_prompt_tokens} prompt tok in "
                  f"{st.stop_prompt_s:.1f} s = {st.stop_prompt_tokens / max(st.stop_prompt_s, 1e-9):.1f} tok/s, "
                  f"{st.stop_generated} note tok in {st.stop_gen_s:.1f} s = "
                  f"{st.stop_generated / max(st.stop_gen_s, 1e-9):.1f} tok/s; {len(draft.statements)} statements)",
                  flush=True)
        print(f"  peak RSS {peak_rss_mb():.0f} MB", flush=True)
    print("\nmedian time to draft: " + ", ".join(
        f"{k} {statistics.median(v):.1f} s" for k, v in results.items()))
    for k, rs in scores.items():
        print(f"mean ROUGE-1/2/Lsum vs the clinicians' notes, {k}: " + " / ".join(
            f"{statistics.mean(r[m] for r in rs):.1f}" for m in ("rouge1", "rouge2", "rougeLsum")))
    for other in ("naive", "early"):
        if other in results and "streaming" in results:
            ratio = statistics.median(results["streaming"]) / statistics.median(results[other])
            print(f"streaming / {other} = {ratio:.2f}x")
    print(f"peak RSS {peak_rss_mb():.0f} MB (this process: the LLM part only)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
