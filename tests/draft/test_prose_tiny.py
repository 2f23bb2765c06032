"""Prose drafting, one turn per section, with the real tiny model (SmolLM2-135M loops readily,
which is what these tests need)."""

from __future__ import annotations

import re

import pytest
from localscribe.draft import sections as SX
from localscribe.draft.decoding import DecodeControls
from localscribe.draft.incremental import DraftMode, IncrementalDrafter, draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template

MAX = 160


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def assert_complete(draft, transcript, template):
    ids = {s.id for s in transcript.segments}
    assert [s.key for s in draft.sections] == [s.key for s in template.sections]
    for sec in draft.sections:
        for st in sec.statements:
            assert st.text.endswith(".") and len(st.text) <= SX.MAX_SENTENCE_CHARS + 2, st
            assert set(st.evidence) <= ids, st
        if not sec.statements and SX.discussed(template.section(sec.key), transcript):
            assert sec.notice, f"{sec.key} is empty without a notice"


@pytest.mark.parametrize("mode", [DraftMode.CHAINED, DraftMode.SECTIONS, DraftMode.PROSE])
def test_every_mode_writes_every_section_or_says_why_not(engine, visit, mode):
    template = load_template("soap")
    engine.reset()
    # recheck off: this test is about the budgets (rewrites are tests/draft/test_recheck.py)
    draft, stats = draft_transcript(engine, visit, template, max_tokens=MAX, mode=mode, recheck=False)
    assert_complete(draft, visit, template)
    assert draft.statements, "the model wrote nothing at all"
    assert render_note(draft, template).strip()
    assert draft.prompt_sha256 == SX.prompt_sha256(template, mode.value)
    # each section's turn has its own budget: no section can run past the note's hard cap
    assert stats.stop_generated <= MAX + len(template.sections) * (SX.SENTENCE_TOKENS + 10)


def test_a_looping_model_cannot_fill_the_note(engine, transcript_of):
    """One line said forty times: a small greedy model repeats it. The note still has every
    section (written, or empty with a notice where the visit spoke to it), no statement twice,
    and the last section got its own turn."""
    looping = transcript_of([("patient", "I have a headache and my head hurts.")] * 40, prefix="r")
    template = load_template("soap")
    engine.reset()
    draft, stats = draft_transcript(engine, looping, template, max_tokens=MAX, mode=DraftMode.CHAINED)
    assert_complete(draft, looping, template)
    texts = [_norm(st.text) for st in draft.statements]
    assert len(texts) == len(set(texts)), texts
    assert stats.repeats_removed == 0          # nothing had to be dropped afterwards
    assert len(stats.generations) == len(template.sections) + stats.rewritten


def test_without_loop_control_the_same_model_repeats_itself(engine, transcript_of):
    """The control case for the test above: it shows the looping is real."""
    looping = transcript_of([("patient", "I have a headache and my head hurts.")] * 40, prefix="r")
    template = load_template("soap")
    engine.reset()
    free, _ = draft_transcript(engine, looping, template, max_tokens=MAX, mode=DraftMode.CHAINED,
                               controls=DecodeControls(), recheck=False)
    engine.reset()
    # recheck off in both: the comparison is of the loop control alone
    guarded, _ = draft_transcript(engine, looping, template, max_tokens=MAX, mode=DraftMode.CHAINED,
                                  recheck=False)

    def longest_repeat(draft) -> int:
        """The longest word run written twice within one section (across sections a plan
        may restate the history; identical sentences are ruled out everywhere)."""
        best = 0
        for sec in draft.sections:
            words = " ".join(st.text for st in sec.statements).lower().split()
            for n in range(4, 30):
                grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
                if len(grams) != len(set(grams)):
                    best = max(best, n)
        return best
    assert longest_repeat(guarded) < longest_repeat(free) or longest_repeat(free) == 0
    assert longest_repeat(guarded) < 12
    texts = [_norm(st.text) for st in guarded.statements]
    assert len(texts) == len(set(texts))


def test_incremental_sections_leave_only_the_requests_for_stop(engine, visit):
    template = load_template("soap")
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=MAX, mode=DraftMode.CHAINED)
    segs = visit.segments
    for part in (segs[:3], segs[3:7], segs[7:]):
        drafter.feed(part)
    transcript_tokens = len(engine.tokenize("".join(SX.segment_line(s) for s in segs)))
    # the instructions came from the prefix cache; the transcript was read while it came in
    assert drafter.stats.prefix in ("computed", "loaded", "cached")
    assert drafter.stats.prefill_tokens >= transcript_tokens - 5
    streamed: list[str] = []
    draft = drafter.finish(on_text=streamed.append)
    # After Stop only each section's short request was read before its text.
    first_request = len(engine.tokenize(SX.request_text(template.sections[0], first=True)))
    assert drafter.stats.generations[0].prompt_evaluated <= first_request + 1
    assert "".join(streamed).startswith("SUBJECTIVE\n")
    assert_complete(draft, visit, template)


def test_the_fixed_prefix_state_is_saved_once_and_loaded_from_disk(tiny_llm, visit, tmp_path, threads):
    """The instructions' KV state is computed once and reused from disk: a new engine (a new
    visit's worker) decodes none of it, and drafts exactly what it would have from scratch."""
    from localscribe.draft.engine import LlamaEngine

    template = load_template("history_and_physical")
    spec = template.sections[0]

    def draft_first_section(engine, expect: str) -> str:
        head = engine.tokenize(SX.head_text(template), first=True)
        before = engine.counters.evaluated
        assert engine.warm_prefix(head, tmp_path) == expect
        assert engine.counters.evaluated - before == (len(head) if expect == "computed" else 0)
        lines = engine.tokenize("".join(SX.segment_line(s) for s in visit.segments))
        request = engine.tokenize(SX.request_text(spec, first=True))
        return engine.generate(head + lines + request, SX.build_grammar(spec), max_tokens=40).text

    first = LlamaEngine(tiny_llm, n_ctx=2048, n_threads=threads)
    text = draft_first_section(first, "computed")
    assert len(list(tmp_path.glob("prefix-*.kv"))) == 1
    second = LlamaEngine(tiny_llm, n_ctx=2048, n_threads=threads)
    assert draft_first_section(second, "loaded") == text, "the state from disk must give the same text"
    head = second.tokenize(SX.head_text(template), first=True)
    assert second.warm_prefix(head, tmp_path) == "cached"
    # A damaged file is recomputed, never trusted.
    path = next(tmp_path.glob("prefix-*.kv"))
    path.write_bytes(path.read_bytes()[:1000])
    assert LlamaEngine(tiny_llm, n_ctx=2048, n_threads=threads).warm_prefix(head, tmp_path) == "computed"
