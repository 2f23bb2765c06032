"""A llama.cpp context driven token by token, for the note model (``engine.LlamaEngine``) and
the draft model (``speculate.DraftModel``) alike.

Both keep their KV cache by the longest-common-prefix rule: find how much of the next prompt
the cache already holds, cut the cache back to that, and decode only the rest. llama-cpp-python's
``Llama`` offers none of these three steps on its own (``eval`` always appends, ``reset`` forgets
everything), so both models use the ones here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from llama_cpp import Llama


def common_prefix(llm: Llama, tokens: Sequence[int] | np.ndarray) -> int:
    """How many of ``tokens``, from the first, the cache already holds."""
    have = np.asarray(llm.input_ids[: llm.n_tokens])
    want = np.asarray(tokens)
    m = min(len(have), len(want))
    diff = np.flatnonzero(have[:m] != want[:m])
    return int(diff[0]) if len(diff) else m


def truncate(llm: Llama, n: int) -> None:
    """Keep the first ``n`` tokens in the cache, forget the rest."""
    llm.n_tokens = n
    llm._ctx.kv_cache_seq_rm(-1, n, -1)


def decode(llm: Llama, tokens: Sequence[int], all_logits: bool = False) -> int:
    """Append ``tokens`` to the cache, in llama.cpp batches; logits for the last one (or for
    all of them, to check guesses). Returns how many tokens were decoded."""
    for i in range(0, len(tokens), llm.n_batch):
        batch = list(tokens[i:i + llm.n_batch])
        llm._batch.set_batch(batch=batch, n_past=llm.n_tokens, logits_all=all_logits)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens:llm.n_tokens + len(batch)] = batch
        llm.n_tokens += len(batch)
    llm._requires_eval = True    # Llama.generate must not trust logits we may have moved past
    return len(tokens)
