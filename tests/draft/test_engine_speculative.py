"""Speculative decoding never changes a note: real llama.cpp on the tiny profile's SmolLM2-135M.

CI has only the tiny profile, whose one language model is SmolLM2-135M; it drafts for itself here
(same file loaded as the draft model). That exercises the mechanics that decide correctness, the
batched check, cutting rejected guesses from both KV caches, the draft cache following the
accepted tokens across sections, the token budget, under the real note grammar and loop controls,
but says nothing about speed: the speed of the real pair (Qwen2.5-Coder-0.5B drafting for the 1.5B)
is measured by tests/bench/bench_speculative.py. These tests run with 1 thread; with 2 threads the
1.5B's speculative notes were seen to differ (README), which is why speculation is off by default.
"""

from __future__ import annotations

import numpy as np
import pytest
from localscribe.draft.engine import EngineError, LlamaEngine
from localscribe.draft.incremental import draft_transcript
from localscribe.draft.render import render_note
from localscribe.draft.speculate import DraftModel, DraftVocabError
from localscribe.draft.templates import load_template

N_CTX = 2048
MAX_TOKENS = 160     # a short note: enough rounds of guesses, seconds not minutes on a shared CPU


@pytest.fixture(scope="module")
def template():
    return load_template("history_and_physical")


@pytest.fixture(scope="module")
def exact(tiny_llm, threads):
    """Plain greedy, loaded as every speculative engine is (batch-invariant): the reference."""
    return LlamaEngine(tiny_llm, n_ctx=N_CTX, n_threads=threads, batch_invariant=True)


@pytest.fixture(scope="module")
def plain(exact, visit_module, template):
    exact.reset()
    draft, stats = draft_transcript(exact, visit_module, template, max_tokens=MAX_TOKENS)
    return render_note(draft, template), [g.tokens for g in stats.generations]


@pytest.fixture(scope="module")
def visit_module(transcript_of):
    return transcript_of()


@pytest.fixture(scope="module")
def self_drafting(tiny_llm, threads):
    return LlamaEngine(tiny_llm, n_ctx=N_CTX, n_threads=threads, draft_model=tiny_llm, draft_k=4)


def _draft(engine, transcript, template):
    engine.reset()
    before = engine.counters.snapshot()
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=MAX_TOKENS)
    after = engine.counters
    return (render_note(draft, template), [g.tokens for g in stats.generations],
            after.proposed - before.proposed, after.accepted - before.accepted)


def test_draft_model_writes_token_for_token_the_plain_greedy_note(self_drafting, plain, visit_module, template):
    note, tokens, proposed, accepted = _draft(self_drafting, visit_module, template)
    assert tokens == plain[1]
    assert note == plain[0]
    # Drafting for itself, the guesses are the greedy choice except where the grammar or the
    # loop controls overrule the arg-max: most are accepted, and guesses really were checked.
    assert proposed > 30
    assert accepted / proposed > 0.6


def test_prompt_lookup_also_writes_the_plain_greedy_note(tiny_llm, threads, plain, visit_module, template):
    lookup = LlamaEngine(tiny_llm, n_ctx=N_CTX, n_threads=threads, lookahead=8)
    note, tokens, proposed, _ = _draft(lookup, visit_module, template)
    assert tokens == plain[1] and note == plain[0]
    assert proposed > 0


@pytest.mark.parametrize("max_tokens", [1, 2, 7])
def test_the_token_budget_is_kept_inside_accepted_guesses(self_drafting, exact, max_tokens):
    """A budget smaller than k: the run stops exactly where plain decoding stops."""
    grammar = 'root ::= [a-zA-Z ,.]+ "\\n"'
    prompt = exact.tokenize("<|im_start|>user\nSay what the patient takes.<|im_end|>\n<|im_start|>assistant\n",
                            first=True)
    want = exact.generate(prompt, grammar, max_tokens=max_tokens)
    got = self_drafting.generate(prompt, grammar, max_tokens=max_tokens)
    assert got.tokens == want.tokens and got.generated == want.generated == max_tokens
    assert got.finished is want.finished is False


