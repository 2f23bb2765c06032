"""llama.cpp behind a small interface: tokenize, prefill (KV cache), generate under a grammar.

llama-cpp-python 0.3.36 keeps the tokens it has evaluated (``Llama.input_ids[:n_tokens]``) and,
at the start of ``Llama.generate``, keeps the KV cache for the longest common prefix of a new
prompt. We apply the same rule ourselves (``prefill`` while the visit goes on, then
``generate`` at Stop), so the transcript is already in the cache when the clinician presses
Stop and only the new tail is decoded.

We run our own greedy decoding loop instead of ``Llama.generate`` for two measured reasons:
- ``Llama.generate`` applies the grammar to the whole vocabulary for every token (+50% time per
  token with SmolLM2's 49k vocabulary, more with Qwen's 152k). We pick the arg-max first and
  only fall back to the full grammar pass when that token breaks the grammar (what llama.cpp's
  own ``common_sampler`` does).
- Prompt-lookup decoding through ``Llama(draft_model=...)`` forces logits for every prompt
  token (an n_ctx x vocab float array, ~2.5 GB for Qwen at 4k context). We ask for all-position
  logits only in the small verification batches.

Every token sent to ``llama_decode`` is counted (``counters``), which is how tests and
benchmarks check how much work is left after Stop.
"""

from __future__ import annotations

import codecs
import ctypes
import hashlib
import math
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from localscribe.draft import llama_context
from localscribe.draft.decoding import DecodeControls
from localscribe.draft.speculate import DraftModel, DraftVocabError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from localscribe.config import Paths
    from localscribe.models.resolve import ModelFile

# A verified model file, or (development, benchmarks) an absolute path to a GGUF file.
ModelSource: TypeAlias = "ModelFile | str | os.PathLike[str]"

# Room for a long visit (half an hour of talk is ~6k tokens) beside the note: the KV cache costs
# ~28 KB a token for the standard model, so 8192 tokens is ~230 MB.
DEFAULT_CTX = 8192


class EngineError(RuntimeError):
    """The language model could not be loaded or failed while drafting."""


@dataclass
class EngineCounters:
    evaluated: int = 0        # tokens decoded: prompt, generated and speculative drafts
    generated: int = 0        # tokens sampled
    proposed: int = 0         # guesses checked (prompt lookup or the draft model)
    accepted: int = 0         # guesses the greedy choice agreed with (emitted without a pass of their own)
    drafted: int = 0          # tokens the draft model decoded (its copy of the prompt and its guesses)

    def snapshot(self) -> EngineCounters:
        return EngineCounters(self.evaluated, self.generated, self.proposed, self.accepted, self.drafted)


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
    tokens: tuple[int, ...] = ()   # the generated tokens (for loop control across sections)


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# Longest batch whose logits llama.cpp's CPU kernels compute bit for bit as token-by-token
# decoding does, once loaded batch-invariant (below): measured on Qwen2.5-Coder-1.5B Q4_K_M, exact
# up to 6 tokens, not at 9 (another matrix kernel takes over). Guesses are capped to fit.
# Measured with 1 thread: with 2 threads the 1.5B's notes still differed between speculative
# variants (tests/bench/bench_speculative.py), so speculation stays off by default.
EXACT_BATCH = 6

# Prompt tokens read between two ``should_stop`` checks (~1 s on one core for the 1.5B model).
PROMPT_SLICE = 32


def _load_llama(model: ModelSource, n_ctx: int, n_threads: int, batch_invariant: bool = False,
                gpu_layers: int | None = None) -> Llama:
    """Through the models package's loader (hash re-checked) for a ModelFile; a bare path is
    accepted for development and benchmarks of files outside the manifest.

    ``batch_invariant``: a token's logits come out the same whether it is decoded alone or in a
    small batch of guesses, so speculation cannot change a note. Measured: without it a batch of
    >= 3 tokens moves logits by up to 0.9 (enough to flip the arg-max) through the attention
    matmul (flash attention computes each query row alone) and through the repacked weight
    layouts' batched kernels (``use_extra_bufts``: off).

    ``gpu_layers``: layers on the GPU (``models.backend.gpu_layers``: all of them when the
    build has a GPU backend, unless a number is asked for; 0 keeps the CPU)."""
    from localscribe.models.backend import gpu_layers as layers_for
    from localscribe.models.loaders import load_llama, new_llama

    kwargs: dict[str, Any] = {"n_threads_batch": n_threads, "verbose": False,
                              "n_gpu_layers": layers_for(gpu_layers)}
    if batch_invariant:
        kwargs["flash_attn"] = True
    if not isinstance(model, (str, os.PathLike)):
        return load_llama(model, n_ctx=n_ctx, n_threads=n_threads, repack_weights=not batch_invariant,
                          **kwargs)
    return new_llama(str(model), n_ctx=n_ctx, n_threads=n_threads, repack_weights=not batch_invariant,
                     **kwargs)


