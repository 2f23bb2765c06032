"""Drafting with the real tiny model: structure, evidence, incremental cache use, long visits."""

from __future__ import annotations

from localscribe.draft import prompt as P
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.incremental import IncrementalDrafter, draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.schema import build_grammar, parse_note
from localscribe.draft.service import draft_note
from localscribe.draft.templates import load_template
from localscribe.verify.negation import split_polarity

MAX = 120


def assert_grounded_structure(draft, transcript, template):
    ids = {s.id for s in transcript.segments}
    assert [s.key for s in draft.sections] == [s.key for s in template.sections]
    for st in draft.statements:
        assert st.text.strip()
        assert st.evidence, st
        assert set(st.evidence) <= ids, st


def test_one_shot_draft_parses_and_cites_real_segments(engine, visit):
    template = load_template("soap")
    engine.reset()
    draft, stats = draft_transcript(engine, visit, template, max_tokens=MAX, mode="lines")
    assert draft.statements, "the model wrote no statement at all"
    assert_grounded_structure(draft, visit, template)
    assert draft.model_sha256 == engine.model_sha256 and len(draft.model_sha256) == 64
    assert draft.prompt_sha256 == P.prompt_sha256(template)
    assert render_note(draft, template).strip()
    # Nothing was cached: the whole prompt was decoded after "Stop".
    assert stats.stop_prompt_tokens >= 200


def test_incremental_feeding_leaves_only_the_tail_for_stop(engine, visit):
    template = load_template("soap")
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=MAX, mode="lines")
    segs = visit.segments
    for part in (segs[:3], segs[3:7], segs[7:]):          # the transcript grows during the visit
        drafter.feed(part)
    assert drafter.stats.prefill_tokens > 200
    before = engine.counters.snapshot()
    streamed: list[str] = []
    draft = drafter.finish(on_text=streamed.append)
    tail = len(engine.tokenize(P.tail_text(template)))
    # At Stop the engine decoded only the prompt's tail before the first note token ...
    assert drafter.stats.stop_prompt_tokens == tail
    # ... and everything it decoded after Stop is that tail plus the note itself.
    # (The last note token is only decoded when another must follow it: not at the cap.)
    last_undecoded = 0 if drafter.stats.finished else 1
    assert engine.counters.evaluated - before.evaluated == tail + drafter.stats.stop_generated - last_undecoded
    assert "".join(streamed).startswith("## SUBJECTIVE")
    assert_grounded_structure(draft, visit, template)

    engine.reset()
    one_shot, _ = draft_transcript(engine, visit, template, max_tokens=MAX, mode="lines")
    # Same prompt, greedy decoding: the same kind of note, section for section.
    assert [s.key for s in one_shot.sections] == [s.key for s in draft.sections]
    assert bool(one_shot.statements) == bool(draft.statements)


def test_a_visit_longer_than_the_context_still_gets_a_complete_note(tiny_llm, transcript_of, threads):
    small = LlamaEngine(tiny_llm, n_ctx=1024, n_threads=threads)
    turns = []
    for i in range(24):
        turns.append(("clinician", f"Question {i + 1}: how has the knee been since visit number {i + 1}?"))
        turns.append(("patient", f"The left knee pain was {i % 10} out of ten after walking {i + 2} blocks."))
    long_visit = transcript_of(turns, prefix="L")
    template = load_template("soap")
    prompt_tokens = sum(len(small.tokenize(P.segment_line(P.label_for(i), s)))
                        for i, s in enumerate(long_visit.segments))
    assert prompt_tokens > small.n_ctx                     # really longer than the window
    draft, stats = draft_transcript(small, long_visit, template, max_tokens=120, mode="lines")
    assert stats.chunks >= 2
    assert_grounded_structure(draft, long_visit, template)
    order = {s.id: i for i, s in enumerate(long_visit.segments)}
    cited = sorted(order[e] for st in draft.statements for e in st.evidence)
    half = len(long_visit.segments) // 2
    assert cited and cited[0] < half <= cited[-1], "the note must draw on both ends of the visit"


