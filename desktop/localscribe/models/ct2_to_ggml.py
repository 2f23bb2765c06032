"""Convert a CTranslate2 Whisper model directory into the ggml file whisper.cpp loads.

The ggml layout is the one whisper.cpp's loader insists on: magic, 11 int32 hyperparameters
(``WhisperHParams``), the 80-bin mel filterbank, the vocabulary up to ``<|endoftext|>`` as
raw bytes (``gpt2_bytes``), then every tensor with its exact name, shape and type. The
CT2 -> ggml name mapping is the generators below (``_block`` and its helpers), one per
layer kind. The output is a pure function of the input bytes (no timestamps, fixed tensor
order), so its SHA-256 can be pinned in the manifest.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from collections.abc import Callable, Iterator

import numpy as np

from .ct2 import CT2Model, read_ct2
from .errors import ConversionError
from .gpt2_bytes import token_bytes
from .mel_filters import mel_filters
from .quantize import GGML_TYPE_F16, GGML_TYPE_F32, GGML_TYPE_Q8_0, quantize_q8_0

GGML_MAGIC = 0x67676D6C
GGML_QNT_VERSION = 2
GGML_QNT_VERSION_FACTOR = 1000
EOT = "<|endoftext|>"
# ggml "ftype" codes written in the header; q8_0 also carries the quantisation version.
FTYPES = {"f16": 1, "q8_0": 7 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR}
# Tensors whisper.cpp always reads as float32, whatever the file's ftype.
_ALWAYS_F32 = {"encoder.conv1.bias", "encoder.conv2.bias",
               "encoder.positional_embedding", "decoder.positional_embedding"}
_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/")


@dataclass(frozen=True)
class WhisperHParams:
    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int

    def pack(self, ftype: int) -> bytes:
        return struct.pack("<11i", self.n_vocab, self.n_audio_ctx, self.n_audio_state,
                           self.n_audio_head, self.n_audio_layer, self.n_text_ctx,
                           self.n_text_state, self.n_text_head, self.n_text_layer,
                           self.n_mels, ftype)


def _count_layers(model: CT2Model, side: str) -> int:
    found = {int(m.group(2)) for name in model.variables
             if (m := _LAYER.match(name)) and m.group(1) == side}
    if not found or found != set(range(len(found))):
        raise ConversionError(f"CTranslate2 model has no contiguous {side} layers: {sorted(found)}")
    return len(found)


def hparams_of(model: CT2Model) -> WhisperHParams:
    if model.spec != "WhisperSpec":
        raise ConversionError(f"expected a CTranslate2 WhisperSpec model, got {model.spec!r}")
    conv1 = model.get("encoder/conv1/weight")
    enc_pos = model.get("encoder/position_encodings/encodings")
    dec_pos = model.get("decoder/position_encodings/encodings")
    emb = model.get("decoder/embeddings/weight")
    return WhisperHParams(
        n_vocab=emb.shape[0], n_audio_ctx=enc_pos.shape[0], n_audio_state=conv1.shape[0],
        n_audio_head=model.scalar("encoder/num_heads"), n_audio_layer=_count_layers(model, "encoder"),
        n_text_ctx=dec_pos.shape[0], n_text_state=emb.shape[1],
        n_text_head=model.scalar("decoder/num_heads"), n_text_layer=_count_layers(model, "decoder"),
        n_mels=conv1.shape[1])


def _shaped(model: CT2Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = model.get(name)
    if arr.shape != shape:
        raise ConversionError(f"CTranslate2 variable {name} has shape {arr.shape}, expected {shape}")
    return arr


def _linear(model: CT2Model, src: str, dst: str, d_out: int, d_in: int) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.weight", _shaped(model, f"{src}/weight", (d_out, d_in))
    yield f"{dst}.bias", _shaped(model, f"{src}/bias", (d_out,))


def _norm(model: CT2Model, src: str, dst: str, d: int) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.weight", _shaped(model, f"{src}/gamma", (d,))
    yield f"{dst}.bias", _shaped(model, f"{src}/beta", (d,))


def _self_attention(model: CT2Model, src: str, dst: str, d: int) -> Iterator[tuple[str, np.ndarray]]:
    qkv_w = _shaped(model, f"{src}/linear_0/weight", (3 * d, d))
    qkv_b = _shaped(model, f"{src}/linear_0/bias", (3 * d,))
    # Whisper's key projection has no bias; CT2 stores zeros in that slice, which we drop.
    yield f"{dst}.query.weight", qkv_w[:d]
    yield f"{dst}.query.bias", qkv_b[:d]
    yield f"{dst}.key.weight", qkv_w[d:2 * d]
    yield f"{dst}.value.weight", qkv_w[2 * d:]
    yield f"{dst}.value.bias", qkv_b[2 * d:]
    yield from _linear(model, f"{src}/linear_1", f"{dst}.out", d, d)


def _cross_attention(model: CT2Model, src: str, dst: str, d: int) -> Iterator[tuple[str, np.ndarray]]:
    yield from _linear(model, f"{src}/linear_0", f"{dst}.query", d, d)
    kv_w = _shaped(model, f"{src}/linear_1/weight", (2 * d, d))
    kv_b = _shaped(model, f"{src}/linear_1/bias", (2 * d,))
    yield f"{dst}.key.weight", kv_w[:d]
    yield f"{dst}.value.weight", kv_w[d:]
    yield f"{dst}.value.bias", kv_b[d:]
    yield from _linear(model, f"{src}/linear_2", f"{dst}.out", d, d)


def _block(model: CT2Model, side: str, i: int, d: int, cross: bool) -> Iterator[tuple[str, np.ndarray]]:
    src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
    yield from _self_attention(model, f"{src}/self_attention", f"{dst}.attn", d)
    yield from _norm(model, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", d)
    if cross:
        yield from _cross_attention(model, f"{src}/attention", f"{dst}.cross_attn", d)
        yield from _norm(model, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln", d)
    d_ff = model.get(f"{src}/ffn/linear_0/weight").shape[0]
    yield from _linear(model, f"{src}/ffn/linear_0", f"{dst}.mlp.0", d_ff, d)
    yield from _linear(model, f"{src}/ffn/linear_1", f"{dst}.mlp.2", d, d_ff)
    yield from _norm(model, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln", d)


def whisper_tensors(model: CT2Model, hp: WhisperHParams) -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor whisper.cpp expects, under its ggml name, in a fixed order."""
    d, t = hp.n_audio_state, hp.n_text_state
    yield "encoder.positional_embedding", _shaped(
        model, "encoder/position_encodings/encodings", (hp.n_audio_ctx, d))
    yield "encoder.conv1.weight", _shaped(model, "encoder/conv1/weight", (d, hp.n_mels, 3))
    yield "encoder.conv1.bias", _shaped(model, "encoder/conv1/bias", (d,)).reshape(d, 1)
    yield "encoder.conv2.weight", _shaped(model, "encoder/conv2/weight", (d, d, 3))
    yield "encoder.conv2.bias", _shaped(model, "encoder/conv2/bias", (d,)).reshape(d, 1)
    for i in range(hp.n_audio_layer):
        yield from _block(model, "encoder", i, d, cross=False)
    yield from _norm(model, "encoder/layer_norm", "encoder.ln_post", d)
    yield "decoder.positional_embedding", _shaped(
        model, "decoder/position_encodings/encodings", (hp.n_text_ctx, t))
    yield "decoder.token_embedding.weight", _shaped(model, "decoder/embeddings/weight", (hp.n_vocab, t))
    for i in range(hp.n_text_layer):
        yield from _block(model, "decoder", i, t, cross=True)
    yield from _norm(model, "decoder/layer_norm", "decoder.ln", t)


