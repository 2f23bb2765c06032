"""Live latency of the whole pipeline: rebuilt PriMock57 visits played at real-time pace,
streaming against the naive pipeline in one run, with the peak memory of every process.

    .venv/bin/python tests/bench/bench_live.py [--visits day1_consultation01,...] [--count 3]
        [--profile standard] [--template soap] [--speed 1] [--skip-naive] [--early default|on|off]

Streaming (what the app does): the visit's audio is played at real-time pace (``FileSource``
with ``realtime=True``) into ``LiveVisit``; the whisper.cpp worker transcribes each window as it
closes, and the llama.cpp worker evaluates each new transcript line into its KV cache. At the
end of the audio (Stop) we measure the transcript lag (Stop -> last segment) and the time to
draft (Stop -> verified draft).

Naive, same audio, same models, same run: nothing happens during the visit. After Stop the
whole recording is transcribed as fast as the engine goes (model load included, ~1 s), then a
note worker that was started before Stop (weights loaded, as in the app) gets the whole
transcript and drafts it.

Quality: each streaming draft, rendered as note text, is scored with ROUGE-1/2/Lsum against
the clinician's own note for that visit (PriMock57 ``notes/``; the clinicians wrote terse
shorthand such as "3/7 hx of diarrhea", so these figures run lower than on ACI-Bench).

``--early on|off`` streams with early drafts forced on or off (``draft.early``; off is the app's
default), so the two can be compared on the same audio.

Memory: this process and all its children (the two engine workers) are sampled every 0.25 s;
the peak of their summed RSS is printed per visit and overall.

Visits default to the three shortest of PriMock57 day 1 (7.6-7.8 min) so that the run fits a
CI-sized session; pass --visits for longer ones. Audio is rebuilt with espeak-ng and cached
(tests/support/rebuild_visit.py). Data: PriMock57 (Korfiatis et al., ACL 2022), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import json

import psutil
from rouge_score import rouge_scorer

from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.models import resolve_model
from localscribe.pipeline import MemoryVisitStore, scribe_file
from localscribe.pipeline.engines import drafter_factory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from rebuild_visit import DATA_DIR, rebuild

DEFAULT_VISITS = ("day1_consultation01", "day1_consultation08", "day1_consultation12")


class PeakMemory:
    """Peak of the summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.peak_mb = interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        me = psutil.Process()
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue       # a worker that just exited
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._sample())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_streaming(audio: Path, asr, llm, template: str) -> dict:
    store = MemoryVisitStore()
    with PeakMemory() as mem:
        result = scribe_file(audio, store, asr_model=asr, llm_model=llm, template=template,
                             realtime=True)
    if result.error is not None:
        raise SystemExit(f"streaming run failed: {result.error}")
    t = result.timings
    st = result.draft_stats
    return {"lag": t.transcript_lag_s, "draft": t.time_to_draft_s, "peak_mb": mem.peak_mb,
            "segments": len(result.transcript.segments), "statements": len(result.draft.statements),
            "note": render_note(result.draft, load_template(template)),
            "after_stop": (f"after Stop: prompt {st.get('stop_prompt_tokens', 0)} tokens in "
                           f"{st.get('stop_prompt_s', 0.0):.1f} s, generated {st.get('stop_generated', 0)} "
                           f"in {st.get('stop_gen_s', 0.0):.1f} s; reused {st.get('reused', [])}, "
                           f"continued {st.get('resumed', [])}, written {st.get('written_after_stop', {})}")}


