"""A small draft model that guesses the next tokens of the note model (speculative decoding).

The note model (``engine.LlamaEngine``) checks every guess in one batched decode and keeps only
the guesses its own greedy choice agrees with, so the note is token for token what plain greedy
decoding writes; the draft model only decides how many weight passes of the big model that takes.
It must share the note model's tokenizer (Qwen2.5-Coder-0.5B for the 1.5B: same 151,936-token
vocabulary), which ``check_vocab`` enforces before any guess is made.

Its KV cache follows the note model's tokens by the same longest-common-prefix rule as the engine:
rejected guesses are cut from the cache at the next ``guess`` and only the tokens it has not seen
(the accepted guesses it never decoded, and the note model's correction) are decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from localscribe.draft import llama_context

if TYPE_CHECKING:
    from llama_cpp import Llama


class DraftVocabError(ValueError):
    """The draft model's tokenizer is not the note model's: its guesses would be other tokens."""


# Token ids compared between the two vocabularies: spread over the whole range (and the control
# tokens at its end), enough to catch another tokenizer, few enough to cost nothing at load.
_PROBE_STRIDE = 97


class DraftModel:
    """A loaded llama.cpp model (``llama_cpp.Llama``) that proposes up to ``k`` tokens greedily."""

    def __init__(self, llm: Llama, k: int) -> None:
        if k < 1:
            raise ValueError(f"a draft model must guess at least one token ahead, not {k}")
        self._llm = llm
        self.k = k
        self.evaluated = 0          # tokens this model decoded (its prompt copy and its guesses)
        self._n_vocab = llm.n_vocab()

    @property
    def n_ctx(self) -> int:
        return self._llm.n_ctx()

    def check_vocab(self, target: Llama) -> None:
        """Raise DraftVocabError unless ``target`` (the note model's Llama) spells the same tokens."""
        n = target.n_vocab()
        if n != self._n_vocab:
            raise DraftVocabError(f"the draft model has {self._n_vocab} tokens, the note model {n}")
        for tok in list(range(0, n, _PROBE_STRIDE)) + list(range(max(0, n - 300), n)):
            if self._llm.detokenize([tok], special=True) != target.detokenize([tok], special=True):
                raise DraftVocabError(f"token {tok} differs between the draft model and the note model")

    def _decode(self, tokens: list[int]) -> None:
        self.evaluated += llama_context.decode(self._llm, tokens)

    def sync(self, tokens: Sequence[int] | np.ndarray) -> None:
        """Make the cache hold ``tokens`` (keeping the longest common prefix), logits for the last."""
        tokens = np.asarray(tokens, dtype=np.intc)
        if len(tokens) == 0:
            llama_context.truncate(self._llm, 0)
            return
        keep = min(llama_context.common_prefix(self._llm, tokens), len(tokens) - 1)   # >= 1 decoded, for logits
        llama_context.truncate(self._llm, keep)
        self._decode([int(t) for t in tokens[keep:]])

    def reset(self) -> None:
        llama_context.truncate(self._llm, 0)

    def guess(self, tokens: Sequence[int] | np.ndarray, room: int) -> list[int]:
        """The draft model's greedy continuation of ``tokens``: at most ``min(k, room)`` tokens.

        No grammar and no loop controls here: a guess the note model would not choose is simply
        rejected by its check, and running the grammar twice would cost more than it saves."""
        k = min(self.k, room, self.n_ctx - len(tokens) - 1)
        if k <= 0:
            return []
        self.sync(tokens)
        out: list[int] = []
        while True:
            logits = np.ctypeslib.as_array(self._llm._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
            out.append(int(np.argmax(logits)))
            if len(out) >= k:
                return out
            self._decode([out[-1]])

    def close(self) -> None:
        self._llm.close()