class _NoChoice(EngineError):
    """No token is both allowed by the grammar and not ruled out."""


@dataclass(frozen=True)
class _ControlTokens:
    ids: np.ndarray
    members: frozenset[int]

    def __contains__(self, tok: int) -> bool:
        return tok in self.members


def control_tokens(llm: Llama) -> _ControlTokens:
    """The vocabulary's control tokens other than end-of-generation ("<|im_start|>"): the
    grammar sampler matches them by their spelled-out text, which the note's character class
    allows, so Qwen could write "None<|im_start|><|im_start|>..." (seen on the demo visit,
    the control tokens then detokenizing to nothing). They are never a choice."""
    import llama_cpp

    vocab = llm._model.vocab
    ids = [t for t in range(llm.n_vocab())
           if llama_cpp.llama_vocab_is_control(vocab, t) and not llama_cpp.llama_vocab_is_eog(vocab, t)]
    return _ControlTokens(np.array(ids, dtype=np.intc), frozenset(ids))


class _GrammarGreedy:
    """Greedy choice under a GBNF grammar, checking the arg-max before the whole vocabulary."""

    def __init__(self, llm: Llama, grammar: str, control: _ControlTokens | None = None) -> None:
        import llama_cpp

        self._lc = llama_cpp
        self._n_vocab = llm.n_vocab()
        self._smpl = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode("utf-8"), b"root")
        if not self._smpl:
            raise EngineError("the note grammar was rejected by llama.cpp")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_arr = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._full = np.zeros(self._n_vocab, dtype=np.dtype(
            [("id", np.intc), ("logit", np.single), ("p", np.single)], align=True))
        self._full_arr = llama_cpp.llama_token_data_array(
            data=self._full.ctypes.data_as(llama_cpp.llama_token_data_p), size=self._n_vocab,
            selected=-1, sorted=False)
        self.full_passes = 0
        self._control = control if control is not None else control_tokens(llm)

    def pick(self, logits_ptr: Any, avoid: Callable[[int], bool] | None = None,
             adjust: Callable[[np.ndarray], np.ndarray] | None = None) -> int:
        """The most likely token the grammar allows; with ``avoid``, the most likely one that
        ``avoid`` does not reject either (unless the grammar leaves no other choice).
        ``adjust`` returns changed logits (repetition penalty, n-gram bans) before the choice."""
        raw = np.ctypeslib.as_array(logits_ptr, shape=(self._n_vocab,))
        if adjust is not None:
            try:
                return self._pick(adjust(raw), avoid)
            except _NoChoice:
                pass     # every token the grammar allows is banned: a repeat beats no note
        return self._pick(raw, avoid)

    def _pick(self, logits: np.ndarray, avoid: Callable[[int], bool] | None) -> int:
        tok = int(np.argmax(logits))
        if tok not in self._control and (avoid is None or not avoid(tok)):
            # ctypes converts the Python numbers; the struct's annotations name the C types.
            self._one[0].id, self._one[0].logit, self._one[0].p = tok, float(logits[tok]), 0.0  # type: ignore[assignment]
            self._one_arr.size, self._one_arr.selected = 1, -1
            self._lc.llama_sampler_apply(self._smpl, ctypes.byref(self._one_arr))
            if math.isfinite(self._one[0].logit):
                return tok
        self.full_passes += 1
        self._full["id"] = np.arange(self._n_vocab, dtype=np.intc)
        self._full["logit"] = logits
        self._full["logit"][self._control.ids] = -np.inf
        self._full_arr.size, self._full_arr.selected, self._full_arr.sorted = self._n_vocab, -1, False
        self._lc.llama_sampler_apply(self._smpl, ctypes.byref(self._full_arr))
        n = int(self._full_arr.size)
        scores = self._full["logit"][:n]
        best = int(np.argmax(scores))
        if not math.isfinite(float(scores[best])):
            raise _NoChoice("the model reached a state its note grammar does not allow")
        if avoid is not None and avoid(int(self._full["id"][best])):
            allowed = np.flatnonzero(np.isfinite(scores))
            for k in allowed[np.argsort(-scores[allowed])]:
                if not avoid(int(self._full["id"][k])):
                    return int(self._full["id"][k])
        return int(self._full["id"][best])

    def accept(self, tok: int) -> None:
        self._lc.llama_sampler_accept(self._smpl, tok)

    def close(self) -> None:
        if self._smpl:
            self._lc.llama_sampler_free(self._smpl)
            self._smpl = None