def rouge_against_clinician(visit: str, note: str) -> dict[str, float]:
    reference = json.loads((DATA_DIR / "notes" / f"{visit}.json").read_text())["note"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    ref = "\n".join(x for x in reference.splitlines() if x.strip())
    pred = "\n".join(x for x in note.splitlines() if x.strip())
    return {k: 100 * v.fmeasure for k, v in scorer.score(ref, pred).items()}


def run_naive(audio: Path, asr, llm, template: str) -> dict:
    with PeakMemory() as mem:
        drafter = drafter_factory(llm, template)()         # weights loaded before Stop
        try:
            stop = time.perf_counter()
            heard = scribe_file(audio, MemoryVisitStore(), asr_model=asr, llm_model=llm,
                                template=template, realtime=False, draft=False)
            if heard.error is not None:
                raise SystemExit(f"naive transcription failed: {heard.error}")
            transcribed = time.perf_counter()
            drafter.feed(heard.transcript.segments)
            draft = drafter.finish()
            done = time.perf_counter()
        finally:
            drafter.close()
    return {"lag": transcribed - stop, "draft": done - stop, "peak_mb": mem.peak_mb,
            "segments": len(heard.transcript.segments), "statements": len(draft.statements),
            "prompt_s": drafter.stats.get("stop_prompt_s", 0.0),
            "gen_s": drafter.stats.get("stop_gen_s", 0.0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visits", default="", help="comma-separated PriMock57 visit names")
    ap.add_argument("--count", type=int, default=3, help="how many of the default visits")
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--template", default="soap")
    ap.add_argument("--skip-naive", action="store_true", help="streaming only (halves the run)")
    ap.add_argument("--max-seconds", type=float, default=None, help="cut each visit (smoke runs)")
    ap.add_argument("--early", choices=("default", "on", "off"), default="default",
                    help="early drafts in the streaming run (draft/early.py; default: the app's, off)")
    args = ap.parse_args(argv)
    if args.early != "default":
        # scribe_file builds its drafter through pipeline.run's drafter_factory: the benchmark
        # (only) swaps in one with early drafts forced on or off, the app's path otherwise
        # unchanged.
        import functools

        import localscribe.pipeline.run as run_mod
        run_mod.drafter_factory = functools.partial(drafter_factory, early=args.early == "on")

    visits = [v for v in args.visits.split(",") if v] or list(DEFAULT_VISITS[: args.count])
    asr, llm = resolve_model("asr", args.profile), resolve_model("llm", args.profile)
    print(f"profile {args.profile}: {asr.name} + {llm.name}, template {args.template}, early drafts {args.early}, "
          f"{psutil.cpu_count()} CPUs, load {psutil.getloadavg()[0]:.2f}", flush=True)
    rows: dict[str, list[dict]] = {"streaming": [], "naive": []}
    rebuilt = {v: rebuild(v, max_seconds=args.max_seconds) for v in visits}
    for v in visits:
        print(f"{v}: {rebuilt[v].duration / 60:.1f} min of audio", flush=True)
    # Every visit streamed first, then every visit naive: a run cut short still has the
    # figures the app's design stands on.
    variants = ("streaming",) if args.skip_naive else ("streaming", "naive")
    for name in variants:
        print(f"\n{name}:", flush=True)
        for visit in visits:
            fn = run_streaming if name == "streaming" else run_naive
            r = fn(rebuilt[visit].audio_path, asr, llm, args.template)
            rows[name].append(r)
            if name == "streaming":
                r["rouge"] = rouge_against_clinician(visit, r["note"])
            extra = (f", prompt {r['prompt_s']:.1f} s + generation {r['gen_s']:.1f} s"
                     if name == "naive" else "")
            print(f"  {visit}: transcript lag at Stop {r['lag']:6.1f} s   time to draft {r['draft']:6.1f} s"
                  f"{extra}   peak RSS, all processes {r['peak_mb']:6.0f} MB   "
                  f"({r['segments']} segments, {r['statements']} statements)", flush=True)
            if r.get("after_stop"):
                print(f"            {r['after_stop']}", flush=True)
            if "rouge" in r:
                print("            ROUGE-1/2/Lsum against the clinician's note: " + " / ".join(
                    f"{r['rouge'][k]:.1f}" for k in ("rouge1", "rouge2", "rougeLsum")), flush=True)
    print("\nmedians over", len(visits), "visits:")
    for name, rs in rows.items():
        if rs:
            print(f"  {name:9s} lag {statistics.median(r['lag'] for r in rs):.1f} s, time to draft "
                  f"{statistics.median(r['draft'] for r in rs):.1f} s, peak RSS "
                  f"{max(r['peak_mb'] for r in rs):.0f} MB")
    if rows["streaming"]:
        print("  ROUGE-1/2/Lsum against the clinicians' notes (mean): " + " / ".join(
            f"{statistics.mean(r['rouge'][k] for r in rows['streaming']):.1f}"
            for k in ("rouge1", "rouge2", "rougeLsum")))
    if rows["naive"] and rows["streaming"]:
        ratio = (statistics.median(r["draft"] for r in rows["naive"])
                 / statistics.median(r["draft"] for r in rows["streaming"]))
        print(f"  naive / streaming time to draft = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
