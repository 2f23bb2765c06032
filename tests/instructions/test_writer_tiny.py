"""The summary written by the real tiny model (SmolLM2-135M through llama.cpp): the note's
grammar shapes it, and every sentence carries exactly the flags the note's verifier gives the
same sentence in a note; a planted drug nobody named is flagged in both."""

from __future__ import annotations

import re

import pytest

from localscribe.domain import Draft, Section, Statement
from localscribe.draft import sections as SX
from localscribe.instructions import prompts as PR
from localscribe.instructions.prompts import Language
from localscribe.instructions.writer import draft_summary
from localscribe.verify import verify_draft
from localscribe.verify.align import align
from tests.instructions.conftest import make_transcript

TOKENS = 120        # the whole summary: enough for a sentence or two per part
# The clinician's note, read after the transcript (one drafting run serves every test here:
# the tiny model on a shared CPU is the slow part).
NOTE = "PLAN\n\nViral infection. Fluids and rest. Lisinopril 20 milligrams once a day.\n"


@pytest.fixture(scope="module")
def run(engine):
    engine.reset()
    return draft_summary(engine, make_transcript(), Language.EN, note_text=NOTE, max_tokens=TOKENS,
                         prefix_cache=False)


def _flags(draft: Draft) -> list[list[tuple]]:
    return [[(f.kind, f.tier, f.span, f.reason) for f in st.flags] for st in draft.statements]


def test_the_summary_has_the_template_parts_ids_and_grammar(run):
    d = run.draft
    assert [s.key for s in d.sections] == [s.key for s in PR.summary_template(Language.EN).sections]
    assert d.statements, "the model wrote nothing"
    assert [st.id for st in d.statements] == [f"pi{i}" for i in range(1, len(d.statements) + 1)]
    for sec in d.sections:
        assert sec.statements or sec.notice or sec.key not in ("pi_found", "pi_todo")
    for st in d.statements:
        assert st.text.endswith(".") and len(st.text) <= SX.MAX_SENTENCE_CHARS + 2
    # Every number written was said in the visit (the note's SentenceRules).
    said = SX.spoken_numbers(make_transcript())
    for st in d.statements:
        for n in re.findall(r"\d+(?:\.\d+)?", st.text):
            assert n in said, st.text
    assert d.model_sha256 and d.prompt_sha256 == PR.prompt_sha256(
        PR.summary_template(Language.EN), Language.EN, True)


def test_flags_are_the_notes_verifier_on_the_same_sentences(run, visit):
    """The same sentences as a clinician's note's statements get the same flags."""
    as_note = Draft(template="soap", sections=[Section("plan", "PLAN", [
        Statement(f"st{i}", st.text, align(st.text, visit)) for i, st in enumerate(run.draft.statements, 1)])])
    verify_draft(as_note, visit)
    assert _flags(run.draft) == _flags(as_note)


def test_a_planted_unsaid_drug_is_flagged_like_in_a_note(run, visit):
    planted = "Take metformin 500 mg twice a day."
    summary = Draft.from_dict(run.draft.to_dict())
    meds = next(s for s in summary.sections if s.key == "pi_meds")
    meds.statements.append(Statement("pi99", planted, align(planted, visit)))
    verify_draft(summary, visit)
    flagged = next(st for st in summary.statements if st.id == "pi99")
    assert any(f.blocking and "metformin" in f.span.lower() for f in flagged.flags), flagged.flags
    assert "pi99" in summary.unacknowledged(set())
    note = Draft(template="soap", sections=[Section("plan", "PLAN", [
        Statement("st1", planted, align(planted, visit))])])
    verify_draft(note, visit)
    assert _flags(note) == [[(f.kind, f.tier, f.span, f.reason) for f in flagged.flags]]


def test_the_note_text_is_read_after_the_transcript(run, engine, visit):
    """Every part's turn has the note's tokens after the transcript's, and the audited prompt
    hash says a note was used."""
    head = len(engine.tokenize(PR.head_text(Language.EN, True), first=True))
    lines = sum(len(engine.tokenize(SX.segment_line(s))) for s in visit.segments)
    note = len(engine.tokenize(PR.note_block(Language.EN, NOTE)))
    assert run.stats.generations
    assert all(g.prompt_tokens > head + lines + note for g in run.stats.generations)
    assert run.draft.prompt_sha256 != PR.prompt_sha256(PR.summary_template(Language.EN), Language.EN, False)


def test_spanish_is_the_verified_english_translated_with_its_flags_kept(run, engine):
    """Spanish: the same English summary (greedy, same engine and settings), each sentence
    translated under the same id with the English flags first, then the translation check's
    own; a sentence the model failed to translate keeps its English words, flagged."""
    from localscribe.instructions.translate import check, is_translation_flag

    engine.reset()
    es = draft_summary(engine, make_transcript(), Language.ES, note_text=NOTE, max_tokens=TOKENS,
                       prefix_cache=False)
    english = run.draft.statements
    assert [st.id for st in es.draft.statements] == [st.id for st in english]
    assert [st.source for st in es.draft.statements] == [st.text for st in english]
    assert [s.title for s in es.draft.sections] == [s.title for s in PR.summary_template(Language.ES).sections]
    assert es.translated_tokens > 0
    for st, src in zip(es.draft.statements, english, strict=True):
        assert st.flags[:len(src.flags)] == src.flags
        own = st.flags[len(src.flags):]
        assert all(is_translation_flag(f) and f.blocking for f in own)
        assert own == check(src.text, st.text) or st.text == src.text
        assert st.evidence == src.evidence
    assert es.translation_flagged == sum(1 for st, src in zip(es.draft.statements, english)
                                         if len(st.flags) > len(src.flags))
    assert es.draft.prompt_sha256 != run.draft.prompt_sha256
    restored = Draft.from_dict(es.draft.to_dict())
    assert [st.source for st in restored.statements] == [st.text for st in english]
