"""Sentences the verifier blocks are written again (draft/recheck.py): the pieces on their own,
then with the real tiny model, and the real verifier on a real slip."""

from __future__ import annotations

from localscribe.draft import recheck as RC
from localscribe.draft import sections as SX
from localscribe.draft.incremental import DraftMode, IncrementalDrafter
from localscribe.draft.templates import load_template


def test_finished_sentences_are_the_ones_the_grammar_closed():
    text = "She has a cough. It started 3.5 days ago. She denies fev"
    assert RC.finished_sentences(text) == [(0, "She has a cough."), (17, "It started 3.5 days ago.")]
    assert RC.finished_sentences("None.\n") == []
    assert RC.finished_sentences("She has a cough.\n") == [(0, "She has a cough.")]


def test_first_blocked_skips_what_already_stayed():
    text = "A is fine. B is wrong. C is wrong."
    bad = lambda s: "wrong" in s      # noqa: E731
    assert RC.first_blocked(text, bad) == RC.Blocked(1, 11, "B is wrong.")
    assert RC.first_blocked(text, bad, after=1) == RC.Blocked(2, 23, "C is wrong.")
    assert RC.first_blocked(text, bad, after=2) is None


def test_token_boundary_is_the_opening_token_of_the_sentence():
    pieces = [b"She", b" has", b" a", b" cough", b".", b" It", b" hurts", b"."]
    text = b"".join(pieces).decode()
    start = RC.finished_sentences(text)[1][0]
    assert RC.token_boundary(pieces, text, start) == 5          # " It" is token 5
    assert RC.token_boundary(pieces, text, 0) == 0


def test_a_blocked_sentence_is_written_again_and_never_word_for_word(engine, visit):
    """A blocker that rejects the first sentence it is shown: the section is taken back to
    that sentence's first token and written again; the rejected sentence never reaches the
    note as written, and the rest of the note is whole."""
    rejected: list[str] = []

    def blocker(transcript, align):
        def blocks(sentence: str) -> bool:
            if not rejected:
                rejected.append(sentence)
            return sentence == rejected[0]
        return blocks

    template = load_template("soap")
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=160, prefill=False,
                                 mode=DraftMode.SECTIONS, blocker=blocker, prefix_cache=False)
    drafter.feed(visit.segments)
    draft = drafter.finish()
    assert rejected, "the blocker was never asked"
    assert drafter.stats.rewritten >= 1
    texts = [st.text for st in draft.statements]
    assert rejected[0] not in texts
    assert all(t.endswith(".") and len(t) <= SX.MAX_SENTENCE_CHARS + 2 for t in texts)
    # the retry paid only for the rewritten tail, not for the whole section again
    # a retry writes one sentence (<= 200 characters), the later ones are kept as they were
    assert drafter.stats.rewrite_tokens <= drafter.stats.rewritten * 70


def test_a_sentence_that_keeps_coming_back_stays_flagged_after_bounded_tries(engine, visit):
    """A blocker that rejects everything: the tries are bounded per section, the note is still
    written (the sentences stay, flagged later by the verifier), nothing is dropped."""
    template = load_template("soap")
    engine.reset()
    drafter = IncrementalDrafter(engine, template, max_tokens=160, prefill=False,
                                 mode=DraftMode.SECTIONS, prefix_cache=False,
                                 blocker=lambda transcript, align: (lambda sentence: True))
    drafter.feed(visit.segments)
    draft = drafter.finish()
    assert drafter.stats.rewritten <= RC.MAX_TRIES_PER_SECTION * len(template.sections)
    assert draft.statements


def test_the_verifier_blocks_an_unsaid_drug_and_passes_a_said_one(visit):
    from localscribe.verify.align import align

    blocks = RC.verifier_blocks(visit, align)
    assert not blocks("The patient takes lisinopril 20 milligrams once a day.")
    assert blocks("The patient takes metformin 500 milligrams twice a day.")


def _accepts(engine, grammar: str, text: str) -> bool:
    """Does the note grammar let the model write ``text``? Each token is offered as the only
    likely one; the grammar either takes it or the choice falls elsewhere."""
    return _accepts_tokens(engine, grammar, engine.tokenize(text))


