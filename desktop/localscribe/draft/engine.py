"""llama.cpp behind a small interface: tokenize, prefill (KV cache), generate under a grammar.

llama-cpp-python 0.3.36 keeps the tokens it has evaluated (``Llama.input_ids[:n_tokens]``) and,
at the start of ``generate``, keeps the KV cache for the longest common prefix of the new
prompt and evaluates only the rest. ``prefill`` applies the same rule while the visit goes on,
so the transcript is already in the cache when the clinician presses Stop.

Every token sent to ``llama_decode`` is counted (``counters``), which is how tests and
benchmarks check how much work is left after Stop.
"""

from __future__ import annotations

import codecs
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DEFAULT_CTX = 4096


class EngineError(RuntimeError):
    """The language model could not be loaded or failed while drafting."""


@dataclass
class EngineCounters:
    evaluated: int = 0        # tokens decoded: prompt, generated and speculative drafts
    generated: int = 0        # tokens sampled

    def snapshot(self) -> "EngineCounters":
        return EngineCounters(self.evaluated, self.generated)


@dataclass(frozen=True)
class Generation:
    text: str
    finished: bool            # the grammar completed (False: stopped at max_tokens)
    prompt_tokens: int        # length of the prompt
    prompt_evaluated: int     # tokens decoded before the first sampled token (cache misses)
    generated: int
    decoded: int              # all tokens decoded for this call (prompt + gen + drafts)
    prompt_s: float           # seconds until the first generated token
    gen_s: float


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _load_llama(model_path: Path, n_ctx: int, n_threads: int, draft_model):
    try:
        from localscribe.models.loaders import load_llama   # models helper's loader, when present
    except ImportError:
        load_llama = None
    kwargs = dict(n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    if draft_model is not None:
        kwargs["draft_model"] = draft_model
    if load_llama is not None:
        try:
            return load_llama(model_path, **kwargs)
        except TypeError:
            pass    # an older loader signature: fall back to constructing it here
    from llama_cpp import Llama
    return Llama(model_path=str(model_path), **kwargs)


class LlamaEngine:
    """One loaded GGUF model. Not thread-safe: one caller (the draft worker) drives it."""

    def __init__(self, model_path: str | os.PathLike, *, model_sha256: str = "",
                 n_ctx: int = DEFAULT_CTX, n_threads: int | None = None, lookahead: int = 0):
        path = Path(model_path)
        if not path.is_absolute() or not path.is_file():
            # llama.cpp crashes or misbehaves on a missing file: refuse before it sees one.
            raise EngineError(f"language model file not found: {path}")
        draft = None
        if lookahead > 0:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
            # Notes copy phrases from the transcript, so n-grams already in the prompt are
            # good guesses for the next tokens; one batched decode checks them all.
            draft = LlamaPromptLookupDecoding(max_ngram_size=3, num_pred_tokens=lookahead)
        try:
            self._llm = _load_llama(path, n_ctx, n_threads or default_threads(), draft)
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"cannot load language model {path.name}: {exc}") from exc
        self.model_path = path
        self.model_sha256 = model_sha256
        self.n_ctx = self._llm.n_ctx()
        self.lookahead = lookahead
        self.counters = EngineCounters()
        self._wrap_eval()

    def _wrap_eval(self) -> None:
        llm, counters = self._llm, self.counters
        original = llm.eval

        def counting_eval(tokens):
            counters.evaluated += len(tokens)
            return original(tokens)

        llm.eval = counting_eval   # generate() calls self.eval, so this sees every decode

    # -- tokens ---------------------------------------------------------------------------
    def tokenize(self, text: str, *, first: bool = False) -> list[int]:
        """Tokens of one prompt piece; ``first`` adds BOS when the model wants one."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=first, special=True)

    @property
    def cached_tokens(self) -> list[int]:
        return list(self._llm.input_ids[: self._llm.n_tokens])

    def common_prefix(self, tokens: list[int]) -> int:
        n = 0
        for a, b in zip(self._llm.input_ids[: self._llm.n_tokens], tokens):
            if a != b:
                break
            n += 1
        return n

    def reset(self) -> None:
        """Forget the KV cache (the next prompt is evaluated from scratch)."""
        self._llm.reset()

    def prefill(self, tokens: list[int]) -> int:
        """Make the KV cache hold ``tokens`` and return how many had to be decoded."""
        if len(tokens) >= self.n_ctx:
            raise EngineError(f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token context")
        keep = self.common_prefix(tokens)
        if keep == len(tokens):
            return 0
        llm = self._llm
        llm.n_tokens = keep           # Llama.eval drops the cache from n_tokens on
        logits_all = llm._logits_all
        # Prompt-lookup decoding makes Llama keep logits for every token; a prefill needs
        # none, and computing 150k-entry logit rows per prompt token would triple its cost.
        llm._logits_all = False
        try:
            llm.eval(tokens[keep:])
        finally:
            llm._logits_all = logits_all
        # Sampling after a prefill needs fresh logits: make generate() re-decode the last token.
        llm._requires_eval = True
        return len(tokens) - keep

    def generate(self, tokens: list[int], grammar: str, *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Generation:
        from llama_cpp import LlamaGrammar

        llm = self._llm
        if len(tokens) + 8 >= self.n_ctx:
            raise EngineError(f"prompt of {len(tokens)} tokens leaves no room in the {self.n_ctx}-token context")
        max_tokens = min(max_tokens, self.n_ctx - len(tokens) - 1)
        before = self.counters.evaluated
        g = LlamaGrammar.from_string(grammar, verbose=False)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        t0 = time.perf_counter()
        t_first = None
        finished = False
        n = 0
        eog = self._is_eog
        for tok in llm.generate(tokens, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                repeat_penalty=1.0, grammar=g):
            if t_first is None:
                t_first = time.perf_counter()
                prompt_decoded = self.counters.evaluated - before
            if eog(tok):
                finished = True
                break
            n += 1
            self.counters.generated += 1
            piece = decoder.decode(llm.detokenize([tok]))
            if piece:
                pieces.append(piece)
                if on_text:
                    on_text(piece)
            if n >= max_tokens or (should_stop and should_stop()):
                break
        tail = decoder.decode(b"", final=True)
        if tail:
            pieces.append(tail)
        t_end = time.perf_counter()
        if t_first is None:
            t_first, prompt_decoded = t_end, self.counters.evaluated - before
        decoded = self.counters.evaluated - before
        return Generation(text="".join(pieces), finished=finished, prompt_tokens=len(tokens),
                          prompt_evaluated=prompt_decoded, generated=n, decoded=decoded,
                          prompt_s=t_first - t0, gen_s=t_end - t_first)

    def _is_eog(self, tok: int) -> bool:
        try:
            import llama_cpp

            return bool(llama_cpp.llama_vocab_is_eog(self._llm._model.vocab, tok))
        except (AttributeError, TypeError):
            return tok == self._llm.token_eos()
