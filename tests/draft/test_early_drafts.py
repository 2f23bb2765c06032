"""Early drafts (draft/early.py): sections written during the visit with the real tiny model,
the KV cache given back to the transcript, and at Stop only the touched sections written again."""

from __future__ import annotations

import threading
import time

import pytest
from localscribe.domain import Segment, Transcript
from localscribe.draft.early import EarlyPolicy, Yield, touched
from localscribe.draft.incremental import IncrementalDrafter
from localscribe.draft.templates import load_template
from localscribe.verify.align import align

from tests.draft.conftest import make_transcript

MAX = 120
POLICY = EarlyPolicy(enabled=True, threads=None, min_lines=1)
KEYS = ["subjective", "objective", "assessment", "plan"]


def texts(draft):
    return [(s.key, [st.text for st in s.statements], s.notice) for s in draft.sections]


def plain_draft(engine, segments):
    engine.reset()
    d = IncrementalDrafter(engine, load_template("soap"), max_tokens=MAX)
    for seg in segments:
        d.feed([seg])
    return d.finish(), d.stats


def early_drafter(engine):
    engine.reset()
    return IncrementalDrafter(engine, load_template("soap"), max_tokens=MAX, early=POLICY)


def never() -> bool:
    return False


def seg(i: int, text: str, speaker: str) -> Segment:
    return Segment(f"new{i}", 100.0 + i, 101.0 + i, text, speaker)


# -- the rule, without a model ------------------------------------------------------------
def test_touched_rule_by_cue_last_section_and_patient_words():
    soap = load_template("soap")
    subjective, objective, plan = soap.section("subjective"), soap.section("objective"), soap.section("plan")
    assert touched(objective, [], last=False) is None
    assert "exam" in touched(objective, [seg(1, "Let me examine your chest.", "clinician")], last=False)
    bye = [seg(1, "Okay, thank you doctor.", "patient")]
    assert touched(plan, bye, last=True) is None and touched(subjective, bye, last=False) is None
    long_advice = [seg(1, "Take it with food twice a day and keep a diary of the pain for me.", "clinician")]
    assert "last section" in touched(plan, long_advice, last=True)
    # The history (no cues) is touched by what the patient says, not by the clinician's words.
    story = [seg(1, "It started three days ago after the long flight home and it gets worse at "
                    "night when I lie down, and the cough keeps me awake.", "patient")]
    assert touched(subjective, long_advice * 3, last=False) is None
    assert "patient" in touched(subjective, story, last=False)
    unknown = [Segment("x", 0, 1, s.text, "unknown") for s in story]
    assert "new words" in touched(subjective, unknown, last=False)


def test_yield_pauses_while_transcribing_stops_at_stop_and_bounds_a_lines_wait():
    now = [0.0]
    busy, urgent, waiting = threading.Event(), threading.Event(), threading.Event()
    y = Yield(waiting.is_set, urgent.is_set, busy.is_set, max_wait=20, clock=lambda: now[0], nap=0.001)
    assert y() is False and not y.lines_waiting()
    waiting.set()
    assert y.lines_waiting() and y() is False          # a line waits: not yet 20 s
    now[0] = 19.9
    assert y() is False
    now[0] = 20.0
    assert y() is True
    waiting.clear()
    assert y() is False                                # fed: the wait starts again
    busy.set()
    threading.Timer(0.05, busy.clear).start()
    t = time.monotonic()
    assert y() is False and time.monotonic() - t >= 0.04    # paused while the transcriber worked
    busy.set()
    threading.Timer(0.05, urgent.set).start()
    assert y() is True                                 # Stop ends a pause at once
    busy.clear()


# -- with the real tiny model -------------------------------------------------------------
def test_early_draft_gives_the_cache_back_and_reuses_everything_when_nothing_new_came(engine):
    visit = make_transcript()
    plain, _ = plain_draft(engine, visit.segments)

    d = early_drafter(engine)
    half = len(visit.segments) // 2
    for s in visit.segments[:half]:
        d.feed([s])
    assert d.early_due()
    assert d.draft_early(never) is True
    assert set(d.early.done) == set(KEYS)
    # The cache still starts with the transcript; the next line costs only its own tokens.
    assert engine.common_prefix(d._chunk.tokens) == len(d._chunk.tokens)
    before = d.stats.prefill_tokens
    d.feed([visit.segments[half]])
    line = engine.tokenize(d._line(visit.segments[half]))
    assert d.stats.prefill_tokens - before == len(line)
    for s in visit.segments[half + 1:]:
        d.feed([s])
    # The last early round sees the whole visit (sections the half round wrote are set aside,
    # as if the new lines had touched them all).
    d.early.clear()
    assert d.draft_early(never) and not d.early_due()
    final = d.finish()
    # Nothing came after the last early draft: every section is reused, nothing generated after
    # Stop, and the note is the one the plain path writes.
    assert d.stats.reused == KEYS and d.stats.written_after_stop == {}
    assert d.stats.stop_generated == 0 and d.stats.early_generated > 0
    assert texts(final) == texts(plain)


def test_the_history_the_patient_adds_to_is_continued_from_its_early_text(engine):
    visit = make_transcript()
    d = early_drafter(engine)
    d.feed(visit.segments)
    assert d.draft_early(never)
    early_history = d.early.done["subjective"].text.text.rstrip("\n")
    story = Segment("seg-story", 99.0, 110.0, "Also it started three days ago after a long bus ride home "
                    "and it is worse at night when I lie down, with some green phlegm in the mornings.",
                    "patient")
    d.feed([story])
    draft = d.finish()
    assert d.stats.resumed == ["subjective"]
    assert "patient" in d.stats.written_after_stop["subjective"]
    assert "subjective" not in d.stats.reused
    history = next(s for s in draft.sections if s.key == "subjective")
    if early_history != "None.":
        assert " ".join(st.text for st in history.statements).startswith(early_history[:20])


