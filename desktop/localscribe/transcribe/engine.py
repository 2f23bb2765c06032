"""whisper.cpp through pywhispercpp, constructed safely, one window in, raw segments out.

Runs inside the worker process (see worker.py). pywhispercpp downloads when handed a bare
model name and segfaults later when handed a missing path, so construction only ever gets
an absolute path to a regular file that the model layer has verified.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:   # imported for real only inside the worker process
    from pywhispercpp.model import Model

SAMPLE_RATE = 16_000
_FULL_CTX = 1500           # encoder positions for Whisper's 30 s
_POSITIONS_PER_S = 50
_CTX_MARGIN = 128          # ~2.5 s of slack past the window's end


class EngineError(RuntimeError):
    """The speech engine cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class RawSegment:
    """Whisper's output for one segment; times in seconds relative to the window start."""

    t0: float
    t1: float
    text: str
    confidence: float       # geometric mean of the text tokens' probabilities
    n_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"t0": self.t0, "t1": self.t1, "text": self.text,
                "confidence": self.confidence, "n_tokens": self.n_tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RawSegment:
        return cls(float(d["t0"]), float(d["t1"]), str(d["text"]), float(d["confidence"]),
                   int(d["n_tokens"]))


def model_path_of(model_file: Any) -> Path:
    """Accept a models.ModelFile (anything with .path) or a path; insist on an existing file."""
    raw = getattr(model_file, "path", model_file)
    path = Path(raw)
    if not path.is_absolute():
        raise EngineError(f"speech model path must be absolute, got {raw!s}")
    if not path.is_file() or path.stat().st_size == 0:
        raise EngineError(f"speech model file missing or empty: {path} "
                          "(run `localscribe models install`)")
    return path


def default_threads() -> int:
    """Cores this process may use, less those other work keeps busy right now.

    ggml's threads spin while they wait for each other; on an oversubscribed machine (the
    LLM worker drafting beside us, other programs) two spinning threads decode several
    times slower than one. Measured here: tiny.en, 15 s of speech, 2 cores under load ~6:
    13.7 s with 2 threads, 4.9 s with 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:
        busy = 0
    return max(1, min(8, cores, cores - busy + 1))


@dataclass(frozen=True)
class DecodeOptions:
    """whisper.cpp settings that trade speed against accuracy, one field each so that
    tests/bench/bench_asr_options.py can measure them one by one; the defaults are the app's."""

    flash_attn: bool = False        # whisper.cpp's flash attention (context parameter)
    beam_size: int = 1              # 1: greedy, as faster-whisper's comparison rows; >1: beam search
    fit_audio_ctx: bool = False     # see WhisperEngine.audio_ctx_for

    def model_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.flash_attn:
            kw["context_params"] = {"flash_attn": True}
        if self.beam_size > 1:
            kw["params_sampling_strategy"] = 1
            kw["beam_search"] = {"beam_size": self.beam_size, "patience": -1.0}
        return kw


DECODE_PARAMS: dict[str, Any] = {
    "print_progress": False,
    "print_realtime": False,
    "print_timestamps": False,
    "no_context": True,          # windows are independent; carried context breeds loops
    "suppress_nst": True,        # keep "(music)" and friends out of the vocabulary
    "language": "en",
}


def _load_model(model_file: Any, n_threads: int, params: dict[str, Any]) -> Model:
    """A models.ModelFile goes through the model layer's loader, which re-checks its hash;
    a plain path (tests, tools) gets the same safety rules here."""
    if not isinstance(model_file, (str, os.PathLike)):
        from localscribe.models.loaders import load_whisper

        return load_whisper(model_file, n_threads, **params)
    from pywhispercpp.model import Model

    path = model_path_of(model_file)
    return Model(str(path), redirect_whispercpp_logs_to=None, n_threads=n_threads, **params)


class WhisperEngine:
    def __init__(self, model_file: Any, n_threads: int | None = None, *, fit_audio_ctx: bool = False,
                 options: DecodeOptions | None = None, **decode_overrides: Any):
        self.n_threads = n_threads or default_threads()
        self.options = options or DecodeOptions(fit_audio_ctx=fit_audio_ctx)
        self.fit_audio_ctx = self.options.fit_audio_ctx
        self.model = _load_model(model_file, self.n_threads,
                                 {**DECODE_PARAMS, **self.options.model_kwargs(), **decode_overrides})
        import _pywhispercpp as pw

        self._pw = pw
        # Token data is only reachable through the private context, which pywhispercpp's
        # model.pyi does not declare.
        ctx = self.model._ctx  # type: ignore[attr-defined]  # noqa: SLF001
        if ctx is None:
            raise EngineError("whisper.cpp could not load the speech model")
        self._eot = pw.whisper_token_eot(ctx)

    def transcribe(self, samples: np.ndarray) -> list[RawSegment]:
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        if audio.ndim != 1:
            raise EngineError("the engine takes mono audio")
        if audio.size < SAMPLE_RATE // 10:
            return []
        self.model.transcribe(audio, audio_ctx=self.audio_ctx_for(audio.size))
        return self._segments()

    def audio_ctx_for(self, n_samples: int) -> int:
        """Encoder positions for this window: Whisper's encoder always runs over 30 s (1500
        positions) however short the audio; fitting it to the window plus a margin makes a
        short window several times cheaper. Measured (tests/bench/bench_asr.py, LibriVox clips,
        1 thread): tiny.en 4x faster at the same 8.5% WER, but base 2.8% -> 7.0% WER, and the
        base pipeline on PriMock57 got worse too; so it is off by default. 0 = the full 30 s."""
        if not self.fit_audio_ctx:
            return 0
        ctx = math.ceil(n_samples / SAMPLE_RATE * _POSITIONS_PER_S) + _CTX_MARGIN
        return 0 if ctx >= _FULL_CTX else ctx

    def _segments(self) -> list[RawSegment]:
        pw, ctx = self._pw, self.model._ctx  # type: ignore[attr-defined]  # noqa: SLF001 (as above)
        out = []
        for i in range(pw.whisper_full_n_segments(ctx)):
            logp, n = 0.0, 0
            for j in range(pw.whisper_full_n_tokens(ctx, i)):
                if pw.whisper_full_get_token_id(ctx, i, j) >= self._eot:
                    continue            # timestamps and other special tokens say nothing of the words
                logp += math.log(max(pw.whisper_full_get_token_p(ctx, i, j), 1e-9))
                n += 1
            text = pw.whisper_full_get_segment_text(ctx, i)
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            out.append(RawSegment(
                t0=pw.whisper_full_get_segment_t0(ctx, i) / 100.0,
                t1=pw.whisper_full_get_segment_t1(ctx, i) / 100.0,
                text=text.strip(), confidence=math.exp(logp / n) if n else 0.0, n_tokens=n))
        return out