def _tensor_payload(name: str, arr: np.ndarray, quant: str) -> tuple[int, bytes]:
    if arr.ndim < 2 or name in _ALWAYS_F32:
        return GGML_TYPE_F32, np.ascontiguousarray(arr, dtype="<f4").tobytes()
    # whisper.cpp keeps the (3-D) conv kernels in f16 even in quantised files.
    if quant == "q8_0" and arr.ndim == 2:
        return GGML_TYPE_Q8_0, quantize_q8_0(arr)
    return GGML_TYPE_F16, np.ascontiguousarray(arr, dtype="<f2").tobytes()


def read_vocabulary(path: Path) -> list[bytes]:
    """Base (non-special) tokens as raw bytes: everything before <|endoftext|>."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConversionError(f"cannot read vocabulary {path}: {exc}") from exc
    if lines and lines[-1] == "":
        lines.pop()
    try:
        eot = lines.index(EOT)
    except ValueError:
        raise ConversionError(f"{path} has no {EOT} token; not a Whisper vocabulary") from None
    try:
        return [token_bytes(tok) for tok in lines[:eot]]
    except ValueError as exc:
        raise ConversionError(f"{path}: {exc}") from None


class ByteSink(Protocol):
    """Where the ggml bytes go: a binary file, or one wrapped to hash what passes."""

    def write(self, data: bytes, /) -> int: ...


def write_ggml(ct2_dir: Path, out: ByteSink, quant: str = "f16",
               progress: Callable[[int, int], None] | None = None) -> WhisperHParams:
    if quant not in FTYPES:
        raise ValueError(f"quant must be one of {sorted(FTYPES)}, not {quant!r}")
    model = read_ct2(ct2_dir / "model.bin")
    hp = hparams_of(model)
    vocab = read_vocabulary(ct2_dir / "vocabulary.txt")
    if len(vocab) >= hp.n_vocab:
        raise ConversionError(f"vocabulary has {len(vocab)} base tokens for {hp.n_vocab} embeddings")
    tensors = list(whisper_tensors(model, hp))
    out.write(struct.pack("<i", GGML_MAGIC))
    out.write(hp.pack(FTYPES[quant]))
    filters = mel_filters(n_mels=hp.n_mels)
    out.write(struct.pack("<ii", *filters.shape))
    out.write(filters.astype("<f4").tobytes())
    out.write(struct.pack("<i", len(vocab)))
    for tok in vocab:
        out.write(struct.pack("<i", len(tok)))
        out.write(tok)
    for done, (name, arr) in enumerate(tensors, 1):
        ttype, payload = _tensor_payload(name, arr, quant)
        encoded = name.encode("utf-8")
        out.write(struct.pack("<iii", arr.ndim, len(encoded), ttype))
        out.write(struct.pack(f"<{arr.ndim}i", *reversed(arr.shape)))
        out.write(encoded)
        out.write(payload)
        if progress:
            progress(done, len(tensors))
    return hp