def test_a_section_the_new_lines_touch_is_written_again_and_evidence_is_the_final_transcripts(engine):
    visit = make_transcript()
    d = early_drafter(engine)
    d.feed(visit.segments)
    assert d.draft_early(never)
    early_plan = d.early.done["plan"].text
    new = Segment("seg-new", 99.0, 103.0, "I will prescribe amoxicillin 500 milligrams three times a day "
                  "and we will follow up next week.", "clinician")
    d.feed([new])
    draft = d.finish()
    final = Transcript(segments=[*visit.segments, new])
    assert "plan" in d.stats.written_after_stop and "prescribe" in d.stats.written_after_stop["plan"]
    assert d.stats.reused == ["subjective", "objective", "assessment"]
    assert d.stats.stop_generated > 0
    plan = next(s for s in draft.sections if s.key == "plan")
    assert plan.statements or plan.notice
    # Reused or not, every statement's evidence is linked against the final transcript.
    ids = {s.id for s in final.segments}
    for st in draft.statements:
        assert set(st.evidence) <= ids
        assert st.evidence == align(st.text, final)
    assert early_plan is not None


HISTORY_PLAN = """
name = "History and plan"
style = "prose"
note_tokens = 120

[[sections]]
key = "history"
title = "HISTORY"
guidance = "What the patient told."
cues = ["flight"]
max_statements = 3

[[sections]]
key = "plan"
title = "PLAN"
guidance = "What the clinician advised."
cues = ["come back"]
max_statements = 2
"""


def test_a_cancelled_early_draft_leaves_no_trace_in_the_final_draft(engine, tmp_path):
    path = tmp_path / "history_plan.toml"
    path.write_text(HISTORY_PLAN)
    template = load_template(str(path))
    visit = make_transcript()
    story = Segment("seg-story", 99.0, 110.0, "Also the cough started after a long flight home.", "patient")
    segments = [*visit.segments, story]
    engine.reset()
    plain = IncrementalDrafter(engine, template, max_tokens=MAX)
    for s in segments:
        plain.feed([s])
    plain_draft_ = plain.finish()

    engine.reset()
    d = IncrementalDrafter(engine, template, max_tokens=MAX, early=POLICY)
    for s in visit.segments:       # fed as the plain path was: the same batches, the same logits
        d.feed([s])
    calls = [0]

    def after_five() -> bool:
        calls[0] += 1
        return calls[0] > 5
    assert d.draft_early(after_five) is False
    assert d.stats.early_cancelled == 1 and d.early.held is not None and d.early.held.key == "history"
    assert not d.early.done
    d.feed([story])           # says the history's cue: the held history is written afresh
    draft = d.finish()
    assert d.stats.resumed == [] and d.stats.reused == []
    assert d.stats.written_after_stop == {"history": "a new line says “flight”",
                                          "plan": "not written before Stop"}
    assert texts(draft) == texts(plain_draft_)
    assert d.stats.finished == plain.stats.finished
    assert len(d.stats.generations) == len(plain.stats.generations)   # no early turn among them


def test_a_held_section_untouched_since_is_continued_at_stop(engine):
    visit = make_transcript()
    d = early_drafter(engine)
    d.feed(visit.segments)
    calls = [0]

    def after_five() -> bool:
        calls[0] += 1
        return calls[0] > 5
    assert d.draft_early(after_five) is False
    held = d.engine.piece
    held_text = b"".join(held(t) for t in d.early.held.tokens).decode("utf-8", "replace")
    draft = d.finish()
    assert d.stats.resumed == ["subjective"] and d.stats.written_after_stop["subjective"] == "begun before Stop"
    assert set(d.stats.written_after_stop) == set(KEYS)
    assert held_text.strip()
    history = " ".join(st.text for st in draft.sections[0].statements)
    assert history.startswith(held_text.strip()[:10])


def test_early_drafts_only_in_sections_mode(engine):
    engine.reset()
    d = IncrementalDrafter(engine, load_template("soap"), max_tokens=MAX, mode="lines", early=POLICY)
    d.feed(make_transcript().segments)
    assert not d.early_due() and d.draft_early(never) is False


@pytest.mark.timeout(300)
def test_the_worker_stops_an_early_draft_in_flight_at_stop(tiny_llm):
    from localscribe.draft.worker import DraftWorker, WorkerConfig

    visit = make_transcript()
    with DraftWorker(WorkerConfig(model=tiny_llm, n_ctx=2048, n_threads=1, max_tokens=MAX,
                                  early=True, early_threads=1)) as worker:
        worker.feed(visit.segments, wait=True, timeout=120)
        time.sleep(1.0)                      # idle: an early round starts
        t = time.monotonic()
        draft, stats = worker.finish(timeout=120)
        assert time.monotonic() - t < 60
        assert stats["early_rounds"] >= 1
        assert [s.key for s in draft.sections] == KEYS
        assert set(stats["reused"]) | set(stats["resumed"]) | set(stats["written_after_stop"]) == set(KEYS)
        # The worker serves the next visit as before.
        worker.feed(visit.segments[:3], wait=True, timeout=120)
        draft2, _ = worker.finish(timeout=120)
        assert [s.key for s in draft2.sections] == KEYS