def _prompt_tokens(engine, transcript, template):
    pieces = P.build_pieces(template, transcript.segments)
    tokens = engine.tokenize(pieces.head, first=True)
    for line in pieces.lines:
        tokens += engine.tokenize(line)
    return tokens + engine.tokenize(pieces.tail)


def test_a_closed_line_gate_moves_the_model_on_to_the_next_heading(engine, visit):
    """The section budget's mechanism: when the gate says no, no further statement may
    start; only the first section's one required statement is written, and the note ends
    by itself (grammar complete) instead of at the token cap."""
    template = load_template("soap")
    labels = P.labels_for(visit.segments)
    grammar = build_grammar(template, list(labels))
    engine.reset()
    asked = []

    def closed(text, generated):
        asked.append(text)
        return False
    gen = engine.generate(_prompt_tokens(engine, visit, template), grammar, max_tokens=200,
                          line_gate=closed)
    parsed = parse_note(gen.text, template, labels)
    assert asked, "the gate was never consulted"
    assert gen.finished, gen.text
    assert [len(s.statements) for s in parsed.sections] == [1, 0, 0, 0], gen.text


def test_with_the_section_budget_a_short_note_still_reaches_its_last_section(engine, visit):
    """The same small budget with and without the gate: without it the model spends the
    tokens on the first sections and is cut off; with it the note completes."""
    template = load_template("soap")
    labels = P.labels_for(visit.segments)
    grammar = build_grammar(template, list(labels))
    tokens = _prompt_tokens(engine, visit, template)
    engine.reset()
    ungated = engine.generate(tokens, grammar, max_tokens=MAX)
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=MAX, prefill=False, mode="lines")
    drafter.feed(visit.segments)
    draft = drafter.finish()
    assert drafter.stats.finished, "the budgeted note was cut off by the token cap"
    assert drafter.stats.stop_generated <= drafter._hard_cap
    assert_grounded_structure(draft, visit, template)
    if not ungated.finished:          # the case the budget exists for
        assert drafter.stats.stop_generated <= MAX + 2 * 28


def test_no_chest_pain_never_becomes_an_unflagged_chest_pain_statement(engine, visit):
    template = load_template("soap")
    engine.reset()
    draft, _ = draft_note(engine, visit, template, max_tokens=MAX)
    for st in draft.statements:
        asserted, _neg = split_polarity(st.text)
        if "chest pain" in asserted or {"chest", "pain"} <= asserted:
            assert any(f.kind == "negation" for f in st.flags), st


def _forced(engine, transcript, template_key: str, statement: str):
    """Let the model choose the evidence for a statement whose words we fix, then verify it."""
    from localscribe.domain import Draft
    from localscribe.verify import verify_draft

    template = load_template(template_key)
    labels = P.labels_for(transcript.segments)
    grammar = build_grammar(template, list(labels))
    free_text = next(line for line in grammar.splitlines() if line.startswith("text ::="))
    grammar = grammar.replace(free_text, f'text ::= "{statement}"')
    pieces = P.build_pieces(template, transcript.segments)
    tokens = engine.tokenize(pieces.head, first=True)
    for line in pieces.lines:
        tokens += engine.tokenize(line)
    tokens += engine.tokenize(pieces.tail)
    gen = engine.generate(tokens, grammar, max_tokens=60)
    parsed = parse_note(gen.text, template, labels)
    draft = verify_draft(Draft(template.key, parsed.sections), transcript)
    assert draft.statements and all(st.text == statement for st in draft.statements)
    return draft


def test_model_path_chest_pain_statement_is_flagged(engine, visit):
    draft = _forced(engine, visit, "soap", "Reports chest pain")
    for st in draft.statements:
        assert "negation" in [f.kind for f in st.flags], st


def test_model_path_invented_dose_is_flagged(engine, visit):
    draft = _forced(engine, visit, "soap", "Lisinopril 40 mg daily")
    for st in draft.statements:
        assert "dose" in [f.kind for f in st.flags], st
