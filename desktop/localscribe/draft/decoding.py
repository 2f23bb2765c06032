"""Loop control for greedy decoding, applied to the logits before each token is chosen.

Greedy decoding of a small model falls into loops: the same sentence three times, each
spending the token budget that later sections needed. Dropping repeats afterwards is too
late (the budget is gone), so the choice itself is steered:

- ``no_repeat_ngram``: a token that would complete an n-token run already written in this
  generation (an answer prefix given to a retry counts as written) is ruled out, as in
  ``no_repeat_ngram_size`` of Hugging Face's generators. Runs copied from the transcript are
  not affected: only the generated text counts.
- ``repeat_penalty``: the usual CTRL-style penalty on tokens already generated recently,
  which makes the model prefer a new word over re-using one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DecodeControls:
    no_repeat_ngram: int = 0          # 0: off; else the run length (in tokens) never repeated
    repeat_penalty: float = 1.0       # 1.0: off
    penalty_window: int = 256         # how many recent tokens the penalty looks back on

    def start(self) -> LoopGuard | None:
        if self.no_repeat_ngram <= 1 and self.repeat_penalty == 1.0:
            return None
        return LoopGuard(self)


class LoopGuard:
    """The running state of one generation: ``push`` each chosen token, ``adjust`` logits."""

    def __init__(self, controls: DecodeControls):
        self.c = controls
        self.n = controls.no_repeat_ngram
        self.tokens: list[int] = []
        self._next: dict[tuple[int, ...], set[int]] = defaultdict(set)

    def push(self, tok: int) -> None:
        self.tokens.append(tok)
        if self.n > 1 and len(self.tokens) >= self.n:
            self._next[tuple(self.tokens[-self.n:-1])].add(tok)

    def banned(self) -> set[int]:
        if self.n <= 1 or len(self.tokens) < self.n - 1:
            return set()
        return self._next.get(tuple(self.tokens[-(self.n - 1):]), set())

    def adjust(self, logits: np.ndarray) -> np.ndarray:
        out = np.array(logits, dtype=np.float32, copy=True)
        if self.c.repeat_penalty != 1.0 and self.tokens:
            recent = np.unique(np.asarray(self.tokens[-self.c.penalty_window:], dtype=np.int64))
            vals = out[recent]
            out[recent] = np.where(vals > 0, vals / self.c.repeat_penalty, vals * self.c.repeat_penalty)
        for tok in self.banned():
            out[tok] = -np.inf
        return out