def _common(a, b) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def test_the_draft_cache_follows_the_accepted_tokens_and_keeps_the_prompt(self_drafting, exact):
    engine = exact
    grammar = 'root ::= [a-zA-Z ,.]+ "\\n"'
    prompt = engine.tokenize("<|im_start|>user\nSay what the patient takes: lisinopril 20 mg daily."
                             "<|im_end|>\n<|im_start|>assistant\n", first=True)
    self_drafting.reset()
    draft = self_drafting._draft
    first = self_drafting.generate(prompt, grammar, max_tokens=20)
    assert first.tokens == engine.generate(prompt, grammar, max_tokens=20).tokens
    # Never behind the note model by more than one token, never holding a rejected guess
    # beyond the last round's (the next guess cuts those).
    have = [int(t) for t in draft._llm.input_ids[: draft._llm.n_tokens]]
    assert _common(have, self_drafting.cached_tokens) >= len(self_drafting.cached_tokens) - 1
    # A second turn after the first (as the sections of a note are): the shared prompt is not
    # read again by the draft model, only the new tail.
    follow = prompt + list(first.tokens) + engine.tokenize("<|im_end|>\n<|im_start|>user\nAnd the dose?"
                                                          "<|im_end|>\n<|im_start|>assistant\n")
    before = draft.evaluated
    second = self_drafting.generate(follow, grammar, max_tokens=10)
    assert second.tokens == engine.generate(follow, grammar, max_tokens=10).tokens
    assert draft.evaluated - before < len(follow) - len(prompt) + 10 * draft.k


def test_a_missing_draft_model_is_refused_before_llama_cpp_sees_it(tiny_llm, threads, tmp_path):
    with pytest.raises(EngineError, match="draft model file not found"):
        LlamaEngine(tiny_llm, n_ctx=256, n_threads=threads, draft_model=tmp_path / "nope.gguf", draft_k=3)


def test_a_draft_model_of_another_tokenizer_is_refused(tiny_llm):
    """Orchestration only: the note model is a stand-in (``OtherVocab``) that spells one token
    differently, as another tokenizer of the same size would; the draft model is the real one."""
    from llama_cpp import Llama

    real = Llama(model_path=str(tiny_llm.path), n_ctx=64, n_threads=1, verbose=False)
    draft = DraftModel(real, k=3)

    class OtherVocab:
        def n_vocab(self):
            return real.n_vocab()

        def detokenize(self, toks, special=False):
            out = real.detokenize(toks, special=special)
            return b"?" + out if toks == [97 * 100] else out

    draft.check_vocab(real)       # itself: accepted
    with pytest.raises(DraftVocabError, match="token 9700 differs"):
        draft.check_vocab(OtherVocab())

    class Smaller(OtherVocab):
        def n_vocab(self):
            return real.n_vocab() - 1

    with pytest.raises(DraftVocabError, match="tokens, the note model"):
        draft.check_vocab(Smaller())
    with pytest.raises(ValueError):
        DraftModel(real, k=0)
    draft.close()


def test_batch_invariant_loading_gives_one_token_logits_in_a_batch(tiny_llm):
    """Why speculation cannot change a note: the logits of a token checked inside a batch of
    guesses are bit for bit those of decoding it alone (up to EXACT_BATCH tokens)."""
    from localscribe.draft.engine import EXACT_BATCH, _load_llama

    llm = _load_llama(tiny_llm, 256, 1, batch_invariant=True)
    toks = llm.tokenize(b"The patient has had a cough for three days and takes lisinopril 20 mg daily.",
                        add_bos=True)
    head, tail = toks[:-EXACT_BATCH], toks[-EXACT_BATCH:]
    n_vocab = llm.n_vocab()

    def decode(batch, n_past, all_logits):
        llm._batch.set_batch(batch=batch, n_past=n_past, logits_all=all_logits)
        llm._ctx.decode(llm._batch)

    decode(head, 0, False)
    alone = []
    for i, tok in enumerate(tail):
        decode([tok], len(head) + i, False)
        alone.append(np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,)).copy())
    llm._ctx.kv_cache_seq_rm(-1, len(head), -1)
    decode(tail, len(head), True)
    batched = [np.ctypeslib.as_array(llm._ctx.get_logits_ith(j), shape=(n_vocab,)) for j in range(len(tail))]
    for a, b in zip(alone, batched):
        assert np.array_equal(a, b)
    llm.close()
