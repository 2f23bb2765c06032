"""Read any WAV/FLAC/OGG file as 16 kHz mono float32, whole or block by block.

Block-wise decoding keeps memory bounded for hour-long recordings: soundfile reads a
block, soxr's streaming resampler carries its filter state across block edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

TARGET_RATE = 16_000


class AudioDecodeError(ValueError):
    """The file cannot be used as audio; the message says why in plain words."""


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def audio_info(path: str | Path) -> AudioInfo:
    p = Path(path)
    if not p.exists():
        raise AudioDecodeError(f"{p}: no such file")
    if p.is_dir():
        raise AudioDecodeError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioDecodeError(f"{p}: the file is empty (0 bytes)")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioDecodeError(
            f"{p}: not a readable audio file (WAV, FLAC or OGG expected): {exc}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioDecodeError(f"{p}: the file holds no audio samples")
    return AudioInfo(p, int(info.samplerate), int(info.channels), int(info.frames), info.format)


def to_mono(block: np.ndarray) -> np.ndarray:
    """Average channels; (n,) stays (n,), (n, c) becomes (n,)."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    return block.mean(axis=1, dtype=np.float32)


def resample(block: np.ndarray, rate: int, target: int = TARGET_RATE) -> np.ndarray:
    if rate == target:
        return np.ascontiguousarray(block, dtype=np.float32)
    return soxr.resample(block.astype(np.float32, copy=False), rate, target, quality="HQ")


def iter_blocks(path: str | Path, block_seconds: float = 1.0, *,
                keep_channels: bool = False) -> Iterator[np.ndarray]:
    """Yield consecutive 16 kHz float32 blocks: mono (n,), or (n, c) when keep_channels."""
    info = audio_info(path)
    frames_per_block = max(1, int(info.samplerate * block_seconds))
    stream = None
    if info.samplerate != TARGET_RATE:
        n_ch = info.channels if keep_channels else 1
        stream = soxr.ResampleStream(info.samplerate, TARGET_RATE, n_ch, dtype="float32",
                                     quality="HQ")
    try:
        with sf.SoundFile(str(info.path)) as f:
            while True:
                try:
                    raw = f.read(frames_per_block, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioDecodeError(f"{info.path}: the audio data is damaged: {exc}") from None
                last = len(raw) < frames_per_block
                block = raw if keep_channels else to_mono(raw)
                if stream is not None:
                    block = stream.resample_chunk(np.ascontiguousarray(block), last=last)
                if len(block):
                    yield np.ascontiguousarray(block, dtype=np.float32)
                if last:
                    return
    except sf.LibsndfileError as exc:
        raise AudioDecodeError(f"{info.path}: cannot open audio: {exc}") from None


def decode_file(path: str | Path, *, keep_channels: bool = False) -> np.ndarray:
    """The whole file at 16 kHz as float32 (mono unless keep_channels)."""
    blocks = list(iter_blocks(path, block_seconds=30.0, keep_channels=keep_channels))
    if not blocks:
        raise AudioDecodeError(f"{path}: the file holds no audio samples")
    return np.concatenate(blocks, axis=0)
