"""ggml block quantisation written in numpy, following ggml's reference q8_0 kernel."""

from __future__ import annotations

import numpy as np

QK8_0 = 32
GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q8_0 = 8


def quantize_q8_0(data: np.ndarray) -> bytes:
    """Blocks of 32 values along the last axis -> (fp16 scale, 32 x int8), as ggml's q8_0.

    Matches ``quantize_row_q8_0_ref``: float32 arithmetic and C ``roundf`` (half away from zero).
    """
    x = np.ascontiguousarray(data, dtype=np.float32)
    if x.shape[-1] % QK8_0:
        raise ValueError(f"q8_0 needs rows that are a multiple of {QK8_0}, got {x.shape}")
    blocks = x.reshape(-1, QK8_0)
    amax = np.abs(blocks).max(axis=1)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    scaled = blocks * inv[:, None]
    q = (np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))).astype(np.int8)
    out = np.empty(len(blocks), dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = q
    return out.tobytes()