class LlamaEngine:
    """One loaded GGUF model. Not thread-safe: one caller (the draft worker) drives it."""

    def __init__(self, model: ModelSource, *, model_sha256: str = "", n_ctx: int = DEFAULT_CTX,
                 n_threads: int | None = None, lookahead: int = 0, draft_model: ModelSource | None = None,
                 draft_k: int = 0, batch_invariant: bool | None = None, gpu_layers: int | None = None) -> None:
        """``model`` is a verified ``localscribe.models.ModelFile`` (its hash is recorded) or,
        for development, an absolute path to a GGUF file. ``draft_model`` (the same kinds) with
        ``draft_k`` >= 1 guesses ``draft_k`` tokens ahead instead of prompt lookup (``speculate``).
        ``batch_invariant`` (default: on when guessing) loads the model so that checking guesses
        in a batch gives the very logits of one-token decoding (see ``_load_llama``): the note is
        then token for token that of plain greedy decoding of a model loaded the same way.
        ``gpu_layers``: see ``_load_llama`` (None: every layer on the GPU when there is one)."""
        if isinstance(model, (str, os.PathLike)):
            path, file_sha256 = Path(model), ""
        else:
            path, file_sha256 = Path(model.path), model.sha256
        if not path.is_absolute() or not path.is_file():
            # llama.cpp crashes or misbehaves on a missing file: refuse before it sees one.
            raise EngineError(f"language model file not found: {path}")
        model_sha256 = model_sha256 or file_sha256
        speculative = lookahead > 0 or (draft_model is not None and draft_k > 0)
        self.batch_invariant = speculative if batch_invariant is None else batch_invariant
        try:
            self._llm = _load_llama(model, n_ctx, n_threads or default_threads(), self.batch_invariant,
                                    gpu_layers)
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"cannot load language model {path.name}: {exc}") from exc
        import llama_cpp

        self._lc = llama_cpp
        self.model_path = path
        self.model_sha256 = model_sha256
        self.n_threads = n_threads or default_threads()
        self.n_ctx = self._llm.n_ctx()
        # Notes copy phrases from the transcript, so the tokens that followed the last few
        # generated tokens somewhere in the prompt are good guesses for the next ones; one
        # batched decode checks up to ``lookahead`` of them (prompt-lookup decoding).
        self.lookahead = lookahead
        self.counters = EngineCounters()
        self._pieces: dict[int, bytes] = {}
        self._control = control_tokens(self._llm)
        self._draft: DraftModel | None = None
        self._draft_on = True
        if draft_model is not None and draft_k > 0:
            self._draft = self._load_draft(draft_model, draft_k, n_threads or default_threads())

    def _load_draft(self, model: ModelSource, k: int, n_threads: int) -> DraftModel:
        path = Path(model) if isinstance(model, (str, os.PathLike)) else Path(model.path)
        if not path.is_absolute() or not path.is_file():
            raise EngineError(f"draft model file not found: {path}")
        try:
            draft = DraftModel(_load_llama(model, self.n_ctx, n_threads), k)
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"cannot load draft model {path.name}: {exc}") from exc
        try:
            draft.check_vocab(self._llm)
        except DraftVocabError as exc:
            draft.close()
            raise EngineError(f"{path.name} cannot draft for {self.model_path.name}: {exc}") from None
        return draft

    @property
    def draft_k(self) -> int:
        """Tokens the draft model guesses ahead (0: none loaded, or switched off)."""
        return self._draft.k if self._draft is not None and self._draft_on else 0

    @draft_k.setter
    def draft_k(self, k: int) -> None:
        """0 switches the loaded draft model off (prompt lookup or plain greedy then), k >= 1 on."""
        if k and self._draft is None:
            raise EngineError("no draft model is loaded")
        self._draft_on = k > 0
        if k > 0 and self._draft is not None:
            self._draft.k = k

    @classmethod
    def for_profile(cls, profile: str | None = None, paths: Paths | None = None, **kw: Any) -> LlamaEngine:
        """The profile's verified LLM (raises localscribe.models.ModelError when missing)."""
        from localscribe.models import resolve_model

        return cls(resolve_model("llm", profile, paths), **kw)

    def set_threads(self, n: int | None) -> None:
        """Decode with ``n`` threads from now on (None: the engine's own): early drafts during a
        visit leave the other core to the transcriber (``draft.early``)."""
        n = n or self.n_threads
        self._lc.llama_set_n_threads(self._llm._ctx.ctx, n, n)

    # -- tokens ---------------------------------------------------------------------------
    def tokenize(self, text: str, *, first: bool = False) -> list[int]:
        """Tokens of one prompt piece; ``first`` adds BOS when the model wants one."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=first, special=True)

    @property
    def cached_tokens(self) -> list[int]:
        return [int(t) for t in self._llm.input_ids[: self._llm.n_tokens]]

    def common_prefix(self, tokens: list[int]) -> int:
        return llama_context.common_prefix(self._llm, tokens)

    def reset(self) -> None:
        """Forget the KV cache (the next prompt is evaluated from scratch)."""
        self._truncate(0)
        if self._draft is not None:
            self._draft.reset()

    def _truncate(self, n: int) -> None:
        llama_context.truncate(self._llm, n)

    def _decode(self, tokens: list[int], all_logits: bool = False) -> None:
        """Append tokens to the context; logits for the last one (or all, for verification)."""
        if self._llm.n_tokens + len(tokens) > self.n_ctx:
            raise EngineError(f"the note does not fit the {self.n_ctx}-token context")
        self.counters.evaluated += llama_context.decode(self._llm, tokens, all_logits)

    def prefill(self, tokens: list[int]) -> int:
        """Make the KV cache hold ``tokens`` and return how many had to be decoded."""
        if len(tokens) >= self.n_ctx:
            raise EngineError(f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token context")
        if self._draft is not None and self._draft_on:
            self._draft.sync(tokens)     # the draft model's prompt is then read during the visit too
            self.counters.drafted = self._draft.evaluated
        keep = self.common_prefix(tokens)
        if keep == len(tokens):
            return 0
        self._truncate(keep)
        self._decode(tokens[keep:])
        return len(tokens) - keep

    def warm_prefix(self, tokens: list[int], cache_dir: Path | None) -> str:
        """Make the KV cache hold ``tokens`` (a fixed prompt prefix: instructions and example
        note, never patient data), from a state file saved the first time it was computed.

        Returns "cached" (already in memory), "loaded" (from disk) or "computed". The file is
        named by the model's hash and the tokens, and holds the tokens it was made from, so a
        changed prompt or model never loads a stale state; a damaged file is recomputed.
        """
        if self.common_prefix(tokens) == len(tokens) and self._llm.n_tokens >= len(tokens):
            return "cached"
        path = None
        if cache_dir is not None and self.model_sha256:
            key = hashlib.sha256(self.model_sha256.encode() + np.asarray(tokens, np.int32).tobytes())
            path = Path(cache_dir) / f"prefix-{key.hexdigest()[:40]}.kv"
            if path.is_file() and self._load_state(path, tokens):
                if self._draft is not None:
                    self._draft.sync(tokens)   # its own copy: its state is not in the file
                    self.counters.drafted = self._draft.evaluated
                return "loaded"
        self.reset()
        self.prefill(tokens)
        if path is not None:
            self._save_state(path, tokens)
        return "computed"

    def _load_state(self, path: Path, tokens: list[int]) -> bool:
        lc, llm = self._lc, self._llm
        buf = (lc.llama_token * len(tokens))()
        n_out = ctypes.c_size_t(0)
        self.reset()
        ok = lc.llama_state_load_file(llm._ctx.ctx, str(path).encode(), buf, len(tokens), ctypes.byref(n_out))
        if not ok or n_out.value != len(tokens) or list(buf[: n_out.value]) != list(tokens):
            self.reset()
            return False
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True
        return True

    def _save_state(self, path: Path, tokens: list[int]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            arr = (self._lc.llama_token * len(tokens))(*tokens)
            if self._lc.llama_state_save_file(self._llm._ctx.ctx, str(tmp).encode(), arr, len(tokens)):
                os.replace(tmp, path)
            else:
                tmp.unlink(missing_ok=True)
        except OSError:
            pass        # a read-only models folder only costs the prefix's compute next time

    def _guesses(self, extra: int, room: int) -> list[int]:
        """Tokens to check after the cached ones and ``extra`` more in ``input_ids``: the draft
        model's when one is loaded, else prompt lookup's, else none (plain greedy)."""
        if self._draft is not None and self._draft_on:
            ids = self._llm.input_ids[: self._llm.n_tokens + extra]
            room = min(room, self.n_ctx - self._llm.n_tokens - 2)
            if self.batch_invariant:
                room = min(room, EXACT_BATCH - 1)
            guess = self._draft.guess(ids, room) if room > 0 else []
            self.counters.drafted = self._draft.evaluated
            return guess
        if self.batch_invariant:
            room = min(room, EXACT_BATCH - 1)
        return self._lookup(extra)[: max(0, room)] if self.lookahead else []

    def _lookup(self, extra: int) -> list[int]:
        """Guess the next tokens: what followed the latest earlier occurrence of the last
        3 (else 2) tokens. Single-token matches guess too poorly to pay for their decode."""
        ids = np.asarray(self._llm.input_ids[: self._llm.n_tokens + extra])
        room = min(self.lookahead, self.n_ctx - self._llm.n_tokens - 2)
        for n in (3, 2):
            if len(ids) <= n or room <= 0:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(ids[:-1], n)
            hits = np.nonzero(np.all(windows == ids[-n:], axis=1))[0]
            if len(hits):
                start = int(hits[-1]) + n
                return [int(t) for t in ids[start:start + room]]
        return []

    def piece(self, tok: int) -> bytes:
        """The bytes of one token (cached: the gate asks for them before every choice)."""
        piece = self._pieces.get(tok)
        if piece is None:
            piece = self._pieces[tok] = self._llm.detokenize([tok])
        return piece

    def generate(self, tokens: list[int], grammar: str, *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 line_gate: Callable[[str, int], bool] | None = None,
                 gate: Callable[[str, int], Callable[[bytes], bool] | None] | None = None,
                 controls: DecodeControls | None = None,
                 answer_prefix: Sequence[int] = (),
                 first_avoid: Collection[int] = ()) -> Generation:
        """Greedy generation under ``grammar`` after ``tokens``, reusing the cached prefix.

        ``line_gate(text_so_far, generated)`` is asked at the start of each line; when it
        returns False the next line may not be a statement ("- ..."), so the grammar moves
        on to the next heading or ends the note (see ``schema.SectionBudget``).
        ``gate(text_so_far, generated)`` is the general form: it returns a test of a token's
        bytes that rules the token out at this point, or None.
        ``controls`` steer the choice away from loops (``decoding.DecodeControls``).
        ``answer_prefix``: tokens of the answer already written (a retry from a sentence
        start): they count as generated and pass through the grammar, but are not re-emitted to
        ``on_text``; ``first_avoid``: tokens ruled out as the first one chosen after them."""
        llm = self._llm
        answer_prefix = list(answer_prefix)
        tokens = list(tokens) + answer_prefix
        if len(tokens) + 8 >= self.n_ctx:
            raise EngineError(f"prompt of {len(tokens)} tokens leaves no room in the {self.n_ctx}-token context")
        max_tokens = min(max_tokens, self.n_ctx - len(tokens) - 2)
        before = self.counters.evaluated
        t0 = time.perf_counter()
        keep = min(self.common_prefix(tokens), len(tokens) - 1)   # re-decode >= 1 for logits
        self._truncate(keep)
        # With ``should_stop`` the prompt too is read in short slices, asking between them: an
        # early draft (draft/early.py) re-reading its section must give way as fast as it writes.
        step = PROMPT_SLICE if should_stop is not None else len(tokens)
        for i in range(keep, len(tokens), step):
            if i > keep and should_stop is not None and should_stop():
                t = time.perf_counter()
                return Generation(text="", finished=False, prompt_tokens=len(tokens),
                                  prompt_evaluated=self.counters.evaluated - before, generated=0,
                                  decoded=self.counters.evaluated - before, prompt_s=t - t0, gen_s=0.0,
                                  tokens=tuple(answer_prefix))
            self._decode(tokens[i:i + step])
        prompt_decoded = self.counters.evaluated - before
        t_first = time.perf_counter()

        sampler = _GrammarGreedy(llm, grammar, self._control)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        n, finished = 0, False
        logits_idx = -1            # where the logits for the next token are, in the last batch

        out_tokens: list[int] = []

        def emit(tok: int) -> None:
            out_tokens.append(tok)
            piece = decoder.decode(llm.detokenize([tok]))
            if piece:
                pieces.append(piece)
                if on_text:
                    on_text(piece)

        loop_guard = controls.start() if controls is not None else None
        adjust = loop_guard.adjust if loop_guard is not None else None

        def take(tok: int) -> None:
            """A chosen token: the grammar, the loop guard and the text all move past it."""
            nonlocal n
            sampler.accept(tok)
            if loop_guard is not None:
                loop_guard.push(tok)
            emit(tok)
            n += 1
            self.counters.generated += 1

        def avoid() -> Callable[[int], bool] | None:
            test = _avoid()
            if n != len(answer_prefix) or not first_avoid:
                return test
            return lambda tok: tok in first_avoid or (test is not None and test(tok))

        def _avoid() -> Callable[[int], bool] | None:
            """At the end of a line (after "]", or at a line start), the tokens that would
            open another statement when the line gate says the section has had its share."""
            if gate is not None:
                test = gate("".join(pieces), n)
                return None if test is None else (lambda tok: test(self.piece(tok)))
            if line_gate is None:
                return None
            text = "".join(pieces)
            # "]" only ever closes a statement's evidence list (the grammar keeps brackets
            # out of statement text); the newline may come fused with the next "-" token.
            if not text.endswith(("\n", "]")) or line_gate(text, n):
                return None
            at_start = text.endswith("\n")

            def opens_statement(tok: int) -> bool:
                piece = self.piece(tok)
                return (at_start and piece.lstrip(b" ").startswith(b"-")) or b"\n-" in piece
            return opens_statement

        for tok in answer_prefix:
            sampler.accept(tok)
            if loop_guard is not None:
                loop_guard.push(tok)
            out_tokens.append(tok)
            piece = decoder.decode(llm.detokenize([tok]))
            if piece:
                pieces.append(piece)
            n += 1
        try:
            tok = sampler.pick(llm._ctx.get_logits_ith(logits_idx), avoid(), adjust)
            while True:
                if self._lc.llama_vocab_is_eog(llm._model.vocab, tok):
                    finished = True
                    break
                take(tok)
                if n >= max_tokens or (should_stop and should_stop()):
                    break
                llm.input_ids[llm.n_tokens] = tok
                draft = self._guesses(1, max_tokens - n)
                self.counters.proposed += len(draft)
                start = llm.n_tokens
                self._decode([tok] + draft, all_logits=bool(draft))
                nxt = None
                for j in range(len(draft) + 1):
                    cand = sampler.pick(llm._ctx.get_logits_ith(j if draft else -1), avoid(), adjust)
                    if j < len(draft) and cand == draft[j] and not self._lc.llama_vocab_is_eog(llm._model.vocab, cand):
                        take(cand)
                        self.counters.accepted += 1
                        if n >= max_tokens:
                            break
                        continue
                    nxt = cand
                    # Drop the rejected guesses from the cache: keep tok and accepted ones.
                    self._truncate(start + 1 + j)
                    break
                if nxt is None:
                    break       # token budget used up inside the accepted guesses
                tok = nxt
        finally:
            sampler.close()
        tail = decoder.decode(b"", final=True)
        if tail:
            pieces.append(tail)
        t_end = time.perf_counter()
        return Generation(text="".join(pieces), finished=finished, prompt_tokens=len(tokens),
                          prompt_evaluated=prompt_decoded, generated=n - len(answer_prefix),
                          decoded=self.counters.evaluated - before,
                          prompt_s=t_first - t0, gen_s=t_end - t_first, tokens=tuple(out_tokens))