def test_the_grammar_allows_decimals_but_no_sentences_glued_by_a_point(engine):
    from localscribe.draft.templates import load_template

    grammar = SX.build_grammar(load_template("soap").section("plan"))
    assert _accepts(engine, grammar, "Temperature was 38.5 degrees. Follow up in 2 weeks.\n")
    assert not _accepts(engine, grammar, "None.1 week follow-up.\n")      # seen on the demo
    assert not _accepts(engine, grammar, "Dr.3 assesses a viral infection.\n")
    assert not _accepts(engine, grammar, "Heart疾病 is suspected.\n")


def test_a_section_that_must_be_written_cannot_open_with_none(engine):
    from localscribe.draft.templates import load_template

    grammar = SX.build_grammar(load_template("soap").section("subjective"))     # min 2 sentences
    assert not _accepts(engine, grammar, "None, as the transcript does not mention it. She is well.\n")
    assert not _accepts(engine, grammar, "None. She is well.\n")
    assert _accepts(engine, grammar, "Nonsteroidal drugs helped. She is well.\n")


def test_no_control_token_and_no_control_character_can_follow_none(engine):
    """Seen on the demo: the grammar matched "<|im_start|>" by its spelled-out text, so the
    model wrote "None<|im_start|><|im_start|>...\\r\\r." where a section had to be written."""
    from localscribe.draft.engine import control_tokens
    from localscribe.draft.templates import load_template

    grammar = SX.build_grammar(load_template("soap").section("subjective"))     # min 2 sentences
    control = control_tokens(engine._llm)
    assert control.members, "the tiny model's chat template has control tokens"
    for tok in sorted(control.members)[:5]:
        assert not _accepts_tokens(engine, grammar, engine.tokenize("She is well. It") + [tok])
    assert not _accepts(engine, grammar, "None\r\r. She is well.\n")
    assert not _accepts(engine, grammar, 'None" She is well. It hurts.\n')
    assert not _accepts(engine, grammar, "She has a cough.\tIt hurts.\n")


def _accepts_tokens(engine, grammar: str, tokens: list[int]) -> bool:
    import numpy as np
    from localscribe.draft.engine import _GrammarGreedy, _NoChoice

    g = _GrammarGreedy(engine._llm, grammar)
    try:
        for tok in tokens:
            logits = np.full(engine._llm.n_vocab(), -1e9, dtype=np.float32)
            logits[tok] = 0.0
            if g._pick(logits, None) != tok:
                return False
            g.accept(tok)
        return True
    except _NoChoice:
        return False
    finally:
        g.close()


def test_a_section_that_must_be_written_cannot_start_a_token_toward_none():
    rules = SX.SentenceRules(budget=200, seen=set(), must_write=True)
    test = rules.gate("", 0)
    assert test is not None
    for piece in (b"None", b" None", b"N", b"No", b"Non", b"Nonetheless"):
        assert test(piece), piece
    assert not test(b"The") and not test(b" She")
    assert rules.gate("The patient", 2) is None or not rules.gate("The patient", 2)(b" None")
    assert SX.SentenceRules(budget=200, seen=set()).gate("", 0) is None


def test_the_retry_rules_out_the_words_the_verifier_blocked_but_never_a_wrongly_denied_fact():
    from localscribe.domain import Flag

    unsaid = Flag("drug", "The note names metformin, which was not mentioned in the visit.", "metformin")
    denied = Flag("negation", "The note reports headache, but in the visit it was denied or ruled out.",
                  "headache")
    wrongly_denied = Flag("negation", "The note says there is no chest pain, but the visit reports it.",
                          "chest pain")
    info = Flag("weak-evidence", "Nothing said in the visit clearly supports this statement.", "", "info")
    assert RC.retry_avoid([unsaid, denied, wrongly_denied, info]) == ("metformin", "headache")

    gate = RC.avoid_words(lambda text, n: None, 10, ("headache",))
    test = gate("She is ok. She has a head", 7)
    assert test(b"ache") and test(b"aches")
    assert not test(b" cold")
    # the words before the sentence being written are not its business
    assert not RC.avoid_words(lambda text, n: None, 30, ("headache",))("No headache at all. She has a", 9)(b" cough")


def test_the_verifier_names_the_denied_symptom_a_retry_must_not_write_again(visit):
    from localscribe.verify.align import align

    blocks = RC.verifier_blocks(visit, align)
    verdict = blocks("The patient has a cough and chest pain.")
    assert verdict and "chest pain" in verdict.avoid
    assert not blocks("The patient has a cough for three days.")
